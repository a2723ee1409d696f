/**
 * src/push/protocol.ts and templates/routegen-host.sh say the same: every verb with its number
 * of arguments, every exit code and state file name from the table, and the `serve` framing
 * that src/remote/requests.ts reads — checked on the template's text and by running the real
 * rendered script with /bin/sh in a state directory of the test's own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXIT, renderHostScript, SERVE_MARK, STATE, verb } from '../src/push/protocol.js';
import { TEMPLATE_DIR } from '../src/render.js';
import { waitFor } from './helpers/time.js';

const TEMPLATE = readFileSync(`${TEMPLATE_DIR}routegen-host.sh`, 'utf8');

/** Example arguments for every verb: the builders' own shapes. */
const EXAMPLES: { [V in keyof typeof verb]: string[] } = {
  commit: verb.commit({ timeoutS: 60, key: 'k', target: '/t', stack: 'networkd', iface: 'eth1', staged: '-', families: '4' }),
  restore: verb.restore({ key: 'k', target: '/t', stack: 'networkd', iface: 'eth1' }),
  confirm: verb.confirm({ key: 'k' }),
  rollback: verb.rollback({ key: 'k', target: '/t', stack: 'networkd', iface: 'eth1' }),
  reapply: verb.reapply({ stack: 'networkd', iface: 'eth1', target: '/t', families: '4' }),
  routes: verb.routes({ families: '4' }),
  facts: verb.facts({ families: '4' }),
  serve: verb.serve(),
};

function withScript<T>(fn: (script: string, state: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'routegen-protocol-'));
  try {
    const state = join(dir, 'state');
    const script = join(dir, 'routegen-host.sh');
    writeFileSync(script, renderHostScript(state));
    return fn(script, state);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every verb of the table is a case of the script with the same number of arguments, and no other', () => {
  const cases = new Map([...TEMPLATE.matchAll(/^\t(\w+)\) \[ \$# -eq (\d+) \] \|\| die "\1: wrong number of arguments"; \1 "\$@" ;;$/gm)].map((m) => [m[1]!, Number(m[2])]));
  const table = new Map(Object.entries(EXAMPLES).filter(([v]) => v !== 'serve').map(([v, argv]) => [v, argv.length - 1]));
  assert.equal([...cases].sort(), [...table].sort());
  for (const [v, argv] of Object.entries(EXAMPLES)) assert.is(argv[0], v, `${v}'s builder starts with its name`);
  assert.match(TEMPLATE, /= serve \]; then\n\t\[ \$# -eq 1 \]/, 'serve takes no arguments');
});

test('the template takes exit codes and state file names only from the table', () => {
  assert.not.match(TEMPLATE, /\bexit [0-9]/, 'a bare exit code');
  assert.not.match(TEMPLATE, /\brc=[2-9]/, 'a bare exit code kept in rc');
  const names = Object.values(STATE).join('|');
  assert.not.match(TEMPLATE, new RegExp(`\\$(key|1|2|3)\\.(${names})\\b`), 'a state file name written out');
  for (const [name, code] of Object.entries(EXIT)) assert.ok(TEMPLATE.includes(`{{EXIT.${name}}}`) || code === 0, `EXIT.${name} is used`);
  const rendered = renderHostScript('/x');
  assert.not.match(rendered, /\{\{|\}\}/, 'every placeholder filled');
  assert.is(spawnSync('sh', ['-n', '-c', rendered]).status, 0, 'the rendered script parses');
});

test('run directly: an unknown verb or a wrong number of arguments exits with the error code and says which', () => {
  withScript((script) => {
    const unknown = spawnSync('sh', [script, 'bogus'], { encoding: 'utf8' });
    assert.is(unknown.status, EXIT.error);
    assert.match(unknown.stderr, 'unknown command bogus');
    const wrong = spawnSync('sh', [script, 'confirm'], { encoding: 'utf8' });
    assert.is(wrong.status, EXIT.error);
    assert.match(wrong.stderr, 'confirm: wrong number of arguments');
  });
});

test('confirm claims the pending token exactly once: a second confirm finds nothing to claim', () => {
  withScript((script, state) => {
    spawnSync('mkdir', ['-p', state]);
    writeFileSync(join(state, `k.${STATE.pending}`), '0\n');
    writeFileSync(join(state, `k.${STATE.failed}`), 'old\n');
    const first = spawnSync('sh', [script, ...verb.confirm({ key: 'k' })], { encoding: 'utf8' });
    assert.is(first.status, EXIT.ok, first.stderr);
    assert.not.ok(existsSync(join(state, `k.${STATE.pending}`)));
    assert.not.ok(existsSync(join(state, `k.${STATE.failed}`)), 'the copy a rollback would have left goes too');
    const second = spawnSync('sh', [script, ...verb.confirm({ key: 'k' })], { encoding: 'utf8' });
    assert.is(second.status, EXIT.nothingToClaim);
    assert.match(second.stderr, 'already rolled back');
  });
});

test('serve answers each line in order: stdout and the exit code after the marker on stdout, stderr before the marker on stderr', () => {
  withScript((script, state) => {
    spawnSync('mkdir', ['-p', state]);
    writeFileSync(join(state, `k.${STATE.pending}`), '0\n');
    const input = ['confirm k', 'bogus verb', 'confirm k', 'routes 4', ''].join('\n');
    const r = spawnSync('sh', [script, 'serve'], { input, encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    const answers = r.stdout.split(new RegExp(`\\n${SERVE_MARK} (\\d+)\\n`));
    const codes = answers.filter((_, i) => i % 2 === 1).map(Number);
    assert.equal(codes, [EXIT.ok, EXIT.error, EXIT.nothingToClaim, ip() ? EXIT.ok : EXIT.error]);
    const errors = r.stderr.split(new RegExp(`\\n${SERVE_MARK}\\n`));
    assert.is(errors.length, 5, 'one stderr marker an answer');
    assert.is(errors[0], '');
    assert.match(errors[1]!, 'unknown command bogus');
    assert.match(errors[2]!, 'already rolled back');
    if (ip()) assert.match(answers[6]!, /^@@ipv4\n\[/);
  });
});

test('the rollback timer that commit starts outlives a hangup of the helper\'s process group and still rolls back', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'routegen-protocol-'));
  try {
    const state = join(dir, 'state');
    const script = join(dir, 'routegen-host.sh');
    writeFileSync(script, renderHostScript(state));
    const target = join(dir, 't.conf');
    const staged = join(dir, '.t.conf.routegen-new');
    writeFileSync(staged, 'new\n');
    // its own process group, as a session's command has; the apply may fail here (no networkd
    // running): the timer is armed before it, and restoring needs no networkd
    const child = spawn('sh', [script, 'serve'], { detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stdin.write(`${verb.commit({ timeoutS: 1, key: 'k', target, stack: 'networkd', iface: 'eth1', staged, families: '4' }).join(' ')}\n`);
    await waitFor('the commit to answer', () => out.includes(SERVE_MARK), 10_000);
    assert.ok(existsSync(target), 'the new file is in place');
    process.kill(-child.pid!, 'SIGHUP');
    child.stdin.end();
    await waitFor('the timer to roll back (the target had no file before: it is removed)', () => !existsSync(target), 15_000);
    assert.not.ok(existsSync(join(state, `k.${STATE.pending}`)), 'the timer claimed the token');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Whether this machine has iproute2 (the `routes` answer depends on it). */
function ip(): boolean {
  return spawnSync('ip', ['-j', 'route']).status === 0;
}

test.run();
