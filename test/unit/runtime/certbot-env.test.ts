// certbot talks to pebble on loopback: a runner's HTTPS_PROXY must not take those requests
// (`stackgen ci --check`'s egress proxy refused them and the ACME example failed).
import { describe, expect, it } from 'vitest';
import { certbotPebbleEnv, useCertbotPebbleEnv } from '../../../src/runtime/pebble.js';

describe('certbot environment for pebble', () => {
  it('trusts the listener and bypasses any proxy for loopback, keeping the NO_PROXY it had', () => {
    const env = certbotPebbleEnv('/x/ca.pem', { HTTPS_PROXY: 'http://p:3128', no_proxy: 'corp.example' });
    expect(env['REQUESTS_CA_BUNDLE']).toBe('/x/ca.pem');
    expect(env['NO_PROXY']?.split(',')).toEqual(['corp.example', '127.0.0.1', 'localhost', '::1']);
    expect(env['no_proxy']).toBe(env['NO_PROXY']);
  });

  it('is undone: process.env is as before', () => {
    const before = { ...process.env };
    const undo = useCertbotPebbleEnv('/x/ca.pem');
    expect(process.env['REQUESTS_CA_BUNDLE']).toBe('/x/ca.pem');
    undo();
    expect(process.env).toEqual(before);
  });
});
