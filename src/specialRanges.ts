/**
 * Which ranges a pod subnet must not be: the special-purpose address blocks (RFC 6890 and its
 * successors) and prefixes too wide to be one node's pods. A route to such a range via a node
 * takes traffic that was never the pods' (the cloud metadata service, loopback, multicast, half
 * of the Internet) to that node on every other host. The table is written here once.
 */
import { addressText, cidrRange } from './ip.js';
import type { Family, IpValue } from './types.js';

/** One special-purpose block, and what lives there (it goes into the error message). */
export interface SpecialRange {
  cidr: string;
  what: string;
}

/** The special-purpose blocks a pod subnet may not overlap (RFC 6890, RFC 5737, RFC 3849, RFC 9637). */
export const SPECIAL_RANGES: readonly SpecialRange[] = [
  { cidr: '0.0.0.0/8', what: '"this network", never a destination' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local, home of the cloud metadata service 169.254.169.254' },
  { cidr: '192.0.2.0/24', what: 'documentation, TEST-NET-1' },
  { cidr: '198.51.100.0/24', what: 'documentation, TEST-NET-2' },
  { cidr: '203.0.113.0/24', what: 'documentation, TEST-NET-3' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved, with the broadcast address 255.255.255.255' },
  { cidr: '::/128', what: 'the unspecified address' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '::ffff:0:0/96', what: 'IPv4-mapped addresses, never on the wire' },
  { cidr: '2001:db8::/32', what: 'documentation' },
  { cidr: '3fff::/20', what: 'documentation' },
  { cidr: 'fe80::/10', what: 'link-local' },
  { cidr: 'ff00::/8', what: 'multicast' },
];

/** The widest plausible pod subnet of each family: one node's pods, not a slice of the Internet. */
export const WIDEST_POD_PREFIX: Record<Family, number> = { 4: 8, 6: 32 };

/** The widest network routegen takes the machines to share: past it, they are on several. */
export const WIDEST_NODE_NETWORK: Record<Family, number> = { 4: 16, 6: 64 };

/** routegen.yaml's key that accepts what this module refuses. */
export const OVERRIDE_KEY = 'allow-special-pod-subnets';

const PARSED = SPECIAL_RANGES.map((r) => ({ ...r, range: cidrRange(r.cidr)! }));

/** The first special-purpose block that `net` overlaps (holds, or lies in), if any. */
export function specialRangeOf(net: Pick<IpValue, 'family' | 'start' | 'end'>): SpecialRange | undefined {
  const hit = PARSED.find((r) => r.range.family === net.family && net.start <= r.range.end && r.range.start <= net.end);
  return hit && { cidr: hit.cidr, what: hit.what };
}

const OVERRIDE_HINT = `if it is really meant, set "${OVERRIDE_KEY}: true" in routegen.yaml`;

/**
 * Why the pod subnet of `owner` is refused on its own (too wide, or special-purpose), or null.
 * The caller skips this when routegen.yaml sets the override.
 */
export function podSubnetRangeProblem(net: IpValue, owner: string): { message: string; hint: string } | null {
  const special = specialRangeOf(net);
  const r = special && cidrRange(special.cidr)!;
  const relation = !r ? undefined : r.start === net.start && r.end === net.end ? 'is' : r.start <= net.start && net.end <= r.end ? 'lies in' : 'holds';
  const widest = WIDEST_POD_PREFIX[net.family];
  // Inside a special range, that range says most; a wide subnet holding one, its width does.
  if (net.prefix < widest && relation !== 'is' && relation !== 'lies in') {
    return {
      message: `pod subnet ${net.text} is too wide for one node's pods (shorter than /${widest}): every other host would send that whole range to ${owner}`,
      hint: `give each node its own small range, e.g. a /24 (IPv4) or /64 (IPv6) from a private block; ${OVERRIDE_HINT}`,
    };
  }
  if (special) {
    return {
      message: `pod subnet ${net.text} ${relation} the special-purpose range ${special.cidr} (${special.what}): every other host would send that traffic to ${owner}`,
      hint: `pod subnets come from private ranges (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fd00::/8); ${OVERRIDE_HINT}`,
    };
  }
  return null;
}

/**
 * The smallest CIDR block holding every address given (all of one family): the part of the
 * node network the inventory shows. Routes go via these addresses, so they share one link and
 * the block lies inside that link's network — when it is no wider than WIDEST_NODE_NETWORK;
 * a wider one means machines on several networks, and the caller ignores it.
 */
export function nodeBlock(addresses: Array<Pick<IpValue, 'family' | 'start'>>): Omit<IpValue, 'span'> | undefined {
  if (addresses.length === 0) return undefined;
  const family = addresses[0]!.family;
  const bits = family === 4 ? 32 : 128;
  let lo = addresses[0]!.start;
  let hi = lo;
  for (const a of addresses) {
    if (a.start < lo) lo = a.start;
    if (a.start > hi) hi = a.start;
  }
  let prefix = bits;
  while (prefix > 0 && lo >> BigInt(bits - prefix) !== hi >> BigInt(bits - prefix)) prefix--;
  const size = 1n << BigInt(bits - prefix);
  const start = (lo / size) * size;
  return { family, text: `${addressText(family, start)}/${prefix}`, start, end: start + size - 1n, prefix };
}
