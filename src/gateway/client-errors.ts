// What node's HTTP parser refuses (server 'clientError': a malformed head, a head too large or
// too slow) and CONNECT: answered with the status nginx would give, on the raw socket, and
// logged like any request.

import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ErrorCode, StackgenError, statusFor } from '../errors.js';
import { markBodyMalformed } from './body.js';
import { afterPending, type NodeConnection, nodeConnectionOf } from './connection-order.js';
import { rawErrorResponse } from './error-page.js';
import { type Front, logAccess } from './gateway-state.js';

export type ClientError = NodeJS.ErrnoException & { rawPacket?: Buffer; bytesParsed?: number };

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

/**
 * The 'clientError' listener: answer and log, after the answers to the requests before the
 * bad bytes. A request the backend already ran is answered first (nginx reads the next
 * request only after answering the previous one); then the refusal, or — for bytes after an
 * answer that closes (`Data after Connection: close`: the client's `close`, HTTP/1.0 without
 * keep-alive) — just the close, as nginx ignores them. Nothing more is read after a refusal.
 */
export function answerClientError(front: Front, err: ClientError, socket: Duplex): void {
  const conn = nodeConnectionOf(socket);
  if (conn.refused) return;
  // Requests node parsed before the bad bytes are still answered: they were complete. When
  // the bytes are inside the latest request's body (a bad chunk size), that request is the
  // refused one: its handler answers 400 in turn and logs it (body.ts markBodyMalformed).
  conn.refused = true;
  const last = conn.last;
  if (last !== null && !last.complete) markBodyMalformed(last, err);
  afterPending(conn, () => refuseAfterAnswers(front, conn, err, socket));
}

function refuseAfterAnswers(front: Front, conn: NodeConnection, err: ClientError, socket: Duplex): void {
  if (conn.closing) {
    // The last answer closes the connection already (or refused the broken body itself).
    if (!socket.destroyed) socket.end();
    return;
  }
  const status = err.code === 'HPE_CLOSED_CONNECTION' ? null : statusForClientError(err);
  const inProgress = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  // An answer whose end is written (the requests before the bad bytes) is already queued on
  // the socket ahead of ours; one still being written cannot be followed by a 400.
  if (status === null || !socket.writable || (inProgress?.headersSent && !inProgress.writableEnded)) {
    // A response is on its way (or the peer is gone): let it flush, then close.
    if (socket.writable) socket.end();
    else socket.destroy();
    return;
  }
  socket.end(rawErrorResponse(status));
  const [method = '-', target = '-'] = failedRequestLine(err.rawPacket, err.bytesParsed).split(' ');
  logAccess(front.state, (socket as Socket).remoteAddress, method.slice(0, 32), target.slice(0, 256), {
    status,
    bytes: 0,
  });
}

/**
 * The request line of the request node's parser failed on (pure, best effort): the packet
 * may begin with requests already answered, so it is the first line after the last empty
 * line before the error offset — or the packet's first line. Only for the access log.
 */
export function failedRequestLine(packet: Buffer | undefined, at: number | undefined): string {
  if (packet === undefined) return '';
  const text = packet.toString('latin1');
  const before = text.slice(0, Math.min(at ?? 0, text.length));
  const crlf = before.lastIndexOf('\r\n\r\n');
  const start = crlf < 0 ? 0 : crlf + 4;
  const end = text.indexOf('\r\n', start);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The 'connect' listener: CONNECT is for forward proxies; an origin gateway refuses it (nginx: 405). */
export function refuseConnect(_req: unknown, socket: Duplex): void {
  socket.end(rawErrorResponse(405));
}
