import { isMap, isScalar, parseDocument, type Node as YamlNode, type Pair } from 'yaml';
import { ProblemList, UserError } from '../errors.js';
import { OVERRIDE_KEY } from '../specialRanges.js';
import { SourceText } from './sourceText.js';
import { NETPLAN_SECTIONS, STACK_NAMES, type ConnectVia, type HostSettings, type Inventory, type NetplanSection, type StackName } from '../types.js';

/** Settings that routegen.yaml, its `hosts:` entries and command-line flags can give. */
export interface HostOverrides {
  /** `auto`: discover it on the host (push, diff, status). */
  stack?: StackName | 'auto';
  interface?: string;
  networkdFile?: string;
  netplanSection?: NetplanSection;
  netplanId?: string;
  /** NetworkManager: the connection's UUID. */
  nmConnection?: string;
  metric?: number;
  ssh?: { user?: string; port?: number; identityFile?: string; via?: ConnectVia };
}

export interface HostEntry {
  overrides: HostOverrides;
  line: number;
  column: number;
  source: string;
}

export interface Config {
  file?: string;
  defaults: HostOverrides;
  hosts: Map<string, HostEntry>;
  /** `allow-special-pod-subnets: true`: accept pod subnets that are special-purpose, very wide
   * or among the machines' addresses (src/specialRanges.ts says which). */
  allowSpecialPodSubnets?: boolean;
}

export const EMPTY_CONFIG: Config = { defaults: {}, hosts: new Map() };

/** Linux interface names: at most 15 bytes, no slash or whitespace; stricter here on purpose,
 * since the name reaches templates and remote commands. */
export const INTERFACE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
export const NETWORKD_FILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,200}\.network$/;
/** netplan IDs routegen writes as a YAML key: a plain word (`lan`, `id0`, `default`,
 * `enp0s8`); netplan itself accepts more, but these reach the file unquoted. */
export const NETPLAN_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** A NetworkManager connection UUID, as nmcli prints it (lower case). */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const SSH_USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;

type Check<T> = (value: unknown) => { ok: true; value: T } | { ok: false; message: string; hint?: string };

const oneOf =
  <T extends string>(what: string, options: readonly T[]): Check<T> =>
  (v) =>
    typeof v === 'string' && (options as readonly string[]).includes(v)
      ? { ok: true, value: v as T }
      : { ok: false, message: `${what} must be one of ${options.join(', ')}; found ${JSON.stringify(v)}` };

const pattern =
  (what: string, re: RegExp, hint: string): Check<string> =>
  (v) =>
    typeof v === 'string' && re.test(v) ? { ok: true, value: v } : { ok: false, message: `${what} ${JSON.stringify(v)} is not valid`, hint };

