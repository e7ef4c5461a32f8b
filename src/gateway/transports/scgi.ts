// The SCGI transport: one netstring-framed request per fresh connection; the backend answers
// with CGI header fields (`Status: 200 OK`, RFC 3875 §6) — or a raw status line in uWSGI's
// scgi-nph mode — and closes the connection at the end of the body.

import { encodeScgiRequest } from '../codecs/scgi.js';
import type { Transport, UpstreamTarget } from '../transport.js';
import { createSingleUseTransport, type SingleUseTransportOptions } from './single-use-connection.js';

export function createScgiTransport(
  target: UpstreamTarget,
  options: SingleUseTransportOptions = {},
): Transport {
  return createSingleUseTransport({ scheme: 'scgi', encode: encodeScgiRequest }, target, options);
}
