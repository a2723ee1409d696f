/**
 * A small, seeded mutation engine for machines.txt and routegen.yaml, and the checks every
 * fuzz case shares. Everything here is deterministic given a seed, so a failing case can be
 * replayed with FUZZ_SEED (see test/fuzz.test.ts).
 */
import { formatProblem, formatUserError, type Problem, type UserError } from '../../src/errors.js';

/** mulberry32: tiny, fast, good enough to pick mutations; one 32-bit seed replays a run. */
export interface Rng {
  /** [0, 1) */
  next(): number;
  /** integer in [0, n) */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
  chance(p: number): boolean;
}

export function makeRng(seed: number): Rng {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)]!, chance: (p) => next() < p };
}

/** A case's own seed from the run seed and the case number: one case replays without the others. */
export function caseSeed(runSeed: number, i: number): number {
  let h = (runSeed ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** FUZZ_SEED (decimal or 0x hex) or the fixed default: runs are reproducible unless asked otherwise. */
export function runSeed(envName: string, fallback: number): number {
  const v = process.env[envName];
  if (v === undefined || v === '') return fallback;
  if (v === 'random') return (Math.random() * 2 ** 32) >>> 0;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`${envName} must be a 32-bit unsigned integer or "random", not ${JSON.stringify(v)}`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// What may appear in user input

const C0 = Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i));
export const CONTROL_CHARS = [...C0, '\x7f'];
export const ESC_SEQUENCES = ['\x1b[31m', '\x1b[2J\x1b[H', '\x1b]0;pwned\x07', '\x1b]8;;http://x\x1b\\', '\x1bc', '\x1b[1A\x1b[2K'];
export const NON_ASCII = ['é', 'ö', 'ß', 'ノ', '😀', '👩‍💻', '\u200f' /* RLM */, '\u202e' /* RLO */, '\u200b' /* ZWSP */, '\ufeff' /* BOM */, '\u00a0' /* NBSP */, '\u3000', '\u2028', '\u0301'];
export const SHELL_META = ['$(id)', '$(reboot)', '`id`', '`', ';', ';reboot', '|', '||', '&', '&&', '>', '>/etc/passwd', '<', '"', "'", '\\', '$', '${IFS}', '*', '?', '~', '!'];
export const WHITESPACE_ODD = ['\t', '  ', ' \t ', '\t\t', '\v', '\f', '\u00a0', '\u3000', '\u200b', '\r', ''];

/** Whole-field replacements: wrong types, near misses, injection attempts, edge values. */
export const GARBAGE: readonly string[] = [
  ...SHELL_META, ...NON_ASCII, ...ESC_SEQUENCES,
  '', ',', ',,', '#', '-', '--help', '-rf', '..', '../..', '/', 'null', 'undefined', '__proto__', 'constructor', 'NaN', 'Infinity', '%s%n', '{{host}}', '{{#each routes}}x{{/each}}', '\\n',
  '0', '-1', '1e3', '0x10', '4294967296', '256.256.256.256', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.4/24', '1.2.3.4,', ',1.2.3.4', '1.2.3.4,5.6.7.8', '1.2.3.4,::1,::2',
  '::', '::1', ':::', '1::2::3', 'fe80::1%eth0', '::ffff:192.168.10.101', '2001:db8::/64', '2001:0DB8:0000::0001', '12345::', 'g::1',
  '10.200.0.0/33', '10.200.0.0/', '/24', '10.200.0.0/24/24', '10.200.0.0/024', '10.200.0.1/24', '0.0.0.0/0', '::/0', '10.200.0.0/24,', '10.200.0.0/24,10.201.0.0/24', '192.168.10.0/24', '10.200.0.0/8',
  'NODE-0', 'Node-0', 'node_0', '-node', 'node-', 'node.0', 'node-0.kubernetes.local', 'a'.repeat(63), 'a'.repeat(64), `${'a.'.repeat(127)}a`, 'x..y', '.x', 'x.',
  'nöde-0', 'nоde-0' /* Cyrillic o */, 'node-0\x1b[31m', '\x00', '\x7f', '\x9b2J', 'node\u200b-0',
];

/** Single characters (or short sequences) inserted anywhere. */
export const INSERTABLE: readonly string[] = [...CONTROL_CHARS, ...ESC_SEQUENCES, ...NON_ASCII, ...SHELL_META, '\x85', '\x9b', ' ', '\t', '\r', '#', ',', '/', '.', ':'];

// ---------------------------------------------------------------------------------------------
// Mutations of machines.txt

export interface Mutated {
  text: string;
  ops: string[];
}

const SEP = /[ \t]+/;
const tokens = (line: string) => line.split(SEP).filter((t) => t !== '');

function randomV4(rng: Rng): string {
  const base = rng.pick([[192, 168], [10, 200], [10, 0], [172, 16]]);
  return `${base[0]}.${base[1]}.${rng.int(4)}.${rng.pick([0, 1, 100, 101, 102, 103, 255, rng.int(256)])}`;
}
function randomSubnet(rng: Rng): string {
  if (rng.chance(0.15)) return `2001:db8:${rng.int(4).toString(16)}::/${rng.pick([48, 56, 64, 96, 127, 128])}`;
  const prefix = rng.pick([8, 16, 20, 23, 24, 24, 24, 25, 30, 31, 32, rng.int(33)]);
  const third = rng.chance(0.7) ? rng.int(6) : rng.int(256);
  return `10.${rng.pick([200, 200, 200, 201, 0])}.${third}.${rng.chance(0.8) ? 0 : rng.int(256)}/${prefix}`;
}

const HUGE_PREFIXES = ['4294967296', '99999999999999999999', '1e2', '-1', '033', '', '+24', '24.0', '0x18', ' 24', '٢٤', '２４', '9'.repeat(400)];

function longLine(rng: Rng): string {
  const n = 100_000;
  switch (rng.int(7)) {
    case 0: return `192.168.10.110 long.kubernetes.local ${'a'.repeat(n)} 10.200.9.0/24`;
    case 1: return `192.168.10.110 long.kubernetes.local long 10.200.9.0/24 # ${'x'.repeat(n)}`;
    case 2: return `${' \t'.repeat(n / 2)}192.168.10.110 long.kubernetes.local long`;
    case 3: return Array.from({ length: n / 2 }, () => 'x').join(' ');
    case 4: return `${'1'.repeat(n)} long.kubernetes.local long`;
    case 5: return `192.168.10.110 long.kubernetes.local long 10.200.9.0/${'9'.repeat(n)}`;
    default: return `192.168.10.110 ${'a.'.repeat(n / 2)}local long`;
  }
}

/** A valid-looking machine line not in the guide: keeps some cases valid while changing shape. */
function freshMachine(rng: Rng, k: number): string {
  const ip = `192.168.10.${110 + k}`;
  const sub = rng.chance(0.7) ? ` 10.200.${10 + k}.0/24` : '';
  return `${ip} extra-${k}.kubernetes.local extra-${k}${sub}`;
}

type Op = (lines: string[], rng: Rng) => string;

const onLine = (lines: string[], rng: Rng, f: (line: string) => string): number => {
  if (lines.length === 0) lines.push('');
  const i = rng.int(lines.length);
  lines[i] = f(lines[i]!);
  return i + 1;
};
const onToken = (lines: string[], rng: Rng, f: (toks: string[], j: number) => string[]): number =>
  onLine(lines, rng, (line) => {
    const toks = tokens(line);
    if (toks.length === 0) return line;
    return f(toks, rng.int(toks.length)).join(rng.pick([' ', ' ', '\t', '  ']));
  });

/** Operations that keep a valid guide file valid (mostly): whitespace, comments, order. */
const BENIGN: Record<string, Op> = {
  tabs: (l, r) => `tabs@${onLine(l, r, (s) => s.replace(/ /g, () => r.pick(['\t', ' ', '  ', ' \t'])))}`,
  indent: (l, r) => `indent@${onLine(l, r, (s) => r.pick([' ', '\t', '   ']) + s)}`,
  trailingWs: (l, r) => `trailingWs@${onLine(l, r, (s) => s + r.pick([' ', '\t', ' \t ']))}`,
  crlf: (l, r) => `crlf@${onLine(l, r, (s) => `${s}\r`)}`,
  crlfAll: (l) => ((l.forEach((s, i) => (l[i] = `${s}\r`)), 'crlfAll')),
  comment: (l, r) => {
    const at = r.int(l.length + 1);
    l.splice(at, 0, `${r.pick(['', ' ', '\t'])}# ${r.pick([...NON_ASCII, ...SHELL_META, ...ESC_SEQUENCES, 'node-9 10.0.0.0/8'])}`);
    return `comment@${at + 1}`;
  },
  trailingComment: (l, r) => `trailingComment@${onLine(l, r, (s) => `${s}${r.pick([' ', '', '\t'])}#${r.pick([...NON_ASCII, ...SHELL_META, ...CONTROL_CHARS.filter((c) => c !== '\n'), ' x y z'])}`)}`,
  blank: (l, r) => {
    const at = r.int(l.length + 1);
    l.splice(at, 0, r.pick(['', ' ', '\t', ' \t ', '\r']));
    return `blank@${at + 1}`;
  },
  swapLines: (l, r) => {
    const i = r.int(l.length);
    const j = r.int(l.length);
    [l[i], l[j]] = [l[j]!, l[i]!];
    return `swapLines@${i + 1},${j + 1}`;
  },
  addMachine: (l, r) => ((l.push(freshMachine(r, l.length)), 'addMachine')),
};

/** Operations that usually break the file. */
const HOSTILE: Record<string, Op> = {
  swapFields: (l, r) =>
    `swapFields@${onToken(l, r, (t, j) => {
      const k = r.int(t.length);
      [t[j], t[k]] = [t[k]!, t[j]!];
      return t;
    })}`,
  deleteField: (l, r) => `deleteField@${onToken(l, r, (t, j) => (t.splice(j, 1), t))}`,
  duplicateField: (l, r) => `duplicateField@${onToken(l, r, (t, j) => (t.splice(j, 0, t[j]!), t))}`,
  garbageField: (l, r) => `garbageField@${onToken(l, r, (t, j) => ((t[j] = r.pick(GARBAGE)), t))}`,
  appendGarbage: (l, r) => `appendGarbage@${onToken(l, r, (t) => (t.push(r.pick(GARBAGE)), t))}`,
  insertChar: (l, r) =>
    `insertChar@${onLine(l, r, (s) => {
      const at = r.int(s.length + 1);
      return s.slice(0, at) + r.pick(INSERTABLE) + s.slice(at);
    })}`,
  controlChar: (l, r) =>
    `controlChar@${onLine(l, r, (s) => {
      const at = r.int(s.length + 1);
      return s.slice(0, at) + r.pick([...CONTROL_CHARS.filter((c) => c !== '\n'), ...ESC_SEQUENCES]) + s.slice(at);
    })}`,
  oddSeparator: (l, r) => `oddSeparator@${onLine(l, r, (s) => s.replace(/[ \t]+/, () => r.pick(WHITESPACE_ODD)))}`,
  changeIp: (l, r) => `changeIp@${onToken(l, r, (t) => ((t[0] = r.chance(0.8) ? randomV4(r) : r.pick(GARBAGE)), t))}`,
  changeSubnet: (l, r) =>
    `changeSubnet@${onToken(l, r, (t) => {
      if (t.length >= 4) t[3] = randomSubnet(r);
      else t.push(randomSubnet(r));
      return t;
    })}`,
  hugePrefix: (l, r) =>
    `hugePrefix@${onToken(l, r, (t) => {
      const p = r.pick(HUGE_PREFIXES);
      if (t.length >= 4) t[3] = `${t[3]!.split('/')[0]}/${p}`;
      else t.push(`10.200.7.0/${p}`);
      return t;
    })}`,
  dualStack: (l, r) =>
    `dualStack@${onToken(l, r, (t) => {
      const k = 1 + r.int(200);
      t[0] = r.chance(0.5) ? `${t[0]},2001:db8::${k.toString(16)}` : `2001:db8::${k.toString(16)},${t[0]}`;
      if (t.length >= 4 && r.chance(0.8)) t[3] = `${t[3]},2001:db8:1:${k.toString(16)}::/64`;
      return t;
    })}`,
  duplicateLine: (l, r) => {
    const i = r.int(l.length);
    l.splice(i, 0, l[i] ?? '');
    return `duplicateLine@${i + 1}`;
  },
  deleteLine: (l, r) => {
    const i = r.int(l.length);
    l.splice(i, 1);
    return `deleteLine@${i + 1}`;
  },
  longLine: (l, r) => {
    const at = r.int(l.length + 1);
    l.splice(at, 0, longLine(r));
    return `longLine@${at + 1}`;
  },
  loneCr: (l, r) =>
    `loneCr@${onLine(l, r, (s) => {
      const at = r.int(s.length + 1);
      return `${s.slice(0, at)}\r${s.slice(at)}`;
    })}`,
  bom: (l) => ((l[0] = `\ufeff${l[0] ?? ''}`), 'bom'),
  upperCase: (l, r) => `upperCase@${onLine(l, r, (s) => s.toUpperCase())}`,
};

/** Whole-file replacements: rare, but each must still be a clean error. */
const WHOLE_FILES: Array<[string, string]> = [
  ['empty', ''],
  ['newlines', '\n\n\n'],
  ['crlfs', '\r\n\r\n'],
  ['whitespace', ' \t \n\t\n'],
  ['only comments', '# nothing here\n  # still nothing\r\n#\n'],
  ['only a BOM', '\ufeff'],
  ['nul bytes', '\x00\x00\x00\n'],
  ['binary', Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('')],
  ['one field', '192.168.10.100\n'],
  ['yaml instead', 'defaults:\n  stack: networkd\n'],
  ['json instead', '{"machines": ["192.168.10.100"]}\n'],
];

const BENIGN_OPS = Object.entries(BENIGN);
const ALL_OPS = [...BENIGN_OPS, ...Object.entries(HOSTILE)];

/**
 * Mutates machines.txt: a quarter of the cases only get benign edits (so that the success path
 * is exercised with odd formatting), the others 1 to 5 edits of any kind; a few are replaced
 * by a whole hostile file.
 */
export function mutateInventory(base: string, rng: Rng): Mutated {
  if (rng.chance(0.04)) {
    const [name, text] = rng.pick(WHOLE_FILES);
    return { text, ops: [`file:${name}`] };
  }
  const lines = base.replace(/\n$/, '').split('\n');
  const benign = rng.chance(0.25);
  const pool = benign ? BENIGN_OPS : ALL_OPS;
  const count = 1 + Math.min(4, Math.floor(-Math.log(1 - rng.next()) * 1.2));
  const ops: string[] = [];
  for (let i = 0; i < count; i++) {
    const [, op] = rng.pick(pool);
    ops.push(op(lines, rng));
  }
  const finalNewline = rng.chance(0.85) ? '\n' : '';
  return { text: lines.join('\n') + finalNewline, ops };
}

// ---------------------------------------------------------------------------------------------
// Mutations of routegen.yaml

const YAML_VALUES = [
  'networkd', 'netplan', 'ifupdown', 'wicked', 'eth1', 'enp0s8', '10-eth1.network', '100', '0', '-1', '4294967295', '4294967296', '"1e3"', '1.5', '0x10', '1:30', '.inf', '~', 'null', 'yes', '[]', '{}',
  '[eth1]', '{a: 1}', '"eth1; reboot"', '"$(id)"', '"`id`"', '../../etc', '"../x.network"', '"a b.network"', 'abcdefghijklmnop', '"eth1\\nreboot"', '"\\e[31m"', '"\\x00"', '"\\u202e"', '"é"',
  'root;id', '"root\\nid"', '&a eth1', '*a', '*undefined', '!!binary aGVsbG8=', '!!str 5', '!!int "7"', '!!float 3', '!custom x', '|\n    eth1\n    reboot', '>-\n    eth1', "'single'", '"unterminated',
];
const YAML_KEYS = ['stack', 'interface', 'networkd-file', 'metric', 'ssh', 'user', 'port', 'identity-file', 'via', 'defaults', 'hosts', 'node-0', 'server', 'nope', '"inter\\tface"', '"x\\ny"', '<<', '? complex', '"\\e[2J"', '__proto__', 'constructor'];

const YAML_BASE = `defaults:
  stack: networkd
  interface: eth1
  networkd-file: 10-eth1.network
  metric: 100
  ssh:
    user: root
    port: 22
    via: ip
hosts:
  server:
    stack: netplan
  node-0:
    interface: enp0s8
`;

export function mutateConfig(rng: Rng): Mutated {
  const lines = YAML_BASE.replace(/\n$/, '').split('\n');
  const ops: string[] = [];
  const count = 1 + rng.int(3);
  for (let i = 0; i < count; i++) {
    const at = rng.int(lines.length);
    const line = lines[at]!;
    const m = /^(\s*)([^:]+):(.*)$/.exec(line);
    switch (rng.int(7)) {
      case 0:
        if (m) lines[at] = `${m[1]}${m[2]}: ${rng.pick(YAML_VALUES)}`;
        ops.push(`value@${at + 1}`);
        break;
      case 1:
        if (m) lines[at] = `${m[1]}${rng.pick(YAML_KEYS)}:${m[3]}`;
        ops.push(`key@${at + 1}`);
        break;
      case 2: {
        const pos = rng.int(line.length + 1);
        lines[at] = line.slice(0, pos) + rng.pick(INSERTABLE) + line.slice(pos);
        ops.push(`insert@${at + 1}`);
        break;
      }
      case 3:
        lines[at] = line.replace(/^ +/, (s) => rng.pick(['', ' ', '\t', s + ' ', s.slice(1)]));
        ops.push(`indent@${at + 1}`);
        break;
      case 4:
        lines.splice(at, 0, line);
        ops.push(`duplicate@${at + 1}`);
        break;
      case 5:
        lines.splice(at, 1);
        ops.push(`delete@${at + 1}`);
        break;
      default:
        lines[at] = `${line}\r`;
        ops.push(`crlf@${at + 1}`);
    }
  }
  return { text: lines.join('\n') + '\n', ops };
}

// ---------------------------------------------------------------------------------------------
// Checks

/** C0 controls except \n (and \t, which formatProblem expands in the quoted line), and DEL. */
// eslint-disable-next-line no-control-regex
export const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;
/** Generated files: printable ASCII and \n only. */
export const NOT_PRINTABLE_ASCII = /[^\x20-\x7e\n]/;
/** Characters a shell (or an `up` line run by ifupdown through /bin/sh) would act on. */
export const SHELL_META_RE = /[$`;|&<>()'"\\!*?{}~]/;

/** What is wrong with a generated file, or null: printable ASCII only, no shell
 * metacharacters outside comment lines. */
export function renderedFileProblem(content: string): string | null {
  const bad = NOT_PRINTABLE_ASCII.exec(content);
  if (bad) return `character U+${bad[0].codePointAt(0)!.toString(16).padStart(4, '0')} at offset ${bad.index}`;
  for (const [i, line] of content.split('\n').entries()) {
    if (/^\s*#/.test(line)) continue;
    const m = SHELL_META_RE.exec(line);
    if (m) return `shell metacharacter ${JSON.stringify(m[0])} on line ${i + 1}: ${JSON.stringify(line)}`;
  }
  return null;
}

/** What is wrong with one reported problem, or null: it must point into the file. `lines` are
 * the file's lines as the problem's `source` must quote them (see inventoryLines). */
export function problemDefect(p: Problem, lines: string[] | null): string | null {
  if (!Number.isInteger(p.line) || p.line < 1) return `line ${p.line} < 1`;
  if (!Number.isInteger(p.column) || p.column < 1) return `column ${p.column} < 1`;
  if (!Number.isInteger(p.length) || p.length < 1) return `length ${p.length} < 1`;
  if (lines) {
    const count = Math.max(1, lines.length);
    if (p.line > count) return `line ${p.line} beyond the file's ${count} lines`;
    const src = lines[p.line - 1] ?? '';
    if (p.source !== src) return `source ${JSON.stringify(p.source.slice(0, 80))} is not line ${p.line} ${JSON.stringify(src.slice(0, 80))}`;
  }
  if (p.column > p.source.length + 1) return `column ${p.column} beyond the line (${p.source.length} characters)`;
  if (p.column - 1 + p.length > p.source.length + 1) return `underline ${p.column}+${p.length} runs past the line (${p.source.length} characters)`;
  return null;
}

