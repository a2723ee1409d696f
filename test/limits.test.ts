/** Bounded input: capped problem lists, and flags refused before anything connects. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { MAX_PROBLEMS, ProblemList, UserError } from '../src/errors.js';
import { BIN, removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';
import { seconds } from './helpers/time.js';

test('ProblemList keeps the first problems by position, whatever order they come in, and counts the rest', () => {
  const list = new ProblemList();
  for (let line = 5000; line >= 1; line--) list.add({ file: 'm.txt', line, column: 1, length: 1, source: 'x', message: `bad ${line}` });
  try {
    list.throwIfAny('m.txt is not a valid inventory');
    assert.unreachable('must throw');
  } catch (e) {
    assert.instance(e, UserError);
    const u = e as UserError;
    assert.is(u.problems.length, MAX_PROBLEMS);
    assert.equal(u.problems.map((p) => p.line), Array.from({ length: MAX_PROBLEMS }, (_, i) => i + 1));
    assert.is(u.omitted, 5000 - MAX_PROBLEMS);
    assert.match(u.message, `5000 problems found (the first ${MAX_PROBLEMS} shown)`);
  }
});

test('a machines.txt with thousands of bad lines prints the first 100 problems and a count', () => {
  const dir = tempDir('many-errors');
  try {
    const inv = join(dir, 'machines.txt');
    const bad = 20_000;
    writeFileSync(inv, Array.from({ length: bad }, (_, i) => `192.0.2.${i % 250} node-${i}.example node-${i} 10.999.${i}.0/24\n`).join(''));
    const r = routegen(['plan', '-i', inv]);
    assert.is(r.code, 2, r.stderr.slice(0, 2000));
    const headers = r.stderr.split('\n').filter((l) => l.startsWith(`${inv}:`));
    assert.is(headers.length, MAX_PROBLEMS);
    assert.match(headers[0]!, `${inv}:1:`);
    assert.match(r.stderr, /\.\.\. and \d+ more problems not shown: fix these first, then run again/);
    assert.match(r.stderr, /machines\.txt is not a valid inventory: \d+ problems found \(the first 100 shown\)/);
    const total = Number(/: (\d+) problems found/.exec(r.stderr)![1]);
    assert.ok(total >= bad, `every bad line counted (${total})`);
    assert.ok(r.stderr.length < 100_000, `stderr stays small: ${r.stderr.length} bytes`);
  } finally {
    removeDir(dir);
  }
});

/** A TCP listener on 127.0.0.1 that counts connections (and answers nothing). */
async function listener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0, connections: () => n };
}

/** Runs the built CLI asynchronously (the listener must keep answering meanwhile). */
function runCli(args: string[], cwd: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stderr }));
  });
}

test('fractional or out-of-range seconds are a usage error before anything connects', async () => {
  const dir = tempDir('seconds');
  const l = await listener();
  try {
    const cfg = join(dir, 'ssh_config');
    // A key, so that a valid command gets as far as connecting.
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    writeFileSync(cfg, `Host *\n  HostName 127.0.0.1\n  Port ${l.port}\n  User root\n  IdentityFile ${join(dir, 'id')}\n  UserKnownHostsFile ${join(dir, 'kh')}\n  GlobalKnownHostsFile /dev/null\n`);
    const inv = join(ROOT, 'fixtures/guide/machines.txt');
    const base = ['-i', inv, '-F', cfg];
    const stack = ['--stack', 'networkd', '--interface', 'eth1'];
    const cases: Array<[string, string[]]> = [
      ['push', ['--confirm-timeout', '0.5', ...stack]],
      ['push', ['--verify-timeout', '2.5', ...stack]],
      ['push', ['--confirm-timeout', '1e9', ...stack]],
      ['status', ['--command-timeout', '0.25', ...stack]],
      ['discover', ['--connect-timeout', '-3']],
      ['rollback', ['--parallel', '1.5', ...stack]],
    ];
    for (const [cmd, extra] of cases) {
      const r = await runCli([cmd, ...base, ...extra], dir);
      assert.is(r.code, 2, `${cmd} ${extra.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, `${extra[0]} must be a whole number`);
      assert.not.match(r.stderr, 'internal error');
    }
    assert.is(l.connections(), 0, 'nothing may connect');
    // The check is not the listener's fault: a valid value does connect.
    const ok = await runCli(['status', ...base, ...stack, '--connect-timeout', seconds(2), '--hosts', 'server'], dir);
    assert.is(ok.code, 1, ok.stderr);
    assert.ok(l.connections() > 0, 'a valid command reaches the listener');
  } finally {
    l.server.close();
    removeDir(dir);
  }
});

test.run();
