/** The route plan: validates the inventory as a whole and works out, host by host, the routes each host needs. */
import { ProblemList, UserError } from './errors.js';
import { compareIp } from './ip.js';
import { checkConfigHosts, settingsFor, type Config, type HostOverrides } from './inventory/config.js';
import { nodeBlock, OVERRIDE_KEY, podSubnetRangeProblem, WIDEST_NODE_NETWORK } from './specialRanges.js';
import type { HostPlan, HostSettings, Inventory, IpValue, Machine, Route, Span } from './types.js';

/** A host of the plan before its routes are listed (they are built on demand, host by host). */
export interface PlannedHost {
  machine: Machine;
  settings: HostSettings;
}

/**
 * The validated route plan. Routes are not stored per host: a cluster of n workers has n² of
 * them. `hostPlan()` lists one host's routes in O(n) from the shared, sorted destination list,
 * so rendering streams host by host.
 */
export interface RoutePlan {
  inventory: Inventory;
  hosts: PlannedHost[];
  /** One route per pod subnet in the cluster, sorted; a host gets all but its own. */
  destinations: Route[];
}

/**
 * Checks what no single line can show: unique names and addresses, pod subnets that overlap
 * each other, hold a machine's address or lie among the machines' addresses, and subnets with
 * no gateway of their family; and refuses special-purpose and too wide pod subnets unless
 * `allowSpecialPodSubnets` (routegen.yaml) says they are meant.
 * Runs in O(n log n) so that thousands of machines stay fast.
 */
