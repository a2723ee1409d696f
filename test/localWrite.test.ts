/** Local writes (render --out, discover --write) never follow a symlink: real files in temp dirs. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../src/errors.js';
import { SafeTree, writeFileSafely } from '../src/localWrite.js';
import { removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';

const GUIDE = join(ROOT, 'fixtures/guide/machines.txt');
const GUIDE_CFG = join(ROOT, 'fixtures/guide/routegen.yaml');
const DROPIN_DIR = 'etc/systemd/network/10-eth1.network.d';
const DROPIN = `${DROPIN_DIR}/60-routegen-pod-routes.conf`;

/** A temp dir with an output root and a "victim" file outside it that must never change. */
function setup(tag: string) {
  const dir = tempDir(tag);
  const out = join(dir, 'out');
  const outside = join(dir, 'outside');
  mkdirSync(out);
  mkdirSync(outside);
  const victim = join(outside, 'victim');
  writeFileSync(victim, 'precious\n', { mode: 0o600 });
  return { dir, out, outside, victim };
}

test('render refuses a symlinked directory under --out and writes nothing through it', () => {
  const t = setup('link-dir');
  try {
    // node-0's tree points at a directory outside the output root (think: /etc).
    symlinkSync(t.outside, join(t.out, 'node-0'));
    const r = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', t.out]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, `${join(t.out, 'node-0')} is a symbolic link inside ${t.out}`);
    assert.match(r.stderr, 'remove the link');
    assert.not.match(r.stderr, /at .*\.js:\d+/); // no stack trace
    assert.equal(readdirSync(t.outside), ['victim'], 'nothing may be created through the link');
    assert.is(readFileSync(t.victim, 'utf8'), 'precious\n');
  } finally {
    removeDir(t.dir);
  }
});

test('render refuses a symlink deeper in the tree (a component of the file path)', () => {
  const t = setup('link-deep');
  try {
    mkdirSync(join(t.out, 'node-1', 'etc', 'systemd'), { recursive: true });
    symlinkSync(t.outside, join(t.out, 'node-1', 'etc', 'systemd', 'network'));
    const r = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', t.out]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, `${join(t.out, 'node-1/etc/systemd/network')} is a symbolic link`);
    assert.equal(readdirSync(t.outside), ['victim']);
  } finally {
    removeDir(t.dir);
  }
});

test('render refuses a target file that is a symlink, and leaves the link and its target alone', () => {
  const t = setup('link-target');
  try {
    mkdirSync(join(t.out, 'server', DROPIN_DIR), { recursive: true });
    const target = join(t.out, 'server', DROPIN);
    symlinkSync(t.victim, target);
    const r = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', t.out]);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, `${target} is a symbolic link`);
    assert.is(readFileSync(t.victim, 'utf8'), 'precious\n');
    assert.ok(lstatSync(target).isSymbolicLink());
    assert.is(readlinkSync(target), t.victim);
    // --check reads through the same checks.
    const c = routegen(['render', '-i', GUIDE, '-c', GUIDE_CFG, '--out', t.out, '--check']);
    assert.is(c.code, 2, c.stdout + c.stderr);
  } finally {
    removeDir(t.dir);
  }
});

test('a symlink planted at the old predictable temp name is not followed', () => {
  const t = setup('old-tmp');
  try {
    const dir = join(t.out, 'node-0', DROPIN_DIR);
    mkdirSync(dir, { recursive: true });
    // Before: `.routegen-<pid>.tmp`, opened with O_TRUNC and following links.
    const planted = join(dir, `.routegen-${process.pid}.tmp`);
    symlinkSync(t.victim, planted);
    const tree = new SafeTree(t.out);
    const target = join(dir, '60-routegen-pod-routes.conf');
    tree.write(target, [Buffer.from('[Route]\n')], 0o644);
    assert.is(readFileSync(t.victim, 'utf8'), 'precious\n');
    assert.is(readlinkSync(planted), t.victim, 'the planted link is left as it was');
    assert.is(readFileSync(target, 'utf8'), '[Route]\n');
    assert.is(lstatSync(target).mode & 0o7777, 0o644);
    // No temp file left behind, and the name used was not the predictable one.
    assert.equal(readdirSync(dir).sort(), [`.routegen-${process.pid}.tmp`, '60-routegen-pod-routes.conf']);
  } finally {
    removeDir(t.dir);
  }
});

test('writes get their exact mode and replace a regular file atomically; a new --out is created', () => {
  const t = setup('modes');
  try {
    const out = join(t.dir, 'fresh', 'out');
    const tree = new SafeTree(out);
    const target = join(out, 'server', 'etc', 'netplan', '60-routegen-pod-routes.yaml');
    tree.write(target, [Buffer.from('a'), Buffer.from('b')], 0o600);
    assert.is(readFileSync(target, 'utf8'), 'ab');
    assert.is(lstatSync(target).mode & 0o7777, 0o600);
    const ino = lstatSync(target).ino;
    tree.write(target, [Buffer.from('c')], 0o644);
    assert.is(readFileSync(target, 'utf8'), 'c');
    assert.is(lstatSync(target).mode & 0o7777, 0o644);
    assert.is.not(lstatSync(target).ino, ino, 'replaced by rename, not rewritten in place');
    assert.is(lstatSync(join(out, 'server', 'etc')).mode & 0o777, 0o755);
  } finally {
    removeDir(t.dir);
  }
});

test('discover --write: a routegen.yaml that is a symlink is refused, its target untouched', () => {
  const t = setup('cfg-link');
  try {
    const cfg = join(t.out, 'routegen.yaml');
    symlinkSync(t.victim, cfg);
    assert.throws(() => writeFileSafely(cfg, 'hosts: {}\n'), (e: unknown) => e instanceof UserError && /routegen\.yaml is a symbolic link/.test(e.message));
    assert.is(readFileSync(t.victim, 'utf8'), 'precious\n');
    // A regular routegen.yaml is replaced and keeps its mode.
    const real = join(t.out, 'real.yaml');
    writeFileSync(real, 'old\n', { mode: 0o640 });
    writeFileSafely(real, 'new\n');
    assert.is(readFileSync(real, 'utf8'), 'new\n');
    assert.is(lstatSync(real).mode & 0o7777, 0o640);
    writeFileSafely(join(t.out, 'created.yaml'), 'x\n');
    assert.is(lstatSync(join(t.out, 'created.yaml')).mode & 0o7777, 0o644);
    assert.not.ok(existsSync(join(t.out, '.routegen-tmp')));
  } finally {
    removeDir(t.dir);
  }
});

test.run();
