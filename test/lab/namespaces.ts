/**
 * Namespaces and links: the lab's network namespaces (a switch with bridge br0, the jumpbox,
 * each host and each worker's pod), the veth pairs between them, and what is read from outside
 * them (routing tables, a ping from a pod). Each host configures its own side at boot
 * (host/init.sh); this file makes the wires and the switch.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { bound } from '../helpers/time.js';
import { LAB_BASES, macOf } from './bases.js';
import { cleanEnv, run, runOk } from './processes.js';
import { labMac, PREFIXLEN, PREFIXLEN6, type LabState } from './topology.js';

export interface LabRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
}

const NETNS_DIR = '/run/netns';

/** Refuse to build over namespaces that exist (another lab with this prefix, or one not torn down). */
export function refuseTakenNamespaces(state: Pick<LabState, 'namespaces' | 'prefix'>): void {
  const taken = state.namespaces.filter((n) => fs.existsSync(path.join(NETNS_DIR, n)));
  if (taken.length) {
    throw new Error(`network namespace(s) already exist: ${taken.join(', ')} — another lab with prefix ${state.prefix} is running or was not torn down (ip netns del NAME)`);
  }
}

/**
 * Every namespace and link, from one `ip -batch` in this namespace; the links are created
 * directly inside the lab's namespaces (nothing appears here, even for a moment).
 */
export async function createNamespacesAndLinks(state: LabState): Promise<void> {
  const batch: string[] = [];
  for (const n of state.namespaces) batch.push(`netns add ${n}`);
  batch.push(`link add br0 netns ${state.switchNetns} type bridge`);
  batch.push(`link add eth1 netns ${state.jumpboxNetns} type veth peer name p-jumpbox netns ${state.switchNetns}`);
  for (const h of state.hosts) {
    const mac = h.base && LAB_BASES[h.base].fixedMac ? macOf(h.ip) : labMac(h.name);
    batch.push(`link add eth1 netns ${h.netns} address ${mac} type veth peer name p-${h.name} netns ${state.switchNetns}`);
    if (h.podNetns) batch.push(`link add eth0 netns ${h.podNetns} type veth peer name vpod netns ${h.netns}`);
  }
  await runOk('ip', ['-batch', '-'], { input: batch.join('\n') + '\n' });
}

/** The switch and the jumpbox; the hosts configure their own side (and their pods) at boot. */
export function wireSwitchAndJumpbox(state: LabState): Array<Promise<string>> {
  const sw = ['link set br0 up', 'link set p-jumpbox master br0 up', ...state.hosts.map((h) => `link set p-${h.name} master br0 up`)];
  const jump = ['link set lo up', `addr add ${state.jumpboxIp}/${PREFIXLEN} brd + dev eth1`, 'link set eth1 up'];
  if (state.jumpboxIp6) jump.push(`addr add ${state.jumpboxIp6}/${PREFIXLEN6} dev eth1 nodad`);
  return [
    runOk('ip', ['-n', state.switchNetns, '-batch', '-'], { input: sw.join('\n') + '\n' }),
    runOk('ip', ['-n', state.jumpboxNetns, '-batch', '-'], { input: jump.join('\n') + '\n' }),
  ];
}

function nsDelBatch(namespaces: readonly string[]): string {
  return namespaces.filter((n) => fs.existsSync(path.join(NETNS_DIR, n))).map((n) => `netns del ${n}\n`).join('');
}

/** Delete those of `namespaces` that exist. */
export async function deleteNamespaces(namespaces: readonly string[]): Promise<void> {
  const batch = nsDelBatch(namespaces);
  if (batch) await run('ip', ['-force', '-batch', '-'], { input: batch });
}

/** The same, synchronously (for process 'exit' handlers). */
export function deleteNamespacesSync(namespaces: readonly string[]): void {
  const batch = nsDelBatch(namespaces);
  if (batch) spawnSync('ip', ['-force', '-batch', '-'], { input: batch, stdio: ['pipe', 'ignore', 'ignore'] });
}

/** A namespace's main routing table, from `ip -j [-6] route show table main`. */
export async function readRoutes(netns: string, family: string[]): Promise<LabRoute[]> {
  const out = await runOk('ip', ['-n', netns, '-j', ...family, 'route', 'show', 'table', 'main']);
  const raw = JSON.parse(out || '[]') as Array<Record<string, unknown>>;
  return raw.map((r) => {
    const route: LabRoute = { dst: String(r.dst) };
    if (typeof r.gateway === 'string') route.gateway = r.gateway;
    if (typeof r.dev === 'string') route.dev = r.dev;
    if (typeof r.protocol === 'string') route.protocol = r.protocol;
    if (typeof r.metric === 'number') route.metric = r.metric;
    return route;
  });
}

/** One ping (-c1 -W1) from a namespace; an IPv6 target pings with -6. */
export async function pingFrom(netns: string, toIp: string): Promise<boolean> {
  const family = toIp.includes(':') ? ['-6'] : [];
  const r = await run('nsenter', [`--net=${NETNS_DIR}/${netns}`, '--', 'ping', ...family, '-n', '-q', '-c1', '-W1', toIp], { env: cleanEnv(), timeoutMs: bound(5000) });
  return r.code === 0;
}
