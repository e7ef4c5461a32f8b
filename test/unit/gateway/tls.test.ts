// tls.ts: the Mozilla intermediate options, the HSTS value, and the certificate/key checks that
// make a bad pair a startup error naming the file (SG_ERR_GATEWAY_TLS) instead of a failed
// handshake for every client.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { constants } from 'node:crypto';
import { isStackgenError } from '../../../src/errors.js';
import {
  alpnProtocols,
  certificateWarnings,
  checkTlsMaterial,
  hstsValue,
  loadTlsMaterial,
  secureContextOptions,
} from '../../../src/gateway/tls.js';
import { makeTestCa, type TestCa } from '../../helpers/tls-ca.js';
import { describeWith } from '../../helpers/tools.js';

it('HSTS: max-age, and includeSubDomains / preload only when asked', () => {
  expect(hstsValue({ maxAgeSeconds: 63072000, includeSubdomains: false, preload: false })).toBe(
    'max-age=63072000',
  );
  expect(hstsValue({ maxAgeSeconds: 300, includeSubdomains: true, preload: true })).toBe(
    'max-age=300; includeSubDomains; preload',
  );
});

it('ALPN offers h2 first only when http2 is on', () => {
  expect(alpnProtocols({ http2: true })).toEqual(['h2', 'http/1.1']);
  expect(alpnProtocols({ http2: false })).toEqual(['http/1.1']);
});

describeWith({ tools: ['/usr/bin/openssl'] })('certificate and key', () => {
  let dir: string;
  let ca: TestCa;
  let leaf: ReturnType<TestCa['issue']>;
  let other: ReturnType<TestCa['issue']>;
  const files = (cert: string, key: string) => ({ certFile: cert, keyFile: key });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sg-tls-unit-'));
    ca = makeTestCa(dir);
    leaf = ca.issue('leaf', ['app.test']);
    other = ca.issue('other', ['other.test']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const codeAndMessage = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (err) {
      if (isStackgenError(err)) return `${err.code}: ${err.message} | ${err.hint}`;
      throw err;
    }
    throw new Error('expected an error');
  };

  it('the intermediate profile: TLS 1.2+, its suites, client order, no session tickets', async () => {
    const material = await loadTlsMaterial(files(leaf.cert, leaf.key));
    const o = secureContextOptions(material);
    expect(o.minVersion).toBe('TLSv1.2');
    expect(o.honorCipherOrder).toBe(false);
    expect((o.secureOptions ?? 0) & constants.SSL_OP_NO_TICKET).toBe(constants.SSL_OP_NO_TICKET);
    expect(o.ciphers?.split(':')).toEqual([
      'TLS_AES_128_GCM_SHA256',
      'TLS_AES_256_GCM_SHA384',
      'TLS_CHACHA20_POLY1305_SHA256',
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
      'ECDHE-RSA-CHACHA20-POLY1305',
    ]);
  });

  it('a key that is not the certificate’s: names both files and what to do', async () => {
    expect(await codeAndMessage(loadTlsMaterial(files(leaf.cert, other.key)))).toMatch(
      /^SG_ERR_GATEWAY_TLS: tls\.key .*other\.key is not the private key of the certificate in .*leaf\.pem .*\| use the key the certificate was issued for/,
    );
  });

  it('a missing file, a key where the certificate belongs, garbage as key', async () => {
    expect(await codeAndMessage(loadTlsMaterial(files(join(dir, 'nope.pem'), leaf.key)))).toMatch(
      /^SG_ERR_GATEWAY_TLS: tls\.cert .*nope\.pem: cannot read it \(ENOENT\)/,
    );
    expect(await codeAndMessage(loadTlsMaterial(files(leaf.key, leaf.key)))).toMatch(
      /^SG_ERR_GATEWAY_TLS: tls\.cert .*leaf\.key: not a PEM certificate/,
    );
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'not a key\n');
    expect(await codeAndMessage(loadTlsMaterial(files(leaf.cert, junk)))).toMatch(
      /^SG_ERR_GATEWAY_TLS: tls\.key .*junk\.key: not a PEM private key/,
    );
  });

  it('warns when the certificate does not name the server name', () => {
    const m = checkTlsMaterial(readFileSync(leaf.cert), readFileSync(leaf.key), files(leaf.cert, leaf.key));
    expect(certificateWarnings(m, 'app.test', Date.now())).toEqual([]);
    expect(certificateWarnings(m, '_', Date.now())).toEqual([]);
    expect(certificateWarnings(m, 'shop.example', Date.now())).toEqual([
      'the certificate does not name server_name shop.example (DNS:app.test)',
    ]);
    expect(certificateWarnings(m, 'app.test', Date.now() + 30 * 86_400_000)[0]).toMatch(/expired on/);
  });

  it('warns about a key file every user can read', async () => {
    chmodSync(leaf.key, 0o644);
    const open = await loadTlsMaterial(files(leaf.cert, leaf.key));
    expect(certificateWarnings(open, 'app.test', Date.now())).toEqual([
      "the private key is readable by every user (mode 0644): chmod 0640 and give the gateway's group read access",
    ]);
    chmodSync(leaf.key, 0o640);
    expect(
      certificateWarnings(await loadTlsMaterial(files(leaf.cert, leaf.key)), 'app.test', Date.now()),
    ).toEqual([]);
  });
});
