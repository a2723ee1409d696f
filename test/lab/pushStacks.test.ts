/**
 * routegen push end to end on the namespace lab's other hosts: netplan, ifupdown (Debian
 * layout), the three side by side with no stack given, dual stack, NetworkManager, and a push as
 * a user other than root through sudo. The kernel's routing table and a pod-to-pod ping are the
 * judges. (systemd-networkd hosts, with diff, status and rollback: push.test.ts.)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { BIN, routegen as localRoutegen } from '../helpers/cli.js';
import { need as needPrograms } from '../helpers/need.js';
import { bound } from '../helpers/time.js';
import { NM_ETH1_KEYFILE, requireLab } from './lab.js';
import { assertGuideRoutes, assertPodsTalk, DROPIN, gatewayRoutes, GUIDE_ROUTES, NETPLAN, routegen } from './pushChecks.js';
import { labSuite, needLab } from './suite.js';

const need = needLab;

if (requireLab()) {

  // ------------------------------------------------------------------ netplan
  const np = labSuite('push on netplan hosts', { stack: 'netplan' });

  np('push with netplan apply: routes in the kernel, files 0600, back after reboot; second push unchanged', async (ctx) => {
    const lab = need(ctx);
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, '--stack', 'netplan', '--interface', 'eth1']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    await assertGuideRoutes(lab, 'after push');
    for (const h of ['server', 'node-0', 'node-1']) assert.is(await lab.fileMode(h, NETPLAN), 0o600);
    await assertPodsTalk(lab);
    for (const h of ['server', 'node-0', 'node-1']) await lab.reboot(h);
    await assertGuideRoutes(lab, 'after reboot');
    await assertPodsTalk(lab);
    const again = await routegen(lab, ['push', '-i', ctx.inventory!, '--stack', 'netplan', '--interface', 'eth1']);
    assert.is(again.code, 0);
    assert.match(again.stdout, '3 hosts: 3 unchanged');
  });

  np.run();

  // ------------------------------------------------------------------ ifupdown
  // Debian's layout: /etc/network/interfaces sources interfaces.d BEFORE eth1's own stanza.
  const ifu = labSuite('push on ifupdown hosts (Debian layout)', { stack: 'ifupdown' });
  const IFUPDOWN = '/etc/network/interfaces.d/routegen-pod-routes';
  const IFSTACK = ['--stack', 'ifupdown', '--interface', 'eth1'];

  ifu('push: routes in the kernel now; after a reboot the address AND the routes are back; pods talk', async (ctx) => {
    const lab = need(ctx);
    assert.match((await lab.readFile('node-0', '/etc/network/interfaces'))!, /source-directory \/etc\/network\/interfaces\.d[\s\S]*iface eth1 inet static/);
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, ...IFSTACK]);
    assert.is(r.code, 0, r.stdout + r.stderr);
    await assertGuideRoutes(lab, 'after push');
    for (const h of ['server', 'node-0', 'node-1']) assert.is(await lab.fileMode(h, IFUPDOWN), 0o644);
    await assertPodsTalk(lab);
    for (const h of ['server', 'node-0', 'node-1']) await lab.reboot(h);
    await assertGuideRoutes(lab, 'after reboot');
    await assertPodsTalk(lab);
  });

  ifu('a changed metric replaces the routes instead of adding second ones; status stays clean', async (ctx) => {
    const lab = need(ctx);
    assert.is((await routegen(lab, ['push', '-i', ctx.inventory!, ...IFSTACK, '--metric', '50'])).code, 0);
    assert.equal((await lab.routes('node-0')).filter((x) => x.dst === '10.200.1.0/24').map((x) => x.metric), [50]);
    assert.is((await routegen(lab, ['push', '-i', ctx.inventory!, ...IFSTACK])).code, 0);
    assert.equal((await lab.routes('node-0')).filter((x) => x.dst === '10.200.1.0/24').map((x) => x.metric ?? 0), [0]);
    await assertGuideRoutes(lab, 'after metric round trip');
    assert.is((await routegen(lab, ['status', '-i', ctx.inventory!, ...IFSTACK])).code, 0);
  });

  ifu('a route routegen no longer plans is deleted from the kernel at once', async (ctx) => {
    const lab = need(ctx);
    const two = path.join(lab.dir, 'machines-two.txt');
    fs.writeFileSync(two, lab.machinesTxt().split('\n').filter((l) => !l.includes('node-1')).join('\n'));
    const r = await routegen(lab, ['push', '-i', two, ...IFSTACK, '--hosts', 'server']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /server\s+changed\s+1\s+0\s+1/);
    assert.equal(await gatewayRoutes(lab, 'server'), ['10.200.0.0/24 via 192.168.10.101 dev eth1']);
    assert.is((await routegen(lab, ['push', '-i', ctx.inventory!, ...IFSTACK])).code, 0);
    await assertGuideRoutes(lab, 'back to the guide');
  });

  ifu.run();

  // ------------------------------------------------------------------ every host as it is
  const mixed = labSuite('discover and push with no stack given: netplan, networkd and ifupdown side by side', {
    stack: (h) => (h === 'server' ? 'netplan' : h === 'node-0' ? 'networkd' : 'ifupdown'),
  });

  mixed('discover names each host\'s stack, interface and .network file; --write records them', async (ctx) => {
    const lab = need(ctx);
    const cfg = path.join(lab.dir, 'routegen.yaml');
    const r = await routegen(lab, ['discover', '-i', ctx.inventory!, '-c', cfg, '--write', '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const found = JSON.parse(r.stdout).hosts.map((h: { host: string; stack: string; interface: string; networkdFile?: string }) => [h.host, h.stack, h.interface, h.networkdFile ?? null]);
    assert.equal(found, [
      ['server', 'netplan', 'eth1', null],
      ['node-0', 'networkd', 'eth1', '10-eth1.network'],
      ['node-1', 'ifupdown', 'eth1', null],
    ]);
    // what was written lets render work offline, with each host in its own stack
    const out = path.join(lab.dir, 'rendered');
    const rr = localRoutegen(['render', '-i', ctx.inventory!, '-c', cfg, '--out', out]);
    assert.is(rr.code, 0, rr.stdout + rr.stderr);
    assert.ok(fs.existsSync(path.join(out, 'server', NETPLAN)));
    assert.ok(fs.existsSync(path.join(out, 'node-0', DROPIN)));
    assert.ok(fs.existsSync(path.join(out, 'node-1', '/etc/network/interfaces.d/routegen-pod-routes')));
  });

  mixed('push with no stack flags configures all three; after a reboot of every host the routes are back', async (ctx) => {
    const lab = need(ctx);
    const [cmd, ...rest] = ['push', '-i', ctx.inventory!, '-c', '/dev/null'];
    const r = await lab.jumpbox(['node', BIN, cmd!, '-F', lab.sshConfigFile, ...rest], { env: { NO_COLOR: '1' }, timeoutMs: bound(120_000) });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /server\s+changed.*netplan eth1/);
    assert.match(r.stdout, /node-0\s+changed.*networkd eth1/);
    assert.match(r.stdout, /node-1\s+changed.*ifupdown eth1/);
    await assertGuideRoutes(lab, 'after push');
    for (const h of ['server', 'node-0', 'node-1']) await lab.reboot(h);
    await assertGuideRoutes(lab, 'after reboot');
    await assertPodsTalk(lab);
    const st = await routegen(lab, ['status', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(st.code, 0, st.stdout + st.stderr);
  });

  mixed.run();

  // ------------------------------------------------------------------ dual stack
  const ds = labSuite('dual-stack push: IPv4 routes via IPv4, IPv6 via IPv6, on every stack', {
    dualStack: true,
    stack: (h) => (h === 'server' ? 'netplan' : h === 'node-0' ? 'networkd' : 'ifupdown'),
  });

  ds('push plans 8 routes; both families in every kernel, pods talk over IPv6, back after reboot', async (ctx) => {
    const lab = need(ctx);
    assert.match(lab.machinesTxt(), '192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0 10.200.0.0/24,fd00:10:200::/64');
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.is(JSON.parse(r.stdout).hosts.reduce((n: number, h: { routes: number }) => n + h.routes, 0), 8);
    const v6 = async (h: string) =>
      (await lab.routes6(h))
        .filter((x) => x.gateway)
        .map((x) => `${x.dst} via ${x.gateway} dev ${x.dev}`)
        .sort();
    const check = async (what: string) => {
      await assertGuideRoutes(lab, what);
      assert.equal(await v6('server'), ['fd00:10:200:1::/64 via fd00:10::102 dev eth1', 'fd00:10:200::/64 via fd00:10::101 dev eth1'], `server ${what}`);
      assert.equal(await v6('node-0'), ['fd00:10:200:1::/64 via fd00:10::102 dev eth1'], `node-0 ${what}`);
      assert.equal(await v6('node-1'), ['fd00:10:200::/64 via fd00:10::101 dev eth1'], `node-1 ${what}`);
      assert.ok(await lab.ping('node-0', 'fd00:10:200:1::2'), `pod-0 → pod-1 over IPv6 ${what}`);
      assert.ok(await lab.ping('node-1', 'fd00:10:200::2'), `pod-1 → pod-0 over IPv6 ${what}`);
      await assertPodsTalk(lab);
    };
    await check('after push');
    for (const h of ['server', 'node-0', 'node-1']) await lab.reboot(h);
    await check('after reboot');
    assert.is((await routegen(lab, ['status', '-i', ctx.inventory!])).code, 0);
  });

  ds.run();

  // ------------------------------------------------------------------ NetworkManager
  if (requireLab({ networkManager: true })) {
    const nm = labSuite('push to a NetworkManager host: the routes of its connection keyfile', {
      stack: (h) => (h === 'server' ? 'networkmanager' : 'networkd'),
    });

    nm('discovered with no flags; routes in the kernel; the keyfile keeps its other lines and 0600; back after reboot; second push unchanged', async (ctx) => {
      const lab = need(ctx);
      const before = (await lab.readFile('server', NM_ETH1_KEYFILE))!;
      const r = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /server\s+changed.*networkmanager eth1/);
      await assertGuideRoutes(lab, 'after push');
      const after = (await lab.readFile('server', NM_ETH1_KEYFILE))!;
      assert.is(await lab.fileMode('server', NM_ETH1_KEYFILE), 0o600);
      assert.match(after, /^route1=10\.200\.0\.0\/24,192\.168\.10\.101$/m);
      assert.match(after, /^route2=10\.200\.1\.0\/24,192\.168\.10\.102$/m);
      // every line of the connection that is not a pod route is still there
      for (const line of before.split('\n').filter((l) => !/^route\d/.test(l))) assert.ok(after.includes(line), `lost: ${line}`);
      await lab.reboot('server');
      await assertGuideRoutes(lab, 'after reboot');
      const again = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
      assert.match(again.stdout, '3 hosts: 3 unchanged');
      assert.is((await routegen(lab, ['status', '-i', ctx.inventory!, '-c', '/dev/null'])).code, 0);
    });

    nm('a route removed from the plan leaves the keyfile and the kernel; a hand-made non-pod route in the keyfile is kept', async (ctx) => {
      const lab = need(ctx);
      // a route of the admin's own, outside the pod subnets
      const kf = (await lab.readFile('server', NM_ETH1_KEYFILE))!.replace(/^\[ipv4\]$/m, '[ipv4]\nroute9=198.51.100.0/24,192.168.10.1');
      await lab.writeFile('server', NM_ETH1_KEYFILE, kf, 0o600);
      const two = path.join(lab.dir, 'machines-two.txt');
      fs.writeFileSync(two, lab.machinesTxt().split('\n').filter((l) => !l.includes('node-1')).join('\n'));
      const r = await routegen(lab, ['push', '-i', two, '-c', '/dev/null', '--hosts', 'server']);
      assert.is(r.code, 0, r.stdout + r.stderr);
      const after = (await lab.readFile('server', NM_ETH1_KEYFILE))!;
      assert.match(after, /^route1=198\.51\.100\.0\/24,192\.168\.10\.1$/m);
      assert.match(after, /^route2=10\.200\.0\.0\/24,192\.168\.10\.101$/m);
      assert.not.match(after, '10.200.1.0/24');
      assert.equal(await gatewayRoutes(lab, 'server'), ['10.200.0.0/24 via 192.168.10.101 dev eth1', '198.51.100.0/24 via 192.168.10.1 dev eth1']);
      assert.is((await routegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null'])).code, 0);
    });

    nm('NetworkManager down: the host is named, nothing is written', async (ctx) => {
      const lab = need(ctx);
      const before = await lab.readFile('server', NM_ETH1_KEYFILE);
      await lab.stopNetworkManager('server');
      try {
        const r = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null', '--metric', '70', '--hosts', 'server']);
        assert.is(r.code, 1, r.stdout + r.stderr);
        // with NetworkManager down there is no active connection to find the keyfile of
        assert.match(r.stdout, /server \(192\.168\.10\.100\) failed at discover: cannot tell how server's network is configured/);
        assert.is(await lab.readFile('server', NM_ETH1_KEYFILE), before);
      } finally {
        await lab.startNetworkManager('server');
      }
    });

    nm.run();
  }

  // ------------------------------------------------------------------ a user other than root
  if (needPrograms(['sudo', 'useradd'], 'the push-through-sudo test')) {
  const su = labSuite('push as a user other than root, through sudo -n', { stack: 'networkd' });

  su('with a NOPASSWD rule: files root-owned with the right mode, routes in the kernel; a password-asking sudo is named as such', async (ctx) => {
    const lab = need(ctx);
    for (const h of ['server', 'node-0', 'node-1']) {
      // A user of the host itself (its /etc is an overlay); it logs in with the lab's key.
      const r = await lab.exec(h, ['sh', '-c', [
        'useradd -M -d /tmp/deploy -s /bin/sh deploy && usermod -p "*" deploy && mkdir -p /tmp/deploy && chown deploy /tmp/deploy',
        `echo "deploy ALL=(root) ${h === 'node-1' ? '' : 'NOPASSWD: '}ALL" > /etc/sudoers.d/deploy && chmod 440 /etc/sudoers.d/deploy`,
        'chmod 644 /run/lab/authorized_keys',
      ].join(' && ')]);
      assert.is(r.code, 0, r.stderr);
    }
    const cfg = path.join(lab.dir, 'deploy.yaml');
    fs.writeFileSync(cfg, 'defaults:\n  stack: networkd\n  interface: eth1\n  ssh:\n    user: deploy\n');
    const r = await routegen(lab, ['push', '-i', ctx.inventory!, '-c', cfg]);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /server\s+changed/);
    assert.match(r.stdout, /node-0\s+changed/);
    assert.match(r.stdout, 'node-1 (192.168.10.102) failed at sudo: deploy is not root, and `sudo -n true` fails');
    assert.match(r.stdout, 'NOPASSWD');
    for (const h of ['server', 'node-0']) {
      assert.is(await lab.fileMode(h, DROPIN), 0o644);
      const st = fs.statSync(`/proc/${lab.host(h).pid}/root${DROPIN}`);
      assert.is(st.uid, 0, 'root-owned');
    }
    assert.is(await lab.readFile('node-1', DROPIN), null);
    assert.equal(await gatewayRoutes(lab, 'node-0'), GUIDE_ROUTES['node-0']);
    const st = await routegen(lab, ['status', '-i', ctx.inventory!, '-c', cfg, '--hosts', 'server,node-0']);
    assert.is(st.code, 0, st.stdout + st.stderr);
  });

  su.run();
  }
}
