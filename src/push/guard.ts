/**
 * The last check before routegen changes a host's routes: the plan must not take traffic that
 * the host sends elsewhere today. A pod subnet can be anything the inventory says; on the host,
 * a route to it could capture the address routegen is connected from (the operator, or the
 * bastion in between), the default gateway, a network the host is on, or replace a route the
 * host already has for that destination (a docker bridge, a VPN) — `ip route replace` on
 * ifupdown hosts does that silently. Pure: host facts and plan in, problems out.
 */
import { addressText, cidrRange, parseHostAddress } from '../ip.js';
import type { IpValue, Route } from '../types.js';
import { normDst, parseKernelRoutes, type KernelRoute } from './kernel.js';

/** What the host says about itself, read in one command before anything is written. */
export interface HostFacts {
  /** The address routegen's SSH connection comes from, as the host sees it (SSH_CONNECTION). */
  peer?: string;
  /** The kernel's main routing table. */
  kernel: KernelRoute[];
}

/** Reads the output of routegen-host.sh's `facts` (or hostAccess.ts's FACTS_SCRIPT). */
export function parseHostFacts(out: string): HostFacts {
  const peer = /^@@ssh (\S+)/m.exec(out)?.[1];
  return { ...(peer ? { peer } : {}), kernel: parseKernelRoutes(out) };
}

type Range = Pick<IpValue, 'family' | 'start' | 'end' | 'prefix'>;
type Keyed = Range & { key: string };

const keyed = (r: Range): Keyed => ({ family: r.family, start: r.start, end: r.end, prefix: r.prefix, key: `${r.family} ${r.start} ${r.prefix}` });

/** CIDRs parsed once per run: every host's plan and table repeat the cluster's pod subnets. */
const PARSED = new Map<string, Keyed | null>();
function rangeOf(cidr: string): Keyed | null {
  let r = PARSED.get(cidr);
  if (r === undefined) {
    const v = cidrRange(cidr);
    r = v && keyed(v);
    PARSED.set(cidr, r);
  }
  return r;
}

/** An address the host must keep reaching the way it does, as a range of one. */
function addressRange(text: string): Range | null {
  const a = parseHostAddress(text.replace(/%.*$/, ''), { column: 1, length: 1 });
  if ('message' in a) return null;
  // An IPv4 client of an IPv6 socket shows as ::ffff:a.b.c.d.
  if (a.family === 6 && a.start >> 32n === 0xffffn) {
    const v4 = a.start & 0xffffffffn;
    return { family: 4, start: v4, end: v4, prefix: 32 };
  }
  return a;
}

const contains = (outer: Range, inner: Range) => outer.family === inner.family && outer.start <= inner.start && inner.end <= outer.end;

/** A kernel route's destination as a range; `default` is the whole of its family. */
function kernelRange(k: KernelRoute): Keyed | null {
  if (k.dst !== 'default') return rangeOf(normDst(k.dst));
  // (a default route without a gateway does not say its family; it is counted as IPv4's)
  const family = (k.gateway ?? '').includes(':') ? 6 : 4;
  return keyed({ family, start: 0n, end: family === 4 ? 0xffffffffn : (1n << 128n) - 1n, prefix: 0 });
}

function show(k: KernelRoute): string {
  return [k.type && k.type !== 'unicast' ? k.type : '', k.dst, k.gateway ? `via ${k.gateway}` : '', k.dev ? `dev ${k.dev}` : '', k.protocol ? `proto ${k.protocol}` : '', k.scope ? `scope ${k.scope}` : '']
    .filter(Boolean)
    .join(' ');
}

/**
 * Why applying `planned` on this host would take traffic it must not, one line per problem;
 * empty when it would not. `iface`: where routegen puts its routes. `owned`: the destinations
 * routegen's own file on the host has now (its routes; anything else in the kernel is not).
 * A route identical to a planned one (the guide's own `ip route add`) is no conflict.
 */