const integer =
  (what: string, min: number, max: number): Check<number> =>
  (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? { ok: true, value: v }
      : { ok: false, message: `${what} must be a whole number from ${min} to ${max}; found ${JSON.stringify(v)}` };

const pathString: Check<string> = (v) =>
  // eslint-disable-next-line no-control-regex
  typeof v === 'string' && v.length > 0 && !/[\x00-\x1f\x7f]/.test(v)
    ? { ok: true, value: v }
    : { ok: false, message: `identity-file must be a file path; found ${JSON.stringify(v)}` };

export const checks = {
  stack: oneOf('stack', [...STACK_NAMES, 'auto'] as const),
  interface: pattern('interface', INTERFACE_RE, 'an interface name such as eth1 or enp0s8: up to 15 letters, digits, "_", "." or "-"'),
  networkdFile: pattern('networkd-file', NETWORKD_FILE_RE, 'the name of the .network file that manages the interface, e.g. 10-eth1.network'),
  netplanSection: oneOf('netplan-section', NETPLAN_SECTIONS),
  netplanId: pattern('netplan-id', NETPLAN_ID_RE, 'the ID that defines the interface in netplan\'s files (`lan` in "ethernets: lan: {match: ...}"); `networkctl status IFACE` names it: "Network File: /run/systemd/network/10-netplan-<ID>.network"'),
  nmConnection: pattern('nm-connection', UUID_RE, 'the UUID of the NetworkManager connection, as `nmcli -f DEVICE,UUID connection show --active` prints it (lower case), e.g. 7712437e-dd9b-509e-af31-b21d19513c33'),
  metric: integer('metric', 0, 4294967295),
  user: pattern('ssh user', SSH_USER_RE, 'a login name such as root or debian'),
  port: integer('ssh port', 1, 65535),
  identityFile: pathString,
  via: oneOf('ssh via', ['ip', 'hostname', 'fqdn'] as const),
};

const HOST_KEYS: Record<string, keyof typeof checks | 'ssh'> = {
  stack: 'stack',
  interface: 'interface',
  'networkd-file': 'networkdFile',
  'netplan-section': 'netplanSection',
  'netplan-id': 'netplanId',
  'nm-connection': 'nmConnection',
  metric: 'metric',
  ssh: 'ssh',
};
const SSH_KEYS: Record<string, 'user' | 'port' | 'identityFile' | 'via'> = {
  user: 'user',
  port: 'port',
  'identity-file': 'identityFile',
  via: 'via',
};

/** A scalar's value; numbers only when written as plain decimal digits (YAML would also read
 * `0x10`, `1e3` or `0o17` as numbers, which no one means for a port or a metric). */
function scalarValue(node: YamlNode | null | undefined): unknown {
  if (!isScalar(node)) return node?.toJSON();
  if (typeof node.value === 'number' && !/^(0|[1-9][0-9]*)$/.test(String(node.source ?? ''))) return String(node.source ?? node.value);
  return node.value;
}

/**
 * Reads routegen.yaml: `defaults:` and `hosts: {<hostname>: ...}`, each with stack, interface,
 * networkd-file, netplan-section, netplan-id, nm-connection, metric and ssh {user, port, identity-file, via}; and `allow-special-pod-subnets`. Unknown keys, wrong types and
 * invalid values are errors with file:line:column; every problem is reported at once.
 */
export function loadConfig(text: string, file: string): Config {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, keepSourceTokens: true });
  const lines = text.split(/\r?\n/);
  // Positions from the text itself: yaml's LineCounter can miss a line start after some syntax errors.
  const source = new SourceText(text);
  const problems = new ProblemList();
  const at = (offset: number, length: number, message: string, hint?: string) => {
    const pos = source.pos(offset);
    problems.add({ file, line: pos.line, column: pos.column, length: Math.max(1, length), source: lines[pos.line - 1] ?? '', message, hint });
  };
  const nodeAt = (node: YamlNode | null | undefined, fallback: number, message: string, hint?: string) => {
    const r = node?.range;
    at(r ? r[0] : fallback, r ? r[1] - r[0] : 1, message, hint);
  };

  for (const e of doc.errors) {
    at(e.pos[0], e.pos[1] - e.pos[0], e.message.split('\n')[0] ?? e.message);
  }
  problems.throwIfAny(`${file} is not valid YAML`);

  const config: Config = { file, defaults: {}, hosts: new Map() };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return config;
  if (!isMap(root)) {
    nodeAt(root, 0, 'routegen.yaml must be a mapping with "defaults:" and/or "hosts:"');
    problems.throwIfAny(`${file} is not a valid routegen configuration`);
    return config;
  }

  const readOverrides = (node: YamlNode | null, where: string): HostOverrides => {
    const out: HostOverrides = {};
    if (!isMap(node)) {
      nodeAt(node, 0, `${where} must be a mapping of settings`, `keys: ${Object.keys(HOST_KEYS).join(', ')}`);
      return out;
    }
    for (const pair of node.items as Pair<YamlNode, YamlNode>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const field = Object.hasOwn(HOST_KEYS, key) ? HOST_KEYS[key] : undefined;
      if (!field) {
        nodeAt(pair.key, 0, `unknown key "${key}" in ${where}`, `known keys: ${Object.keys(HOST_KEYS).join(', ')}`);
        continue;
      }
      if (field === 'ssh') {
        if (!isMap(pair.value)) {
          nodeAt(pair.value ?? pair.key, 0, `ssh in ${where} must be a mapping`, `keys: ${Object.keys(SSH_KEYS).join(', ')}`);
          continue;
        }
        const ssh: NonNullable<HostOverrides['ssh']> = {};
        for (const sp of pair.value.items as Pair<YamlNode, YamlNode>[]) {
          const sk = isScalar(sp.key) ? String(sp.key.value) : '';
          const sfield = Object.hasOwn(SSH_KEYS, sk) ? SSH_KEYS[sk] : undefined;
          if (!sfield) {
            nodeAt(sp.key, 0, `unknown key "${sk}" in ${where}.ssh`, `known keys: ${Object.keys(SSH_KEYS).join(', ')}`);
            continue;
          }
          const raw = scalarValue(sp.value);
          const r = checks[sfield](raw);
          if (r.ok) (ssh as Record<string, unknown>)[sfield] = r.value;
          else nodeAt(sp.value ?? sp.key, 0, r.message, r.hint);
        }
        out.ssh = ssh;
        continue;
      }
      const raw = scalarValue(pair.value);
      const r = checks[field](raw);
      if (r.ok) (out as Record<string, unknown>)[field] = r.value;
      else nodeAt(pair.value ?? pair.key, 0, r.message, r.hint);
    }
    return out;
  };

  for (const pair of root.items as Pair<YamlNode, YamlNode>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (key === 'defaults') {
      config.defaults = readOverrides(pair.value, 'defaults');
    } else if (key === 'hosts') {
      if (!isMap(pair.value)) {
        nodeAt(pair.value ?? pair.key, 0, 'hosts must be a mapping of hostname to settings');
        continue;
      }
      for (const hp of pair.value.items as Pair<YamlNode, YamlNode>[]) {
        const name = isScalar(hp.key) ? String(hp.key.value) : '';
        const pos = source.pos(hp.key?.range?.[0] ?? 0);
        config.hosts.set(name, {
          overrides: readOverrides(hp.value, `hosts.${name}`),
          line: pos.line,
          column: pos.column,
          source: lines[pos.line - 1] ?? '',
        });
      }
    } else if (key === OVERRIDE_KEY) {
      const v = scalarValue(pair.value);
      if (typeof v === 'boolean') config.allowSpecialPodSubnets = v;
      else nodeAt(pair.value ?? pair.key, 0, `${OVERRIDE_KEY} must be true or false; found ${JSON.stringify(v ?? null)}`);
    } else {
      nodeAt(pair.key, 0, `unknown top-level key "${key}"`, `known keys: defaults, hosts, ${OVERRIDE_KEY}`);
    }
  }
  problems.throwIfAny(`${file} is not a valid routegen configuration`);
  return config;
}

