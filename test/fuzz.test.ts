/**
 * Mutation fuzzer over the guide's machines.txt (and routegen.yaml): swapped, deleted,
 * duplicated and garbage fields, control characters and escape sequences, non-ASCII and
 * invisible characters, shell metacharacters, odd whitespace, CRLF, 100k-character lines, huge
 * prefixes, empty and comment-only files. Every case must either succeed with safe output or
 * fail with a clean UserError; anything else is a crash.
 *
 * Seeded: the run seed is printed; FUZZ_SEED=<n> replays a run, FUZZ_SEED=random explores.
 * FUZZ_CASES / FUZZ_CLI_CASES scale the two batches; FUZZ_ONLY=<i> runs one in-process case.
 * The CLI part needs a built dist/ (npm test builds first; alone: npm run build).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { formatUserError, UserError } from '../src/errors.js';
import { EMPTY_CONFIG, loadConfig, type Config } from '../src/inventory/config.js';
import { parseInventoryText } from '../src/inventory/kubectl.js';
import { parseInventory } from '../src/inventory/machines.js';
import { hostPlan, planRoutes } from '../src/plan.js';
import { renderHost } from '../src/render.js';
import type { RenderedFile, StackName } from '../src/types.js';
import { BIN, readTree, removeDir, ROOT, tempDir, type Run } from './helpers/cli.js';
import { bound } from './helpers/time.js';
import {
  caseSeed,
  configLines,
  describeInput,
  inventoryLines,
  makeRng,
  mutateConfig,
  mutateInventory,
  RAW_CONTROL,
  renderedFileProblem,
  runSeed,
  userErrorDefect,
  type Rng,
} from './helpers/mutate.js';

const SEED = runSeed('FUZZ_SEED', 0x5eed2024);
const N_INPROC = Number(process.env.FUZZ_CASES ?? 600);
const N_YAML = Math.round(N_INPROC / 2);
const N_CLI = Number(process.env.FUZZ_CLI_CASES ?? 40);
const ONLY = process.env.FUZZ_ONLY === undefined ? undefined : Number(process.env.FUZZ_ONLY);
console.log(`fuzz: FUZZ_SEED=${SEED} (replay with FUZZ_SEED=${SEED}; one case with FUZZ_ONLY=<i>)`);

const GUIDE = readFileSync(join(ROOT, 'fixtures/guide/machines.txt'), 'utf8');
const FLAGS = { stack: 'networkd', interface: 'eth1' } as const;
const STACK_LIST: StackName[] = ['networkd', 'netplan', 'ifupdown'];
/** Inventory file names as the user may give them: they reach messages and generated comments. */
const FILE_NAMES = ['machines.txt', 'machines.txt', 'machines.txt', 'my machines.txt', 'm;`id`$(reboot).txt', 'm\x1b[31m.txt', 'é😀.txt', '../../etc/machines', '-rf', "it's \"quoted\""];

type Outcome = { kind: 'ok'; files: RenderedFile[] } | { kind: 'user'; error: UserError } | { kind: 'crash'; error: unknown };

/** parse → plan → render on every stack, in process. `files` are the networkd ones (as the
 * CLI batch renders them); every stack's file is checked. */
