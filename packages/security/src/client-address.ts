import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { SecurityError } from './errors.ts';

function expandIPv6(ip: string): number[] | undefined {
  let address = ip.split('%', 1)[0]!.toLowerCase();
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    address = `${address.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = address.split('::', 2);
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  const groups = [...left, ...Array.from({ length: tail === undefined ? 0 : missing }, () => '0'), ...right];
  return groups.map((group) => Number.parseInt(group, 16));
}

/**
 * The rate-limit identity of a client address: IPv4 as is; IPv4-mapped IPv6 as its IPv4; other IPv6
 * addresses grouped by their first `ipv6PrefixBits` bits (default /64, the block one subscriber usually holds,
 * so rotating addresses inside it buys nothing).
 */
export function clientAddressKey(ip: string, ipv6PrefixBits = 64): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return ip.toLowerCase();
  const groups = expandIPv6(ip);
  if (!groups) return ip.toLowerCase();
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  }
  const bits = Math.max(0, Math.min(128, Math.trunc(ipv6PrefixBits)));
  const masked = groups.map((group, index) => {
    const keep = Math.max(0, Math.min(16, bits - index * 16));
    return keep === 0 ? 0 : group & (0xffff << (16 - keep)) & 0xffff;
  });
  return `${masked.map((group) => group.toString(16)).join(':')}/${bits}`;
}

export interface ClientAddressOptions {
  /**
   * Proxies whose X-Forwarded-For is believed: addresses or CIDRs (`10.0.0.0/8`, `fd00::/8`). Empty by default:
   * then the socket's peer is the client. There is deliberately no "trust everything".
   */
  trustedProxies?: readonly string[];
}

/**
 * Resolves the client address from the socket peer and X-Forwarded-For: walks the chain from the right while
 * each hop is a trusted proxy, and returns the first hop that is not. A client cannot spoof its way past an
 * untrusted hop, because nothing left of it is read.
 */
export function createClientAddressResolver(
  options: ClientAddressOptions = {},
): (peer: string | undefined, forwardedFor: string | string[] | undefined) => string {
  const trusted = new BlockList();
  const entries = options.trustedProxies ?? [];
  for (const entry of entries) {
    const [address = '', bits] = String(entry).split('/', 2);
    const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
    const prefix = bits === undefined ? undefined : Number(bits);
    const max = family === 'ipv4' ? 32 : 128;
    if (!family || (prefix !== undefined && (!Number.isInteger(prefix) || prefix < 0 || prefix > max))) {
      throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
        detail: `trustedProxies: "${entry}" is not an address or CIDR`,
      });
    }
    // A /0 trusts every address, so any client could name itself in X-Forwarded-For.
    if (prefix === 0) {
      throw new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', {
        detail: `trustedProxies: "${entry}" would trust every address; list your proxies' addresses or subnets`,
      });
    }
    if (prefix === undefined) trusted.addAddress(address, family);
    else trusted.addSubnet(address, prefix, family);
  }
  const isTrusted = (raw: string) => {
    const ip = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(raw) ? raw.slice(7) : raw;
    const family = isIPv4(ip) ? 'ipv4' : isIPv6(ip) ? 'ipv6' : undefined;
    return family !== undefined && trusted.check(ip, family);
  };
  return (peer, forwardedFor) => {
    const socket = peer ?? '';
    if (entries.length === 0 || !isTrusted(socket) || forwardedFor === undefined) return socket;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    let client = socket;
    for (let index = hops.length - 1; index >= 0; index -= 1) {
      const hop = hops[index]!.trim();
      if (!isIPv4(hop) && !isIPv6(hop)) break;
      client = hop;
      if (!isTrusted(hop)) break;
    }
    return client;
  };
}
