/** The option table: every whole-number option refused alike on every command that takes it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { COMMAND_NAMES, OPTIONS, optionsOf, readArgs } from '../src/options.js';
import { ROOT } from './helpers/cli.js';

const GUIDE = join(ROOT, 'fixtures/guide/machines.txt');
/** render's --out: never written, since the option is refused first. */
const OUT = '/tmp/routegen-options-test-never-written';

/** Which commands take which whole-number option, written out so that a change to the table shows here. */
const NUMERIC: Record<string, string[]> = {
  metric: ['plan', 'render', 'push', 'diff', 'status', 'rollback', 'remove'],
  parallel: ['push', 'diff', 'status', 'rollback', 'remove', 'discover'],
  'connect-timeout': ['push', 'diff', 'status', 'rollback', 'remove', 'discover'],
  'command-timeout': ['push', 'diff', 'status', 'rollback', 'remove', 'discover'],
  'confirm-timeout': ['push', 'remove'],
  'verify-timeout': ['push', 'remove'],
  'rollback-grace': ['push', 'remove'],
};

async function run(argv: string[]): Promise<{ code: number; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t), c: undefined as never, ce: undefined as never, isTTY: false };
  const code = await main(argv, io);
  return { code, err: err.join('\n') };
}

test('the table declares exactly these whole-number options, on these commands', () => {
  const declared: Record<string, string[]> = {};
  for (const c of COMMAND_NAMES) for (const [name, d] of optionsOf(c)) if (d.type === 'integer') (declared[name] ??= []).push(c);
  assert.equal(declared, NUMERIC);
});

for (const [option, commands] of Object.entries(NUMERIC)) {
  const { max } = OPTIONS[option as keyof typeof OPTIONS] as { max?: number };
  for (const bad of ['1.5', 'abc', '-1', ...(max === undefined ? [] : [String(max + 1)])]) {
    test(`--${option} ${bad} is a usage error (exit 2) with the same message on ${commands.join(', ')}`, async () => {
      const messages = new Set<string>();
      for (const command of commands) {
        const r = await run([command, '-i', GUIDE, ...(command === 'render' ? ['--out', OUT] : []), `--${option}`, bad]);
        assert.is(r.code, 2, `${command} --${option} ${bad}: ${r.err}`);
        assert.match(r.err, `--${option} must be a whole number`);
        assert.match(r.err, `got ${bad}`);
        assert.not.match(r.err, 'internal error');
        messages.add(r.err);
      }
      assert.is(messages.size, 1, [...messages].join('\n---\n'));
      assert.not.ok(existsSync(OUT));
    });
  }
}

test('status --parallel 1.5 (once an internal error, exit 70) is a usage error', async () => {
  const r = await run(['status', '-i', GUIDE, '--parallel', '1.5']);
  assert.is(r.code, 2);
  assert.match(r.err, '--parallel must be a whole number of at least 1; got 1.5');
});

test('the fast path and yargs refuse a bad --metric with the same message', async () => {
  const quick = await run(['plan', '-i', GUIDE, '--metric', '1.5']);
  // an empty value sends plan to yargs (the fast path declines it)
  const slow = await run(['plan', '-i', GUIDE, '--interface', '', '--metric', '1.5']);
  assert.is(quick.code, 2);
  assert.is(slow.code, 2);
  assert.is(slow.err, quick.err);
});

test('a whole-number option with no value is a usage error on both paths', async () => {
  for (const argv of [['plan', '-i', GUIDE, '--metric'], ['status', '-i', GUIDE, '--parallel']]) {
    const r = await run(argv);
    assert.is(r.code, 2, `${argv.join(' ')}: ${r.err}`);
    assert.not.match(r.err, 'internal error');
  }
});

test('readArgs fills in defaults, reads integers and splits --hosts', () => {
  const a = readArgs('push', { hosts: 'node-0, node-1,', parallel: '3' });
  assert.is(a.parallel, 3);
  assert.is(a['confirm-timeout'], OPTIONS['confirm-timeout'].default);
  assert.is(a.inventory, './machines.txt');
  assert.equal(a.hosts, ['node-0', 'node-1']);
  assert.is(a['dry-run'], undefined);
});

test('an option given twice is a usage error, not an array passed on', async () => {
  const r = await run(['status', '-i', GUIDE, '--hosts', 'server', '--hosts', 'node-0']);
  assert.is(r.code, 2, r.err);
  assert.match(r.err, '--hosts is given 2 times');
});

test.run();
