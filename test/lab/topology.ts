/**
 * The lab's shape: which hosts a lab has, their addresses, pod networks, stacks and namespace
 * names, computed from `LabOptions` before anything is created; and the state file that records
 * it (what `Lab.attach` reads back). Nothing here touches the machine.
 */
import { createHash } from 'node:crypto';
import { LAB_BASES, type LabBaseName } from './bases.js';
import { networkManagerUnavailable } from './prereqs.js';

export type { LabFile } from './bases.js';
import type { LabFile } from './bases.js';

export type LabStack = 'networkd' | 'netplan' | 'ifupdown' | 'networkmanager';

/** Every stack a lab host can run. */
export const LAB_STACKS: readonly LabStack[] = ['networkd', 'netplan', 'ifupdown', 'networkmanager'];

export interface LabOptions {
  /** Number of workers (node-0, node-1, ...); default 2. At most 150. */
  workers?: number;
  /**
   * Base network configuration of each host; default 'networkd'. 'networkmanager' hosts run
   * NetworkManager (keyfile plugin, eth1 only: NM_ETH1_KEYFILE) and need it installed.
   */
  stack?: LabStack | ((hostname: string) => LabStack);
  /** Per host, a base from bases.ts (a layout as installers and cloud images leave it) instead
   * of the lab's plain one; the base decides the host's stack. */
  base?: (hostname: string) => LabBaseName | undefined;
  /** Namespace name prefix; default unique per run (`rg<pid>x<n>`). */
  prefix?: string;
  /** Include "server" 192.168.10.100 (no pod subnet); default true. */
  withServer?: boolean;
  /**
   * Keep the hosts running after this process exits (the lab CLI uses it). Default false: the
   * hosts die with this process, whatever way it ends, and exit/SIGINT/SIGTERM handlers tear
   * the lab down.
   */
  persist?: boolean;
  /** Per-host limit for coming up (stack configured, sshd listening); default 20000 ms. */
  readyTimeoutMs?: number;
  /**
   * ifupdown hosts: put `source-directory /etc/network/interfaces.d` after the eth1 stanza
   * instead of before it. Default false: Debian's installer layout, where interfaces.d is read
   * first, so its stanzas for eth1 run before eth1 has its address.
   */
  ifupdownSourceLast?: boolean;
  /** Parent of the lab's temp dir; default os.tmpdir(). */
  tmpRoot?: string;
  /**
   * Dual stack: every host's eth1 also gets fd00:10::<last number of its IPv4 address>/64 (server
   * fd00:10::100, node-N fd00:10::(101+N)) in its base persistent config, eth1 gets a link-local
   * address (IPv6 forwarding needs one for neighbour discovery), no duplicate address detection
   * in the hosts; each worker's cni0 gets fd00:10:200:N::1/64 and its pod fd00:10:200:N::2/64
   * with a default route via it, and IPv6 forwarding is on in the workers. The jumpbox gets
   * fd00:10::10. machines.txt lists both families. SSH still goes to the IPv4 addresses.
   * Default false.
   */
  dualStack?: boolean;
  /**
   * Replaces a host's base persistent files (`files`: the stack's own); test/lab/nmBases.ts
   * builds NetworkManager hosts as installers and cloud-init leave them. Default: unchanged.
   */
  baseFiles?: (host: { name: string; ip: string; stack: LabStack }, files: LabFile[]) => LabFile[];
}

export interface LabHost {
  name: string;
  ip: string;
  podSubnet?: string;
  podIp?: string;
  /** Dual-stack labs: eth1's IPv6 address (fd00:10::101), the pod subnet and the pod's address. */
  ip6?: string;
  podSubnet6?: string;
  podIp6?: string;
  stack: LabStack;
  /** Network namespace name (under /run/netns). */
  netns: string;
  /** PID (as this machine sees it) of the host's init; `nsenter -t PID -m -u -n -p` enters it. */
  pid: number;
}

/** What the state file holds: enough for `Lab.attach` to find and tear down a running lab. */
export interface HostState extends LabHost {
  /** The host's base from bases.ts, when not the lab's plain one. */
  base?: LabBaseName;
  podNetns?: string;
  /** PID of the `unshare` process whose child is the init. */
  unsharePid: number;
  /** Start times (clock ticks since boot, /proc/PID/stat field 22) guard against reused PIDs. */
  pidStart: string;
  unshareStart: string;
}

export interface LabState {
  version: 1;
  prefix: string;
  dir: string;
  persist: boolean;
  ifupdownSourceLast: boolean;
  /** Absent in state files written before dual stack existed: false. */
  dualStack?: boolean;
  switchNetns: string;
  jumpboxNetns: string;
  jumpboxIp: string;
  jumpboxIp6?: string;
  /** Every namespace the lab created, in creation order. */
  namespaces: string[];
  hosts: HostState[];
  createdAt: string;
}

const NETWORK = '192.168.10';
export const PREFIXLEN = 24;
export const JUMPBOX_IP = `${NETWORK}.10`;
const SERVER_IP = `${NETWORK}.100`;
/** Dual stack: the node network's IPv6 prefix; a host's address ends in its IPv4 last number. */
export const PREFIXLEN6 = 64;
const JUMPBOX_IP6 = 'fd00:10::10';
/** fd00:10::101 for 192.168.10.101 (the decimal digits, read as hex: the guide's style). */
function ip6Of(ipv4: string): string {
  return `fd00:10::${ipv4.slice(ipv4.lastIndexOf('.') + 1)}`;
}
/** Worker N's IPv6 pod network in canonical text: subnet fd00:10:200:N::/64 (fd00:10:200::/64 for 0). */
function podNet6(n: number): { subnet: string; gw: string; pod: string } {
  const p = n === 0 ? 'fd00:10:200:' : `fd00:10:200:${n}:`;
  return { subnet: `${p}:/${PREFIXLEN6}`, gw: `${p}:1`, pod: `${p}:2` };
}
const MAX_WORKERS = 150;

