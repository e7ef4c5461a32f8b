// What node's HTTP parser refuses (server 'clientError': a malformed head, a head too large or
// too slow) and CONNECT: answered with the status nginx would give, on the raw socket, and
// logged like any request.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ErrorCode, StackgenError, statusFor } from '../errors.js';
import { rawErrorResponse } from './error-page.js';
import { type Front, logAccess } from './gateway-state.js';

export type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer };

/** The error a node parser refusal stands for, or null when the peer is gone (pure). */
export function clientRefusal(err: ClientError): StackgenError | null {
  const refusal = (code: ErrorCode) =>
    new StackgenError(code, `refused request: ${err.message}`, { cause: err });
  switch (err.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    case 'HPE_HEADER_OVERFLOW':
      // RFC 6585 §5: 431 Request Header Fields Too Large.
      return refusal('SG_ERR_CLIENT_HEADER_TOO_LARGE');
    case 'HPE_INVALID_TRANSFER_ENCODING':
      // llhttp reports CL+TE under this code when Content-Length came first: that is the
      // smuggling case (RFC 9112 §6.3, 400); otherwise an unknown/ill-formed transfer coding,
      // which RFC 9112 §6.1 says "SHOULD" get 501.
      return /content-length/i.test(String((err as { reason?: unknown }).reason ?? err.message))
        ? refusal('SG_ERR_CLIENT_BAD_REQUEST')
        : refusal('SG_ERR_CLIENT_NOT_IMPLEMENTED');
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return refusal('SG_ERR_CLIENT_TIMEOUT');
    case 'HPE_INVALID_VERSION': {
      // A well-formed request line with an unknown version: 505 (RFC 9110 §15.6.6); a
      // garbled one: 400.
      const line = err.rawPacket?.toString('latin1') ?? '';
      return /^[A-Z]+ \S+ HTTP\/\d\.\d\r\n/.test(line)
        ? refusal('SG_ERR_CLIENT_HTTP_VERSION')
        : refusal('SG_ERR_CLIENT_BAD_REQUEST');
    }
    default:
      return refusal('SG_ERR_CLIENT_BAD_REQUEST');
  }
}

/** The status nginx would answer a node parser refusal with; null when nobody is left to answer. */
export function statusForClientError(err: ClientError): number | null {
  const refusal = clientRefusal(err);
  return refusal === null ? null : statusFor(refusal);
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
