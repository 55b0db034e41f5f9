import ipaddr from 'ipaddr.js';

const RANGE_DESCRIPTIONS: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT address',
  private: 'a private-network address',
  reserved: 'a reserved address',
  uniqueLocal: 'a unique local address',
  ipv4Mapped: 'an IPv4-mapped address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'a NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
};
// Not public, and not told apart by ipaddr.js 1.x.
const MORE_NON_PUBLIC: [ipaddr.IPv4 | ipaddr.IPv6, number, string][] = (
  [
    ['198.18.0.0/15', 'a benchmarking address'],
    ['fec0::/10', 'a site-local address'],
    ['100::/64', 'a discard-only address'],
  ] as const
).map(([cidr, description]) => [...ipaddr.parseCIDR(cidr), description]);

/** The address as one canonical IP (IPv4-mapped IPv6 as the IPv4 it carries), or null when it is not an IP address. */
export function parseAddress(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  try {
    return ipaddr.process(address.replace(/^\[(.*)\]$/, '$1'));
  } catch {
    return null;
  }
}

/** Whether `ip` lies in the block `network`/`bits` (false across IPv4 and IPv6). */
export function inBlock(ip: ipaddr.IPv4 | ipaddr.IPv6, [network, bits]: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  if (ip.kind() !== network.kind()) return false;
  return ip.kind() === 'ipv4' ? (ip as ipaddr.IPv4).match(network as ipaddr.IPv4, bits) : (ip as ipaddr.IPv6).match(network as ipaddr.IPv6, bits);
}

/** What kind of non-public address this is (e.g. "a loopback address"), or null for a public unicast address. */
export function nonPublicAddress(address: string): string | null {
  const ip = parseAddress(address);
  if (!ip) return 'not an IP address';
  const range = ip.range();
  if (range !== 'unicast') return RANGE_DESCRIPTIONS[range] ?? `a ${range} address`;
  for (const [network, bits, description] of MORE_NON_PUBLIC) {
    if (inBlock(ip, [network, bits])) return description;
  }
  return null;
}

/** Lower-case, without brackets, IP addresses in one spelling (IPv4-mapped IPv6 as IPv4). */
export function canonicalHost(host: string): string {
  const bare = host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
  return parseAddress(bare)?.toString() ?? bare;
}
