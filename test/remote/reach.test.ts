/**
 * Reaching hosts through jump hosts and ProxyCommands (reach.ts, bastions.ts, transports/),
 * against real OpenSSH servers on 127.0.0.1: `bastion` and `bastion2` forward, `target` is
 * the host behind them, `noforward` refuses to forward. The servers' own logs are the judges
 * of how many logins happened where.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Bastions } from '../../src/remote/bastions.js';
import { RemoteError, RemoteHost } from '../../src/remote/connection.js';
import { Reach, type ReachOptions } from '../../src/remote/reach.js';
import { resolveSshTarget } from '../../src/remote/sshConfig.js';
import { expandProxyCommand } from '../../src/remote/transports/command.js';
import { need } from '../helpers/need.js';
import { requireSshd, startSshd, type TestSshd } from '../helpers/sshd.js';
import { bound, waitFor } from '../helpers/time.js';

const ctx = {
  bastion: undefined as unknown as TestSshd,
  bastion2: undefined as unknown as TestSshd,
  target: undefined as unknown as TestSshd,
  noforward: undefined as unknown as TestSshd,
  config: '',
  knownHosts: '',
};

/** `Accepted publickey` lines in a server's log: one per login. */
const logins = (s: TestSshd) => (s.log().match(/Accepted publickey/g) ?? []).length;

/** sshd logs a login a moment after the client sees it succeed. */
async function waitForLogins(s: TestSshd, n: number): Promise<void> {
  await waitFor(`${n} logins in the sshd log`, () => logins(s) >= n, 10_000).catch(() => undefined); // the count is then asserted
}

function hostBlock(name: string, s: TestSshd, extra: string[] = []): string[] {
  return [`Host ${name}`, '  HostName 127.0.0.1', `  Port ${s.port}`, '  User root', `  IdentityFile ${s.identityFile}`, ...extra];
}

/** An ssh config for the four servers, with `extra` lines first (first match wins in ssh_config). */
function writeConfig(file: string, extra: string[] = [], knownHosts = ctx.knownHosts): string {
  writeFileSync(
    file,
    [
      ...extra,
      ...hostBlock('bastion', ctx.bastion),
      ...hostBlock('bastion2', ctx.bastion2),
      ...hostBlock('target', ctx.target),
      ...hostBlock('noforward', ctx.noforward),
      'Host *',
      `  UserKnownHostsFile ${knownHosts}`,
      '  GlobalKnownHostsFile /dev/null',
      '  StrictHostKeyChecking yes',
      '',
    ].join('\n'),
  );
  return file;
}

function reach(over: Partial<ReachOptions> = {}): Reach {
  return new Reach({ configFile: ctx.config, connectTimeoutMs: bound(10_000), commandTimeoutMs: bound(20_000), agentSocket: '', ...over });
}

async function connectFails(r: Reach, name: string): Promise<RemoteError> {
  try {
    const h = await r.connect(await r.target(name));
    await h.close();
  } catch (e) {
    if (e instanceof RemoteError) return e;
    throw e;
  }
  throw new Error(`expected connecting to ${name} to fail`);
}

async function hostname(h: RemoteHost): Promise<string> {
  return (await h.exec(['echo', 'reached'])).stdout.trim();
}

