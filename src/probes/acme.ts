// acme-certificate, acme-renewal: proxy.tls.acme where certbot got the certificate from a
// local pebble through the generated challenge path — the machine target's install, or
// verify's own certbot run in a sandbox (src/runtime/acme-issue.ts), with the same hook.
// acme-certificate: the front serves exactly the certificate certbot keeps in its live/
// directory, chaining to the CA's root (the probes trust nothing else), for every
// server_name; the front reads it through the links the deploy hook made (the gateway: its
// unit's private copies of them); certbot's renewal file
// renews it the way install obtained it (webroot, directory, deploy hook); on a real host,
// Debian's certbot.timer is on. acme-renewal: a forced renewal while clients keep sending requests
// swaps the served certificate (its serial changes) and fails none of them — the deploy
// hook's graceful reload, the way every renewal of the timer reloads the front.

import { X509Certificate } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:tls';
import { execa } from 'execa';
import { sleep } from '../runtime/process.js';
import { type AcmePlan, acmePlan, forcedRenewalArgv, renewalConfProblems } from '../tls/acme.js';
import type { EchoResponse } from './contract.js';
import { jsonOf, type Target, tlsClientOptions } from './http.js';
import { startLoad } from './load.js';
import { fail, pass, type ProbeContext, type ProbeDefinition } from './types.js';

interface Served {
  serial: string | null;
  /** SHA-256 of the leaf, as node:tls prints it. */
  fingerprint: string | null;
  names: string[];
  issuer: string;
  error: string | null;
}

/**
 * The certificate a new TLS connection to the target is served, verified against the target's
 * CA alone — or not verified (`verify: false`) where only which certificate is served counts.
 */
export function servedCertificate(target: Target, verify = true): Promise<Served> {
  return new Promise((done) => {
    const socket = connect({
      host: target.host,
      port: target.port,
      ...tlsClientOptions(target.tls!),
      rejectUnauthorized: verify,
    });
    const finish = (s: Served) => {
      clearTimeout(timer);
      socket.destroy();
      done(s);
    };
    const timer = setTimeout(
      () =>
        finish({ serial: null, fingerprint: null, names: [], issuer: '', error: 'no handshake within 5 s' }),
      5000,
    );
    socket.once('secureConnect', () => {
      const c = socket.getPeerCertificate();
      finish({
        serial: c.serialNumber?.toUpperCase() ?? null,
        fingerprint: c.fingerprint256 ?? null,
        names: (c.subjectaltname ?? '')
          .split(', ')
          .filter((n) => n.startsWith('DNS:'))
          .map((n) => n.slice(4)),
        issuer: [c.issuer?.CN ?? ''].flat().join(', '),
        error: null,
      });
    });
    socket.once('error', (err) =>
      finish({ serial: null, fingerprint: null, names: [], issuer: '', error: err.message }),
    );
  });
}

/** The serial of the leaf in certbot's live fullchain.pem (uppercase hex), or why not. */
function liveSerial(a: AcmePlan): string {
  try {
    return new X509Certificate(readFileSync(`${a.liveDir}/fullchain.pem`)).serialNumber.toUpperCase();
  } catch (err) {
    return `unreadable (${(err as Error).message})`;
  }
}