/** Every `hosts:` entry must name a machine of the inventory: a typo must not go unnoticed. */
export function checkConfigHosts(config: Config, inv: Inventory): void {
  const known = new Set(inv.machines.map((m) => m.hostname));
  const problems = new ProblemList();
  for (const [name, entry] of config.hosts) {
    if (!known.has(name)) {
      problems.add({
        file: config.file ?? 'routegen.yaml',
        line: entry.line,
        column: entry.column,
        length: Math.max(1, name.length),
        source: entry.source,
        message: `host "${name}" is not in ${inv.file}`,
        hint: `hosts in the inventory: ${[...known].slice(0, 10).join(', ')}${known.size > 10 ? ', ...' : ''}`,
      });
    }
  }
  problems.throwIfAny(`${config.file ?? 'routegen.yaml'} does not match the inventory`);
}

/** Defaults, then routegen.yaml's defaults, then its entry for the host, then flags. */
export function settingsFor(host: string, config: Config, flags: HostOverrides): HostSettings {
  const layers = [config.defaults, config.hosts.get(host)?.overrides ?? {}, flags];
  const s: HostSettings = { ssh: { via: 'ip' } };
  for (const l of layers) {
    if (l.stack !== undefined) s.stack = l.stack === 'auto' ? undefined : l.stack;
    if (l.interface !== undefined) s.interface = l.interface;
    if (l.networkdFile !== undefined) s.networkdFile = l.networkdFile;
    if (l.netplanSection !== undefined) s.netplanSection = l.netplanSection;
    if (l.netplanId !== undefined) s.netplanId = l.netplanId;
    if (l.nmConnection !== undefined) s.nmConnection = l.nmConnection;
    if (l.metric !== undefined) s.metric = l.metric;
    if (l.ssh) {
      for (const [k, v] of Object.entries(l.ssh)) if (v !== undefined) (s.ssh as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return s;
}

/** Validates command-line overrides with the same checks as routegen.yaml. */
export function checkFlags(flags: Record<string, unknown>): HostOverrides {
  const out: HostOverrides = {};
  const bad: string[] = [];
  const take = <K extends keyof typeof checks>(name: string, key: K, set: (v: unknown) => void) => {
    const v = flags[name];
    if (v === undefined) return;
    const r = checks[key](v);
    if (r.ok) set(r.value);
    else bad.push(`--${name}: ${r.message}${r.hint ? ` (${r.hint})` : ''}`);
  };
  take('stack', 'stack', (v) => (out.stack = v as StackName | 'auto'));
  take('interface', 'interface', (v) => (out.interface = v as string));
  take('networkd-file', 'networkdFile', (v) => (out.networkdFile = v as string));
  take('netplan-section', 'netplanSection', (v) => (out.netplanSection = v as NetplanSection));
  take('metric', 'metric', (v) => (out.metric = v as number));
  if (bad.length) throw new UserError(bad.join('\n'), { kind: 'usage' });
  return out;
}
