/** Discovery on a host: which stack, which interface holds its address, which files configure it; and filling in what routegen.yaml left out. */
import { INTERFACE_RE, NETPLAN_ID_RE, NETWORKD_FILE_RE, UUID_RE } from '../inventory/config.js';
import type { RemoteHost } from '../remote/connection.js';
import { nmKeyfileOf, parseNmProfiles, type NmProfile } from './nmConnection.js';
import { parse } from 'yaml';
import { NETPLAN_SECTIONS, type HostPlan, type HostSettings, type NetplanSection, type StackName } from '../types.js';

/** What `discover` found on a host. */
export interface Discovery {
  /** The interface holding the machine's address. */
  interface?: string;
  stack?: StackName;
  /** networkd: the `.network` file managing the interface, as `networkctl status` names it. */
  networkdFile?: string;
  /** NetworkManager: the UUID of the interface's active connection, and its file as NM reports it. */
  nmConnection?: string;
  connectionFile?: string;
  /** NetworkManager: every profile's UUID and file (to find the one routegen.yaml names). */
  nmProfiles?: NmProfile[];
  /** netplan: the section defining the interface. */
  netplanSection?: NetplanSection;
  /** netplan: the ID that defines the interface, as netplan resolved it (the name of the file it
   * generated for the link: 10-netplan-<ID>.network, or netplan-<ID>.nmconnection). */
  netplanId?: string;
  /** netplan: the file in /etc/netplan (or /lib, /run) where that ID is defined. */
  netplanFile?: string;
  /** How the stack was recognised, for the user. */
  evidence: string;
}

/**
 * Facts about the interface holding the address $1, one `key=value` a line. A constant script:
 * its only argument is a validated address; no text from the host is evaluated.
 */
const DISCOVER_SCRIPT = [
  'set -f',
  'set -- $(ip -o addr show to "$1" 2>/dev/null)',
  'ifc=${2:-}',
  'echo "iface=$ifc"',
  '[ -n "$ifc" ] || exit 0',
  'if command -v networkctl >/dev/null 2>&1; then',
  '  echo "networkd-file=$(networkctl status --no-pager -- "$ifc" 2>/dev/null | sed -n "s/^ *Network File: //p")"',
  '  echo "networkd-state=$(networkctl list --no-pager --no-legend -- "$ifc" 2>/dev/null)"',
  'fi',
  'if command -v nmcli >/dev/null 2>&1; then',
  '  echo "nm-state=$(nmcli -g GENERAL.STATE device show "$ifc" 2>/dev/null)"',
  '  echo "nm-uuid=$(nmcli -g GENERAL.CON-UUID device show "$ifc" 2>/dev/null)"',
  // (in the C locale nmcli prints every non-ASCII letter of a file name as "?")
  '  LC_ALL=C.UTF-8 nmcli -t -f UUID,FILENAME connection show 2>/dev/null | sed "s/^/nm-profile=/"',
  'fi',
  'if [ -f /etc/network/interfaces ]; then',
  '  echo "ifupdown-files=$(grep -lsE "^[[:space:]]*iface[[:space:]]+$ifc[[:space:]]" /etc/network/interfaces /etc/network/interfaces.d/* 2>/dev/null | grep -v routegen-pod-routes | tr "\\n" " ")"',
  'fi',
  'for f in /run/network/ifstate /run/network/ifstate.*; do [ -f "$f" ] && grep -qs "^$ifc=" "$f" && echo "ifupdown-up=yes"; done',
  // netplan: the section that defines the interface, from netplan's own files (read as YAML by
  // routegen); globbing back on for the file names (set -f above is for the word splitting)
  'set +f',
  'for f in /lib/netplan/*.yaml /etc/netplan/*.yaml /run/netplan/*.yaml; do [ -r "$f" ] && echo "@@netplan-file $f" && cat "$f"; done',
  'true',
].join('\n');

/**
 * Where netplan defines `id`: the section (`ethernets`, `bonds`, ...) and the file, in netplan's
 * files as printed after `@@netplan-file PATH` markers; undefined when none does (a file that is
 * not YAML is skipped). The first file that defines it is where the user would look.
 */
function netplanDefinition(files: Array<{ path: string; text: string }>, id: string): { section: NetplanSection; file: string } | undefined {
  for (const { path, text } of files) {
    let doc: unknown;
    try {
      doc = parse(text);
    } catch {
      continue;
    }
    const net = (doc as { network?: Record<string, unknown> } | null)?.network;
    if (!net || typeof net !== 'object') continue;
    for (const section of NETPLAN_SECTIONS) {
      const defs = net[section];
      if (defs && typeof defs === 'object' && Object.hasOwn(defs, id)) return { section, file: path };
    }
  }
  return undefined;
}