function linkOf(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

const noAcme = (ctx: ProbeContext) =>
  acmePlan(ctx.plan) === null
    ? 'proxy.tls is not acme'
    : ctx.front.tls === undefined
      ? 'the front speaks no TLS'
      : null;

/** A command on the stack's host: the machine's, or this one for a sandbox. */
async function runHere(ctx: ProbeContext, argv: string[], timeoutMs: number) {
  if (ctx.host) return ctx.host.run(argv, timeoutMs);
  const r = await execa(argv[0]!, argv.slice(1), {
    reject: false,
    all: true,
    stdin: 'ignore',
    timeout: timeoutMs,
  });
  return { code: r.exitCode ?? null, output: (r.all ?? '').trim() };
}

interface Issued {
  served: Served;
  live: string;
  links: Array<[string, string | null, string]>;
  renewal: string[];
  /** certbot.timer's is-enabled/is-active; null in a sandbox (no systemd there). */
  timer: string | null;
}

export const acmeCertificateProbe: ProbeDefinition<Issued> = {
  id: 'acme-certificate',
  title: "the front serves certbot's certificate, renewed as install obtained it",
  phase: 'parallel',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/reach'],
  skip: noAcme,
  expect: (ctx) => {
    const a = acmePlan(ctx.plan);
    if (a === null) return 'a certificate obtained over ACME (proxy.tls.acme)';
    return `the served certificate is ${a.liveDir}/fullchain.pem's, for ${a.names.join(' ')}; ${a.cert} and ${a.key} link there; ${a.renewalConf}: webroot ${a.webroot}, server ${a.directory}, renew_hook ${a.deployHook}${ctx.host ? '; certbot.timer enabled and active' : ''}`;
  },
  async observe(ctx) {
    const a = acmePlan(ctx.plan)!;
    let renewal: string[];
    try {
      renewal = renewalConfProblems(readFileSync(a.renewalConf, 'utf8'), a);
    } catch (err) {
      renewal = [`${a.renewalConf}: ${(err as Error).message}`];
    }
    const timer = ctx.host
      ? `${(await ctx.host.run(['systemctl', 'is-enabled', 'certbot.timer'])).output}/${(await ctx.host.run(['systemctl', 'is-active', 'certbot.timer'])).output}`
      : null;
    return {
      served: await servedCertificate(ctx.front),
      live: liveSerial(a),
      links: [
        [a.cert, linkOf(a.cert), `${a.liveDir}/fullchain.pem`],
        [a.key, linkOf(a.key), `${a.liveDir}/privkey.pem`],
      ],
      renewal,
      timer,
    };
  },
  judge({ served, live, links, renewal, timer }, ctx) {
    const a = acmePlan(ctx.plan)!;
    if (served.error) return fail(`handshake trusting the CA's root alone: ${served.error}`);
    const problems: string[] = [];
    if (served.serial !== live) problems.push(`served serial ${served.serial}, live fullchain.pem's ${live}`);
    const missing = a.names.filter((n) => !served.names.includes(n));
    if (missing.length) problems.push(`not for ${missing.join(' ')} (it names ${served.names.join(' ')})`);
    for (const [path, got, want] of links)
      if (got !== want) problems.push(`${path} → ${got ?? '(not a link)'}, not ${want}`);
    problems.push(...renewal.map((p) => `renewal file: ${p}`));
    if (timer !== null && timer !== 'enabled/active') problems.push(`certbot.timer is ${timer}`);
    if (problems.length) return fail(problems.join('; '));
    return pass(
      `serial ${served.serial} issued by "${served.issuer}" for ${served.names.join(' ')}, as in ${a.liveDir}; renewal file: webroot, server, renew_hook as installed; ${timer === null ? 'certbot.timer: a real host only (the machine target checks it)' : 'certbot.timer enabled/active'}`,
    );
  },
};

const CLIENTS = 8;
/** Requests before the renewal starts, and after the new certificate is served. */
const WARMUP_MS = 400;
const SETTLE_MS = 600;
/** certbot renew against pebble takes a few seconds; a public CA would take longer. */
const RENEW_DEADLINE_MS = 120_000;
/** After certbot returns (its hook has reloaded the front), until new connections get the new certificate. */
const SWAP_DEADLINE_MS = 10_000;

interface Renewed {
  before: Served;
  after: Served;
  live: string;
  renew: { code: number | null; output: string; ms: number };
  swapMs: number | null;
  ok: number;
  failed: number;
  samples: string[];
}

export const acmeRenewalProbe: ProbeDefinition<Renewed> = {
  id: 'acme-renewal',
  title: 'a forced certbot renewal under load swaps the certificate, no request fails',
  phase: 'exclusive',
  kinds: ['app'],
  needsProbeApp: false,
  after: ['app/acme-certificate'],
  skip: noAcme,
  expect: (ctx) => {
    const a = acmePlan(ctx.plan);
    // expect() is asked for skipped probes too (the report shows what they would prove).
    const renew = a ? forcedRenewalArgv(a).join(' ') : 'certbot renew --force-renewal';
    return `${renew} while ${CLIENTS} clients loop over new TLS connections: exit 0, a new serial served (the live one), 0 failed requests`;
  },
  async observe(ctx) {
    const a = acmePlan(ctx.plan)!;
    const path = ctx.probe ? '/stackgen-verify/load' : '/';
    const before = await servedCertificate(ctx.front);
    // The probes' client opens a connection (a full handshake) per request: every request
    // after the reload meets whichever certificate the front has, old or new.
    const load = startLoad(ctx, {
      clients: CLIENTS,
      path,
      timeoutMs: 20_000,
      target: ctx.front,
      refuses: (answer) => Boolean(ctx.probe) && typeof jsonOf<EchoResponse>(answer)?.pid !== 'number',
    });
    await sleep(WARMUP_MS);
    const t0 = performance.now();
    const r = await runHere(ctx, forcedRenewalArgv(a), RENEW_DEADLINE_MS);
    const renew = { ...r, ms: Math.round(performance.now() - t0) };
    const t1 = performance.now();
    let after = await servedCertificate(ctx.front);
    while (after.serial === before.serial && performance.now() - t1 < SWAP_DEADLINE_MS) {
      await sleep(100);
      after = await servedCertificate(ctx.front);
    }
    const swapMs = after.serial !== before.serial ? Math.round(performance.now() - t1) : null;
    await sleep(SETTLE_MS);
    const { ok, failed, samples } = await load.stop();
    return { before, after, live: liveSerial(a), renew, swapMs, ok, failed, samples };
  },
  judge({ before, after, live, renew, swapMs, ok, failed, samples }) {
    const load = `${failed} of ${ok + failed} requests failed${samples.length ? ` (${samples.join('; ')})` : ''}`;
    if (renew.code !== 0) return fail(`certbot renew exited ${renew.code}: ${renew.output.slice(-400)}`);
    if (before.error || after.error) return fail(`handshake: ${before.error ?? after.error}`);
    if (swapMs === null)
      return fail(
        `still serial ${before.serial} ${SWAP_DEADLINE_MS / 1000} s after certbot renewed (live: ${live}): the front did not load the new certificate — ${load}`,
      );
    if (after.serial !== live) return fail(`served serial ${after.serial}, but the live one is ${live}`);
    if (ok + failed === 0) return fail('no request was answered at all');
    if (failed > 0) return fail(`${load}; serial ${before.serial} → ${after.serial}`);
    return pass(
      `serial ${before.serial} → ${after.serial} (certbot renew ${renew.ms} ms, new certificate served ${swapMs} ms after it returned); ${load}`,
    );
  },
};
