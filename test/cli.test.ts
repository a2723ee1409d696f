/** The built command, run as a user runs it. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, readTree, removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';
import { bound } from './helpers/time.js';

const GUIDE = join(ROOT, 'fixtures/guide/machines.txt');
const GUIDE_CFG = join(ROOT, 'fixtures/guide/routegen.yaml');
const DROPIN = 'etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';

test('output piped into a reader that stops early (`| head`): a quiet exit 0, no stack trace', () => {
  const dir = tempDir('pipe');
  try {
    const inv = join(dir, 'machines.txt');
    // 300 workers: 90,000 routes, far more than a pipe holds
    writeFileSync(inv, Array.from({ length: 300 }, (_, i) => `10.0.${i >> 8}.${i & 255} n${i}.example n${i} 10.${100 + (i >> 8)}.${i & 255}.0/24\n`).join(''));
    const r = spawnSync('bash', ['-c', 'set -o pipefail; node "$0" plan -i "$1" | head -n 1; echo "rc=${PIPESTATUS[0]}"', BIN, inv], { encoding: 'utf8', timeout: bound(60_000), env: { ...process.env, NO_COLOR: '1' } });
    assert.match(r.stdout, /^HOST +STACK/, `${r.stdout.slice(0, 300)}\n${r.stderr.slice(0, 600)}`);
    assert.match(r.stdout, /\nrc=0\n$/);
    assert.is(r.stderr, '');
  } finally {
    removeDir(dir);
  }
});

test('--help on every command, --version', () => {
  const top = routegen(['--help']);
  assert.is(top.code, 0);
  assert.match(top.stdout, 'routegen plan');
  assert.match(top.stdout, 'Exit codes: 0');
  for (const cmd of ['plan', 'render']) {
    const r = routegen([cmd, '--help']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, '--inventory');
  }
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  assert.is(routegen(['--version']).stdout.trim(), pkg.version);
});

test('plan --json has the documented shape and the guide routes', () => {
  const r = routegen(['plan', '-i', GUIDE, '-c', GUIDE_CFG, '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), {
    hosts: [
      { name: 'server', ip: '192.168.10.100', stack: 'networkd', interface: 'eth1', routes: [{ to: '10.200.0.0/24', via: '192.168.10.101' }, { to: '10.200.1.0/24', via: '192.168.10.102' }] },
      { name: 'node-0', ip: '192.168.10.101', stack: 'networkd', interface: 'eth1', routes: [{ to: '10.200.1.0/24', via: '192.168.10.102' }] },
      { name: 'node-1', ip: '192.168.10.102', stack: 'networkd', interface: 'eth1', routes: [{ to: '10.200.0.0/24', via: '192.168.10.101' }] },
    ],
  });
});

test('plan prints an aligned table', () => {
  const r = routegen(['plan', '-i', GUIDE, '-c', GUIDE_CFG]);
  assert.is(r.code, 0);
  const lines = r.stdout.split('\n');
  assert.is(lines[0], 'HOST    STACK     INTERFACE  DESTINATION    VIA');
  assert.is(lines[1], 'server  networkd  eth1       10.200.0.0/24  192.168.10.101');
  assert.is(lines[2], '                             10.200.1.0/24  192.168.10.102');
  assert.match(r.stdout, '3 hosts, 4 routes.');
});

test('-i defaults to ./machines.txt; a missing inventory is a clear error', () => {
  assert.is(routegen(['plan'], { cwd: join(ROOT, 'fixtures/guide') }).code, 0);
  const tmp = tempDir('cwd');
  try {
    const r = routegen(['plan'], { cwd: tmp });
    assert.is(r.code, 2);
    assert.match(r.stderr, 'inventory ./machines.txt does not exist');
    assert.match(r.stderr, '-i FILE');
  } finally {
    removeDir(tmp);
  }
});

test('usage errors exit 2 without a stack trace', () => {
  for (const args of [['frobnicate'], ['render', '-i', GUIDE], ['plan', '--no-such-flag'], ['plan', '-i', GUIDE, '--stack', 'wicked'], [], ['plan', '-i', GUIDE, '--interface', 'eth1;reboot']]) {
    const r = routegen(args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.not.match(r.stderr, /\s+at .*:\d+:\d+/);
  }
  const r = routegen(['render', '-i', GUIDE, '--out', '/tmp/never-written-by-routegen']);
  assert.is(r.code, 2);
  assert.match(r.stderr, '--stack networkd --interface eth1');
  assert.not.ok(existsSync('/tmp/never-written-by-routegen'));
});

test('render: modes, idempotence, --check finds changed, missing, extra and mode differences', () => {
  const out = tempDir('render');
  try {
    const args = ['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', out];
    assert.is(routegen(args).code, 0);
    const first = readTree(out);
    assert.equal([...first.keys()], [`node-0/${DROPIN}`, `node-1/${DROPIN}`, `server/${DROPIN}`]);
    for (const f of first.values()) assert.is(f.mode, 0o644);
    assert.is(routegen(args).code, 0);
    assert.equal(readTree(out), first, 'rendering twice gives identical bytes');
    assert.is(routegen([...args, '--check']).code, 0);

    writeFileSync(join(out, 'node-0', DROPIN), first.get(`node-0/${DROPIN}`)!.content + '# hand edit\n');
    chmodSync(join(out, 'server', DROPIN), 0o600);
    const stale = join(out, 'node-9', DROPIN);
    mkdirSync(join(stale, '..'), { recursive: true });
    writeFileSync(stale, first.get(`node-1/${DROPIN}`)!.content);
    const check = routegen([...args, '--check']);
    assert.is(check.code, 1);
    assert.match(check.stdout, `changed       ${join(out, 'node-0', DROPIN)}`);
    assert.match(check.stdout, `mode differs  ${join(out, 'server', DROPIN)}`);
    assert.match(check.stdout, `extra         ${stale}`);
    assert.equal(readTree(out).get(`node-0/${DROPIN}`)!.content.endsWith('# hand edit\n'), true, '--check writes nothing');

    const fix = routegen(args);
    assert.is(fix.code, 0);
    assert.not.ok(existsSync(join(out, 'node-9')), 'stale owned file and its empty directories removed');
    assert.equal(readTree(out), first);
    assert.is(statSync(join(out, 'server', DROPIN)).mode & 0o777, 0o644);

    const missing = routegen([...args.slice(0, -1), join(out, 'nope'), '--check']);
    assert.is(missing.code, 1);
    assert.match(missing.stdout, 'missing');
  } finally {
    removeDir(out);
  }
});

test('render never removes what routegen did not write', () => {
  const out = tempDir('foreign');
  try {
    const mine = join(out, 'node-7', DROPIN);
    const foreign = join(out, 'node-7/etc/systemd/network/10-eth1.network');
    const lookalike = join(out, 'node-8', DROPIN);
    mkdirSync(join(mine, '..'), { recursive: true });
    mkdirSync(join(lookalike, '..'), { recursive: true });
    writeFileSync(foreign, '[Match]\nName=eth1\n');
    writeFileSync(lookalike, '# written by a person\n[Route]\n');
    writeFileSync(mine, '# Generated by routegen from machines.txt for node-7.\n');
    const r = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', out]);
    assert.is(r.code, 0, r.stderr);
    assert.not.ok(existsSync(mine));
    assert.ok(existsSync(foreign));
    assert.ok(existsSync(lookalike));
  } finally {
    removeDir(out);
  }
});

test('render --hosts touches only those hosts; a host with no routes gets no file', () => {
  const out = tempDir('subset');
  try {
    const one = join(ROOT, 'fixtures/one-worker');
    assert.is(routegen(['render', '-i', join(one, 'machines.txt'), '-c', join(one, 'routegen.yaml'), '--out', out, '--hosts', 'node-0']).code, 0);
    assert.equal([...readTree(out).keys()], []);
    assert.is(routegen(['render', '-i', join(one, 'machines.txt'), '-c', join(one, 'routegen.yaml'), '--out', out]).code, 0);
    assert.equal([...readTree(out).keys()], ['server/etc/netplan/60-routegen-pod-routes.yaml']);
    assert.is(readTree(out).get('server/etc/netplan/60-routegen-pod-routes.yaml')!.mode, 0o600);
  } finally {
    removeDir(out);
  }
});

test('render --json lists every file and its status', () => {
  const out = tempDir('json');
  try {
    const r = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', out, '--json']);
    const j = JSON.parse(r.stdout);
    assert.equal(j.files.map((f: { host: string; status: string }) => `${f.host} ${f.status}`), ['server created', 'node-0 created', 'node-1 created']);
  } finally {
    removeDir(out);
  }
});

test('-i takes `kubectl get nodes -o json` output too, detected from its content', () => {
  const r = routegen(['plan', '-i', join(ROOT, 'fixtures/kubectl/nodes.json'), '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).hosts.map((h: { name: string; routes: Array<{ to: string; via: string }> }) => [h.name, h.routes.map((x) => `${x.to} via ${x.via}`)]), [
    ['node-0', ['10.200.1.0/24 via 192.168.10.102']],
    ['node-1', ['10.200.0.0/24 via 192.168.10.101']],
  ]);
  // forced to the other format it is an error, not a guess
  const forced = routegen(['plan', '-i', join(ROOT, 'fixtures/kubectl/nodes.json'), '--inventory-format', 'machines']);
  assert.is(forced.code, 2);
  assert.match(forced.stderr, /nodes\.json:1:\d+: missing FQDN and HOSTNAME/);
});

test('npm pack gives a tarball that installs globally and runs as `routegen`', () => {
  const tmp = tempDir('pack');
  try {
    const pack = spawnSync('npm', ['pack', '--pack-destination', tmp, ROOT], { encoding: 'utf8', timeout: bound(120_000) });
    assert.is(pack.status, 0, pack.error ? String(pack.error) : pack.stderr);
    const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
    const prefix = join(tmp, 'prefix');
    const inst = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', join(tmp, tgz)], { encoding: 'utf8', timeout: bound(180_000) });
    assert.is(inst.status, 0, inst.error ? String(inst.error) : inst.stderr);
    const help = spawnSync(join(prefix, 'bin/routegen'), ['--help'], { encoding: 'utf8' });
    assert.is(help.status, 0, help.stderr);
    assert.match(help.stdout, 'routegen push');
    const plan = spawnSync(join(prefix, 'bin/routegen'), ['plan', '-i', GUIDE, '--json'], { encoding: 'utf8' });
    assert.is(JSON.parse(plan.stdout).hosts.length, 3);
  } finally {
    removeDir(tmp);
  }
});

test.run();
