// The uwsgi transport: one uwsgi packet per request on a fresh connection (uWSGI closes it after
// the response), answered by a raw HTTP head ("HTTP/1.1 200 OK") and a body ending at EOF.

import { encodeUwsgiRequest } from '../codecs/uwsgi.js';
import type { Transport, UpstreamTarget } from '../transport.js';
import { createSingleUseTransport, type SingleUseTransportOptions } from './single-use-connection.js';

/**
 * Why uWSGI resets: it reads the vars block into a buffer of `buffer-size` bytes (4096 by
 * default) and drops the connection when the request does not fit ("invalid request block size"
 * in its log), so a big Cookie header is the usual suspect.
 */
export const UWSGI_RESET_ADVICE =
  "uWSGI's default buffer-size is 4096 bytes and it closes the connection when a request's " +
  'headers (cookies, long URLs) do not fit: raise `buffer-size` (e.g. buffer-size = 32768) in the uWSGI config.';

export function createUwsgiTransport(
  target: UpstreamTarget,
  options: SingleUseTransportOptions = {},
): Transport {
  return createSingleUseTransport(
    {
      scheme: 'uwsgi',
      encode: (vars, body) => encodeUwsgiRequest(vars, body),
      resetAdvice: UWSGI_RESET_ADVICE,
    },
    target,
    options,
  );
}