function runInProcess(text: string, file: string, config: Config = EMPTY_CONFIG, configText = ''): { outcome: Outcome; defect: string | null } {
  let networkd: RenderedFile[] = [];
  try {
    // as the CLI reads -i: a document starting with { is kubectl output
    const inv = parseInventoryText(text, file);
    const plan = planRoutes(inv, config, FLAGS);
    for (const h of plan.hosts) {
      const hp = hostPlan(plan, h);
      const own = new Set(h.machine.podSubnets.map((n) => n.text));
      if (hp.routes.some((r) => own.has(r.to) || r.owner === hp.name)) return { outcome: { kind: 'ok', files: [] }, defect: `${hp.name} has a route to its own subnet` };
      for (const stack of STACK_LIST) {
        const files = renderHost({ ...hp, settings: { ...hp.settings, stack } }, inv.name);
        for (const f of files) {
          const bad = renderedFileProblem(f.content);
          if (bad) return { outcome: { kind: 'ok', files: [] }, defect: `${stack} file of ${hp.name}: ${bad}` };
          if (stack === 'networkd' && (f.content.match(/^\[Route\]$/gm)?.length ?? 0) !== hp.routes.length) {
            return { outcome: { kind: 'ok', files: [] }, defect: `${hp.name}: [Route] sections != ${hp.routes.length} routes` };
          }
        }
        if (stack === 'networkd') networkd = networkd.concat(files);
      }
    }
    return { outcome: { kind: 'ok', files: networkd }, defect: null };
  } catch (e) {
    if (!(e instanceof UserError)) return { outcome: { kind: 'crash', error: e }, defect: `crash: ${e instanceof Error ? e.stack : String(e)}` };
    const linesOf = (f: string) => (f === file ? inventoryLines(text) : f === config.file ? configLines(configText) : null);
    return { outcome: { kind: 'user', error: e }, defect: userErrorDefect(e, linesOf) };
  }
}

/**
 * Defects already reported (see the BUG tests at the end): counted and printed, not failed on,
 * so that the fuzzer keeps finding NEW problems. Delete an entry once its bug is fixed.
 */
const KNOWN_BUGS: Array<[string, (defect: string) => boolean]> = [];
const knownHits = new Map<string, number>();
/** The known bug a defect is, if any (and counts it). */
function knownBug(where: 'inventory' | 'yaml', defect: string): string | undefined {
  const hit = KNOWN_BUGS.find(([, match]) => match(`${where}: ${defect}`))?.[0];
  if (hit) knownHits.set(hit, (knownHits.get(hit) ?? 0) + 1);
  return hit;
}
function printKnown(what: string): void {
  if (knownHits.size) console.log(`${what}: known bugs hit (not failed on): ${[...knownHits].map(([b, n]) => `${b} ×${n}`).join('; ')}`);
  knownHits.clear();
}

interface Failure {
  what: string;
  seed: string;
  ops: string[];
  input: string;
  defect: string;
}
function report(failures: Failure[], total: number): string {
  return `${failures.length} of ${total} cases failed; the first ones:\n${failures
    .slice(0, 5)
    .map((f) => `- ${f.what} (${f.seed}) ops=${f.ops.join(',')}\n  input: ${describeInput(f.input)}\n  ${f.defect.slice(0, 1500)}`)
    .join('\n')}`;
}

function pickFile(rng: Rng): string {
  return rng.chance(0.8) ? 'machines.txt' : rng.pick(FILE_NAMES);
}

// ---------------------------------------------------------------------------------------------
// In process: hundreds of cases

test(`in process: ${N_INPROC} mutated machines.txt either plan and render safely or give a clean UserError`, () => {
  const failures: Failure[] = [];
  const tally = { ok: 0, user: 0 };
  const kinds = new Set<string>();
  for (let i = 0; i < N_INPROC; i++) {
    if (ONLY !== undefined && i !== ONLY) continue;
    const rng = makeRng(caseSeed(SEED, i));
    const { text, ops } = mutateInventory(GUIDE, rng);
    const file = pickFile(rng);
    ops.forEach((o) => kinds.add(o.split('@')[0]!));
    const { outcome, defect } = runInProcess(text, file);
    if (outcome.kind !== 'crash') tally[outcome.kind]++;
    if (defect && !knownBug('inventory', defect)) failures.push({ what: `case ${i} (file ${JSON.stringify(file)})`, seed: `FUZZ_SEED=${SEED} FUZZ_ONLY=${i}`, ops, input: text, defect });
  }
  console.log(`fuzz in process: ${tally.ok} planned and rendered, ${tally.user} rejected with a UserError; ${kinds.size} kinds of mutation`);
  printKnown('fuzz in process');
  assert.is(failures.length, 0, report(failures, N_INPROC));
  if (ONLY === undefined) {
    assert.ok(tally.ok >= N_INPROC / 10, `too few valid cases (${tally.ok}): the success path is not exercised`);
    assert.ok(tally.user >= N_INPROC / 3, `too few invalid cases (${tally.user})`);
  }
});

