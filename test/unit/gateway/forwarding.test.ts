import { describe, expect, it } from 'vitest';
import { clientView, trustedProxyList } from '../../../src/gateway/forwarding.js';

const LB = trustedProxyList(['10.0.0.0/8', '2001:db8::/32', '192.0.2.7']);

describe('clientView — the client behind a trusted load balancer (nginx realip, real_ip_recursive on)', () => {
  const spoofed = ['X-Forwarded-For', '6.6.6.6', 'X-Forwarded-Proto', 'https'];

  it('from an untrusted peer: the connection, whatever the headers claim', () => {
    expect(clientView('203.0.113.5', 'http', spoofed, LB)).toEqual({
      remoteAddress: '203.0.113.5',
      scheme: 'http',
    });
    expect(clientView('10.1.2.3', 'http', spoofed, null)).toEqual({
      remoteAddress: '10.1.2.3',
      scheme: 'http',
    });
  });

  it('from a trusted peer: the last X-Forwarded-For hop nobody trusted vouches for, and its X-Forwarded-Proto', () => {
    expect(clientView('10.1.2.3', 'http', spoofed, LB)).toEqual({
      remoteAddress: '6.6.6.6',
      scheme: 'https',
    });
    // A client's own entries stand left of what the balancers wrote: never reached.
    const chain = ['X-Forwarded-For', '1.1.1.1, 198.51.100.9', 'X-Forwarded-For', '10.9.9.9'];
    expect(clientView('192.0.2.7', 'http', chain, LB).remoteAddress).toBe('198.51.100.9');
    expect(clientView('::ffff:10.0.0.1', 'http', spoofed, LB).remoteAddress).toBe('6.6.6.6');
    expect(clientView('2001:db8::1', 'http', spoofed, LB).remoteAddress).toBe('6.6.6.6');
  });

  it('ignores a malformed hop and anything left of it, and an X-Forwarded-Proto other than http/https', () => {
    const bad = ['X-Forwarded-For', '6.6.6.6, not-an-ip, 198.51.100.9', 'X-Forwarded-Proto', 'gopher'];
    expect(clientView('10.0.0.1', 'http', bad, LB)).toEqual({
      remoteAddress: '198.51.100.9',
      scheme: 'http',
    });
    expect(clientView('10.0.0.1', 'http', ['X-Forwarded-For', 'junk'], LB).remoteAddress).toBe('10.0.0.1');
    expect(clientView('10.0.0.1', 'https', [], LB)).toEqual({ remoteAddress: '10.0.0.1', scheme: 'https' });
  });
});