/**
 * The netplan ID in the name of a file netplan generated for a link, or undefined when the file
 * is not netplan's. netplan names them after the ID that defines the link, whatever its match:
 * `/run/systemd/network/10-netplan-<ID>.network` (renderer networkd) and
 * `/run/NetworkManager/system-connections/netplan-<ID>.nmconnection` (renderer NetworkManager).
 */
export function netplanIdOf(generatedFile: string): string | undefined {
  const m = /^\/run\/systemd\/network\/10-netplan-(.+)\.network$/.exec(generatedFile) ?? /^\/run\/NetworkManager\/system-connections\/netplan-(.+)\.nmconnection$/.exec(generatedFile);
  return m?.[1];
}

/** The `@@netplan-file PATH` sections of the discovery output. */
function netplanFiles(out: string): Array<{ path: string; text: string }> {
  const parts = out.split(/^@@netplan-file (.*)$/m);
  const files: Array<{ path: string; text: string }> = [];
  for (let i = 1; i + 1 < parts.length; i += 2) files.push({ path: parts[i]!, text: parts[i + 1]! });
  return files;
}

/** Reads the discovery output into a Discovery. Exported for tests. */
export function interpretDiscovery(out: string): Discovery {
  const head = out.split(/^@@netplan-file .*$/m)[0] ?? '';
  const facts = new Map<string, string>();
  const nmProfileLines: string[] = [];
  for (const line of head.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    // (a profile's file name may end in a space: not trimmed)
    if (line.slice(0, eq) === 'nm-profile') nmProfileLines.push(line.slice(eq + 1));
    else facts.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const d: Discovery = { evidence: '' };
  const ifc = facts.get('iface')?.replace(/@.*$/, '');
  if (!ifc) return { evidence: 'no interface holds the machine address' };
  if (!INTERFACE_RE.test(ifc)) return { evidence: `interface name ${JSON.stringify(ifc)} is not one routegen accepts` };
  d.interface = ifc;
  const file = facts.get('networkd-file') ?? '';
  const state = facts.get('networkd-state') ?? '';
  const managed = file !== '' && !/\bunmanaged\b/.test(state);
  const base = file.split('/').pop() ?? '';
  const nmUp = /^100\b/.test(facts.get('nm-state') ?? '');
  // NetworkManager: the link's active connection by UUID, its file as NetworkManager reports it
  const nmProfiles = parseNmProfiles(nmProfileLines);
  const uuid = facts.get('nm-uuid') ?? '';
  const nmConnection = UUID_RE.test(uuid) ? uuid : undefined;
  const nmFile = nmProfiles.find((p) => p.uuid === nmConnection)?.file ?? '';
  // netplan renders to networkd or to NetworkManager: either way its YAML is where routes go.
  const generated = managed && netplanIdOf(file) !== undefined ? file : nmUp && netplanIdOf(nmFile) !== undefined ? nmFile : undefined;
  if (generated) {
    const id = netplanIdOf(generated)!;
    if (!NETPLAN_ID_RE.test(id)) return { interface: ifc, evidence: `${ifc} is defined under the netplan ID ${JSON.stringify(id)} (${generated}), a name routegen does not write: rename it in netplan's files` };
    d.stack = 'netplan';
    d.netplanId = id;
    const def = netplanDefinition(netplanFiles(out), id);
    if (def) {
      d.netplanSection = def.section;
      d.netplanFile = def.file;
    }
    d.evidence = `${generated.includes('/NetworkManager/') ? 'NetworkManager' : 'networkd'} runs ${generated}, generated by netplan from ${def ? `${def.section}.${id} in ${def.file}` : `the ID ${id}`}`;
  } else if (managed && NETWORKD_FILE_RE.test(base)) {
    d.stack = 'networkd';
    d.networkdFile = base;
    d.evidence = `networkctl: managed by ${file}`;
  } else if (nmUp) {
    d.stack = 'networkmanager';
    d.nmProfiles = nmProfiles;
    if (nmConnection) d.nmConnection = nmConnection;
    if (nmFile) d.connectionFile = nmFile;
    d.evidence = `NetworkManager: ${facts.get('nm-state')}${d.nmConnection ? `, connection ${d.nmConnection}` : ''}${nmFile ? ` (${JSON.stringify(nmFile)})` : ''}`;
  } else if (facts.get('ifupdown-up') === 'yes' || (facts.get('ifupdown-files') ?? '') !== '') {
    d.stack = 'ifupdown';
    d.evidence = facts.get('ifupdown-up') === 'yes' ? 'ifupdown brought it up (/run/network/ifstate)' : `defined in ${facts.get('ifupdown-files')}`;
  } else {
    d.evidence = 'no network stack manages it (networkd, netplan, ifupdown or NetworkManager)';
  }
  return d;
}

/** Finds the stack, interface and networkd file of a host over its open connection. */
export async function discoverHost(conn: RemoteHost, h: HostPlan): Promise<Discovery> {
  const r = await conn.execScript(DISCOVER_SCRIPT, [h.ip]);
  return interpretDiscovery(r.stdout);
}

/**
 * The `.network` file networkd applies to `iface`, read over SFTP from the link's state file
 * (NETWORK_FILE=, what `networkctl status` shows as "Network File:"), so that no process starts
 * on the host. networkd calls that file private: anything unexpected gives undefined, and the
 * caller runs the full discovery script instead.
 */
async function networkdFileOf(conn: RemoteHost, iface: string): Promise<string | undefined> {
  if (!INTERFACE_RE.test(iface)) return undefined;
  const idx = (await conn.readFile(`/sys/class/net/${iface}/ifindex`))?.toString('utf8').trim();
  if (!idx || !/^[0-9]+$/.test(idx)) return undefined;
  const state = (await conn.readFile(`/run/systemd/netif/links/${idx}`))?.toString('utf8') ?? '';
  const admin = /^ADMIN_STATE=(.*)$/m.exec(state)?.[1]?.trim();
  const file = /^NETWORK_FILE=(.*)$/m.exec(state)?.[1]?.trim() ?? '';
  if (!file || admin === 'unmanaged' || admin === 'failed' || /^\/run\/systemd\/network\/10-netplan-/.test(file)) return undefined;
  const base = file.split('/').pop() ?? '';
  return NETWORKD_FILE_RE.test(base) ? base : undefined;
}

/**
 * Fills what the user left to routegen (stack `auto` or unset, interface, networkd file) from
 * discovery. What the user gave always wins. Returns the settings and what was discovered, or
 * an explanation of why it could not be.
 */
export async function completeSettings(conn: RemoteHost, h: HostPlan): Promise<{ settings: HostSettings; discovered?: Discovery; problem?: string; hint?: string }> {
  const s = h.settings;
  const needFile =
    ((s.stack === undefined || s.stack === 'networkd') && !s.networkdFile) ||
    (s.stack === 'networkmanager' && !s.connectionFile) ||
    (s.stack === 'netplan' && (!s.netplanSection || !s.netplanId));
  if (s.stack && s.interface && !needFile) return { settings: s };
  if (s.stack === 'networkd' && s.interface) {
    const file = await networkdFileOf(conn, s.interface).catch(() => undefined);
    if (file) return { settings: { ...s, networkdFile: file } };
  }
  const d = await discoverHost(conn, h);
  const settings: HostSettings = { ...s, ssh: s.ssh };
  if (!settings.interface) settings.interface = d.interface;
  if (!settings.stack) settings.stack = d.stack;
  if (settings.stack === 'netplan') {
    // Under the ID netplan itself resolved for the link: a definition under any other name
    // (the interface's, when the ID is `lan` or `id0`) would be a second one, and take the link.
    const found = d.stack === 'netplan' && d.interface === settings.interface;
    if (!settings.netplanId) settings.netplanId = (found && d.netplanId) || settings.interface;
    if (!settings.netplanSection) settings.netplanSection = (found && settings.netplanId === d.netplanId && d.netplanSection) || 'ethernets';
  }
  if (settings.stack === 'networkmanager' && !settings.connectionFile) {
    if (d.stack !== 'networkmanager' || d.interface !== settings.interface) {
      return { settings, discovered: d, problem: `cannot find ${settings.interface}'s NetworkManager connection on ${h.name}: ${d.evidence}` };
    }
    // Only keyfiles in /etc can be edited (not ifcfg-rh files, not profiles in /run).
    const k = nmKeyfileOf(h.name, settings.interface ?? '', d.nmConnection, d.nmProfiles ?? [], settings.nmConnection);
    if ('problem' in k) return { settings, discovered: d, problem: k.problem, hint: k.hint };
    settings.nmConnection = k.uuid;
    settings.connectionFile = k.file;
  }
  if (settings.stack === 'networkd' && !settings.networkdFile) {
    settings.networkdFile = d.stack === 'networkd' && d.interface === settings.interface ? d.networkdFile : settings.interface ? `10-${settings.interface}.network` : undefined;
  }
  if (!settings.stack || !settings.interface) return { settings, discovered: d, problem: `cannot tell how ${h.name}'s network is configured: ${d.evidence}` };
  return { settings, discovered: d };
}
