/**
 * The command line, declared once: every command and every option (name, alias, type, default,
 * range, help, which commands take it). yargs (cli.ts), the fast path (quickArgs) and the shell
 * completion scripts are all built from these tables, and readArgs checks every value the same
 * way on every command.
 */
import { UserError } from './errors.js';
import { PICTURE_FORMATS } from './picture.js';
import { NETPLAN_SECTIONS, ROUTE_METRIC_MAX, STACK_NAMES } from './types.js';

/** The commands that take options (`completion` takes only its shell, `schema` nothing). */
export const COMMAND_NAMES = ['plan', 'render', 'push', 'diff', 'status', 'rollback', 'remove', 'discover'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** What `plan --format` offers: the table, JSON (as --json), or a picture. */
const PLAN_FORMATS = ['table', 'json', ...PICTURE_FORMATS] as const;

/** The shells `routegen completion` writes scripts for. */
export const SHELLS = ['bash', 'zsh'] as const;

/** The longest wait any seconds option may ask for: a day (the host script's arithmetic and
 * Node's timers stay far from their limits). */
const MAX_SECONDS = 86_400;

interface Declared {
  alias?: string;
  describe: string;
  /** Help that differs on some commands. */
  describeFor?: Partial<Record<CommandName, string>>;
  group?: string;
  commands: readonly CommandName[];
}

/** One option. Integers arrive as text from both parsers and are read by readArgs only. */
export type OptionDecl = Declared &
  (
    | { type: 'boolean' }
    | { type: 'string'; choices?: readonly string[]; default?: string; completes?: 'file' | 'dir' | 'hosts'; list?: true; demand?: string }
    | { type: 'integer'; default?: number; min: number; max?: number; unit?: string }
  );

const ALL = COMMAND_NAMES;
const STACKED = ['plan', 'render', 'push', 'diff', 'status', 'rollback', 'remove'] as const;
const REMOTE = ['push', 'diff', 'status', 'rollback', 'remove', 'discover'] as const;
/** The commands that change hosts: they wait for the kernel and for the confirmation. */
const COMMIT = ['push', 'remove'] as const;

const seconds = (describe: string, dflt: number, commands: readonly CommandName[], group?: string) =>
  ({ type: 'integer', min: 1, max: MAX_SECONDS, unit: 'seconds', default: dflt, describe, commands, ...(group && { group }) }) as const;

export const OPTIONS = {
  inventory: { alias: 'i', type: 'string', default: './machines.txt', completes: 'file', describe: 'machines.txt (IP FQDN HOSTNAME [POD_SUBNET] per line), or `kubectl get nodes -o json` output', group: 'Inputs:', commands: ALL },
  'inventory-format': { type: 'string', choices: ['auto', 'machines', 'kubectl'], default: 'auto', describe: 'auto: JSON starting with { is kubectl output', group: 'Inputs:', commands: ALL },
  config: { alias: 'c', type: 'string', completes: 'file', describe: 'routegen.yaml with defaults and per-host settings [default: ./routegen.yaml if present]', group: 'Inputs:', commands: ALL },
  hosts: { type: 'string', list: true, completes: 'hosts', describe: 'only these hosts (comma-separated hostnames)', group: 'Inputs:', commands: ALL },
  cluster: { type: 'string', completes: 'file', describe: "`kubectl get nodes -o json` output: compare the Node objects' podCIDRs with the inventory too", group: 'Inputs:', commands: ['status'] },
  json: { type: 'boolean', describe: 'machine-readable output on stdout', group: 'Output:', commands: ALL },
  quiet: { alias: 'q', type: 'boolean', describe: 'print only problems and the summary', group: 'Output:', commands: ALL },
  verbose: { alias: 'v', type: 'boolean', describe: 'print more detail', group: 'Output:', commands: ALL },
  format: { type: 'string', choices: PLAN_FORMATS, describe: 'table (the default), json (as --json), or a picture: mermaid or dot', group: 'Output:', commands: ['plan'] },
  stack: { type: 'string', choices: [...STACK_NAMES, 'auto'], describe: 'network stack of every host (overrides routegen.yaml); auto: ask each host (push, diff, status)', group: 'Stack:', commands: STACKED },
  interface: { type: 'string', describe: 'interface the node network is on, e.g. eth1', group: 'Stack:', commands: STACKED },
  'networkd-file': { type: 'string', describe: 'networkd: the .network file managing the interface [default: asked from the host; render: 10-IFACE.network]', group: 'Stack:', commands: STACKED },
  'netplan-section': { type: 'string', choices: NETPLAN_SECTIONS, describe: 'netplan: the section defining the interface [default: asked from the host; render: ethernets]', group: 'Stack:', commands: STACKED },
  metric: { type: 'integer', min: 0, max: ROUTE_METRIC_MAX, describe: 'route metric', group: 'Stack:', commands: STACKED },
  parallel: { alias: 'p', type: 'integer', min: 1, default: 10, describe: 'hosts at a time', group: 'SSH:', commands: REMOTE },
  'ssh-config': { alias: 'F', type: 'string', completes: 'file', describe: 'ssh_config file [default: ~/.ssh/config, as ssh does]', group: 'SSH:', commands: REMOTE },
  jump: { alias: 'J', type: 'string', describe: 'reach every host through these jump hosts, as `ssh -J` ([user@]host[:port], comma-separated; none: directly) [default: ProxyJump from the ssh config]', group: 'SSH:', commands: REMOTE },
  'accept-new': { type: 'boolean', describe: 'trust and record host keys seen for the first time (never a changed key)', group: 'SSH:', commands: REMOTE },
  'connect-timeout': seconds('seconds to connect and log in', 10, REMOTE, 'SSH:'),
  'command-timeout': seconds('seconds for one remote command', 120, REMOTE, 'SSH:'),
  'confirm-timeout': seconds('seconds after which a host that was not confirmed rolls back by itself', 60, COMMIT),
  'verify-timeout': seconds('seconds to wait for the kernel to match the change', 15, COMMIT),
  'rollback-grace': {
    type: 'integer',
    min: 1,
    max: MAX_SECONDS,
    unit: 'seconds',
    describe: 'seconds to keep trying to reach a host that accepts no new connection after its automatic rollback was due, before calling it unreachable [default: half --confirm-timeout, from 20 to 60]',
    commands: COMMIT,
  },
  'dry-run': { alias: 'n', type: 'boolean', describe: 'connect and compare, print what would change, write nothing', describeFor: { remove: 'connect and show what would go, change nothing' }, commands: COMMIT },
  out: { alias: 'o', type: 'string', completes: 'dir', demand: 'give the output directory with --out DIR', describe: 'output directory', commands: ['render'] },
  check: { type: 'boolean', describe: 'write nothing; exit 1 and list differences if DIR is not what render would write', commands: ['render'] },
  write: { type: 'boolean', describe: 'record the findings in routegen.yaml (-c FILE) under hosts:, keeping the rest of the file', commands: ['discover'] },
} as const satisfies Record<string, OptionDecl>;

export type OptionName = keyof typeof OPTIONS;

/** Each command's one-line help and examples, in the order `routegen --help` lists them. */
export const COMMANDS: ReadonlyArray<{ name: CommandName | 'completion' | 'schema'; describe: string; examples: ReadonlyArray<[string, string]> }> = [
  { name: 'plan', describe: 'print the routes every host needs (validates the inventory; touches no host)', examples: [['$0 plan -i machines.txt', 'the table'], ['$0 plan --json', 'the same as JSON'], ['$0 plan --format dot | dot -Tsvg > plan.svg', 'a picture']] },
  { name: 'render', describe: "write every host's network configuration under DIR/<host>/ (touches no host)", examples: [['$0 render --stack networkd --interface eth1 --out routes', ''], ['$0 render --out routes --check', 'in CI, guard the reviewed tree']] },
  { name: 'push', describe: 'deliver, apply, verify in the kernel, confirm — or roll back by itself', examples: [['$0 push -i machines.txt --stack networkd --interface eth1', ''], ['$0 push --dry-run', 'show what would change']] },
  { name: 'diff', describe: "show, host by host, a unified diff of each host's current file against the plan (read only)", examples: [] },
  { name: 'status', describe: 'per host: file in sync? every planned route in the kernel? stale routes? pod subnets agree? exit 1 on drift (read only)', examples: [['$0 status --cluster nodes.json', 'with kubectl get nodes -o json > nodes.json']] },
  { name: 'rollback', describe: 'put back the file routegen kept before its last push, and apply it', examples: [] },
  { name: 'remove', describe: "take routegen off the hosts: its file (or its routes in a NetworkManager keyfile), its routes in the kernel, its state and helper script — same safety as push", examples: [['$0 remove --dry-run', 'show what would go'], ['$0 remove --hosts node-0', 'take routegen off node-0 only']] },
  { name: 'discover', describe: "find each host's network stack, the interface holding its address and (networkd) its .network file (read only)", examples: [['$0 discover --write', 'then `routegen render` works offline']] },
  { name: 'completion', describe: 'print a bash or zsh script that completes commands, options and host names', examples: [['source <($0 completion bash)', 'in ~/.bashrc'], ['$0 completion zsh > "${fpath[1]}/_routegen"', 'zsh, for good']] },
  { name: 'schema', describe: "print routegen.yaml's JSON Schema, with which editors check and complete it", examples: [['$0 schema > routegen.schema.json', 'see README.md, "Editor support"']] },
];

/** The options `command` takes, in declaration order. */
export function optionsOf(command: CommandName): Array<[OptionName, OptionDecl]> {
  return (Object.entries(OPTIONS) as Array<[OptionName, OptionDecl]>).filter(([, d]) => d.commands.includes(command));
}

type Options = typeof OPTIONS;
type ValueOf<D> = D extends { type: 'boolean' } ? boolean : D extends { type: 'integer' } ? number : D extends { choices: readonly (infer C)[] } ? C : D extends { list: true } ? string[] : string;
type AlwaysGiven<D> = D extends { default: unknown } ? true : D extends { demand: string } ? true : false;
type Taken<C extends CommandName> = { [K in OptionName as C extends Options[K]['commands'][number] ? K : never]: Options[K] };

/** The options of `command` as its handler receives them: defaults filled in, values checked. */
export type ArgsOf<C extends CommandName> = {
  -readonly [K in keyof Taken<C> as AlwaysGiven<Taken<C>[K]> extends true ? K : never]: ValueOf<Taken<C>[K]>;
} & {
  -readonly [K in keyof Taken<C> as AlwaysGiven<Taken<C>[K]> extends true ? never : K]?: ValueOf<Taken<C>[K]>;
};

type IntegerDecl = { min: number; max?: number; unit?: string };

/** An integer option's bounds, for its help: "1 to 86400", "at least 1". */
export function integerBounds(d: IntegerDecl): string {
  return d.max === undefined ? `at least ${d.min}` : `${d.min} to ${d.max}`;
}

/** What an integer option takes, in words: "a whole number of seconds from 1 to 86400". */
function integerRange(d: IntegerDecl): string {
  return `a whole number${d.unit ? ` of ${d.unit}` : ''} ${d.max === undefined ? `of at least ${d.min}` : `from ${d.min} to ${d.max}`}`;
}

/** An integer option's value, or the usage error every command gives for it. */
function readInteger(name: string, d: IntegerDecl, raw: string | number): number {
  const text = String(raw).trim();
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
  if (Number.isSafeInteger(n) && n >= d.min && (d.max === undefined || n <= d.max)) return n;
  const example = Math.max(d.min, Math.min(d.max ?? Infinity, Math.ceil(Number.isFinite(Number(text)) ? Number(text) : d.min)));
  throw new UserError(`--${name} must be ${integerRange(d)}; got ${text || '(nothing)'}`, { kind: 'usage', hint: `for example --${name} ${example}` });
}

/**
 * The options of `command` from what a parser found (yargs' argv, or the fast path's values):
 * defaults filled in, integers read and range-checked, lists split. Throws the usage error for
 * the first bad value, before anything is read or connected.
 */
export function readArgs<C extends CommandName>(command: C, raw: Record<string, unknown>): ArgsOf<C> {
  const out: Record<string, unknown> = {};
  for (const [name, d] of optionsOf(command)) {
    let v = raw[name];
    if (Array.isArray(v)) {
      if (d.type !== 'boolean') throw new UserError(`--${name} is given ${v.length} times; give it once`, { kind: 'usage' });
      v = v[v.length - 1];
    }
    if (v === undefined && d.type !== 'boolean') v = d.default;
    if (v === undefined) continue;
    if (d.type === 'integer') out[name] = readInteger(name, d, v as string | number);
    else if (d.type === 'string' && d.list) out[name] = String(v).split(',').map((x) => x.trim()).filter(Boolean);
    else out[name] = d.type === 'boolean' ? Boolean(v) : String(v);
  }
  return out as ArgsOf<C>;
}