/** The fixed MAC address of a host's eth1 (locally administered), so a base can match on it. */
export function labMac(hostname: string): string {
  const h = createHash('sha256').update(`routegen-lab-mac:${hostname}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

let prefixSeq = 0;

/**
 * The lab `opts` describe, as its state before bring-up (no PIDs yet; `dir` is filled in by the
 * caller). Throws on bad options, or when a host needs NetworkManager and it is not installed.
 */
export function planLab(opts: LabOptions): Omit<LabState, 'dir'> {
  const workers = opts.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
    throw new Error(`workers must be an integer from 0 to ${MAX_WORKERS}, got ${workers}`);
  }
  const prefix = opts.prefix ?? `rg${process.pid}x${prefixSeq++}`;
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/.test(prefix)) throw new Error(`bad lab prefix ${JSON.stringify(prefix)}`);
  const stackOf = (name: string): LabStack => {
    const base = opts.base?.(name);
    if (base && LAB_BASES[base].networkManager) {
      const nmWhy = networkManagerUnavailable();
      if (nmWhy) throw new Error(`lab unavailable: ${name} runs NetworkManager, but ${nmWhy}`);
    }
    const s = base ? LAB_BASES[base].stack : typeof opts.stack === 'function' ? opts.stack(name) : (opts.stack ?? 'networkd');
    if (!LAB_STACKS.includes(s)) throw new Error(`unknown stack ${String(s)} for ${name}`);
    if (s === 'networkmanager') {
      const nmWhy = networkManagerUnavailable();
      if (nmWhy) throw new Error(`lab unavailable: ${name} runs NetworkManager, but ${nmWhy}`);
    }
    return s;
  };

  const ns = (n: string) => `${prefix}-${n}`;
  const hosts: HostState[] = [];
  if (opts.withServer ?? true) {
    hosts.push({ name: 'server', ip: SERVER_IP, stack: stackOf('server'), netns: ns('server'), pid: 0, unsharePid: 0, pidStart: '', unshareStart: '' });
  }
  for (let i = 0; i < workers; i++) {
    const name = `node-${i}`;
    hosts.push({
      name,
      ip: `${NETWORK}.${101 + i}`,
      podSubnet: `10.200.${i}.0/24`,
      podIp: `10.200.${i}.2`,
      stack: stackOf(name),
      netns: ns(name),
      podNetns: ns(`${name}-pod`),
      pid: 0,
      unsharePid: 0,
      pidStart: '',
      unshareStart: '',
    });
  }
  for (const h of hosts) {
    const base = opts.base?.(h.name);
    if (base) h.base = base;
  }
  const dualStack = opts.dualStack ?? false;
  if (dualStack) {
    for (const h of hosts) {
      h.ip6 = ip6Of(h.ip);
      if (h.podNetns) {
        const net6 = podNet6(Number(h.name.slice('node-'.length)));
        h.podSubnet6 = net6.subnet;
        h.podIp6 = net6.pod;
      }
    }
  }
  const switchNetns = ns('switch');
  const jumpboxNetns = ns('jumpbox');
  return {
    version: 1,
    prefix,
    persist: opts.persist ?? false,
    ifupdownSourceLast: opts.ifupdownSourceLast ?? false,
    dualStack,
    switchNetns,
    jumpboxNetns,
    jumpboxIp: JUMPBOX_IP,
    ...(dualStack ? { jumpboxIp6: JUMPBOX_IP6 } : {}),
    namespaces: [switchNetns, jumpboxNetns, ...hosts.flatMap((h) => (h.podNetns ? [h.netns, h.podNetns] : [h.netns]))],
    hosts,
    createdAt: new Date().toISOString(),
  };
}

/** The host's public view (what `Lab.hosts` lists). */
export function publicHost(h: HostState): LabHost {
  const host: LabHost = { name: h.name, ip: h.ip, stack: h.stack, netns: h.netns, pid: h.pid };
  if (h.podSubnet) host.podSubnet = h.podSubnet;
  if (h.podIp) host.podIp = h.podIp;
  if (h.ip6) host.ip6 = h.ip6;
  if (h.podSubnet6) host.podSubnet6 = h.podSubnet6;
  if (h.podIp6) host.podIp6 = h.podIp6;
  return host;
}

/** /etc/hosts lines for the machines, as the guide writes them ("IP FQDN HOSTNAME"). */
export function etcHostsEntries(hosts: readonly LabHost[]): string {
  return hosts.map((h) => `${h.ip} ${h.name}.kubernetes.local ${h.name}\n`).join('');
}

/** The head of a machine's /etc/hosts, before the lab's machines. */
export function hostsHeader(name: string): string {
  return `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost ip6-localhost ip6-loopback\n\n# routegen lab machines\n`;
}

/** The guide's machines.txt (dual stack: both families in the address and subnet columns, IPv4 first). */
export function machinesTxt(hosts: readonly LabHost[]): string {
  const both = (a: string, b: string | undefined) => (b ? `${a},${b}` : a);
  return hosts
    .map((h) => `${both(h.ip, h.ip6)} ${h.name}.kubernetes.local ${h.name}${h.podSubnet ? ` ${both(h.podSubnet, h.podSubnet6)}` : ''}\n`)
    .join('');
}
