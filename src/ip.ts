/** IP addresses and networks: parsing (IPv4 and IPv6, canonical text), their problems, the family rule of the inventories, order. */
import { Address6 } from 'ip-address';
import type { IpValue, Span } from './types.js';

/** Why a text is not what was asked for, with a suggestion when there is one. */
export interface IpProblem {
  message: string;
  hint?: string;
}

const V4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const V6_CHARS = /^[0-9A-Fa-f:.]+$/;

/** An IPv4 or IPv6 address (no prefix) as a number, with its canonical text. */
export function parseAddress(text: string): { family: 4 | 6; value: bigint; canonical: string } | IpProblem {
  if (text.includes(':')) {
    if (!V6_CHARS.test(text)) return { message: `"${text}" is not an IPv6 address` };
    try {
      const a = new Address6(text);
      return { family: 6, value: a.bigInt(), canonical: a.correctForm() };
    } catch {
      return { message: `"${text}" is not an IPv6 address` };
    }
  }
  if (!V4.test(text)) {
    const hint = /^\d+(\.\d+){3}$/.test(text) ? 'each of the four numbers is 0 to 255, without leading zeros' : undefined;
    return { message: `"${text}" is not an IPv4 address`, hint };
  }
  // V4 admits no leading zeros, so the text is already canonical. Computed here rather than by
  // ip-address: a cluster of thousands of nodes parses two addresses a node.
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return { family: 4, value: BigInt(a * 2 ** 24 + b * 2 ** 16 + c * 2 ** 8 + d), canonical: text };
}

/** Dotted-quad text of a 32-bit address. */
function formatV4(value: bigint): string {
  const n = Number(value);
  return `${Math.floor(n / 2 ** 24)}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A single host address (no prefix). */
export function parseHostAddress(text: string, span: Span): IpValue | IpProblem {
  if (text.includes('/')) {
    return { message: `"${text}" has a prefix length; this column takes a plain address`, hint: `write ${text.split('/')[0]}` };
  }
  const a = parseAddress(text);
  if (isIpProblem(a)) return a;
  return { family: a.family, text: a.canonical, start: a.value, end: a.value, prefix: a.family === 4 ? 32 : 128, span };
}

/** A network in CIDR form whose host bits are zero. */
export function parseNetwork(text: string, span: Span): IpValue | IpProblem {
  const slash = text.indexOf('/');
  if (slash < 0) {
    return { message: `pod subnet "${text}" has no prefix length`, hint: `write it in CIDR form, e.g. ${text}/24` };
  }
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const a = parseAddress(addrText);
  if (isIpProblem(a)) return { message: `pod subnet ${a.message.replace(/^"/, '"')}`, hint: a.hint };
  const max = a.family === 4 ? 32 : 128;
  if (!/^(0|[1-9]\d{0,2})$/.test(prefixText) || Number(prefixText) > max) {
    return { message: `pod subnet "${text}" has an invalid prefix length "/${prefixText}"`, hint: `an IPv${a.family} prefix length is 0 to ${max}` };
  }
  const prefix = Number(prefixText);
  const hostBits = BigInt(max - prefix);
  const size = 1n << hostBits;
  const start = (a.value >> hostBits) << hostBits;
  const canonicalStart = addressText(a.family, start);
  if (start !== a.value) {
    return {
      message: `pod subnet ${text} has host bits set; did you mean ${canonicalStart}/${prefix}?`,
      hint: `a pod subnet is a network address: the last ${hostBits} bits must be zero`,
    };
  }
  return { family: a.family, text: `${canonicalStart}/${prefix}`, start, end: start + size - 1n, prefix, span };
}

/** An address of the family, as a number, in canonical text. */
export function addressText(family: 4 | 6, value: bigint): string {
  return family === 4 ? formatV4(value) : Address6.fromBigInt(value).correctForm();
}

/** A CIDR that routegen (or the kernel) wrote, as a range; null when it is not one. */
export function cidrRange(cidr: string): IpValue | null {
  const v = parseNetwork(cidr, { column: 1, length: 1 });
  return isIpProblem(v) ? null : v;
}

/** Whether a parse gave a problem rather than a value. */
export function isIpProblem<T extends object>(x: T | IpProblem): x is IpProblem {
  return 'message' in x;
}

/** Reads a pod subnet into a machine's list under the family rule of both inventories (at most
 * one pod subnet of each family per machine); the problem when it is not one, or a second. */
export function addPodSubnet(podSubnets: IpValue[], text: string, span: Span, whose: string): IpProblem | null {
  const n = parseNetwork(text, span);
  if (isIpProblem(n)) return n;
  if (podSubnets.some((x) => x.family === n.family)) return { message: `more than one IPv${n.family} pod subnet for ${whose}`, hint: 'give at most one pod subnet per address family' };
  podSubnets.push(n);
  return null;
}

/** Numeric order: IPv4 before IPv6, then by first address, then by prefix. */
export function compareIp(a: IpValue, b: IpValue): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.prefix - b.prefix;
}
