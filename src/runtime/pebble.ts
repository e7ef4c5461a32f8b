// The ACME server of verify's machine target: Debian's `pebble` (a small RFC 8555 test CA)
// and `pebble-challtestsrv` (its mock DNS, answering 127.0.0.1 for every name, so any
// server_name validates against the machine's own nginx on port 80). Both run on the
// machine's loopback only, for one pass; nothing reaches a public CA. Pebble serves its API
// over HTTPS with a certificate from a throwaway CA of this run (certbot trusts it through
// REQUESTS_CA_BUNDLE, never the system store), and it makes a fresh root at every start,
// served at /roots/0: the one root the probe clients trust for the stack's certificate.

import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { StackgenError } from '../errors.js';
import { createThrowawayCertificate } from '../tls/throwaway-ca.js';
import { isConnectable } from './readiness.js';
import { sleep } from './process.js';

/** The loopback ports pebble and its DNS use: pebble's defaults in a machine (its own network), free ones in a sandbox. */
export interface PebblePorts {
  api: number;
  management: number;
  dns: number;
  dnsManagement: number;
}

/** Pebble's own defaults (ACME-TESTING.md). */
export const PEBBLE_DEFAULT_PORTS: PebblePorts = {
  api: 14000,
  management: 15000,
  dns: 8053,
  dnsManagement: 8055,
};

/** Pebble's ACME directory URL on these ports. */
export function pebbleDirectory(ports: PebblePorts): string {
  return `https://127.0.0.1:${ports.api}/dir`;
}

/** The directory of a pebble on its default ports (the machine target's). */
export const PEBBLE_DIRECTORY = pebbleDirectory(PEBBLE_DEFAULT_PORTS);

export interface Pebble {
  directory: string;
  /** The CA of pebble's own HTTPS listener (REQUESTS_CA_BUNDLE for certbot). */
  listenerCa: string;
  /** Pebble's root for the certificates it issues (the probes trust it alone). */
  root: string;
  stop(): Promise<void>;
}

/**
 * What certbot needs in its environment to talk to a pebble: trust pebble's listener
 * (REQUESTS_CA_BUNDLE), and reach loopback directly. A CI runner's HTTPS_PROXY (`stackgen ci
 * --check` sets one, as many runners do) would otherwise take certbot's requests to
 * 127.0.0.1 to that proxy, which refuses them ("Tunnel connection failed: 403").
 */
export function certbotPebbleEnv(
  listenerCa: string,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const have = `${env['NO_PROXY'] ?? ''},${env['no_proxy'] ?? ''}`.split(',').map((s) => s.trim());
  const noProxy = [...new Set([...have, '127.0.0.1', 'localhost', '::1'].filter(Boolean))].join(',');
  return { REQUESTS_CA_BUNDLE: listenerCa, NO_PROXY: noProxy, no_proxy: noProxy };
}

/** certbotPebbleEnv in process.env, for the certbot runs that inherit it (the renewal probes); returns the undo. */
export function useCertbotPebbleEnv(listenerCa: string): () => void {
  const set = certbotPebbleEnv(listenerCa);
  const before = Object.fromEntries(Object.keys(set).map((k) => [k, process.env[k]]));
  Object.assign(process.env, set);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The root file a started pebble wrote under `dir` (it outlives pebble: after a reboot the served certificate still chains to it). */
export function pebbleRootFile(dir: string): string {
  return join(dir, 'root.pem');
}

/** Start pebble-challtestsrv and pebble under `dir`, validating HTTP-01 on `httpPort`. */
export async function startPebble(
  dir: string,
  httpPort: number,
  ports: PebblePorts = PEBBLE_DEFAULT_PORTS,
): Promise<Pebble> {
  const API = { host: '127.0.0.1', port: ports.api };
  const MANAGEMENT = { host: '127.0.0.1', port: ports.management };
  const DNS = `127.0.0.1:${ports.dns}`;
  const listener = createThrowawayCertificate(dir, ['localhost']);
  const config = join(dir, 'pebble.json');
  writeFileSync(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `${API.host}:${API.port}`,
        managementListenAddress: `${MANAGEMENT.host}:${MANAGEMENT.port}`,
        certificate: listener.cert,
        privateKey: listener.key,
        httpPort,
        tlsPort: 5001,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const logs: string[] = [];
  const keep = (p: ResultPromise) => {
    p.all?.on('data', (b: Buffer) => logs.push(...b.toString().split('\n').filter(Boolean)));
    p.catch(() => {});
    return p;
  };
  const dns = keep(
    execa(
      'pebble-challtestsrv',
      [
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
        '-dns01',
        DNS,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${ports.dnsManagement}`,
      ],
      { all: true, reject: false, stdin: 'ignore' },
    ),
  );
  // NOSLEEP: validate at once (pebble waits up to 15 s by default); NONCEREJECT 0: no
  // deliberately refused nonces (a test of the client's retry, not of the stack).
  const ca = keep(
    execa('pebble', ['-config', config, '-dnsserver', DNS], {
      all: true,
      reject: false,
      stdin: 'ignore',
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    }),
  );
  const stop = async () => {
    for (const p of [ca, dns]) p.kill('SIGTERM');
    await Promise.allSettled([ca, dns]);
  };
  const deadline = Date.now() + 15_000;
  while (!(await isConnectable({ kind: 'tcp', ...API }))) {
    if (Date.now() > deadline || ca.exitCode !== null) {
      await stop();
      throw new StackgenError(
        'SG_ERR_COMPONENT_NOT_READY',
        `pebble did not listen on ${API.host}:${API.port}`,
        {
          details: { component: 'pebble', cause: 'not listening within 15 s', logTail: logs.slice(-20) },
        },
      );
    }
    await sleep(50);
  }
  const root = pebbleRootFile(dir);
  writeFileSync(root, await fetchText(`https://${MANAGEMENT.host}:${MANAGEMENT.port}/roots/0`, listener.ca));
  return { directory: pebbleDirectory(ports), listenerCa: listener.ca, root, stop };
}

function fetchText(url: string, caFile: string): Promise<string> {
  return new Promise((done, fail) => {
    const req = request(url, { ca: readCa(caFile), timeout: 5000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () =>
        res.statusCode === 200 ? done(text) : fail(new Error(`${url}: ${res.statusCode} ${text}`)),
      );
    });
    req.on('error', fail);
    req.end();
  });
}

function readCa(file: string): Buffer {
  return readFileSync(file);
}
