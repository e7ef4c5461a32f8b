// The SCGI transport: one netstring-framed request per fresh connection; the backend answers
// with CGI header fields (`Status: 200 OK`, RFC 3875 §6) — or a raw status line in uWSGI's
// scgi-nph mode — and closes the connection at the end of the body.

import type { Socket } from 'node:net';
import { buildCgiEnv } from '../cgi-env.js';
import { encodeScgiRequest } from '../codecs/scgi.js';
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

export interface ScgiTransportOptions {
  /** Extra SCGI headers, like nginx's scgi_param; they replace built ones. */
  params?: ReadonlyArray<readonly [string, string]>;
  /** Bodies up to this size travel in the same write as the headers (default 64 KiB). */
  inlineBodyLimit?: number;
  maxHeadBytes?: number;
}

export function createScgiTransport(target: UpstreamTarget, options: ScgiTransportOptions = {}): Transport {
  const sockets = new Set<Socket>();
  const inlineLimit = options.inlineBodyLimit ?? 64 * 1024;
  return {
    scheme: 'scgi',
    target,
    request(req: GatewayRequest, timeouts: TransportTimeouts): Promise<UpstreamResponse> {
      let packet: Buffer;
      const inline = smallBodyBuffer(req.body, inlineLimit);
      try {
        packet = encodeScgiRequest(buildCgiEnv(req, options.params), inline ?? undefined);
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
          sockets,
        },
        req,
        timeouts,
      );
    },
    close: () => destroyAll(sockets),
  };
}
