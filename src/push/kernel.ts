import type { Route } from '../types.js';

/** A route as `ip -j route show` prints it. */
export interface KernelRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
  /** `link` for a network the host is on (a connected route); absent means global. */
  scope?: string;
  /** `blackhole`, `unreachable`...; absent means unicast. */
  type?: string;
}

/**
 * Output of a command on a host that is not what routegen expects (not JSON, or JSON of another
 * shape): that host's failure, never a crash of the whole run.
 */
export class HostOutputError extends Error {
  override name = 'HostOutputError';
  constructor(
    message: string,
    /** The start of what the host printed (raw: escaped when shown). */
    readonly output: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const IP_HINT = 'routegen reads the routing table with `ip -j route` (iproute2 4.13 or newer); check that `ip -j -4 route show table main` on the host prints JSON';

function badOutput(what: string, output: string): HostOutputError {
  return new HostOutputError(`the host's routing table could not be read: ${what}`, output.slice(0, 400), IP_HINT);
}

const optional = (r: Record<string, unknown>, k: string, type: 'string' | 'number') => r[k] === undefined || typeof r[k] === type;

/**
 * Parses the output of routegen-host.sh's `routes`: an `@@ipv4` line, `ip -j -4 route` JSON,
 * an `@@ipv6` line, `ip -j -6 route` JSON. Text before the first marker (an apply command's own
 * output) is ignored. Anything else — no marker, text that is not JSON, JSON that is not a list
 * of routes — is a HostOutputError.
 */
export function parseKernelRoutes(text: string): KernelRoute[] {
  const out: KernelRoute[] = [];
  const start = text.indexOf('@@ipv4');
  if (start < 0) throw badOutput('no routing table in the output of routegen-host.sh', text);
  for (const part of text.slice(start).split(/^@@ipv[46]$/m)) {
    const json = part.trim();
    if (!json) continue;
    let rows: unknown;
    try {
      rows = JSON.parse(json);
    } catch {
      throw badOutput('`ip -j route` printed something that is not JSON', json);
    }
    if (!Array.isArray(rows)) throw badOutput('`ip -j route` printed JSON that is not a list of routes', json);
    for (const r of rows as unknown[]) {
      if (typeof r !== 'object' || r === null || Array.isArray(r)) throw badOutput('a route in `ip -j route` is not an object', json);
      const row = r as Record<string, unknown>;
      if (typeof row.dst !== 'string' || !optional(row, 'gateway', 'string') || !optional(row, 'dev', 'string') || !optional(row, 'protocol', 'string') || !optional(row, 'metric', 'number')) {
        throw badOutput('a route in `ip -j route` has fields of the wrong type (dst, gateway, dev and protocol are text, metric a number)', json);
      }
      out.push({
        dst: row.dst,
        gateway: row.gateway as string | undefined,
        dev: row.dev as string | undefined,
        protocol: row.protocol as string | undefined,
        metric: row.metric as number | undefined,
        ...(typeof row.scope === 'string' && { scope: row.scope }),
        ...(typeof row.type === 'string' && { type: row.type }),
      });
    }
  }
  return out;
}

/** `ip` prints a /32 (or /128) destination without its prefix. */
export function normDst(dst: string): string {
  if (dst.includes('/')) return dst;
  return dst.includes(':') ? `${dst}/128` : `${dst}/32`;
}

export interface RouteCheck {
  /** Planned routes not in the kernel at all. */
  missing: Route[];
  /** Planned destinations in the kernel with another gateway, interface or metric. */
  wrong: Array<{ route: Route; found: KernelRoute }>;
  /** Routes the plan does not have to destinations it says must be gone (removed pod subnets). */
  stale: KernelRoute[];
}

/**
 * Compares the kernel's table with the plan: every planned route present via the planned
 * gateway on the planned interface (and metric, when one is set); none of `gone` left.
 */
export function checkRoutes(kernel: KernelRoute[], planned: Route[], iface: string, metric: number | undefined, gone: string[] = []): RouteCheck {
  const byDst = new Map<string, KernelRoute[]>();
  for (const k of kernel) {
    const d = normDst(k.dst);
    const list = byDst.get(d);
    if (list) list.push(k);
    else byDst.set(d, [k]);
  }
  const res: RouteCheck = { missing: [], wrong: [], stale: [] };
  for (const r of planned) {
    const found = byDst.get(r.to);
    if (!found) {
      res.missing.push(r);
      continue;
    }
    const ok = found.some((k) => k.gateway === r.via && k.dev === iface && (metric === undefined || (k.metric ?? 0) === metric));
    if (!ok) res.wrong.push({ route: r, found: found[0]! });
  }
  const plannedDst = new Set(planned.map((r) => r.to));
  for (const g of gone) {
    if (plannedDst.has(g)) continue;
    for (const k of byDst.get(g) ?? []) if (k.gateway) res.stale.push(k);
  }
  return res;
}

export function routeCheckOk(c: RouteCheck): boolean {
  return c.missing.length === 0 && c.wrong.length === 0 && c.stale.length === 0;
}

/** One line per problem, for reports. */
export function describeRouteCheck(c: RouteCheck): string[] {
  return [
    ...c.missing.map((r) => `${r.to} via ${r.via}: missing from the kernel`),
    ...c.wrong.map(({ route, found }) => `${route.to}: via ${route.via} planned, kernel has ${found.gateway ? `via ${found.gateway}` : 'no gateway'} dev ${found.dev ?? '?'}${found.metric !== undefined ? ` metric ${found.metric}` : ''}`),
    ...c.stale.map((k) => `${k.dst} via ${k.gateway}: still in the kernel, not in the plan`),
  ];
}

/**
 * Kernel routes via a gateway whose destination overlaps a pod subnet of the cluster but that
 * the plan does not give this host: stale (a removed node, an old subnet) or made by hand.
 */
export function extraRoutes(kernel: KernelRoute[], planned: Route[], cluster: Array<{ start: bigint; end: bigint; family: 4 | 6 }>, toRange: (dst: string) => { start: bigint; end: bigint; family: 4 | 6 } | null): KernelRoute[] {
  const plannedKey = new Set(planned.map((r) => `${r.to} ${r.via}`));
  return kernel.filter((k) => {
    if (!k.gateway || plannedKey.has(`${normDst(k.dst)} ${k.gateway}`)) return false;
    const r = toRange(normDst(k.dst));
    if (!r) return false;
    return cluster.some((c) => c.family === r.family && r.start <= c.end && c.start <= r.end);
  });
}
