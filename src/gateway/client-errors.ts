// What node's HTTP parser refuses (server 'clientError': a malformed head, a head too large or
// too slow) and CONNECT: answered with the status nginx would give, on the raw socket, and
// logged like any request.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { rawErrorResponse } from './error-page.js';
import { type Front, logAccess } from './gateway-state.js';

export type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer };

/** Map a node parser error (server 'clientError') to the status nginx would answer. */
export function statusForClientError(err: ClientError): number | null {
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      // RFC 6585 §5: 431 Request Header Fields Too Large.
      return 431;
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp reports CL+TE under this code when Content-Length came first: that is the
      // smuggling case (RFC 9112 §6.3, 400); otherwise an unknown/ill-formed transfer coding,
      // which RFC 9112 §6.1 says "SHOULD" get 501.
      return /content-length/i.test(String((err as { reason?: unknown }).reason ?? err.message)) ? 400 : 501;
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return 408;
    case 'HPE_INVALID_VERSION': {
      // A well-formed request line with an unknown version: 505 (RFC 9110 §15.6.6); a
      // garbled one: 400.
      const line = err.rawPacket?.toString('latin1') ?? '';
      return /^[A-Z]+ \S+ HTTP\/\d\.\d\r\n/.test(line) ? 505 : 400;
    }
    default:
      return 400;
  }
}

/** The 'clientError' listener: answer and log, unless a response is already on its way. */
export function answerClientError(front: Front, err: ClientError, socket: Duplex): void {
  const status = statusForClientError(err);
  const inProgress = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (status === null || !socket.writable || inProgress?.headersSent) {
    // A response is already on its way (or the peer is gone): let it flush, then close.
    if (socket.writable) socket.end();
    else socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(status));
  const line = err.rawPacket?.toString('latin1').split('\r\n', 1)[0] ?? '';
  const [method = '-', target = '-'] = line.split(' ');
  logAccess(front.state, (socket as Socket).remoteAddress, method.slice(0, 32), target.slice(0, 256), {
    status,
    bytes: 0,
  });
}

/** The 'connect' listener: CONNECT is for forward proxies; an origin gateway refuses it (nginx: 405). */
export function refuseConnect(_req: unknown, socket: Duplex): void {
  socket.end(rawErrorResponse(405));
}