test(`in process: ${N_YAML} mutated routegen.yaml either load or give a clean UserError, and what loads renders safely`, () => {
  const failures: Failure[] = [];
  const tally = { ok: 0, user: 0 };
  for (let i = 0; i < N_YAML; i++) {
    const rng = makeRng(caseSeed(SEED ^ 0x7a41, i));
    const { text, ops } = mutateConfig(rng);
    let config: Config;
    try {
      config = loadConfig(text, 'routegen.yaml');
    } catch (e) {
      const defect = e instanceof UserError ? userErrorDefect(e, configLines(text)) : `crash: ${e instanceof Error ? e.stack : String(e)}`;
      if (defect && !knownBug('yaml', defect)) failures.push({ what: `yaml case ${i}`, seed: `FUZZ_SEED=${SEED}`, ops, input: text, defect });
      else tally.user++;
      continue;
    }
    // A config that loads must only ever produce safe files (or a clean error, e.g. unknown host).
    const { outcome, defect } = runInProcess(GUIDE, 'machines.txt', config, text);
    if (outcome.kind === 'ok') tally.ok++;
    else if (outcome.kind === 'user') tally.user++;
    if (defect && !knownBug('yaml', defect)) failures.push({ what: `yaml case ${i} (render)`, seed: `FUZZ_SEED=${SEED}`, ops, input: text, defect });
  }
  console.log(`fuzz routegen.yaml: ${tally.ok} loaded and rendered, ${tally.user} rejected`);
  printKnown('fuzz routegen.yaml');
  assert.is(failures.length, 0, report(failures, N_YAML));
  if (N_YAML >= 50) assert.ok(tally.ok > 0 && tally.user > 0, `one-sided: ${JSON.stringify(tally)}`);
});

// ---------------------------------------------------------------------------------------------
// Through the built CLI

/** The built command as test/helpers/cli.ts runs it (same binary, NO_COLOR), but asynchronous,
 * so that a batch runs a few processes at a time. */
function routegenAsync(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), bound(60_000));
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? -1 : -2), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
const WIDTH = Math.max(2, Math.min(4, availableParallelism()));

const STACK_TRACE = /^\s{4}at /m;

/** What is wrong with a run of the CLI in general (any exit), or null. */
function runDefect(r: Run): string | null {
  if (r.code !== 0 && r.code !== 2) return `exit code ${r.code}`;
  if (STACK_TRACE.test(r.stderr)) return 'stack trace on stderr';
  if (/internal error/i.test(r.stderr)) return '"internal error" on stderr';
  const bad = RAW_CONTROL.exec(r.stderr) ?? RAW_CONTROL.exec(r.stdout);
  if (bad) return `raw U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} on the terminal`;
  return null;
}

const GUIDE_DIST_OK = existsSync(BIN) && existsSync(join(ROOT, 'dist/cli.js'));