export function routeConflicts(facts: HostFacts, planned: Route[], iface: string, owned: string[]): string[] {
  const problems: string[] = [];
  const ownedKeys = new Set(owned.map((c) => rangeOf(c)?.key));
  const plans = planned.map((r) => ({ r, range: rangeOf(r.to) })).filter((x): x is { r: Route; range: Keyed } => x.range !== null);
  const plannedKeys = new Set(plans.map((p) => p.range.key));
  const existing = facts.kernel.map((k) => ({ k, range: kernelRange(k) })).filter((x): x is { k: KernelRoute; range: Keyed } => x.range !== null);
  const theirs = existing.filter((x) => !ownedKeys.has(x.range.key));
  const unicast = (k: KernelRoute) => (k.type ?? 'unicast') === 'unicast';
  // IPv6 connected routes carry no scope in `ip -j`: a unicast route without a gateway is one.
  const connected = (k: KernelRoute) => k.dst !== 'default' && (k.scope === 'link' || (!k.gateway && unicast(k)));

  // By destination, and the host's own networks apart (few): linear in routes, not their product.
  const theirsByKey = new Map<string, KernelRoute[]>();
  for (const x of theirs) theirsByKey.set(x.range.key, [...(theirsByKey.get(x.range.key) ?? []), x.k]);
  const networks = theirs.filter((x) => connected(x.k));
  for (const { r, range } of plans) {
    for (const k of theirsByKey.get(range.key) ?? []) {
      const same = k.gateway === r.via && k.dev === iface && unicast(k);
      if (!same) problems.push(`${r.to}: the host already routes it (${show(k)}), and routegen did not make that route; applying would replace it`);
    }
    for (const { k, range: kr } of networks) {
      if (kr.key !== range.key && contains(kr, range)) {
        problems.push(`${r.to} lies inside ${normDst(k.dst)}, a network this host is on (${show(k)}): the other hosts there would be reached through ${r.owner}`);
      }
    }
  }

  // The path to an address after the change: the longest planned prefix holding it, unless a
  // longer route stays (routegen's own ones go or are replaced). Newly through a node = captured.
  const captured = (addr: Range): { r: Route; range: Keyed } | undefined => {
    const p = plans.filter((x) => contains(x.range, addr)).sort((a, b) => b.range.prefix - a.range.prefix)[0];
    if (!p) return undefined;
    if (theirs.some((x) => contains(x.range, addr) && x.range.prefix > p.range.prefix && !plannedKeys.has(x.range.key))) return undefined;
    const before = existing.filter((x) => contains(x.range, addr)).sort((a, b) => b.range.prefix - a.range.prefix)[0];
    return before?.k.gateway === p.r.via ? undefined : p;
  };
  const guard = (text: string, what: string) => {
    const addr = addressRange(text);
    if (!addr || (addr.family === 4 ? addr.start >> 24n === 127n : addr.start === 1n)) return; // loopback: the local table wins
    const p = captured(addr);
    if (p) problems.push(`${p.r.to} via ${p.r.via} would carry the traffic to ${addressText(addr.family, addr.start)}, ${what}, through ${p.r.owner}`);
  };
  if (facts.peer) guard(facts.peer, 'the address routegen is connected from (SSH_CONNECTION)');
  for (const k of facts.kernel) if (k.dst === 'default' && k.gateway) guard(k.gateway, "this host's default gateway");
  return [...new Set(problems)];
}

/** What to tell the user when the host refuses the plan. */
export function conflictError(host: string, problems: string[]): { message: string; hint: string } {
  return {
    message: `refusing to change ${host}'s routes: ${problems.length === 1 ? 'a planned route' : 'planned routes'} would take traffic that is not the pods' (nothing was written)`,
    hint: 'give the nodes pod subnets outside every network the hosts use (the inventory), or remove a stale route on the host by hand (`ip route del DST`); then push again',
  };
}
