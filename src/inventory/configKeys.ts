/**
 * The keys of routegen.yaml, written once: what each one means, and what a valid value is. The
 * loader (config.ts) checks values with these declarations, and configSchema.ts turns the same
 * declarations into the JSON Schema editors validate and complete with, so the editor and
 * routegen cannot disagree about a key or a value.
 */
import { OVERRIDE_KEY } from '../specialRanges.js';
import { NETPLAN_SECTIONS, ROUTE_METRIC_MAX, STACK_NAMES, type ConnectVia } from '../types.js';
import type { HostOverrides } from './config.js';

/** Linux interface names: at most 15 bytes, no slash or whitespace; stricter here on purpose,
 * since the name reaches templates and remote commands. */
export const INTERFACE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
export const NETWORKD_FILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,200}\.network$/;
/** netplan IDs routegen writes as a YAML key: a plain word (`lan`, `id0`, `default`,
 * `enp0s8`); netplan itself accepts more, but these reach the file unquoted. */
export const NETPLAN_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** A NetworkManager connection UUID, as nmcli prints it (lower case). */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SSH_USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/;
/** A file path: not empty, no control characters (they would garble messages and ssh's arguments). */
// eslint-disable-next-line no-control-regex
const PATH_RE = /^[^\x00-\x1f\x7f]+$/;

/** What a valid value is: one of a list, a string matching a pattern, a whole number in a range, or true or false. */
export type Rule =
  | { kind: 'oneOf'; values: readonly string[] }
  | { kind: 'pattern'; re: RegExp; expected: string }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'boolean' };

/** One key that holds a value (under `defaults:`, `hosts.<name>:`, their `ssh:`, or at the top). */
export interface Setting<F extends string> {
  /** The key as written in routegen.yaml. */
  key: string;
  /** The field of HostOverrides (or of its `ssh`) that holds the value. */
  field: F;
  /** How messages name it. */
  name: string;
  /** What it is for: the editor's hover text. */
  description: string;
  rule: Rule;
  /** The value routegen uses when no layer gives one, where that is a fixed value. */
  default?: string;
}

/** How routegen reaches a host when nothing says otherwise: its address in the inventory. */
export const DEFAULT_VIA: ConnectVia = 'ip';

type HostField = Exclude<keyof HostOverrides, 'ssh'>;
type SshField = keyof NonNullable<HostOverrides['ssh']>;

/** The keys of a host's settings, in the order messages list them; `ssh` (SSH_SETTINGS) comes last. */
export const HOST_SETTINGS: readonly Setting<HostField>[] = [
  {
    key: 'stack',
    field: 'stack',
    name: 'stack',
    description: "The host's network stack, whose own configuration gets the routes. auto, or not given: ask the host (push, diff, status); render needs it.",
    rule: { kind: 'oneOf', values: [...STACK_NAMES, 'auto'] },
  },
  {
    key: 'interface',
    field: 'interface',
    name: 'interface',
    description: 'The interface the node network is on, e.g. eth1. Not given: the one holding the host\'s address, asked of the host; render needs it.',
    rule: { kind: 'pattern', re: INTERFACE_RE, expected: 'an interface name such as eth1 or enp0s8: up to 15 letters, digits, "_", "." or "-"' },
  },
  {
    key: 'networkd-file',
    field: 'networkdFile',
    name: 'networkd-file',
    description: 'networkd: the .network file that manages the interface; the routes go into a drop-in beside it. Default: asked of the host; render: 10-<interface>.network.',
    rule: { kind: 'pattern', re: NETWORKD_FILE_RE, expected: 'the name of the .network file that manages the interface, e.g. 10-eth1.network' },
  },
  {
    key: 'netplan-section',
    field: 'netplanSection',
    name: 'netplan-section',
    description: 'netplan: the section that defines the interface. Default: asked of the host; render: ethernets.',
    rule: { kind: 'oneOf', values: NETPLAN_SECTIONS },
  },
  {
    key: 'netplan-id',
    field: 'netplanId',
    name: 'netplan-id',
    description: 'netplan: the ID that defines the interface (`lan` in "ethernets: lan: {match: ...}"). Default: asked of the host; render: the interface name.',
    rule: {
      kind: 'pattern',
      re: NETPLAN_ID_RE,
      expected: 'the ID that defines the interface in netplan\'s files (`lan` in "ethernets: lan: {match: ...}"); `networkctl status IFACE` names it: "Network File: /run/systemd/network/10-netplan-<ID>.network"',
    },
  },
  {
    key: 'nm-connection',
    field: 'nmConnection',
    name: 'nm-connection',
    description: "NetworkManager: the UUID of the connection whose routes routegen manages. Default: the interface's active connection.",
    rule: { kind: 'pattern', re: UUID_RE, expected: 'the UUID of the NetworkManager connection, as `nmcli -f DEVICE,UUID connection show --active` prints it (lower case), e.g. 7712437e-dd9b-509e-af31-b21d19513c33' },
  },
  {
    key: 'metric',
    field: 'metric',
    name: 'metric',
    description: "The routes' metric. Default: none (the stack's own).",
    rule: { kind: 'integer', min: 0, max: ROUTE_METRIC_MAX },
  },
];