test(`CLI: ${N_CLI} mutated machines.txt through \`routegen render\`: exit 0 with safe files, or exit 2 writing nothing`, async () => {
  assert.ok(GUIDE_DIST_OK, 'dist/ is missing: run `npm run build` first');
  const root = tempDir('fuzz-cli');
  const failures: Failure[] = [];
  const tally = { 0: 0, 2: 0 } as Record<number, number>;
  try {
    const cases = Array.from({ length: N_CLI }, (_, i) => {
      const rng = makeRng(caseSeed(SEED ^ 0xc11, i));
      const m = mutateInventory(GUIDE, rng);
      return { i, ...m, file: pickFile(rng) };
    });
    await pool(cases, WIDTH, async ({ i, text, ops, file }) => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      const name = file.includes('/') ? 'machines.txt' : file;
      writeFileSync(join(dir, name), text);
      // a name starting with "-" is an option to any CLI: users write ./-rf
      const inv = name.startsWith('-') ? `./${name}` : name;
      const r = await routegenAsync(['render', '-i', inv, '--stack', 'networkd', '--interface', 'eth1', '--out', 'out'], dir);
      const fail = (defect: string) => failures.push({ what: `cli case ${i} (file ${JSON.stringify(inv)})`, seed: `FUZZ_SEED=${SEED}`, ops, input: text, defect: `${defect}\n  stderr: ${JSON.stringify(r.stderr.slice(0, 600))}` });
      tally[r.code] = (tally[r.code] ?? 0) + 1;
      const general = runDefect(r);
      if (general) return void fail(general);
      const { outcome } = runInProcess(text, inv);
      const out = join(dir, 'out');
      if (r.code === 2) {
        if (existsSync(out)) return void fail('exit 2 but the out dir was written');
        if (outcome.kind !== 'user') return void fail(`exit 2 but in process: ${outcome.kind}`);
        if (r.stderr !== `${formatUserError(outcome.error)}\n`) return void fail('stderr is not the UserError as formatted in process');
        if (r.stdout !== '') return void fail('exit 2 with output on stdout');
        return;
      }
      if (outcome.kind !== 'ok') return void fail(`exit 0 but in process: ${outcome.kind}`);
      const tree = readTree(out);
      const want = new Map(outcome.files.map((f) => [`${f.host}${f.path}`, f]));
      if ([...tree.keys()].sort().join('\n') !== [...want.keys()].sort().join('\n')) return void fail(`files written: ${[...tree.keys()].join(', ')}; expected ${[...want.keys()].join(', ')}`);
      for (const [rel, f] of tree) {
        const bad = renderedFileProblem(f.content);
        if (bad) return void fail(`${rel}: ${bad}`);
        if (f.content !== want.get(rel)!.content || f.mode !== want.get(rel)!.mode) return void fail(`${rel} differs from the in-process rendering`);
      }
    });
  } finally {
    removeDir(root);
  }
  console.log(`fuzz CLI: ${tally[0] ?? 0} exit 0, ${tally[2] ?? 0} exit 2 (${WIDTH} at a time)`);
  assert.is(failures.length, 0, report(failures, N_CLI));
  if (N_CLI >= 20) assert.ok((tally[0] ?? 0) > 0 && (tally[2] ?? 0) > 0, `one-sided: ${JSON.stringify(tally)}`);
});

