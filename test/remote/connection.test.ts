/**
 * RemoteHost against a real OpenSSH server (test/helpers/sshd.ts) on 127.0.0.1.
 * Everything remote is written under the server's temp dir.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError, RemoteHost, UnsafeCommandError, type ConnectOptions } from '../../src/remote/connection.js';
import { checkHostKey, fingerprintSha256 } from '../../src/remote/knownHosts.js';
import { resolveSshTarget, type SshTarget } from '../../src/remote/sshConfig.js';
import { requireSshd, startSshd, type TestSshd } from '../helpers/sshd.js';
import { waitFor } from '../helpers/time.js';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

async function remoteError(p: Promise<unknown>, kind: RemoteError['kind']): Promise<RemoteError> {
  const err = await rejection(p);
  if (!(err instanceof RemoteError)) throw err;
  assert.is(err.kind, kind, err.message);
  return err;
}

function keygen(path: string, passphrase = ''): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', path], { stdio: 'ignore' });
}

const ctx = { sshd: undefined as unknown as TestSshd, target: undefined as unknown as SshTarget, host: undefined as unknown as RemoteHost };

/** The test server's target with some fields replaced; agent off so the machine's agent plays no part. */
function opts(over: Partial<SshTarget> = {}, more: Partial<ConnectOptions> = {}): ConnectOptions {
  return { target: { ...ctx.target, ...over }, agentSocket: '', ...more };
}

