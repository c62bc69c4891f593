import { describe, expect, it } from 'vitest';
import { clientAddressKey, createClientAddressResolver } from './client-address.ts';

describe('clientAddressKey', () => {
  it('keeps IPv4, unmaps IPv4-mapped IPv6 and groups IPv6 by /64', () => {
    expect(clientAddressKey('203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddressKey('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(clientAddressKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(clientAddressKey('2001:db8:1:2::1')).toBe(clientAddressKey('2001:db8:1:2:ffff::9'));
    expect(clientAddressKey('2001:db8:1:3::1')).not.toBe(clientAddressKey('2001:db8:1:2::1'));
    expect(clientAddressKey('2001:db8:1:2::1', 48)).toBe('2001:db8:1:0:0:0:0:0/48');
    expect(clientAddressKey('2001:DB8::1', 128)).toBe('2001:db8:0:0:0:0:0:1/128');
    expect(clientAddressKey('::1')).toBe('0:0:0:0:0:0:0:0/64');
  });
});

describe('createClientAddressResolver', () => {
  it('ignores X-Forwarded-For unless the peer is a trusted proxy', () => {
    const resolve = createClientAddressResolver();
    expect(resolve('198.51.100.1', '1.2.3.4')).toBe('198.51.100.1');
    const behindProxy = createClientAddressResolver({ trustedProxies: ['10.0.0.0/8', '::1'] });
    expect(behindProxy('198.51.100.1', '1.2.3.4')).toBe('198.51.100.1');
    expect(behindProxy('10.1.2.3', '1.2.3.4')).toBe('1.2.3.4');
    expect(behindProxy('::ffff:10.1.2.3', '1.2.3.4')).toBe('1.2.3.4');
    expect(behindProxy('::1', '1.2.3.4')).toBe('1.2.3.4');
  });

  it('walks the chain from the right and stops at the first untrusted hop, so spoofed entries are ignored', () => {
    const resolve = createClientAddressResolver({ trustedProxies: ['10.0.0.0/8'] });
    expect(resolve('10.0.0.1', 'spoofed, 6.6.6.6, 1.2.3.4, 10.0.0.2')).toBe('1.2.3.4');
    expect(resolve('10.0.0.1', ['6.6.6.6', '1.2.3.4'])).toBe('1.2.3.4');
    expect(resolve('10.0.0.1', 'garbage')).toBe('10.0.0.1');
  });

  it.each([['*'], ['10.0.0.0/33'], ['not-an-ip'], ['::/129'], ['0.0.0.0/0'], ['::/0'], ['10.0.0.0/0']])(
    'rejects trusted proxy %s',
    (entry) => {
      expect(() => createClientAddressResolver({ trustedProxies: [entry] })).toThrow(
        expect.objectContaining({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' }),
      );
    },
  );
});