/** `«` marks where the problem must be reported (and is removed). */
const HOSTILE_CONFIGS: Array<[string, string]> = [
  ['interface with ;', 'defaults:\n  stack: networkd\n  interface: «"eth1; reboot"\n'],
  ['interface $(id)', 'defaults:\n  stack: networkd\n  interface: «"$(id)"\n'],
  ['interface path', 'defaults:\n  stack: networkd\n  interface: «../../etc\n'],
  ['interface of 16 characters', 'defaults:\n  stack: networkd\n  interface: «abcdefghijklmnop\n'],
  ['interface with a newline', 'defaults:\n  stack: networkd\n  interface: «"eth1\\nreboot"\n'],
  ['interface as a block scalar', 'defaults:\n  stack: networkd\n  interface: «|\n    eth1\n    reboot\n'],
  ['interface with an escape sequence', 'defaults:\n  stack: networkd\n  interface: «"eth\\e[2J1"\n'],
  ['host interface with backticks', 'defaults:\n  stack: networkd\n  interface: eth1\nhosts:\n  node-0:\n    interface: «"`reboot`"\n'],
  ['networkd-file ../x.network', 'defaults:\n  stack: networkd\n  interface: eth1\n  networkd-file: «../x.network\n'],
  ['networkd-file with a space', 'defaults:\n  stack: networkd\n  interface: eth1\n  networkd-file: «"a b.network"\n'],
  ['networkd-file absolute', 'defaults:\n  stack: networkd\n  interface: eth1\n  networkd-file: «/etc/systemd/network/x.network\n'],
  ['metric -1', 'defaults:\n  stack: networkd\n  interface: eth1\n  metric: «-1\n'],
  ['metric 2^32', 'defaults:\n  stack: networkd\n  interface: eth1\n  metric: «4294967296\n'],
  ['metric "1e3"', 'defaults:\n  stack: networkd\n  interface: eth1\n  metric: «"1e3"\n'],
  ['metric 1.5', 'defaults:\n  stack: networkd\n  interface: eth1\n  metric: «1.5\n'],
  ['ssh user root;id', 'defaults:\n  stack: networkd\n  interface: eth1\n  ssh:\n    user: «root;id\n'],
  ['ssh user $(id)', 'defaults:\n  stack: networkd\n  interface: eth1\n  ssh:\n    user: «"$(id)"\n'],
  ['stack with ;', 'defaults:\n  stack: «"networkd; reboot"\n  interface: eth1\n'],
  ['unknown host $(reboot)', 'defaults:\n  stack: networkd\n  interface: eth1\nhosts:\n  «"$(reboot)":\n    stack: netplan\n'],
  ['unknown key with an escape sequence', 'defaults:\n  stack: networkd\n  «"inter\\e[31mface": eth1\n'],
];

const HOSTILE_FLAGS: Array<[string, string[]]> = [
  ['--interface "eth1; reboot"', ['--stack', 'networkd', '--interface', 'eth1; reboot']],
  ['--interface $(id)', ['--stack', 'networkd', '--interface', '$(id)']],
  ['--networkd-file ../x.network', ['--stack', 'networkd', '--interface', 'eth1', '--networkd-file', '../x.network']],
  ['--metric=-1', ['--stack', 'networkd', '--interface', 'eth1', '--metric=-1']],
];

test(`CLI: ${HOSTILE_CONFIGS.length} hostile routegen.yaml values and ${HOSTILE_FLAGS.length} hostile flags: exit 2, file:line:column, nothing written`, async () => {
  assert.ok(GUIDE_DIST_OK, 'dist/ is missing: run `npm run build` first');
  const root = tempDir('fuzz-cfg');
  const failures: string[] = [];
  try {
    const jobs = [
      ...HOSTILE_CONFIGS.map(([name, marked], i) => ({ name, marked, flags: [] as string[], i })),
      ...HOSTILE_FLAGS.map(([name, flags], j) => ({ name, marked: null as string | null, flags, i: HOSTILE_CONFIGS.length + j })),
    ];
    await pool(jobs, WIDTH, async ({ name, marked, flags, i }) => {
      const dir = join(root, String(i));
      mkdirSync(dir);
      writeFileSync(join(dir, 'machines.txt'), GUIDE);
      const args = ['render', '-i', 'machines.txt', '--out', 'out', ...flags];
      let where = '';
      if (marked !== null) {
        const at = marked.indexOf('«');
        const before = marked.slice(0, at).split('\n');
        where = `routegen.yaml:${before.length}:${before[before.length - 1]!.length + 1}: `;
        writeFileSync(join(dir, 'routegen.yaml'), marked.replace('«', ''));
        args.push('-c', 'routegen.yaml');
      }
      const r = await routegenAsync(args, dir);
      const problems: string[] = [];
      if (r.code !== 2) problems.push(`exit ${r.code}`);
      if (STACK_TRACE.test(r.stderr) || /internal error/i.test(r.stderr)) problems.push('stack trace / internal error');
      if (RAW_CONTROL.test(r.stderr)) problems.push('raw control character on stderr');
      if (existsSync(join(dir, 'out'))) problems.push('something was written');
      if (r.stdout !== '') problems.push('output on stdout');
      if (where && !r.stderr.startsWith(where)) problems.push(`stderr does not start with ${JSON.stringify(where)}`);
      if (!/nothing was written|not valid|must be|is not in/.test(r.stderr)) problems.push('no explanation');
      if (problems.length) failures.push(`${name}: ${problems.join('; ')}\n  stderr: ${JSON.stringify(r.stderr.slice(0, 400))}`);
    });
  } finally {
    removeDir(root);
  }
  assert.is(failures.length, 0, failures.join('\n'));
});