export function validateInventory(inv: Inventory, opts: { allowSpecialPodSubnets?: boolean } = {}): void {
  const problems = new ProblemList();
  const report = (m: Machine, span: Span, message: string, hint?: string) =>
    problems.add({ file: inv.file, line: m.line, column: span.column, length: span.length, source: m.source, message, hint });

  const seen = <K>(key: (m: Machine) => K[], what: string, span: (m: Machine, k: K) => Span, show: (k: K) => string) => {
    const first = new Map<K, Machine>();
    for (const m of inv.machines) {
      for (const k of key(m)) {
        const prev = first.get(k);
        if (prev) report(m, span(m, k), `${what} ${show(k)} is already used by ${prev.hostname} on line ${prev.line}`, `every machine needs its own ${what}`);
        else first.set(k, m);
      }
    }
  };
  seen((m) => [m.hostname], 'hostname', (m) => m.spans.hostname, (k) => `"${k}"`);
  seen((m) => [m.fqdn.toLowerCase()], 'FQDN', (m) => m.spans.fqdn, (k) => `"${k}"`);
  seen(
    (m) => m.addresses.map((a) => a.text),
    'address',
    (m, k) => m.addresses.find((a) => a.text === k)!.span,
    (k) => k,
  );

  // Overlap: after sorting by start (then by prefix, widest first), a subnet overlaps an earlier
  // one exactly when it starts before the furthest end seen so far (CIDR blocks nest or are disjoint).
  const subnets: Array<{ net: IpValue; m: Machine }> = inv.machines.flatMap((m) => m.podSubnets.map((net) => ({ net, m })));
  subnets.sort((a, b) => compareIp(a.net, b.net));
  let widest: { net: IpValue; m: Machine } | undefined;
  for (const s of subnets) {
    if (widest && widest.net.family === s.net.family && s.net.start <= widest.net.end) {
      const [later, earlier] = s.m.line >= widest.m.line ? [s, widest] : [widest, s];
      report(later.m, later.net.span, `pod subnet ${later.net.text} overlaps ${earlier.net.text} of ${earlier.m.hostname} (line ${earlier.m.line})`, 'pod subnets must not overlap: give every machine its own range');
    }
    if (!widest || widest.net.family !== s.net.family || s.net.end > widest.net.end) widest = s;
  }

  // A pod subnet holding a machine address would route node traffic into a pod network.
  const holders = new Set<IpValue>();
  for (const m of inv.machines) {
    for (const a of m.addresses) {
      let lo = 0;
      let hi = subnets.length - 1;
      let found = -1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const s = subnets[mid]!.net;
        if (s.family < a.family || (s.family === a.family && s.start <= a.start)) {
          found = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      // Subnets are disjoint once overlaps are fixed, so only the last one starting at or
      // before the address can hold it.
      const s = found >= 0 ? subnets[found]! : undefined;
      if (s && s.net.family === a.family && a.start <= s.net.end) {
        holders.add(s.net);
        const own = s.m === m;
        report(s.m, s.net.span, `pod subnet ${s.net.text} contains ${own ? 'its own' : `${m.hostname}'s`} address ${a.text}${own ? '' : ` (line ${m.line})`}`, 'pod subnets must lie outside the node network');
      }
    }
  }

  if (!opts.allowSpecialPodSubnets) {
    for (const s of subnets) {
      const p = podSubnetRangeProblem(s.net, s.m.hostname);
      if (p) report(s.m, s.net.span, p.message, p.hint);
    }
    // Routes go via the machines' addresses, so those share one network; a pod subnet among
    // them would send every other host of that network (a gateway, the jumpbox) through a node.
    for (const family of [4, 6] as const) {
      const block = nodeBlock(inv.machines.flatMap((m) => m.addresses.filter((a) => a.family === family)));
      if (!block || block.prefix < WIDEST_NODE_NETWORK[family]) continue;
      for (const s of subnets) {
        if (s.net.family !== family || holders.has(s.net) || s.net.start < block.start || s.net.end > block.end) continue;
        report(s.m, s.net.span, `pod subnet ${s.net.text} lies inside the node network: the machines' addresses span ${block.text}, and the other hosts there would be reached through ${s.m.hostname}`,
          `pod subnets must lie outside the node network; if the machines really are on several networks, set "${OVERRIDE_KEY}: true" in routegen.yaml`);
      }
    }
  }

  // Each family's routes go via the same family's node address: the owner and every other
  // machine must have one.
  const families = new Set(subnets.map((s) => s.net.family));
  for (const m of inv.machines) {
    for (const net of m.podSubnets) {
      if (!m.addresses.some((a) => a.family === net.family)) {
        report(m, net.span, `${m.hostname} has no IPv${net.family} address to route its pod subnet ${net.text} through`, `add an IPv${net.family} address to the first column, e.g. ${m.addresses[0]?.text ?? 'ADDRESS'},${net.family === 6 ? 'fd00::1' : '192.0.2.1'}`);
      }
    }
    for (const f of families) {
      if (!m.addresses.some((a) => a.family === f) && subnets.some((s) => s.net.family === f && s.m !== m)) {
        report(m, m.spans.ip, `${m.hostname} has no IPv${f} address, but the cluster has IPv${f} pod subnets that it needs routes to`, `add the machine's IPv${f} address to the first column, separated by a comma`);
      }
    }
  }
  problems.throwIfAny(`${inv.file} is not a valid inventory`);
}

/**
 * Works out which routes every host needs: a route to every OTHER machine's pod subnet via
 * that machine's address of the same family, never one to its own subnet (it would fight the
 * CNI bridge's kernel route; kubernetes-the-hard-way#539). Validates first.
 */
export function planRoutes(inv: Inventory, config: Config, flags: HostOverrides = {}): RoutePlan {
  validateInventory(inv, { allowSpecialPodSubnets: config.allowSpecialPodSubnets });
  checkConfigHosts(config, inv);
  const destinations: Route[] = [];
  const nets: IpValue[] = [];
  for (const m of inv.machines) {
    for (const net of m.podSubnets) {
      const via = m.addresses.find((a) => a.family === net.family)!;
      destinations.push({ family: net.family, to: net.text, via: via.text, owner: m.hostname });
      nets.push(net);
    }
  }
  const order = destinations.map((_, i) => i).sort((a, b) => compareIp(nets[a]!, nets[b]!));
  return {
    inventory: inv,
    hosts: inv.machines.map((machine) => ({ machine, settings: settingsFor(machine.hostname, config, flags) })),
    destinations: order.map((i) => destinations[i]!),
  };
}

/** One host's plan with its routes listed. */
export function hostPlan(plan: RoutePlan, host: PlannedHost): HostPlan {
  const m = host.machine;
  return {
    name: m.hostname,
    fqdn: m.fqdn,
    ip: m.addresses[0]!.text,
    addresses: m.addresses.map((a) => a.text),
    settings: host.settings,
    podSubnets: m.podSubnets.map((s) => s.text),
    routes: plan.destinations.filter((r) => r.owner !== m.hostname),
  };
}

/** Restricts the plan to the named hosts (routes still cover the whole cluster). */
export function selectHosts(plan: RoutePlan, names: string[] | undefined): PlannedHost[] {
  if (!names || names.length === 0) return plan.hosts;
  const byName = new Map(plan.hosts.map((h) => [h.machine.hostname, h]));
  const unknown = names.filter((n) => !byName.has(n));
  if (unknown.length) {
    throw new UserError(`--hosts names ${unknown.map((n) => `"${n}"`).join(', ')}, not in ${plan.inventory.file}`, {
      kind: 'usage',
      hint: `hosts in the inventory: ${[...byName.keys()].slice(0, 10).join(', ')}`,
    });
  }
  return names.map((n) => byName.get(n)!);
}
