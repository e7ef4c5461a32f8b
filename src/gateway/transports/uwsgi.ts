// The uwsgi transport: one uwsgi packet per request on a fresh connection (uWSGI closes it after
// the response), answered by a raw HTTP head ("HTTP/1.1 200 OK") and a body ending at EOF.

import type { Socket } from 'node:net';
import { buildCgiEnv } from '../cgi-env.js';
import { encodeUwsgiRequest } from '../codecs/uwsgi.js';
import type {
  GatewayRequest,
  Transport,
  TransportTimeouts,
  UpstreamResponse,
  UpstreamTarget,
} from '../transport.js';
import { smallBodyBuffer } from './request-body.js';
import { destroyAll, exchangeOnFreshConnection } from './single-use-connection.js';
import { abortedFailure, withFacts } from './upstream-failure.js';

export interface UwsgiTransportOptions {
  /** Extra uwsgi vars, like nginx's uwsgi_param (e.g. UWSGI_SCHEME); they replace built ones. */
  params?: ReadonlyArray<readonly [string, string]>;
  /** Bodies up to this size travel in the same write as the vars (default 64 KiB). */
  inlineBodyLimit?: number;
  maxHeadBytes?: number;
}

/**
 * Why uWSGI resets: it reads the vars block into a buffer of `buffer-size` bytes (4096 by
 * default) and drops the connection when the request does not fit ("invalid request block size"
 * in its log), so a big Cookie header is the usual suspect.
 */
export const UWSGI_RESET_ADVICE =
  "uWSGI's default buffer-size is 4096 bytes and it closes the connection when a request's " +
  'headers (cookies, long URLs) do not fit: raise `buffer-size` (e.g. buffer-size = 32768) in the uWSGI config.';

export function createUwsgiTransport(target: UpstreamTarget, options: UwsgiTransportOptions = {}): Transport {
  const sockets = new Set<Socket>();
  const inlineLimit = options.inlineBodyLimit ?? 64 * 1024;
  return {
    scheme: 'uwsgi',
    target,
    request(req: GatewayRequest, timeouts: TransportTimeouts): Promise<UpstreamResponse> {
      let packet: Buffer;
      const inline = smallBodyBuffer(req.body, inlineLimit);
      try {
        packet = encodeUwsgiRequest(buildCgiEnv(req, options.params), inline ?? undefined);
      } catch (error) {
        return Promise.reject(withFacts(error, { target, sentAnything: false }));
      }
      if (req.signal.aborted) return Promise.reject(abortedFailure({ target, sentAnything: false }));
      return exchangeOnFreshConnection(
        {
          target,
          packet,
          rest: inline === null ? req.body : null,
          headMode: 'auto',
          maxHeadBytes: options.maxHeadBytes,
          resetAdvice: UWSGI_RESET_ADVICE,
          sockets,
        },
        req,
        timeouts,
      );
    },
    close: () => destroyAll(sockets),
  };
}