// ---------------------------------------------------------------------------------------------
// Bugs this fuzzer found, fixed since; kept as regression tests

// BUG 0: a key of routegen.yaml that names an Object.prototype member (constructor, toString,
// hasOwnProperty, valueOf, __proto__, ...) under defaults:, a host or ssh: is looked up in the
// plain objects HOST_KEYS / SSH_KEYS, found on the prototype, and crashes loadConfig with
// "TypeError: checks[field] is not a function": the CLI exits 70 with a stack trace ("internal
// error") instead of 2 with `routegen.yaml:2:3: unknown key "constructor" in defaults`.
test('BUG 0: Object.prototype names as routegen.yaml keys are unknown keys, not crashes', () => {
  for (const key of ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__']) {
    for (const [yaml, where] of [
      [`defaults:\n  ${key}: x\n`, '2:3'],
      [`hosts:\n  node-0:\n    ${key}: x\n`, '3:5'],
      [`defaults:\n  ssh:\n    ${key}: x\n`, '3:5'],
    ] as const) {
      try {
        loadConfig(yaml, 'routegen.yaml');
        assert.unreachable(`${JSON.stringify(yaml)} loaded`);
      } catch (e) {
        assert.ok(e instanceof UserError, `${JSON.stringify(yaml)}: ${e instanceof Error ? e.stack : e}`);
        assert.is(`${e.problems[0]!.line}:${e.problems[0]!.column}`, where);
        assert.match(e.problems[0]!.message, `unknown key "${key}"`);
      }
    }
  }
});

// BUG 1: a newline or tab inside a YAML key (or host name, or the inventory's path) reaches the
// message raw: escapeControl() deliberately skips \t and \n, so one problem prints over several
// lines, and the next line can pose as another `file:line:col:` report.
test('BUG 1: a newline in a routegen.yaml key or host name, or in the path, never breaks a problem line', () => {
  const layout = (e: UserError) => e.problems.map((p) => formatUserError(new UserError('x', { problems: [p] })).split('\n').length);
  const expectLines = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof UserError);
      // one problem: header, quoted line, caret, (hint), blank, "Error: ..." line
      for (const [k, n] of layout(e).entries()) assert.is(n, e.problems[k]!.hint ? 6 : 5, formatUserError(e));
      return;
    }
    assert.unreachable('expected a UserError');
  };
  expectLines(() => loadConfig('defaults:\n  "inter\\nface": eth1\n', 'routegen.yaml'));
  expectLines(() => loadConfig('defaults:\n  "inter\\tface": eth1\n', 'routegen.yaml'));
  const inv = parseInventory(GUIDE, 'machines.txt');
  const cfg = loadConfig('hosts:\n  "node-9\\nroutegen.yaml:1:1: fake": {}\n', 'routegen.yaml');
  expectLines(() => planRoutes(inv, cfg));
  expectLines(() => parseInventory('300.1.1.1 a.b a\n', 'evil\nmachines.txt'));
});