/** The keys under `ssh:`. */
export const SSH_SETTINGS: readonly Setting<SshField>[] = [
  {
    key: 'user',
    field: 'user',
    name: 'ssh user',
    description: 'The user to log in as. Default: User from ssh_config, else root.',
    rule: { kind: 'pattern', re: SSH_USER_RE, expected: 'a login name such as root or debian' },
  },
  {
    key: 'port',
    field: 'port',
    name: 'ssh port',
    description: 'The ssh port. Default: Port from ssh_config, else 22.',
    rule: { kind: 'integer', min: 1, max: 65535 },
  },
  {
    key: 'identity-file',
    field: 'identityFile',
    name: 'identity-file',
    description: 'A private key to log in with. Default: the ssh-agent\'s keys, then the identity files ssh_config names.',
    rule: { kind: 'pattern', re: PATH_RE, expected: 'a file path: not empty, no control characters' },
  },
  {
    key: 'via',
    field: 'via',
    name: 'ssh via',
    description: 'What routegen gives ssh to reach the host: its IP address, hostname or FQDN from the inventory (a name lets Host entries of ssh_config match). Default: ip.',
    rule: { kind: 'oneOf', values: ['ip', 'hostname', 'fqdn'] },
    default: DEFAULT_VIA,
  },
];

/** The `ssh:` key of a host's settings. */
export const SSH_KEY = { key: 'ssh', description: 'How to reach the host over ssh; ssh_config (~/.ssh/config, -F) gives the rest.' } as const;

/** `allow-special-pod-subnets`, the one top-level key that holds a value. */
export const ALLOW_SPECIAL: Setting<'allowSpecialPodSubnets'> = {
  key: OVERRIDE_KEY,
  field: 'allowSpecialPodSubnets',
  name: OVERRIDE_KEY,
  description: "true accepts pod subnets that routegen refuses: special-purpose, very wide, or among the machines' addresses (README, Security). Default: false.",
  rule: { kind: 'boolean' },
};

/** The top-level keys and what each is for. */
export const TOP_KEYS = {
  defaults: 'Settings for every host; hosts: and command-line flags override them.',
  hosts: 'Settings for single hosts, by their hostname in the inventory; they override defaults:, and flags override them. A hostname that is not in the inventory is an error.',
  [ALLOW_SPECIAL.key]: ALLOW_SPECIAL.description,
};

/** The keys a host's settings may have, as messages list them. */
export const HOST_KEYS: readonly string[] = [...HOST_SETTINGS.map((s) => s.key), SSH_KEY.key];

/** What a valid value is, in words: routegen's messages and the schema's errorMessage say the same. */
function expected(rule: Rule): string {
  switch (rule.kind) {
    case 'oneOf':
      return `one of ${rule.values.join(', ')}`;
    case 'pattern':
      return rule.expected;
    case 'integer':
      return `a whole number from ${rule.min} to ${rule.max}`;
    case 'boolean':
      return 'true or false';
  }
}

/** `metric must be a whole number from 0 to 4294967295`: what an editor says of a bad value. */
export const mustBe = (s: Setting<string>): string => `${s.name} must be ${expected(s.rule)}`;

type CheckResult = { ok: true; value: string | number | boolean } | { ok: false; message: string; hint?: string };

/** Checks one value: the value, or routegen's message for it (with the value found). */
export function checkSetting(s: Setting<string>, v: unknown): CheckResult {
  const r = s.rule;
  const valid =
    r.kind === 'oneOf'
      ? typeof v === 'string' && r.values.includes(v)
      : r.kind === 'pattern'
        ? typeof v === 'string' && r.re.test(v)
        : r.kind === 'integer'
          ? typeof v === 'number' && Number.isInteger(v) && v >= r.min && v <= r.max
          : typeof v === 'boolean';
  if (valid) return { ok: true, value: v as string | number | boolean };
  const found = JSON.stringify(v ?? null);
  // A pattern's description is long: it goes on the hint line, under the value.
  return r.kind === 'pattern' ? { ok: false, message: `${s.name} ${found} is not valid`, hint: r.expected } : { ok: false, message: `${mustBe(s)}; found ${found}` };
}
