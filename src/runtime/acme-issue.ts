// proxy.tls.acme in verify's sandbox: the real thing on loopback. A pebble on free ports
// validates HTTP-01 on the sandbox's http port; certbot (unprivileged-capable: its own
// --config-dir/--work-dir/--logs-dir in the sandbox) runs the same certonly line install
// runs, with the sandbox's rendered deploy hook, which relinks the stand-in certificate the
// sandbox's nginx started with (the placeholder's role) and sends its master SIGHUP.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { StackgenError } from '../errors.js';
import { servedCertificate } from '../probes/acme.js';
import type { Target } from '../probes/http.js';
import { type AcmePlan, certonlyArgv } from '../tls/acme.js';
import { certbotPebbleEnv, type Pebble, type PebblePorts, startPebble } from './pebble.js';
import { sleep } from './process.js';

/** certbot certonly against a pebble, one try; the hook's reload takes effect within this. */
const CERTONLY_DEADLINE_MS = 120_000;
const SERVED_DEADLINE_MS = 10_000;

export interface SandboxAcme {
  pebble: Pebble;
  /** How long certbot certonly took, and until nginx served the new certificate (ms). */
  certonlyMs: number;
  servedMs: number;
}

/**
 * Start pebble under `dir`, obtain the certificate with certbot through the running front,
 * and wait until the front serves it (trusting pebble's root alone). Throws
 * SG_ERR_COMPONENT_NOT_READY (component pebble or certbot) with certbot's output.
 */
export async function obtainSandboxCertificate(
  a: AcmePlan,
  o: { dir: string; httpPort: number; ports: PebblePorts; front: Target },
): Promise<SandboxAcme> {
  mkdirSync(join(o.dir, 'pebble'), { recursive: true, mode: 0o755 });
  const pebble = await startPebble(join(o.dir, 'pebble'), o.httpPort, o.ports);
  try {
    const t0 = performance.now();
    const argv = certonlyArgv(a);
    const r = await execa(argv[0]!, argv.slice(1), {
      reject: false,
      all: true,
      stdin: 'ignore',
      timeout: CERTONLY_DEADLINE_MS,
      env: certbotPebbleEnv(pebble.listenerCa),
    });
    const certonlyMs = Math.round(performance.now() - t0);
    if (r.exitCode !== 0)
      throw new StackgenError(
        'SG_ERR_COMPONENT_NOT_READY',
        `certbot certonly exited ${r.exitCode ?? 'on timeout'}`,
        {
          details: {
            component: 'certbot',
            cause: `${argv.join(' ')} exited ${r.exitCode ?? 'on timeout'}`,
            logTail: (r.all ?? '').split('\n').filter(Boolean).slice(-20),
          },
        },
      );
    const trusting: Target = { ...o.front, tls: { ...o.front.tls!, caFile: pebble.root } };
    const t1 = performance.now();
    let served = await servedCertificate(trusting);
    while (served.error && performance.now() - t1 < SERVED_DEADLINE_MS) {
      await sleep(100);
      served = await servedCertificate(trusting);
    }
    if (served.error)
      throw new StackgenError(
        'SG_ERR_COMPONENT_NOT_READY',
        'the front does not serve the issued certificate',
        {
          details: {
            component: 'certbot',
            cause: `certbot obtained the certificate, but ${SERVED_DEADLINE_MS / 1000} s later a handshake trusting pebble's root alone still fails (${served.error}): the deploy hook did not reload the front`,
            logTail: (r.all ?? '').split('\n').filter(Boolean).slice(-20),
          },
        },
      );
    return { pebble, certonlyMs, servedMs: Math.round(performance.now() - t1) };
  } catch (err) {
    await pebble.stop();
    throw err;
  }
}