// BUG 2: C1 control characters (U+0080..U+009F; U+009B is CSI, U+009D is OSC) and bidi
// overrides (U+202E) are printed raw, in the message and in the quoted source line:
// escapeControl() and formatProblem() only cover U+0000..U+001F and U+007F.
test('BUG 2: C1 controls and bidi overrides in machines.txt are shown escaped, never raw', () => {
  for (const bad of ['\u009b2J', '\u009d0;pwned\u0007', '\u202e']) {
    try {
      parseInventory(`192.168.10.101 node-0.kubernetes.local node-0${bad} 10.200.0.0/24\n`, 'machines.txt');
      assert.unreachable('expected a UserError');
    } catch (e) {
      assert.ok(e instanceof UserError);
      assert.not.match(formatUserError(e), /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/, JSON.stringify(formatUserError(e)));
    }
  }
});

// BUG 3: a UTF-8 byte order mark (Windows editors write one) makes the first line fail with
// `"192.168.10.100" is not an IPv4 address` and the hint "the first column is the machine's IP
// address": the BOM is invisible in the message. Expected: ignore a leading U+FEFF (as CRLF is
// tolerated), or name it.
test('BUG 3: a byte order mark at the start of machines.txt is ignored or named', () => {
  const text = `\ufeff${GUIDE}`;
  try {
    const inv = parseInventory(text, 'machines.txt');
    assert.is(inv.machines[0]!.addresses[0]!.text, '192.168.10.100');
  } catch (e) {
    assert.ok(e instanceof UserError);
    assert.match(e.problems[0]!.message, /U\+FEFF|byte order mark/i);
    assert.not.match(e.problems[0]!.message, /\ufeff/);
  }
});

// BUG 4: in a CRLF file without machines, the "no machines found" problem quotes line 1 with its
// \r (machine lines have it stripped), so the user sees `# only a comment?`.
test('BUG 4: "no machines found" in a CRLF file quotes the line without its \\r', () => {
  try {
    parseInventory('# only a comment\r\n', 'machines.txt');
    assert.unreachable('expected a UserError');
  } catch (e) {
    assert.ok(e instanceof UserError);
    assert.is(e.problems[0]!.source, '# only a comment');
    assert.not.match(formatUserError(e), '# only a comment?');
  }
});

// BUG 5: a YAML syntax error whose range spans lines is underlined with the whole range's length
// on its first line: the carets run past the end of the quoted line.
test('BUG 5: a routegen.yaml syntax error is underlined within its line', () => {
  try {
    loadConfig('defaults:\nstack: networkd\n  interface: eth1\n', 'routegen.yaml');
    assert.unreachable('expected a UserError');
  } catch (e) {
    assert.ok(e instanceof UserError);
    for (const p of e.problems) assert.ok(p.column - 1 + p.length <= p.source.length + 1, `${p.line}:${p.column}+${p.length} past ${JSON.stringify(p.source)}`);
  }
});

// BUG 6: positions of YAML syntax errors come from yaml's LineCounter, which misses a line start
// after some errors (here the stray "|" of line 3): every later problem is one line too high,
// e.g. `routegen.yaml:4:22: Unexpected scalar token in YAML stream: "node-0"` while node-0 is at
// 5:3 (and line 4 has 18 characters). The text is at hand: line and column can be computed from
// the error's offset directly.
test('BUG 6: YAML syntax errors are reported where the offending token is', () => {
  const text = '  stack: networkd\nhosts:\n|  server:\n    stack: netplan\n  node-0:\n    interface: eth1\n';
  try {
    loadConfig(text, 'routegen.yaml');
    assert.unreachable('expected a UserError');
  } catch (e) {
    assert.ok(e instanceof UserError);
    const lines = configLines(text);
    for (const p of e.problems) {
      const token = /token in YAML stream: "([^"\\]+)"$/.exec(p.message)?.[1];
      if (token) assert.ok(lines[p.line - 1]!.startsWith(token, p.column - 1), `${p.line}:${p.column} ${p.message} on ${JSON.stringify(lines[p.line - 1])}`);
    }
  }
});

test.run();
