// proxy.tls's files as `stackgen check` judges them, against real files made with openssl:
// a matching pair passes; a missing file, a key of another certificate and a key others
// can read each fail with where, what and what to do.

import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { certificateChain, pemCertificateCount, tlsFileProblems } from '../../../src/tls/files.js';
import { certificateNames, createThrowawayCertificate } from '../../../src/tls/throwaway-ca.js';
import { describeWith } from '../../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'stackgen-tls-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('certificateNames', () => {
  it('takes plain and wildcard names, drops _ and regexes, falls back to localhost', () => {
    expect(certificateNames('shop.example www.shop.example')).toEqual(['shop.example', 'www.shop.example']);
    expect(certificateNames('.shop.example ~^api\\d+')).toEqual(['*.shop.example']);
    expect(certificateNames('_')).toEqual(['localhost']);
  });
});

describeWith({ tools: ['openssl'] })('tlsFileProblems', () => {
  const a = createThrowawayCertificate(join(dir, 'a'), ['shop.example']);
  const b = createThrowawayCertificate(join(dir, 'b'), ['other.example']);

  it('a matching pair with a private key: no problem', () => {
    expect(tlsFileProblems(a.cert, a.key)).toEqual([]);
  });

  it('missing files are named', () => {
    const problems = tlsFileProblems(join(dir, 'none.pem'), join(dir, 'none.key'));
    expect(problems).toEqual([
      expect.stringMatching(/none\.pem: no such file — point proxy\.tls\.cert at/),
      expect.stringMatching(/none\.key: no such file — point proxy\.tls\.key at/),
    ]);
  });

  it('the key of another certificate', () => {
    expect(tlsFileProblems(a.cert, b.key)).toEqual([
      expect.stringMatching(
        /b\/tls\/server\.key is not the key of .*a\/tls\/server\.pem \(CN=shop\.example\)/,
      ),
    ]);
  });

  it('a key readable by others, or by its group', () => {
    const key = join(dir, 'open.key');
    writeFileSync(key, readFileSync(a.key));
    chmodSync(key, 0o644);
    expect(tlsFileProblems(a.cert, key)).toEqual([
      expect.stringMatching(/open\.key: the private key is mode 644, readable by every user — .*chmod 600/),
    ]);
    chmodSync(key, 0o640);
    expect(tlsFileProblems(a.cert, key)).toEqual([expect.stringMatching(/mode 640, readable by its group/)]);
  });

  it('a chain: more than one certificate in the file', () => {
    expect(certificateChain(a.cert)).toBe(false);
    const full = join(dir, 'fullchain.pem');
    writeFileSync(full, readFileSync(a.cert, 'utf8') + readFileSync(a.ca, 'utf8'));
    expect(certificateChain(full)).toBe(true);
    expect(pemCertificateCount('')).toBe(0);
  });
});
