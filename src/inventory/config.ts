import { isMap, isScalar, parseDocument, type Node as YamlNode, type Pair, type YAMLMap } from 'yaml';
import { ProblemList, UserError } from '../errors.js';
import { SourceText } from './sourceText.js';
import { ALLOW_SPECIAL, checkSetting, DEFAULT_VIA, HOST_KEYS, HOST_SETTINGS, SSH_KEY, SSH_SETTINGS, TOP_KEYS, type Setting } from './configKeys.js';
import type { ConnectVia, HostSettings, Inventory, NetplanSection, StackName } from '../types.js';

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

export { INTERFACE_RE, NETPLAN_ID_RE, NETWORKD_FILE_RE, UUID_RE } from './configKeys.js';

/** A scalar's value; numbers only when written as plain decimal digits (YAML would also read
 * `0x10`, `1e3` or `0o17` as numbers, which no one means for a port or a metric). */
function scalarValue(node: YamlNode | null | undefined): unknown {
  if (!isScalar(node)) return node?.toJSON();
  if (typeof node.value === 'number' && !/^(0|[1-9][0-9]*)$/.test(String(node.source ?? ''))) return String(node.source ?? node.value);
  return node.value;
}

/**
 * Reads routegen.yaml: `defaults:` and `hosts: {<hostname>: ...}`, each with the settings
 * configKeys.ts declares, and `allow-special-pod-subnets`. Unknown keys, wrong types and invalid
 * values are errors with file:line:column; every problem is reported at once.
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
    nodeAt(root, 0, 'routegen.yaml must be a mapping of settings', `keys: ${Object.keys(TOP_KEYS).join(', ')}`);
    problems.throwIfAny(`${file} is not a valid routegen configuration`);
    return config;
  }

  /** A key's checked value, or undefined and its problem noted. */
  const readValue = (setting: Setting<string>, pair: Pair<YamlNode, YamlNode>) => {
    const r = checkSetting(setting, scalarValue(pair.value));
    if (r.ok) return r.value;
    nodeAt(pair.value ?? pair.key, 0, r.message, r.hint);
    return undefined;
  };

  /** Reads the keys of `table` from a mapping into `out`; `nested` reads a key that holds a mapping of its own. */
  const readSettings = (node: YAMLMap, where: string, table: readonly Setting<string>[], keys: readonly string[], out: Record<string, unknown>, nested?: (key: string, pair: Pair<YamlNode, YamlNode>) => boolean) => {
    for (const pair of node.items as Pair<YamlNode, YamlNode>[]) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const setting = table.find((s) => s.key === key);
      if (!setting) {
        if (!nested?.(key, pair)) nodeAt(pair.key, 0, `unknown key "${key}" in ${where}`, `known keys: ${keys.join(', ')}`);
        continue;
      }
      const v = readValue(setting, pair);
      if (v !== undefined) out[setting.field] = v;
    }
  };

  const readOverrides = (node: YamlNode | null, where: string): HostOverrides => {
    const out: HostOverrides = {};
    if (!isMap(node)) {
      nodeAt(node, 0, `${where} must be a mapping of settings`, `keys: ${HOST_KEYS.join(', ')}`);
      return out;
    }
    readSettings(node, where, HOST_SETTINGS, HOST_KEYS, out as Record<string, unknown>, (key, pair) => {
      if (key !== SSH_KEY.key) return false;
      const sshKeys = SSH_SETTINGS.map((s) => s.key);
      const value = pair.value;
      if (!isMap(value)) nodeAt(value ?? pair.key, 0, `ssh in ${where} must be a mapping`, `keys: ${sshKeys.join(', ')}`);
      else readSettings(value, `${where}.ssh`, SSH_SETTINGS, sshKeys, (out.ssh = {}) as Record<string, unknown>);
      return true;
    });
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
    } else if (key === ALLOW_SPECIAL.key) {
      const v = readValue(ALLOW_SPECIAL, pair);
      if (v !== undefined) config.allowSpecialPodSubnets = v as boolean;
    } else {
      nodeAt(pair.key, 0, `unknown top-level key "${key}"`, `known keys: ${Object.keys(TOP_KEYS).join(', ')}`);
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
  const s: HostSettings = { ssh: { via: DEFAULT_VIA } };
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

/** Validates command-line overrides (`--stack`, `--metric`, ...: named as in routegen.yaml) with the same checks. */
export function checkFlags(flags: Record<string, unknown>): HostOverrides {
  const out: Record<string, unknown> = {};
  const bad: string[] = [];
  for (const setting of HOST_SETTINGS) {
    const v = flags[setting.key];
    if (v === undefined) continue;
    const r = checkSetting(setting, v);
    if (r.ok) out[setting.field] = r.value;
    else bad.push(`--${setting.key}: ${r.message}${r.hint ? ` (${r.hint})` : ''}`);
  }
  if (bad.length) throw new UserError(bad.join('\n'), { kind: 'usage' });
  return out as HostOverrides;
}
