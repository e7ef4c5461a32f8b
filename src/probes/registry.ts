// Every probe kind, in report order. Adding a probe = one file + one line here.

import { appEnvProbe } from './app-env.js';
import { backendDownProbe } from './backend-down.js';
import { bodyLimitProbe, chunkedUploadProbe, uploadProbe } from './body.js';
import { compressionProbe } from './compression.js';
import { concurrencyProbe } from './concurrency.js';
import { headersProbe } from './headers.js';
import { listenAddressesProbe } from './listen-addresses.js';
import { mountProbe } from './mount.js';
import { reachProbe } from './reach.js';
import { requestFramingProbe } from './request-framing.js';
import { requestTimeoutProbe } from './request-timeout.js';
import { roundtripProbe } from './roundtrip.js';
import { slowHeadsProbe } from './slow-heads.js';
import { secureCookieProbe } from './secure-cookie.js';
import { scriptsProbe } from './scripts.js';
import { serverStatusProbe } from './server-status.js';
import { staticProbe } from './static.js';
import { streamingProbe } from './streaming.js';
import type { AnyProbe } from './types.js';
import { hstsProbe, httpsRedirectProbe, tlsProbe } from './tls.js';
import { acmeCertificateProbe, acmeRenewalProbe } from './acme.js';
import { unknownHostProbe } from './unknown-host.js';
import { websocketProbe } from './websocket.js';
import { taskRoundtripProbe, taskWarmStopProbe } from './tasks.js';

export const PROBES: ReadonlyArray<AnyProbe> = [
  reachProbe,
  roundtripProbe,
  mountProbe,
  scriptsProbe,
  serverStatusProbe,
  appEnvProbe,
  uploadProbe,
  chunkedUploadProbe,
  bodyLimitProbe,
  headersProbe,
  listenAddressesProbe,
  unknownHostProbe,
  requestFramingProbe,
  tlsProbe,
  httpsRedirectProbe,
  hstsProbe,
  acmeCertificateProbe,
  acmeRenewalProbe,
  secureCookieProbe,
  streamingProbe,
  compressionProbe,
  websocketProbe,
  staticProbe,
  concurrencyProbe,
  requestTimeoutProbe,
  slowHeadsProbe,
  backendDownProbe,
  taskRoundtripProbe,
  taskWarmStopProbe,
];
