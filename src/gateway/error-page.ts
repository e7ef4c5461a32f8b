// The answers the gateway writes itself (404, 413, 502…): nginx's error pages, minus the
// HTML — a status line, a plain-text body naming the status, nothing a backend said.

import type { ServerResponse } from 'node:http';

/** The reason phrases of the answers the gateway makes itself (RFC 9110 §15). */
const REASON_PHRASES: Record<number, string> = {
  301: 'Moved Permanently',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  421: 'Misdirected Request',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
};

/** The body of the gateway's own error answers: `502 Bad Gateway` and a newline. */
export function errorPageText(status: number): string {
  return `${status} ${REASON_PHRASES[status] ?? 'Error'}\n`;
}

/**
 * A complete raw error answer that closes the connection (for sockets without a response
 * object); `location` for a 301 (an Upgrade request on a listener that redirects to https).
 */
export function rawErrorResponse(status: number, location?: string): string {
  const body = errorPageText(status);
  const where = location === undefined ? '' : `Location: ${location}\r\n`;
  return `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\n${where}Connection: close\r\n\r\n${body}`;
}

/** Send the error page on node's response (or cut the connection when the head is gone already). */
export function sendErrorPage(
  res: ServerResponse,
  status: number,
  extra: Record<string, string> = {},
): { status: number; bytes: number } {
  if (res.headersSent) {
    res.destroy();
    return { status, bytes: 0 };
  }
  const body = errorPageText(status);
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(body.length),
    ...extra,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
  return { status, bytes: body.length };
}