function fresh(name: string): string {
  const d = join(ctx.sshd.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}

if (requireSshd('remote/connection')) {
  const connect = suite('connection: connect and host keys');
  connect.before(async () => {
    ctx.sshd = await startSshd();
    ctx.target = await resolveSshTarget(ctx.sshd.alias, { configFile: ctx.sshd.sshConfigFile });
  });
  connect.after(async () => {
    await ctx.sshd.stop();
  });

  connect('the recorded key connects, as root, privileged', async () => {
    const h = await RemoteHost.connect(opts());
    assert.is(h.user, 'root');
    assert.ok(h.privileged);
    assert.is(h.acceptedKey, undefined);
    await h.close();
    await h.close(); // twice is fine
    await remoteError(h.exec(['true']), 'connect');
  });

  connect('a different key in known_hosts: refused with both fingerprints and file:line', async () => {
    const d = fresh('wrongkey');
    keygen(join(d, 'other'));
    const otherKey = readFileSync(join(d, 'other.pub'), 'utf8').split(' ')[1]!;
    const kh = join(d, 'known_hosts');
    writeFileSync(kh, `# first line\n[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${otherKey}\n`);
    for (const acceptNew of [false, true]) {
      const err = await remoteError(RemoteHost.connect(opts({ knownHostsFiles: [kh] }, { acceptNew })), 'hostkey');
      assert.match(err.message, fingerprintSha256(ctx.sshd.hostKeyBase64));
      assert.match(err.message, fingerprintSha256(otherKey));
      assert.match(err.message, `${kh}:2`);
      assert.match(err.message, /CHANGED/);
      assert.ok(err.hint);
    }
    assert.is(readFileSync(kh, 'utf8').split('\n').length, 3, 'accept-new never adds a key for a changed host');
  });

  connect('an unknown host: refused with the fingerprint and what to do; nothing written', async () => {
    const kh = join(fresh('unknown'), 'known_hosts');
    const err = await remoteError(RemoteHost.connect(opts({ knownHostsFiles: [kh] })), 'hostkey');
    assert.match(err.message, fingerprintSha256(ctx.sshd.hostKeyBase64));
    assert.match(err.message, /not known/);
    assert.match(err.hint ?? '', /--accept-new/);
    assert.not.ok(existsSync(kh));
  });

  connect('acceptNew: connects, appends the key (0600), and the next connect uses it', async () => {
    const d = join(ctx.sshd.dir, 'accept', 'ssh');
    const kh = join(d, 'known_hosts');
    const h = await RemoteHost.connect(opts({ knownHostsFiles: [kh] }, { acceptNew: true }));
    assert.equal(h.acceptedKey, { file: kh, fingerprint: fingerprintSha256(ctx.sshd.hostKeyBase64) });
    await h.close();
    assert.is(statSync(kh).mode & 0o777, 0o600);
    assert.is(statSync(d).mode & 0o777, 0o700);
    const text = readFileSync(kh, 'utf8');
    assert.is(text, `[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${ctx.sshd.hostKeyBase64}\n`);
    const again = await RemoteHost.connect(opts({ knownHostsFiles: [kh] }));
    assert.is(again.acceptedKey, undefined);
    await again.close();
  });

  connect('StrictHostKeyChecking accept-new from ssh config, hashed as HashKnownHosts says', async () => {
    const kh = join(fresh('accept2'), 'known_hosts');
    const h = await RemoteHost.connect(opts({ knownHostsFiles: [kh], strictHostKeyChecking: 'accept-new', hashKnownHosts: true }));
    await h.close();
    const text = readFileSync(kh, 'utf8');
    assert.match(text, /^\|1\|/);
    assert.is(checkHostKey([{ path: kh, text }], `[127.0.0.1]:${ctx.sshd.port}`, 'ssh-ed25519', ctx.sshd.hostKeyBase64).verdict, 'match');
    // OpenSSH reads what routegen wrote.
    execFileSync('ssh', ['-F', ctx.sshd.sshConfigFile, '-o', `UserKnownHostsFile=${kh}`, '-o', 'BatchMode=yes', ctx.sshd.alias, 'true']);
  });

  connect('@revoked key: refused even with a matching line and acceptNew', async () => {
    const kh = join(fresh('revoked'), 'known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${ctx.sshd.port} ssh-ed25519 ${ctx.sshd.hostKeyBase64}\n@revoked * ssh-ed25519 ${ctx.sshd.hostKeyBase64}\n`);
    const err = await remoteError(RemoteHost.connect(opts({ knownHostsFiles: [kh] }, { acceptNew: true })), 'hostkey');
    assert.match(err.message, /REVOKED/);
    assert.match(err.message, `${kh}:2`);
  });

  connect('known_hosts lists only a type the server lacks: refused as a host key problem', async () => {
    const d = fresh('rsaonly');
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(d, 'rsa')], { stdio: 'ignore' });
    const rsa = readFileSync(join(d, 'rsa.pub'), 'utf8').split(' ')[1]!;
    const kh = join(d, 'known_hosts');
    writeFileSync(kh, `[127.0.0.1]:${ctx.sshd.port} ssh-rsa ${rsa}\n`);
    const err = await remoteError(RemoteHost.connect(opts({ knownHostsFiles: [kh] }, { acceptNew: true })), 'hostkey');
    assert.match(err.message, /ssh-rsa/);
  });

  connect('a key the server does not accept: kind auth, names the key', async () => {
    const key = join(fresh('authfail'), 'id_other');
    keygen(key);
    const err = await remoteError(RemoteHost.connect(opts({ identityFiles: [key] })), 'auth');
    assert.match(err.message, key);
  });

  connect('an encrypted key and no agent: kind auth, names the file, suggests ssh-add', async () => {
    const key = join(fresh('encrypted'), 'id_enc');
    keygen(key, 'correct horse battery');
    const err = await remoteError(RemoteHost.connect(opts({ identityFiles: [key] })), 'auth');
    assert.match(err.message, key);
    assert.match(err.message, /encrypted/);
    assert.match(err.hint ?? '', /ssh-add/);
    assert.not.match(`${err.message} ${err.hint}`, /correct horse/);
  });

  connect('ssh-agent: a key held only by the agent logs in; a socket that is gone is skipped', async () => {
    const d = fresh('agent');
    const sock = join(d, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      await waitFor('ssh-agent to create its socket', () => existsSync(sock), 5000);
      execFileSync('ssh-add', ['-q', ctx.sshd.identityFile], { env: { ...process.env, SSH_AUTH_SOCK: sock }, stdio: 'ignore' });
      const h = await RemoteHost.connect(opts({ identityFiles: [] }, { agentSocket: sock }));
      assert.is((await h.exec(['echo', 'via-agent'])).stdout, 'via-agent\n');
      await h.close();
    } finally {
      const exited = new Promise((r) => agent.once('exit', r));
      agent.kill('SIGTERM');
      await exited;
    }
    // The agent is gone: its socket path no longer works, identity files still do.
    const h = await RemoteHost.connect(opts({}, { agentSocket: sock }));
    await h.close();
  });

  connect('nothing listening: kind connect', async () => {
    const port = ctx.sshd.port === 1 ? 2 : 1; // privileged port nobody serves here
    const err = await remoteError(RemoteHost.connect(opts({ port }, { acceptNew: true })), 'connect');
    assert.match(err.message, /127\.0\.0\.1/);
  });

  connect.run();

  const files = suite('connection: files and commands');
  let work = '';
  files.before(async () => {
    ctx.sshd = await startSshd();
    ctx.target = await resolveSshTarget(ctx.sshd.alias, { configFile: ctx.sshd.sshConfigFile });
    ctx.host = await RemoteHost.connect(opts());
    work = fresh('work');
  });
  files.after(async () => {
    await ctx.host.close();
    await ctx.sshd.stop();
  });

  files('readFile: null when missing, bytes when present, empty buffer when empty', async () => {
    assert.is(await ctx.host.readFile(join(work, 'missing.conf')), null);
    writeFileSync(join(work, 'present'), 'a\nb\n');
    writeFileSync(join(work, 'empty'), '');
    assert.is((await ctx.host.readFile(join(work, 'present')))!.toString(), 'a\nb\n');
    assert.equal(await ctx.host.readFile(join(work, 'empty')), Buffer.alloc(0));
  });

  files('writeFileAtomic: exactly the target, with mode 0600 or 0644, and no temp file', async () => {
    for (const [name, mode] of [['secret.yaml', 0o600], ['routes.conf', 0o644]] as const) {
      const d = fresh(`atomic-${mode.toString(8)}`);
      const path = join(d, name);
      await ctx.host.writeFileAtomic(path, `mode ${mode.toString(8)}\n`, mode);
      assert.equal(readdirSync(d), [name]);
      assert.is(statSync(path).mode & 0o7777, mode);
      assert.is(readFileSync(path, 'utf8'), `mode ${mode.toString(8)}\n`);
    }
  });

  files('writeFileAtomic replaces an existing file and its mode', async () => {
    const d = fresh('replace');
    const path = join(d, '60-routegen.yaml');
    writeFileSync(path, 'old\n', { mode: 0o644 });
    await ctx.host.writeFileAtomic(path, Buffer.from('new\n'), 0o600, { tmpName: '.routegen-fixed.tmp' });
    assert.is(readFileSync(path, 'utf8'), 'new\n');
    assert.is(statSync(path).mode & 0o7777, 0o600);
    assert.equal(readdirSync(d), ['60-routegen.yaml']);
  });

  files('writeFileAtomic failure leaves no temp file and reports sftp', async () => {
    const d = fresh('fail');
    mkdirSync(join(d, 'target-is-a-dir'));
    writeFileSync(join(d, 'target-is-a-dir', 'x'), 'x');
    const err = await remoteError(ctx.host.writeFileAtomic(join(d, 'target-is-a-dir'), 'x', 0o644), 'sftp');
    assert.match(err.message, /target-is-a-dir/);
    assert.equal(readdirSync(d), ['target-is-a-dir']);
    await remoteError(ctx.host.writeFileAtomic(join(d, 'no', 'such', 'dir', 'f'), 'x', 0o644), 'sftp');
    // A pre-existing file at the temp name is never written through.
    writeFileSync(join(d, '.taken.tmp'), 'keep');
    await remoteError(ctx.host.writeFileAtomic(join(d, 'f'), 'x', 0o644, { tmpName: '.taken.tmp' }), 'sftp');
    assert.is(readFileSync(join(d, '.taken.tmp'), 'utf8'), 'keep');
    assert.not.ok(existsSync(join(d, 'f')));
  });

  files('writeFileAtomic refuses relative paths, .. and odd temp names', async () => {
    for (const [path, tmpName] of [['relative/x', undefined], ['/a/../b', undefined], [join(work, 'x'), '../x'], [join(work, 'x'), 'a b']] as const) {
      const err = await rejection(ctx.host.writeFileAtomic(path, 'x', 0o644, tmpName === undefined ? {} : { tmpName }));
      assert.instance(err, UnsafeCommandError, `${path} ${tmpName}`);
    }
  });

  files('stat, mkdirp, list, rename, remove', async () => {
    const base = join(work, 'tree');
    await ctx.host.mkdirp(join(base, 'a', 'b'), 0o750);
    await ctx.host.mkdirp(join(base, 'a', 'b')); // again: no error
    assert.is(statSync(join(base, 'a', 'b')).mode & 0o777, 0o750);
    const s = await ctx.host.stat(join(base, 'a'));
    assert.ok(s?.isDir);
    assert.is(await ctx.host.stat(join(base, 'nope')), null);
    await ctx.host.writeFileAtomic(join(base, 'one'), '1', 0o644);
    const f = await ctx.host.stat(join(base, 'one'));
    assert.equal(f, { mode: 0o644, size: 1, isDir: false });
    await ctx.host.writeFileAtomic(join(base, 'two'), '2', 0o644);
    assert.equal(await ctx.host.list(base), ['a', 'one', 'two']);
    await ctx.host.rename(join(base, 'two'), join(base, 'one')); // over an existing file
    assert.is(readFileSync(join(base, 'one'), 'utf8'), '2');
    await ctx.host.remove(join(base, 'one'));
    await ctx.host.remove(join(base, 'one')); // missing: fine
    assert.equal(await ctx.host.list(base), ['a']);
    await remoteError(ctx.host.list(join(base, 'nope')), 'sftp');
  });

  files('exec: exit code, stdout, stderr; stdin input', async () => {
    const r = await ctx.host.exec(['ls', join(work, 'does-not-exist')]);
    assert.is(r.code, 2);
    assert.match(r.stderr, /No such file or directory/);
    const ok = await ctx.host.exec(['echo', 'hello']);
    assert.equal(ok, { code: 0, stdout: 'hello\n', stderr: '' });
    const cat = await ctx.host.exec(['cat'], { input: 'from stdin\n' });
    assert.is(cat.stdout, 'from stdin\n');
    // sudo as root runs the command as is.
    assert.is((await ctx.host.exec(['id', '-u'], { sudo: true })).stdout, '0\n');
  });

  files('exec rejects arguments a shell would interpret, before running anything', async () => {
    const marker = join(work, 'should-not-exist');
    for (const argv of [['touch', `${marker} x`], ['touch', `${marker};id`], ['touch', `$(touch ${marker})`], ['echo', ''], [], ['touch', `${marker}\nid`], ['echo', "'"]]) {
      const err = await rejection(ctx.host.exec(argv));
      assert.instance(err, UnsafeCommandError, JSON.stringify(argv));
    }
    assert.not.ok(existsSync(marker));
  });

  files('execScript: constant script, checked positional args', async () => {
    const r = await ctx.host.execScript('printf "%s|%s\\n" "$1" "$2"; echo oops >&2; exit 3', ['a', 'b=c']);
    assert.equal(r, { code: 3, stdout: 'a|b=c\n', stderr: 'oops\n' });
    assert.instance(await rejection(ctx.host.execScript("echo 'x'", [])), UnsafeCommandError);
    assert.instance(await rejection(ctx.host.execScript('echo "$1"', ['a;b'])), UnsafeCommandError);
  });

  files('a command over its timeout is kind timeout and the connection stays usable', async () => {
    const t0 = Date.now();
    const err = await remoteError(ctx.host.exec(['sleep', '31.25'], { timeoutMs: 300 }), 'timeout');
    // What is tested is the duration: the 300 ms timeout ended it long before the 31 s sleep
    // would have (even on a machine so loaded that the timeout's own handling takes seconds).
    assert.ok(Date.now() - t0 < 20_000, `took ${Date.now() - t0} ms`);
    assert.match(err.message, /sleep 31\.25/);
    // The server is this machine: the command itself was killed, not just abandoned.
    const running = () =>
      readdirSync('/proc').some((pid) => {
        try {
          return /^[0-9]+$/.test(pid) && readFileSync(`/proc/${pid}/cmdline`, 'latin1') === 'sleep\0' + '31.25\0';
        } catch {
          return false;
        }
      });
    await waitFor('the remote sleep to be killed', () => !running(), 3000, 20);
    assert.is((await ctx.host.exec(['echo', 'still', 'here'])).stdout, 'still here\n');
  });

  files('concurrent calls are serialised and all succeed', async () => {
    const d = fresh('concurrent');
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      jobs.push(ctx.host.writeFileAtomic(join(d, `f${i}`), `${i}\n`, 0o644));
      jobs.push(ctx.host.readFile(join(d, `f${i}`)));
      if (i % 5 === 0) jobs.push(ctx.host.exec(['true']));
    }
    await Promise.all(jobs);
    assert.is(readdirSync(d).length, 20);
    for (let i = 0; i < 20; i++) assert.is(readFileSync(join(d, `f${i}`), 'utf8'), `${i}\n`);
  });

  files.run();
}