if (requireSshd('remote/reach')) {
  const s = suite('reach: jump hosts and ProxyCommand against real sshd');
  s.before(async () => {
    [ctx.bastion, ctx.bastion2, ctx.target, ctx.noforward] = await Promise.all([
      startSshd(),
      startSshd(),
      startSshd(),
      startSshd({ extraConfig: ['AllowTcpForwarding no'] }),
    ]);
    ctx.knownHosts = join(ctx.target.dir, 'all_known_hosts');
    writeFileSync(ctx.knownHosts, [ctx.bastion, ctx.bastion2, ctx.target, ctx.noforward].map((x) => readFileSync(x.knownHostsFile, 'utf8')).join(''));
    ctx.config = writeConfig(join(ctx.target.dir, 'ssh_config_all'));
  });
  s.after(async () => {
    await Promise.all([ctx.bastion, ctx.bastion2, ctx.target, ctx.noforward].map((x) => x?.stop()));
  });

  s('-J bastion: the host is reached through it; two hosts behind it share one bastion login', async () => {
    const r = reach({ jump: 'bastion' });
    const before = logins(ctx.bastion);
    const targetBefore = logins(ctx.target);
    const t = await r.target('target');
    assert.is(t.jump?.alias, 'bastion');
    const hosts = await Promise.all([r.connect(t), r.connect(t), r.connect(t)]);
    for (const h of hosts) assert.is(await hostname(h), 'reached');
    // The second connection of pushHost (confirm) takes the same path.
    const again = await r.connect(t);
    await again.close();
    await Promise.all(hosts.map((h) => h.close()));
    await r.close();
    await waitForLogins(ctx.target, targetBefore + 4);
    assert.is(logins(ctx.target) - targetBefore, 4, 'every connection logged in to the target');
    assert.is(logins(ctx.bastion) - before, 1, ctx.bastion.log());
    assert.is(r.bastions.logins, 1);
  });

  s('a host key accepted with --accept-new is said once, with the file and the fingerprint, like OpenSSH says it', async () => {
    const kh = join(ctx.target.dir, 'accept_known_hosts');
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_accept'), [], kh);
    const r = reach({ configFile: cfg, acceptNew: true });
    const t = await r.target('target');
    const first = await r.connect(t);
    await first.close();
    const second = await r.connect(t); // known now: nothing more to say
    await second.close();
    await r.close();
    const said = r.warnings();
    assert.is(said.length, 1, said.join('\n'));
    assert.match(said[0]!, `recorded in ${kh}`);
    assert.match(said[0]!, /SHA256:/);
  });

  s('ProxyJump in the config, a two-hop chain with user@host:port, and ProxyJump none', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_chain'), [
      'Host chained',
      '  HostName 127.0.0.1',
      `  Port ${ctx.target.port}`,
      `  ProxyJump bastion,root@bastion2:${ctx.bastion2.port}`,
      `  IdentityFile ${ctx.target.identityFile}`,
      'Host viacfg',
      '  HostName 127.0.0.1',
      `  Port ${ctx.target.port}`,
      '  ProxyJump bastion',
      `  IdentityFile ${ctx.target.identityFile}`,
    ]);
    const b1 = logins(ctx.bastion);
    const b2 = logins(ctx.bastion2);
    const r = reach({ configFile: cfg });
    const chained = await r.target('chained');
    assert.is(chained.jump?.alias, 'bastion2');
    assert.is(chained.jump?.jump?.alias, 'bastion');
    const h = await r.connect(chained);
    assert.is(await hostname(h), 'reached');
    await h.close();
    const v = await r.connect(await r.target('viacfg'));
    assert.is(await hostname(v), 'reached');
    await v.close();
    await r.close();
    await waitForLogins(ctx.bastion2, b2 + 1);
    assert.is(logins(ctx.bastion) - b1, 1, 'bastion: one login for both hosts (the chain goes through it too)');
    assert.is(logins(ctx.bastion2) - b2, 1);
    // -J none: straight to the host, whatever the config says.
    const direct = reach({ configFile: cfg, jump: 'none' });
    const dt = await direct.target('viacfg');
    assert.is(dt.jump, undefined);
    const d = await direct.connect(dt);
    await d.close();
    await direct.close();
    assert.is(logins(ctx.bastion) - b1, 1, 'no bastion login for -J none');
  });

  s('ProxyCommand with the real OpenSSH client: ssh -W %h:%p bastion', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_pc'), [
      'Host pc',
      '  HostName 127.0.0.1',
      `  Port ${ctx.target.port}`,
      `  IdentityFile ${ctx.target.identityFile}`,
      `  ProxyCommand ssh -F ${join(ctx.target.dir, 'cfg_pc')} -o BatchMode=yes -W %h:%p bastion`,
    ]);
    const r = reach({ configFile: cfg });
    const b = logins(ctx.bastion);
    const h = await r.connect(await r.target('pc'));
    assert.is(await hostname(h), 'reached');
    await h.close();
    await r.close();
    await waitForLogins(ctx.bastion, b + 1);
    assert.is(logins(ctx.bastion) - b, 1, 'ssh -W logged in to the bastion');
  });

  if (need(['nc'], 'ProxyCommand nc %h %p')) {
    s('ProxyCommand nc %h %p', async () => {
      const cfg = writeConfig(join(ctx.target.dir, 'cfg_nc'), [
        'Host ncd', '  HostName 127.0.0.1', `  Port ${ctx.target.port}`, `  IdentityFile ${ctx.target.identityFile}`, '  ProxyCommand nc %h %p',
      ]);
      const r = reach({ configFile: cfg });
      const h = await r.connect(await r.target('ncd'));
      assert.is(await hostname(h), 'reached');
      await h.close();
      await r.close();
    });
  }

  s('ProxyCommand tokens: %h %p %r %n %k %%, and an unknown token is an error', async () => {
    const t = { ...(await resolveSshTarget('target', { configFile: ctx.config })), alias: 'target', hostKeyAlias: 'kalias' };
    assert.is(expandProxyCommand('x %h %p %r %n %k 100%%', t), `x 127.0.0.1 ${ctx.target.port} root target kalias 100%`);
    try {
      expandProxyCommand('x %z', t);
      assert.unreachable('should throw');
    } catch (e) {
      assert.instance(e, RemoteError);
      assert.match((e as RemoteError).message, '%z');
    }
  });

  s('a ProxyCommand that exits at once: its stderr and exit status in the error, named for the host', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_pcfail'), [
      'Host pcfail', '  HostName 127.0.0.1', `  Port ${ctx.target.port}`, `  IdentityFile ${ctx.target.identityFile}`,
      `  ProxyCommand sh -c 'echo "no route to %h" >&2; exit 7'`,
    ]);
    const err = await connectFails(reach({ configFile: cfg }), 'pcfail');
    assert.is(err.kind, 'connect');
    assert.is(err.host, 'pcfail');
    assert.match(err.message, 'no route to 127.0.0.1');
    assert.match(err.message, 'exited 7');
    assert.ok(err.hint);
  });

  s('a ProxyJump loop is refused before connecting, naming the hops', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_loop'), [
      'Host loopa', '  HostName 127.0.0.1', `  Port ${ctx.bastion.port}`, '  ProxyJump loopb',
      'Host loopb', '  HostName 127.0.0.1', `  Port ${ctx.bastion2.port}`, '  ProxyJump loopa',
    ]);
    const r = reach({ configFile: cfg });
    const b = logins(ctx.bastion) + logins(ctx.bastion2);
    let err: unknown;
    try {
      await r.target('loopa');
    } catch (e) {
      err = e;
    }
    assert.instance(err, RemoteError);
    const e = err as RemoteError;
    assert.is(e.kind, 'config');
    assert.match(e.message, /ProxyJump loop on the way to loopa: .*loopb.*loopa/);
    assert.match(e.hint ?? '', 'ProxyJump none');
    assert.is(logins(ctx.bastion) + logins(ctx.bastion2), b, 'nothing connected');
  });

  s('an unreachable jump host: error names the hop and the host behind it; a host not behind it still connects', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_deadhop'), ['Host deadhop', '  HostName 127.0.0.1', '  Port 1', '  User root', `  IdentityFile ${ctx.bastion.identityFile}`]);
    const r = reach({ configFile: cfg, jump: 'deadhop' });
    const err = await connectFails(r, 'target');
    assert.is(err.kind, 'connect');
    assert.is(err.host, 'target');
    assert.match(err.message, /jump host root@127\.0\.0\.1:1 \(deadhop\) on the way to target/);
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.hint ?? '', 'ssh -p 1 root@deadhop true');
    const direct = reach({ configFile: cfg });
    const h = await direct.connect(await direct.target('target'));
    await h.close();
    await direct.close();
    await r.close();
  });

  s('an untrusted jump host is refused like any host (fingerprint, file), accept-new records it', async () => {
    const kh = join(ctx.target.dir, 'kh_no_bastion');
    writeFileSync(kh, readFileSync(ctx.target.knownHostsFile, 'utf8'));
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_untrusted'), [], kh);
    const err = await connectFails(reach({ configFile: cfg, jump: 'bastion' }), 'target');
    assert.is(err.kind, 'hostkey');
    assert.match(err.message, /jump host root@127\.0\.0\.1:\d+ \(bastion\) on the way to target: host key of \[127\.0\.0\.1\]:\d+ is not known/);
    assert.match(err.hint ?? '', '--accept-new');
    const r = reach({ configFile: cfg, jump: 'bastion', acceptNew: true });
    const h = await r.connect(await r.target('target'));
    await h.close();
    await r.close();
    assert.match(readFileSync(kh, 'utf8'), `[127.0.0.1]:${ctx.bastion.port} ssh-ed25519 ${ctx.bastion.hostKeyBase64}`);
  });

  s('a jump host that may not forward, and one that cannot reach the host: sshd\'s words and what to try', async () => {
    const err = await connectFails(reach({ jump: 'noforward' }), 'target');
    assert.is(err.kind, 'connect');
    assert.match(err.message, /jump host root@127\.0\.0\.1:\d+ \(noforward\) could not open a connection to target/);
    assert.match(err.hint ?? '', 'AllowTcpForwarding', err.message);
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_closed'), ['Host closedport', '  HostName 127.0.0.1', '  Port 1', `  IdentityFile ${ctx.target.identityFile}`]);
    const e2 = await connectFails(reach({ configFile: cfg, jump: 'bastion' }), 'closedport');
    assert.match(e2.message, /could not open a connection to closedport \(127\.0\.0\.1:1\)/);
    assert.match(e2.hint ?? '', 'nc -zv 127.0.0.1 1');
  });

  s('UserKnownHostsFile /dev/null with accept-new is refused; StrictHostKeyChecking no never passes a changed key', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_devnull'), [], '/dev/null');
    const err = await connectFails(reach({ configFile: cfg, acceptNew: true }), 'target');
    assert.is(err.kind, 'hostkey');
    assert.match(err.message, 'UserKnownHostsFile is /dev/null');
    const kh = join(ctx.target.dir, 'kh_changed');
    writeFileSync(kh, `[127.0.0.1]:${ctx.target.port} ssh-ed25519 ${ctx.bastion.hostKeyBase64}\n`);
    const cfg2 = writeConfig(join(ctx.target.dir, 'cfg_strictno'), ['Host target', '  StrictHostKeyChecking no'], kh);
    const e2 = await connectFails(reach({ configFile: cfg2 }), 'target');
    assert.is(e2.kind, 'hostkey');
    assert.match(e2.message, /HOST KEY CHANGED.*does not follow StrictHostKeyChecking no/);
  });

  s('an ssh option routegen does not honour is one warning per run, naming every host it concerns', async () => {
    const cfg = writeConfig(join(ctx.target.dir, 'cfg_warn'), ['Host target bastion', '  BindAddress 127.0.0.1', '  ConnectionAttempts 3']);
    const r = reach({ configFile: cfg });
    await r.target('target');
    await r.target('target');
    await r.target('bastion');
    assert.equal(r.warnings(), [
      'ssh config: BindAddress 127.0.0.1 is not honoured by routegen (connections leave from the default source address) (hosts: target, bastion)',
      'ssh config: ConnectionAttempts 3 is not honoured by routegen (one attempt per connection) (hosts: target, bastion)',
    ]);
    assert.equal(reach().warnings(), []);
  });

  s('Bastions: a bastion connection that dropped is made again on next use', async () => {
    const t = await reach({ jump: 'bastion' }).target('target');
    const pool = new Bastions({ timeoutMs: bound(10_000), agentSocket: '' });
    const a = await RemoteHost.connect({ target: t, bastions: pool, agentSocket: '' });
    await a.close();
    const c = await pool.client(t.jump!, t);
    await new Promise<void>((r) => {
      c.once('close', () => r());
      c.end();
    });
    const b = await RemoteHost.connect({ target: t, bastions: pool, agentSocket: '' });
    assert.is(await hostname(b), 'reached');
    await b.close();
    await pool.close();
    assert.is(pool.logins, 2);
  });

  s.run();
}
