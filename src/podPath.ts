/**
 * The whole pod path: routes are right only if they agree with the pod subnet each node's pods
 * really get. That subnet is written in several places — the inventory (machines.txt), the
 * node's CNI config (the bridge plugin's `ipam.subnet` / `ipam.ranges`), its kubelet config
 * (`podCIDR`), and the cluster's Node object (`spec.podCIDRs`, assigned by the controller
 * manager) — and a typo in any of them breaks pods silently. This module reads the first two
 * kinds of file and compares every source with the inventory. Pure: the caller fetches files.
 */
import { parse as parseYaml } from 'yaml';
import { cidrRange } from './ip.js';

/** Where a node's CNI configs and kubelet config live (Kubernetes the Hard Way's paths). */
export const CNI_DIR = '/etc/cni/net.d';
export const KUBELET_CONFIG = '/var/lib/kubelet/kubelet-config.yaml';

/** The CNI config files a runtime reads from CNI_DIR (libcni: .conf, .conflist, .json). */
export function isCniConfigName(name: string): boolean {
  return /\.(conf|conflist|json)$/.test(name) && !name.startsWith('.');
}

/** One place that names pod subnets, and what it names (canonical CIDRs, sorted). */
export interface SubnetSource {
  /** A file on the host, or "the cluster's Node object". */
  source: string;
  subnets: string[];
  /** The file could not be read as what it should be (then `subnets` is empty). */
  unreadable?: string;
}

function canonical(cidrs: unknown[]): string[] {
  const out = new Set<string>();
  for (const c of cidrs) {
    if (typeof c !== 'string') continue;
    const r = cidrRange(c.trim());
    out.add(r ? r.text : c.trim());
  }
  return [...out].sort();
}

/** The subnets in a CNI config's IPAM sections (a single plugin, or a conflist's `plugins`). */
export function cniSubnets(source: string, text: string): SubnetSource {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { source, subnets: [], unreadable: `not JSON (${(e as Error).message})` };
  }
  if (typeof doc !== 'object' || doc === null) return { source, subnets: [], unreadable: 'not a JSON object' };
  const root = doc as { plugins?: unknown };
  const plugins = Array.isArray(root.plugins) ? root.plugins : [doc];
  const found: unknown[] = [];
  for (const p of plugins) {
    const ipam = (p as { ipam?: { subnet?: unknown; ranges?: unknown } } | null)?.ipam;
    if (!ipam || typeof ipam !== 'object') continue;
    if (ipam.subnet !== undefined) found.push(ipam.subnet);
    // host-local: ranges is a list of range sets, each a list of {subnet, ...}
    if (Array.isArray(ipam.ranges)) {
      for (const set of ipam.ranges) if (Array.isArray(set)) for (const r of set) found.push((r as { subnet?: unknown } | null)?.subnet);
    }
  }
  return { source, subnets: canonical(found) };
}

/** The `podCIDR` of a KubeletConfiguration (YAML). */
export function kubeletSubnets(source: string, text: string): SubnetSource {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    return { source, subnets: [], unreadable: `not YAML (${(e as Error).message.split('\n')[0]})` };
  }
  const cidr = (doc as { podCIDR?: unknown } | null)?.podCIDR;
  return { source, subnets: typeof cidr === 'string' ? canonical(cidr.split(',')) : [] };
}

/**
 * Every source that names subnets different from the inventory's, in words:
 * "/etc/cni/net.d/10-bridge.conf says 10.200.5.0/24; machines.txt says 10.200.1.0/24".
 * A source naming no subnet (a loopback CNI config, a kubelet config without podCIDR) is no
 * disagreement; an unreadable one is reported as such.
 */
export function podPathDisagreements(inventoryName: string, planned: string[], sources: SubnetSource[]): string[] {
  const want = canonical(planned);
  const says = (subnets: string[]) => (subnets.length ? subnets.join(', ') : 'no pod subnet');
  const out: string[] = [];
  for (const s of sources) {
    if (s.unreadable) {
      out.push(`${s.source}: cannot tell its pod subnet: ${s.unreadable}`);
      continue;
    }
    if (s.subnets.length === 0) continue;
    if (s.subnets.join() !== want.join()) out.push(`pod subnet: ${s.source} says ${says(s.subnets)}; ${inventoryName} says ${says(want)}`);
  }
  return out;
}
