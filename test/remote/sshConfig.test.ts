import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RemoteError } from '../../src/remote/errors.js';
import { isValidHostname, parseSshG, resolveSshTarget } from '../../src/remote/sshConfig.js';

const pure = suite('sshConfig: pure');

pure('isValidHostname: DNS names and IP literals only', () => {
  for (const ok of ['node-0', 'node-0.kubernetes.local', '192.0.2.10', '2001:db8::1', 'a.b.c.', 'localhost']) {
    assert.ok(isValidHostname(ok), ok);
  }
  for (const bad of ['', '-node', 'node_0', 'a b', 'a;b', '$(id)', '999.1.1.1', 'fe80::1%eth0', 'node..x', `${'a'.repeat(64)}.com`, '[::1]']) {
    assert.not.ok(isValidHostname(bad), bad);
  }
});

pure('parseSshG keeps repeated keys', () => {
  const g = parseSshG('hostname 192.0.2.10\nidentityfile ~/.ssh/a\nidentityfile ~/.ssh/b\n');
  assert.equal(g.get('identityfile'), ['~/.ssh/a', '~/.ssh/b']);
  assert.equal(g.get('hostname'), ['192.0.2.10']);
});

pure('resolveSshTarget rejects a bad alias, user or port before running anything', async () => {
  for (const [host, opts] of [
    ['-oProxyCommand=touch_x', {}],
    ['a b', {}],
    ['node-0', { user: 'root;id' }],
    ['node-0', { port: 70000 }],
    ['node-0', { identityFile: '/nonexistent/key' }],
  ] as const) {
    let err: unknown;
    try {
      await resolveSshTarget(host, opts);
    } catch (e) {
      err = e;
    }
    assert.instance(err, RemoteError, `${host} ${JSON.stringify(opts)}`);
    assert.is((err as RemoteError).kind, 'config');
  }
});

pure('without an ssh client: OpenSSH defaults and a warning', async () => {
  const t = await resolveSshTarget('192.0.2.10', { sshBinary: '/nonexistent/ssh', port: 2222 });
  assert.is(t.hostname, '192.0.2.10');
  assert.is(t.port, 2222);
  assert.is(t.user, 'root');
  assert.equal(t.knownHostsFiles, [join(homedir(), '.ssh', 'known_hosts')]);
  assert.is(t.warnings.length, 1);
  assert.match(t.warnings[0]!, /not found/);
});

pure.run();

function hasSsh(): boolean {
  try {
    execFileSync('ssh', ['-V'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const real = suite('sshConfig: ssh -G');
let dir = '';
let config = '';
real.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'routegen-sshcfg-'));
  config = join(dir, 'config');
  writeFileSync(
    config,
    [
      'Host alias',
      '  HostName 192.0.2.10',
      '  Port 2222',
      '  User deploy',
      `  IdentityFile ${join(dir, 'id_alias')}`,
      '  IdentityFile ~/.ssh/id_%h_%r',
      `  UserKnownHostsFile ${join(dir, 'kh1')} ~/kh2`,
      '  StrictHostKeyChecking accept-new',
      '  ConnectTimeout 7',
      '  HashKnownHosts yes',
      'Host keyalias',
      '  HostName 192.0.2.11',
      '  HostKeyAlias node-1',
      '  StrictHostKeyChecking no',
      'Host jumped',
      '  HostName 192.0.2.12',
      '  ProxyJump bastion',
      'Host proxied',
      '  HostName 192.0.2.13',
      '  ProxyCommand ssh -W %h:%p bastion',
      '  BindAddress 192.0.2.1',
      'Host both',
      '  ProxyCommand nc %h %p',
      '  ProxyJump bastion',
      'Host badname',
      '  HostName bad_name',
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'explicit_key'), 'not really a key\n');
});
real.after(() => {
  rmSync(dir, { recursive: true, force: true });
});

