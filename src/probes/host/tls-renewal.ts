// tls-renewal: a renewed certificate reaches clients through the proxy's reload, with no
// request failing — what the deploy README tells the user to do after a renewal (replace
// cert and key, `systemctl reload` the front). The probe plays the renewal on the real host:
// a new certificate and key (a fresh CA's, so its fingerprint is new) written over proxy.tls's
// files as the user would (the key root's, mode 600), the reload run while clients loop over
// https, then the certificate the front serves compared with the new file. The original pair
// is put back and reloaded before the probe ends (the reboot probe starts the units again).
// A front that re-read only what it loaded at start (systemd's LoadCredential=, a SIGHUP
// without the unit's copies) keeps serving the old certificate and fails here.

import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateNames, createThrowawayCertificate } from '../../tls/throwaway-ca.js';
import { sleep } from '../../runtime/process.js';
import { servedCertificate } from '../acme.js';
import type { Target } from '../http.js';
import { startLoad } from '../load.js';
import { fail, pass, type ProbeDefinition } from '../types.js';
import { frontReloadOf } from './reload-load.js';

const CLIENTS = 4;
const WARMUP_MS = 300;
const SETTLE_MS = 500;

/** The SHA-256 fingerprint of the certificate the front serves (chain trust is the tls probe's). */
async function servedFingerprint(target: Target): Promise<string | null> {
  // The renewed certificate's CA is this probe's own: only the fingerprint is compared here.
  const served = await servedCertificate(target, false);
  if (served.error !== null) throw new Error(served.error);
  return served.fingerprint;
}

interface Observed {
  reload: string;
  before: string | null;
  renewed: string | null;
  servedAfter: string | null;
  restored: string | null;
  ok: number;
  failed: number;
  samples: string[];
  error: string | null;
}

export const tlsRenewalProbe: ProbeDefinition<Observed> = {
  id: 'tls-renewal',
  title: 'a renewed certificate is served after the front’s reload, with no request failing',
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/tls'],
  skip: (ctx) => {
    const tls = ctx.plan.spec.proxy.tls;
    if (tls === 'off' || ctx.front.tls === undefined) return 'proxy.tls is off';
    if (!('cert' in tls)) return 'the ACME client renews this certificate itself';
    if (ctx.host === null) return 'a real host only';
    return frontReloadOf(ctx) ? null : 'no reload of the front to renew through';
  },
  expect: () =>
    `the new certificate served after the reload; 0 failed requests of ${CLIENTS} looping clients`,
  async observe(ctx) {
    const reload = frontReloadOf(ctx)!;
    const files = ctx.plan.site.tls!;
    const seen: Observed = {
      reload: reload.name,
      before: null,
      renewed: null,
      servedAfter: null,
      restored: null,
      ok: 0,
      failed: 0,
      samples: [],
      error: null,
    };
    const work = mkdtempSync(join(tmpdir(), 'stackgen-renewal-'));
    const backup = { cert: join(work, 'cert.orig'), key: join(work, 'key.orig') };
    copyFileSync(files.cert, backup.cert);
    copyFileSync(files.key, backup.key);
    const put = (cert: string, key: string) => {
      copyFileSync(cert, files.cert);
      copyFileSync(key, files.key);
      chmodSync(files.key, 0o600);
    };
    let load: ReturnType<typeof startLoad> | null = null;
    try {
      seen.before = await servedFingerprint(ctx.front);
      const next = createThrowawayCertificate(work, certificateNames(ctx.plan.spec.proxy.server_name));
      seen.renewed = new X509Certificate(readFileSync(next.cert)).fingerprint256;
      // The clients trust the stack's CA and the renewal's, as browsers trust both the old and
      // the renewed certificate: a failure is the reload's, not a verification of the swap.
      const bundle = join(work, 'trusted.pem');
      const cas = [ctx.front.tls?.caFile, next.ca].filter((f): f is string => typeof f === 'string');
      writeFileSync(bundle, cas.map((f) => readFileSync(f, 'utf8')).join('\n'));
      const target: Target = { ...ctx.front, tls: { ...ctx.front.tls!, caFile: bundle } };
      load = startLoad(ctx, { clients: CLIENTS, path: '/', timeoutMs: 10_000, target });
      await sleep(WARMUP_MS);
      put(next.cert, next.key);
      await reload.run();
      await sleep(SETTLE_MS);
      seen.servedAfter = await servedFingerprint(ctx.front);
    } catch (err) {
      seen.error = (err as Error).message;
    } finally {
      if (load) Object.assign(seen, await load.stop());
      // Put the user's pair back and make the front serve it again.
      put(backup.cert, backup.key);
      try {
        await reload.run();
        seen.restored = await servedFingerprint(ctx.front);
      } catch (err) {
        seen.error ??= `restoring: ${(err as Error).message}`;
      }
      rmSync(work, { recursive: true, force: true });
    }
    return seen;
  },
  judge(seen) {
    if (seen.error) return fail(`${seen.reload}: ${seen.error}`);
    if (seen.servedAfter !== seen.renewed)
      return fail(
        `after ${seen.reload} the front still serves ${seen.servedAfter === seen.before ? 'the old certificate' : seen.servedAfter} (want the renewed one, ${seen.renewed?.slice(0, 23)}…)`,
      );
    if (seen.restored !== seen.before)
      return fail('the original certificate was not served again after restoring it');
    if (seen.failed > 0)
      return fail(
        `${seen.failed} of ${seen.ok + seen.failed} requests failed across ${seen.reload}: ${seen.samples.join('; ')}`,
      );
    if (seen.ok === 0) return fail('no request was answered during the renewal');
    return pass(
      `${seen.reload}: renewed certificate served (${seen.renewed?.slice(0, 11)}…, was ${seen.before?.slice(0, 11)}…); 0 of ${seen.ok} requests failed; the original pair restored`,
    );
  },
};