/** machines.txt's lines as parseInventory numbers and quotes them: one leading byte order mark
 * dropped, split on \n, a final empty line dropped, one trailing \r (CRLF) removed. */
export function inventoryLines(text: string): string[] {
  const lines = (text.startsWith('\ufeff') ? text.slice(1) : text).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/\r$/, ''));
}

/** routegen.yaml's lines as loadConfig quotes them. */
export const configLines = (text: string): string[] => text.split(/\r?\n/);

/** What is wrong with a UserError as the user sees it, or null. `lines` are the lines of the
 * file the problems are in; or a function from a problem's file to its lines (null: unknown). */
export function userErrorDefect(e: UserError, lines: string[] | null | ((file: string) => string[] | null)): string | null {
  for (const p of e.problems) {
    const d = problemDefect(p, typeof lines === 'function' ? lines(p.file) : lines);
    if (d) return `problem ${p.line}:${p.column} (${p.message.slice(0, 120)}): ${d}`;
  }
  const shown = formatUserError(e);
  const bad = RAW_CONTROL.exec(shown);
  if (bad) return `formatUserError output holds raw U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} at offset ${bad.index}: ${JSON.stringify(shown.slice(Math.max(0, bad.index - 60), bad.index + 20))}`;
  return null;
}

/** Each problem prints as exactly `file:line:col: message`, the quoted line, the caret line and
 * the hint: a message can never start a line of its own (and so fake another position). */
export function problemLayoutDefect(p: Problem): string | null {
  const lines = formatProblem(p).split('\n');
  const want = p.hint ? 4 : 3;
  return lines.length === want ? null : `formatProblem gives ${lines.length} lines, not ${want}: ${JSON.stringify(formatProblem(p).slice(0, 200))}`;
}

/** A short, printable rendering of a case's input for failure messages. */
export function describeInput(text: string, max = 400): string {
  const s = JSON.stringify(text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
  return s;
}
