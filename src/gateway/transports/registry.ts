// Upstream scheme → transport factory: the one place that knows which file speaks which
// protocol. The proxy core only ever sees the Transport interface these return.

import type { GatewayLogger } from '../log.js';
import { type Transport, targetName, type UpstreamScheme, type UpstreamTarget } from '../transport.js';
import { createCgiTransport } from './cgi.js';
import { createFastcgiTransport } from './fastcgi.js';
import { createHttpTransport } from './http.js';
import { createScgiTransport } from './scgi.js';
import { createUwsgiTransport } from './uwsgi.js';

type Factory = (target: UpstreamTarget, logger: GatewayLogger) => Transport;

/** Backend stderr (FastCGI FCGI_STDERR, CGI script stderr) goes to the gateway's error log. */
const stderrLines = (target: UpstreamTarget, logger: GatewayLogger) => (line: string) =>
  logger.warn(`${targetName(target)} stderr: ${line}`);

const FACTORIES: Record<UpstreamScheme, Factory> = {
  http: (target, logger) => createHttpTransport(target, { logger }),
  uwsgi: (target) => createUwsgiTransport(target),
  scgi: (target) => createScgiTransport(target),
  // Connections are kept (FCGI_KEEP_CONN); a backend that closes after each response anyway
  // (uWSGI's fastcgi-socket) is detected by the pool, which then stops keeping them.
  fastcgi: (target, logger) => createFastcgiTransport(target, { logger: stderrLines(target, logger) }),
  cgi: (target, logger) => createCgiTransport(target, { logger: stderrLines(target, logger) }),
};

/** Create the transport for one upstream target. */
export function createTransport(target: UpstreamTarget, logger: GatewayLogger): Transport {
  return FACTORIES[target.scheme](target, logger);
}