if (!hasSsh()) {
  if (process.env.CI) throw new Error('sshConfig tests: ssh not found in CI (install openssh-client)');
  process.stderr.write('\n*** SKIPPED: sshConfig against ssh -G: ssh not found (install openssh-client) ***\n\n');
} else {
  real('Host alias with HostName, Port, User, IdentityFile, UserKnownHostsFile', async () => {
    const t = await resolveSshTarget('alias', { configFile: config });
    assert.is(t.alias, 'alias');
    assert.is(t.hostname, '192.0.2.10');
    assert.is(t.port, 2222);
    assert.is(t.user, 'deploy');
    assert.equal(t.identityFiles, [join(dir, 'id_alias'), join(homedir(), '.ssh', 'id_192.0.2.10_deploy')]);
    assert.equal(t.knownHostsFiles.slice(0, 2), [join(dir, 'kh1'), join(homedir(), 'kh2')]);
    assert.ok(t.knownHostsFiles.length > 2, 'global known_hosts files follow');
    assert.is(t.strictHostKeyChecking, 'accept-new');
    assert.is(t.connectTimeoutMs, 7000);
    assert.is(t.hashKnownHosts, true);
    assert.equal(t.warnings, []);
  });

  real('explicit options win over the config, as on ssh\'s command line', async () => {
    const key = join(dir, 'explicit_key');
    const t = await resolveSshTarget('alias', { configFile: config, user: 'admin', port: 2200, identityFile: key });
    assert.is(t.user, 'admin');
    assert.is(t.port, 2200);
    assert.is(t.identityFiles[0], key);
    assert.is(t.identityFiles.length, 3, 'config identities follow, OpenSSH defaults do not');
  });

  real('nothing configured: root, port 22, OpenSSH default keys and strictness', async () => {
    const t = await resolveSshTarget('node-0.example.com', { configFile: '/dev/null' });
    assert.is(t.hostname, 'node-0.example.com');
    assert.is(t.port, 22);
    assert.is(t.user, 'root');
    assert.ok(t.identityFiles.includes(join(homedir(), '.ssh', 'id_ed25519')));
    assert.is(t.knownHostsFiles[0], join(homedir(), '.ssh', 'known_hosts'));
    assert.is(t.strictHostKeyChecking, 'ask');
    assert.is(t.connectTimeoutMs, undefined);
  });

  real('HostKeyAlias and StrictHostKeyChecking no', async () => {
    const t = await resolveSshTarget('keyalias', { configFile: config });
    assert.is(t.hostKeyAlias, 'node-1');
    assert.is(t.strictHostKeyChecking, 'no');
  });

  real('ProxyJump and ProxyCommand are read, the first one given wins as in ssh; -J overrides the config', async () => {
    const jumped = await resolveSshTarget('jumped', { configFile: config });
    assert.is(jumped.proxyJump, 'bastion');
    assert.is(jumped.proxyCommand, undefined);
    assert.equal(jumped.warnings, []);
    const proxied = await resolveSshTarget('proxied', { configFile: config });
    assert.is(proxied.proxyCommand, 'ssh -W %h:%p bastion');
    assert.is(proxied.proxyJump, undefined);
    const both = await resolveSshTarget('both', { configFile: config });
    assert.is(both.proxyCommand, 'nc %h %p');
    assert.is(both.proxyJump, undefined);
    const flag = await resolveSshTarget('jumped', { configFile: config, jump: 'root@other:2200,third' });
    assert.is(flag.proxyJump, 'root@other:2200,third');
    const none = await resolveSshTarget('jumped', { configFile: config, jump: 'none' });
    assert.is(none.proxyJump, undefined);
  });

  real('an option that changes how a host is reached and is not honoured is a warning', async () => {
    const t = await resolveSshTarget('proxied', { configFile: config });
    assert.equal(t.warnings, ['ssh config: BindAddress 192.0.2.1 is not honoured by routegen (connections leave from the default source address)']);
  });


  real('a HostName that is not a DNS name or IP is refused', async () => {
    let err: unknown;
    try {
      await resolveSshTarget('badname', { configFile: config });
    } catch (e) {
      err = e;
    }
    assert.instance(err, RemoteError);
    assert.match((err as Error).message, /bad_name/);
  });

  real('a missing config file is an error with ssh\'s own words', async () => {
    let err: unknown;
    try {
      await resolveSshTarget('alias', { configFile: join(dir, 'nope') });
    } catch (e) {
      err = e;
    }
    assert.instance(err, RemoteError);
    assert.is((err as RemoteError).kind, 'config');
    assert.match((err as Error).message, /nope/);
  });
}

real.run();
