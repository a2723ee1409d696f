/**
 * The namespace lab, end to end: the lab itself (topology, isolation, SSH/SFTP, tear-down) and
 * the guide's problem on real stacks — `ip route add` routes vanish on reboot, routes in the
 * host's persistent configuration come back.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Lab, NM_ETH1_KEYFILE, requireLab, type LabRoute } from './lab.js';
import { bound, waitFor as waitUntil } from '../helpers/time.js';
import { labSuite, needLab } from './suite.js';

const need = needLab;

function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  return waitUntil(what, fn, ms, 20);
}

/** Gone, or a zombie (this machine's PID 1 may reap orphans late). */
function dead(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

function route(routes: LabRoute[], dst: string): LabRoute | undefined {
  return routes.find((r) => r.dst === dst);
}

async function ok(lab: Lab, host: string, argv: string[]): Promise<string> {
  const r = await lab.exec(host, argv);
  assert.is(r.code, 0, `${host}: ${argv.join(' ')} → ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The guide's two commands (docs/11-pod-network-routes.md), for node-0 and node-1. */
async function guideRoutes(lab: Lab): Promise<void> {
  await ok(lab, 'node-0', ['ip', 'route', 'add', '10.200.1.0/24', 'via', '192.168.10.102']);
  await ok(lab, 'node-1', ['ip', 'route', 'add', '10.200.0.0/24', 'via', '192.168.10.101']);
}

async function theProblem(lab: Lab): Promise<void> {
  assert.not.ok(await lab.ping('node-0', '10.200.1.2'), 'no route yet: the ping must fail');
  await guideRoutes(lab);
  assert.ok(await lab.ping('node-0', '10.200.1.2'), 'with the guide’s routes the ping works');
  assert.is(route(await lab.routes('node-0'), '10.200.1.0/24')?.gateway, '192.168.10.102');
  await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
  assert.is(route(await lab.routes('node-0'), '10.200.1.0/24'), undefined, 'route gone after reboot');
  assert.is(route(await lab.routes('node-1'), '10.200.0.0/24'), undefined, 'route gone after reboot');
  assert.ok(route(await lab.routes('node-0'), '192.168.10.0/24'), 'eth1 is back');
  assert.not.ok(await lab.ping('node-0', '10.200.1.2'), 'after reboot the ping fails again');
}

const DROPIN_DIR = '/etc/systemd/network/10-eth1.network.d';
const dropIn = (dst: string, gw: string) => `[Route]\nDestination=${dst}\nGateway=${gw}\n`;
const netplanRoutes = (dst: string, gw: string) =>
  `network:\n  version: 2\n  ethernets:\n    eth1:\n      routes:\n        - to: ${dst}\n          via: ${gw}\n`;

if (requireLab()) {
  // ------------------------------------------------------------------------- networkd
  const nd = labSuite('lab: networkd hosts', { workers: 2 });

  nd('topology: hosts, addresses, pods, no default route outside the pods', async (ctx) => {
    const lab = need(ctx);
    assert.equal(lab.hosts.map((h) => `${h.name} ${h.ip} ${h.podSubnet ?? '-'} ${h.stack}`), [
      'server 192.168.10.100 - networkd',
      'node-0 192.168.10.101 10.200.0.0/24 networkd',
      'node-1 192.168.10.102 10.200.1.0/24 networkd',
    ]);
    assert.is(
      lab.machinesTxt(),
      '192.168.10.100 server.kubernetes.local server\n' +
        '192.168.10.101 node-0.kubernetes.local node-0 10.200.0.0/24\n' +
        '192.168.10.102 node-1.kubernetes.local node-1 10.200.1.0/24\n',
    );
    for (const h of lab.hosts) {
      const routes = await lab.routes(h.name);
      assert.is(route(routes, 'default'), undefined, `${h.name} has no default route`);
      assert.is(route(routes, '192.168.10.0/24')?.dev, 'eth1');
      assert.is((await ok(lab, h.name, ['hostname'])).trim(), h.name);
      assert.is((await ok(lab, h.name, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim(), h.podSubnet ? '1' : '0');
    }
    assert.is(route(await lab.routes('node-0'), '10.200.0.0/24')?.dev, 'cni0');
    const jump = JSON.parse((await lab.jumpbox(['ip', '-j', 'route'])).stdout) as LabRoute[];
    assert.equal(jump.map((r) => r.dst), ['192.168.10.0/24'], 'the jumpbox only knows the node network');
    assert.ok(await lab.ping('node-0', '10.200.0.1'), 'pod reaches its own bridge');
    // The base config is where the stack expects it, inside the host only.
    assert.is(await lab.fileMode('node-0', '/etc/systemd/network/10-eth1.network'), 0o644);
    assert.match((await lab.readFile('node-0', '/etc/systemd/network/10-eth1.network'))!, 'Address=192.168.10.101/24');
    assert.not.ok(fs.existsSync('/etc/systemd/network/10-eth1.network'), 'the machine’s /etc is untouched');
    // Each host has its own PID namespace: its init is PID 1 there.
    const ps = await ok(lab, 'node-0', ['ps', '-eo', 'pid=,comm=']);
    assert.match(ps, /^\s*1 sh$/m);
    assert.match(ps, /systemd-network/);
    assert.match(ps, /sshd/);
    assert.match(await ok(lab, 'node-0', ['networkctl', 'list', '--no-legend']), /eth1\s+ether\s+routable\s+configured/);
  });

  nd('refuses a prefix whose namespaces exist, and leaves the running lab alone', async (ctx) => {
    const lab = need(ctx);
    const err = await Lab.up({ prefix: lab.prefix, workers: 1 }).then(() => undefined, (e: Error) => e);
    assert.match(err?.message ?? '', 'already exist');
    assert.ok(await lab.ping('node-0', '10.200.0.1'));
    assert.is((await lab.jumpbox(lab.sshArgv('node-0', ['true']))).code, 0);
  });

  nd('the guide’s problem: `ip route add` routes work, then vanish on reboot', async (ctx) => {
    await theProblem(need(ctx));
  });

  nd('a networkd drop-in + networkctl reload puts the route in the kernel, and it survives reboot', async (ctx) => {
    const lab = need(ctx);
    await lab.writeFile('node-0', `${DROPIN_DIR}/60-test.conf`, dropIn('10.200.1.0/24', '192.168.10.102'), 0o644);
    await lab.writeFile('node-1', `${DROPIN_DIR}/60-test.conf`, dropIn('10.200.0.0/24', '192.168.10.101'), 0o644);
    assert.is(await lab.fileMode('node-0', `${DROPIN_DIR}/60-test.conf`), 0o644);
    await ok(lab, 'node-0', ['networkctl', 'reload']);
    await ok(lab, 'node-1', ['networkctl', 'reload']);
    // networkctl reload is asynchronous in systemd 252: poll the kernel.
    const r = await waitFor('10.200.1.0/24 on node-0', async () => route(await lab.routes('node-0'), '10.200.1.0/24'));
    assert.equal(r, { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'static' });
    await waitFor('10.200.0.0/24 on node-1', async () => route(await lab.routes('node-1'), '10.200.0.0/24'));
    assert.ok(await lab.ping('node-0', '10.200.1.2'));
    await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
    assert.equal(route(await lab.routes('node-0'), '10.200.1.0/24'), r, 'the route came back by itself');
    assert.ok(await lab.ping('node-0', '10.200.1.2'), 'and the pods talk after the reboot');
    assert.not.ok(fs.existsSync(DROPIN_DIR), 'the machine’s /etc is untouched');
    await lab.removeFile('node-0', `${DROPIN_DIR}/60-test.conf`);
    await ok(lab, 'node-0', ['networkctl', 'reload']);
    await waitFor('route removed', async () => !route(await lab.routes('node-0'), '10.200.1.0/24'));
  });

  nd('a drop-in with mode 0600: networkd drops eth1’s config, reload exits 0, reboot says why', async (ctx) => {
    const lab = need(ctx);
    await lab.writeFile('server', `${DROPIN_DIR}/60-test.conf`, dropIn('10.200.0.0/24', '192.168.10.101'), 0o600);
    await ok(lab, 'server', ['networkctl', 'reload']);
    await waitFor('eth1 to lose its address', async () => !route(await lab.routes('server'), '192.168.10.0/24'));
    const err = await lab.reboot('server').then(() => undefined, (e: Error) => e);
    assert.match(err?.message ?? '', 'systemd-networkd leaves eth1 unmanaged');
    await lab.writeFile('server', `${DROPIN_DIR}/60-test.conf`, dropIn('10.200.0.0/24', '192.168.10.101'), 0o644);
    await lab.reboot('server');
    assert.is(route(await lab.routes('server'), '10.200.0.0/24')?.gateway, '192.168.10.101');
    await lab.removeFile('server', `${DROPIN_DIR}/60-test.conf`);
    await lab.reboot('server');
  });

  nd('ssh and sftp from the jumpbox with the lab’s ssh config', async (ctx) => {
    const lab = need(ctx);
    const cfg = lab.sshConfigFile;
    const r = await lab.jumpbox(['ssh', '-F', cfg, '192.168.10.101', 'ip', '-j', 'route']);
    assert.is(r.code, 0, r.stderr);
    assert.ok(route(JSON.parse(r.stdout) as LabRoute[], '10.200.0.0/24'), 'node-0’s own table');
    // What routegen runs over SSH is on PATH in a session.
    const which = await lab.jumpbox(lab.sshArgv('node-1', ['command -v networkctl netplan ip ifup sh sleep mv cat systemctl']));
    assert.is(which.code, 0, which.stderr);
    assert.is(which.stdout.trim().split('\n').length, 9);
    // known_hosts has plain "IP keytype base64" lines for every host (then name and FQDN lines).
    const kh = fs.readFileSync(lab.knownHostsFile, 'utf8').trim().split('\n');
    assert.equal(kh.slice(0, lab.hosts.length).map((l) => l.split(' ').slice(0, 2).join(' ')), lab.hosts.map((h) => `${h.ip} ssh-ed25519`));
    // The jumpbox resolves the machines' names as the guide's /etc/hosts makes it.
    const byName = await lab.jumpbox(['ssh', '-F', cfg, 'node-1.kubernetes.local', 'hostname']);
    assert.equal([byName.code, byName.stdout.trim()], [0, 'node-1'], byName.stderr);
    assert.not.match(fs.readFileSync('/etc/hosts', 'utf8'), 'kubernetes.local', 'the machine’s /etc/hosts is untouched');
    // An unknown host key is refused (StrictHostKeyChecking yes).
    const bad = path.join(lab.dir, 'empty_known_hosts');
    fs.writeFileSync(bad, '');
    const refused = await lab.jumpbox(['ssh', '-F', cfg, '-o', `UserKnownHostsFile=${bad}`, '192.168.10.101', 'true']);
    assert.is.not(refused.code, 0);
    assert.match(refused.stderr, /Host key verification failed/);

    const local = path.join(lab.dir, 'probe.txt');
    fs.writeFileSync(local, 'written over sftp\n');
    const sftp = await lab.jumpbox(['sftp', '-F', cfg, '-b', '-', '192.168.10.101'], {
      input: `put ${local} /etc/systemd/network/rg-sftp-probe.tmp\nchmod 644 /etc/systemd/network/rg-sftp-probe.tmp\nrename /etc/systemd/network/rg-sftp-probe.tmp /etc/systemd/network/rg-sftp-probe.txt\n`,
    });
    assert.is(sftp.code, 0, sftp.stderr);
    assert.is(await lab.readFile('node-0', '/etc/systemd/network/rg-sftp-probe.txt'), 'written over sftp\n');
    assert.is(await lab.fileMode('node-0', '/etc/systemd/network/rg-sftp-probe.txt'), 0o644);
    assert.is(await lab.readFile('node-1', '/etc/systemd/network/rg-sftp-probe.txt'), null, 'other hosts do not see it');
    assert.not.ok(fs.existsSync('/etc/systemd/network/rg-sftp-probe.txt'), 'the machine’s /etc is untouched');
    await lab.removeFile('node-0', '/etc/systemd/network/rg-sftp-probe.txt');
  });

  nd('reboot { full: true }: sessions and timers die, /run and /tmp are emptied, sshd comes back', async (ctx) => {
    const lab = need(ctx);
    const armed = await lab.jumpbox(lab.sshArgv('node-1', ['setsid -f sleep 300 </dev/null >/dev/null 2>&1; touch /tmp/marker /run/marker; echo ok']));
    assert.equal([armed.code, armed.stdout.trim()], [0, 'ok'], armed.stderr);
    const session = lab.jumpboxSpawn(lab.sshArgv('node-1', ['sleep 300']));
    const closed = new Promise<number | null>((r) => session.on('exit', (c) => r(c)));
    await waitFor('the session to start', async () => (await ok(lab, 'node-1', ['ps', '-eo', 'args='])).includes('sleep 300'));
    await lab.reboot('node-1', { full: true });
    assert.is(await closed, 255, 'the SSH session dropped');
    const ps = await ok(lab, 'node-1', ['ps', '-eo', 'args=']);
    assert.not.match(ps, 'sleep 300');
    assert.match(ps, 'systemd-networkd');
    assert.is(await lab.readFile('node-1', '/tmp/marker'), null);
    assert.is(await lab.readFile('node-1', '/run/marker'), null);
    assert.is((await lab.jumpbox(lab.sshArgv('node-1', ['true']))).code, 0, 'sshd is back');
    assert.match(await ok(lab, 'node-1', ['networkctl', 'list', '--no-legend']), /eth1\s+ether\s+routable\s+configured/);
  });

  nd('jumpboxSpawn: the child is the command itself, so killing it kills the command', async (ctx) => {
    const lab = need(ctx);
    const child = lab.jumpboxSpawn(['sleep', '30']);
    const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_c, sig) => r(sig)));
    await waitFor('sleep to exec', async () => fs.readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim() === 'sleep');
    child.kill('SIGTERM');
    assert.is(await exited, 'SIGTERM');
  });

  nd('killSshd / startSshd, stop/startNetworkd and the systemctl stand-in', async (ctx) => {
    const lab = need(ctx);
    await lab.killSshd('server');
    const down = await lab.jumpbox(lab.sshArgv('server', ['true']));
    assert.is(down.code, 255);
    assert.match(down.stderr, /Connection refused/);
    await lab.startSshd('server');
    assert.is((await lab.jumpbox(lab.sshArgv('server', ['true']))).code, 0);

    await lab.stopNetworkd('server');
    assert.not.ok(await lab.networkdRunning('server'));
    const inactive = await lab.exec('server', ['systemctl', 'is-active', 'systemd-networkd']);
    assert.equal([inactive.code, inactive.stdout.trim()], [3, 'inactive']);
    // Over SSH, as routegen would: restart networkd with "systemctl".
    const restart = await lab.jumpbox(lab.sshArgv('server', ['systemctl restart systemd-networkd && systemctl is-active systemd-networkd']));
    assert.equal([restart.code, restart.stdout.trim()], [0, 'active'], restart.stderr);
    await lab.stopNetworkd('server');
    await lab.startNetworkd('server');
    assert.ok(await lab.networkdRunning('server'));
    await ok(lab, 'server', ['rglab', 'wait-eth1']);
  });

  nd.run();

  // ------------------------------------------------------------------------- netplan
  const np = labSuite('lab: netplan hosts', { workers: 2, stack: 'netplan', withServer: false });

  np('base config: /etc/netplan/50-lab.yaml (0600) rendered by netplan generate, run by networkd', async (ctx) => {
    const lab = need(ctx);
    assert.is(await lab.fileMode('node-0', '/etc/netplan/50-lab.yaml'), 0o600);
    assert.match((await lab.readFile('node-0', '/run/systemd/network/10-netplan-eth1.network'))!, 'Address=192.168.10.101/24');
    assert.match(await ok(lab, 'node-0', ['networkctl', 'status', 'eth1', '--no-pager']), /10-netplan-eth1\.network/);
  });

  np('the guide’s problem on netplan hosts', async (ctx) => {
    await theProblem(need(ctx));
  });

  np('a routes-only netplan file + netplan apply puts the route in the kernel, and it survives reboot', async (ctx) => {
    const lab = need(ctx);
    await lab.writeFile('node-0', '/etc/netplan/60-test.yaml', netplanRoutes('10.200.1.0/24', '192.168.10.102'), 0o600);
    await lab.writeFile('node-1', '/etc/netplan/60-test.yaml', netplanRoutes('10.200.0.0/24', '192.168.10.101'), 0o600);
    const [a, b] = await Promise.all([lab.exec('node-0', ['netplan', 'apply']), lab.exec('node-1', ['netplan', 'apply'])]);
    assert.is(a.code, 0, a.stderr);
    assert.is(b.code, 0, b.stderr);
    const r = await waitFor('10.200.1.0/24 on node-0', async () => route(await lab.routes('node-0'), '10.200.1.0/24'));
    assert.equal(r, { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'static' });
    await waitFor('10.200.0.0/24 on node-1', async () => route(await lab.routes('node-1'), '10.200.0.0/24'));
    assert.ok(await lab.ping('node-0', '10.200.1.2'));
    await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
    assert.equal(route(await lab.routes('node-0'), '10.200.1.0/24'), r);
    assert.ok(await lab.ping('node-0', '10.200.1.2'));
    assert.not.ok(fs.existsSync('/etc/netplan/60-test.yaml'), 'the machine’s /etc is untouched');
  });

  np.run();

  // ------------------------------------------------------------------------- ifupdown
  const iu = labSuite('lab: ifupdown hosts', { workers: 2, stack: 'ifupdown', withServer: false });

  iu('base config: Debian’s layout, interfaces.d sourced before the eth1 stanza', async (ctx) => {
    const lab = need(ctx);
    const interfaces = (await lab.readFile('node-0', '/etc/network/interfaces'))!;
    assert.ok(interfaces.indexOf('source-directory /etc/network/interfaces.d') < interfaces.indexOf('iface eth1 inet static'));
    assert.match(interfaces, 'address 192.168.10.101/24');
    assert.match(await ok(lab, 'node-0', ['cat', '/run/network/ifstate.eth1']), 'eth1');
  });

  iu('the guide’s problem on ifupdown hosts', async (ctx) => {
    await theProblem(need(ctx));
  });

  iu('an `up ip route replace` stanza in interfaces.d comes back after reboot', async (ctx) => {
    const lab = need(ctx);
    // interfaces.d is read first, so its `up` runs before eth1 has its address: without
    // `onlink` the gateway is "invalid" and ifup fails (see the next test).
    const stanza = (dst: string, gw: string) => `iface eth1 inet manual\n    up ip route replace ${dst} via ${gw} dev eth1 onlink\n`;
    await lab.writeFile('node-0', '/etc/network/interfaces.d/rg-test', stanza('10.200.1.0/24', '192.168.10.102'));
    await lab.writeFile('node-1', '/etc/network/interfaces.d/rg-test', stanza('10.200.0.0/24', '192.168.10.101'));
    // ifup on a configured interface does nothing: apply now with the same command.
    await ok(lab, 'node-0', ['ip', 'route', 'replace', '10.200.1.0/24', 'via', '192.168.10.102', 'dev', 'eth1', 'onlink']);
    await ok(lab, 'node-1', ['ip', 'route', 'replace', '10.200.0.0/24', 'via', '192.168.10.101', 'dev', 'eth1', 'onlink']);
    assert.ok(await lab.ping('node-0', '10.200.1.2'));
    await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
    assert.equal(route(await lab.routes('node-0'), '10.200.1.0/24'), { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1' });
    assert.ok(await lab.ping('node-0', '10.200.1.2'));
    assert.not.ok(fs.existsSync('/etc/network/interfaces.d/rg-test'), 'the machine’s /etc is untouched');
  });

  iu('a stanza whose gateway is not reachable yet makes ifup fail at boot: reboot reports it', async (ctx) => {
    const lab = need(ctx);
    await lab.writeFile('node-0', '/etc/network/interfaces.d/rg-test', 'iface eth1 inet manual\n    up ip route replace 10.200.1.0/24 via 192.168.10.102 dev eth1\n');
    const err = await lab.reboot('node-0').then(() => undefined, (e: Error) => e);
    assert.ok(err, 'reboot must fail');
    assert.match(err!.message, 'Nexthop has invalid gateway');
    assert.match(err!.message, 'eth1 did not get 192.168.10.101/24');
    await lab.removeFile('node-0', '/etc/network/interfaces.d/rg-test');
    await lab.reboot('node-0');
    assert.ok(route(await lab.routes('node-0'), '192.168.10.0/24'));
  });

  iu.run();

  const iuLast = labSuite('lab: ifupdown hosts, interfaces.d sourced last', { workers: 1, stack: 'ifupdown', withServer: false, ifupdownSourceLast: true });

  iuLast('a plain `up ip route replace` stanza works when interfaces.d is read after eth1', async (ctx) => {
    const lab = need(ctx);
    await lab.writeFile('node-0', '/etc/network/interfaces.d/rg-test', 'iface eth1 inet manual\n    up ip route replace 10.200.1.0/24 via 192.168.10.102 dev eth1\n');
    await lab.reboot('node-0');
    assert.equal(route(await lab.routes('node-0'), '10.200.1.0/24'), { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1' });
  });

  iuLast.run();

  // ------------------------------------------------------------------------- dual stack
  /** The guide's problem over IPv6: the same two routes, through the nodes' IPv6 addresses. */
  async function theProblem6(lab: Lab): Promise<void> {
    assert.not.ok(await lab.ping('node-0', 'fd00:10:200:1::2'), 'no IPv6 route yet: the ping must fail');
    await ok(lab, 'node-0', ['ip', '-6', 'route', 'add', 'fd00:10:200:1::/64', 'via', 'fd00:10::102']);
    await ok(lab, 'node-1', ['ip', '-6', 'route', 'add', 'fd00:10:200::/64', 'via', 'fd00:10::101']);
    assert.ok(await lab.ping('node-0', 'fd00:10:200:1::2'), 'with the IPv6 routes the ping works');
    assert.is(route(await lab.routes6('node-0'), 'fd00:10:200:1::/64')?.gateway, 'fd00:10::102');
    assert.is(route(await lab.routes('node-0'), 'fd00:10:200:1::/64'), undefined, 'routes() stays IPv4 only');
    await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
    for (const [host, gone] of [['node-0', 'fd00:10:200:1::/64'], ['node-1', 'fd00:10:200::/64']] as const) {
      const routes6 = await lab.routes6(host);
      assert.is(route(routes6, gone), undefined, `${host}: route gone after reboot`);
      assert.is(route(routes6, 'fd00:10::/64')?.dev, 'eth1', `${host}: eth1 has its IPv6 network again`);
      const addrs = await ok(lab, host, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1']);
      assert.match(addrs, ` inet6 ${lab.host(host).ip6!}/64 scope global`);
      assert.not.match(addrs, 'tentative');
    }
    assert.not.ok(await lab.ping('node-0', 'fd00:10:200:1::2'), 'after reboot the ping fails again');
  }

  const ds = labSuite('lab: dual stack, networkd hosts', { workers: 2, dualStack: true });

  ds('addresses, machines.txt, base config; no IPv6 default route on hosts; SSH still over IPv4', async (ctx) => {
    const lab = need(ctx);
    assert.equal(lab.hosts.map((h) => `${h.name} ${h.ip6 ?? '-'} ${h.podSubnet6 ?? '-'} ${h.podIp6 ?? '-'}`), [
      'server fd00:10::100 - -',
      'node-0 fd00:10::101 fd00:10:200::/64 fd00:10:200::2',
      'node-1 fd00:10::102 fd00:10:200:1::/64 fd00:10:200:1::2',
    ]);
    assert.is(
      lab.machinesTxt(),
      '192.168.10.100,fd00:10::100 server.kubernetes.local server\n' +
        '192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0 10.200.0.0/24,fd00:10:200::/64\n' +
        '192.168.10.102,fd00:10::102 node-1.kubernetes.local node-1 10.200.1.0/24,fd00:10:200:1::/64\n',
    );
    for (const h of lab.hosts) {
      const routes6 = await lab.routes6(h.name);
      assert.is(route(routes6, 'default'), undefined, `${h.name} has no IPv6 default route`);
      assert.is(route(routes6, 'fd00:10::/64')?.dev, 'eth1');
      assert.is(route(await lab.routes(h.name), 'default'), undefined);
      assert.is((await ok(lab, h.name, ['cat', '/proc/sys/net/ipv6/conf/all/forwarding'])).trim(), h.podSubnet6 ? '1' : '0');
      assert.not.match(await ok(lab, h.name, ['ip', '-6', '-o', 'addr', 'show', 'dev', 'eth1']), 'tentative');
    }
    assert.is(route(await lab.routes6('node-1'), 'fd00:10:200:1::/64')?.dev, 'cni0');
    const base = (await lab.readFile('node-0', '/etc/systemd/network/10-eth1.network'))!;
    for (const line of ['Address=192.168.10.101/24', 'Address=fd00:10::101/64', 'IPv6AcceptRA=no', 'IPv6DuplicateAddressDetection=0']) assert.match(base, line);
    assert.ok(await lab.ping('node-0', 'fd00:10:200::1'), 'pod reaches its own bridge over IPv6');
    assert.ok(await lab.ping('node-0', '10.200.0.1'), 'and over IPv4');
    // SSH and known_hosts as before: IPv4 addresses and names.
    assert.equal((await lab.jumpbox(lab.sshArgv('fd00:10::102', ['hostname']))).stdout.trim(), 'node-1');
    const byName = await lab.jumpbox(['ssh', '-F', lab.sshConfigFile, 'node-0.kubernetes.local', 'hostname']);
    assert.equal([byName.code, byName.stdout.trim()], [0, 'node-0'], byName.stderr);
    const jump = JSON.parse((await lab.jumpbox(['ip', '-j', '-6', 'route', 'show', 'table', 'main'])).stdout) as LabRoute[];
    assert.is(route(jump, 'default'), undefined, 'the jumpbox has no IPv6 default route');
  });

  ds('the guide’s problem over IPv6: `ip -6 route add` routes work, then vanish on reboot', async (ctx) => {
    await theProblem6(need(ctx));
  });

  ds.run();

  const dsMixed = labSuite('lab: dual stack, netplan and ifupdown hosts', {
    workers: 2,
    dualStack: true,
    withServer: false,
    stack: (h) => (h === 'node-0' ? 'netplan' : 'ifupdown'),
  });

  dsMixed('the IPv6 address is in the netplan and ifupdown base configs and comes back after reboot', async (ctx) => {
    const lab = need(ctx);
    assert.match((await lab.readFile('node-0', '/etc/netplan/50-lab.yaml'))!, '- "fd00:10::101/64"');
    assert.match((await lab.readFile('node-0', '/run/systemd/network/10-netplan-eth1.network'))!, 'Address=fd00:10::101/64');
    assert.match((await lab.readFile('node-1', '/etc/network/interfaces'))!, /iface eth1 inet6 static\n\s+address fd00:10::102\/64\n/);
    await theProblem6(lab);
  });

  dsMixed.run();

  // ------------------------------------------------------------------------- NetworkManager
  if (requireLab({ networkManager: true })) {
    /** eth1's base keyfile with `route1=DST,GW` after its address, as routegen would write it. */
    const withRoute = (keyfile: string, dst: string, gw: string) => keyfile.replace(/^(address1=.*)$/m, `$1\nroute1=${dst},${gw}`);
    /** What routegen runs on a NetworkManager host to apply a changed keyfile now. */
    const nmApply = async (lab: Lab, host: string) => {
      const load = await ok(lab, host, ['nmcli', 'connection', 'load', NM_ETH1_KEYFILE]);
      assert.not.match(load, 'Could not load', `${host}: ${load}`);
      await ok(lab, host, ['nmcli', 'device', 'reapply', 'eth1']);
    };

    const nm = labSuite('lab: NetworkManager hosts', { workers: 2, stack: 'networkmanager', withServer: false });

    nm('base config: NetworkManager.conf and eth1’s keyfile (0600); NM runs eth1 and nothing else', async (ctx) => {
      const lab = need(ctx);
      assert.is(await lab.fileMode('node-0', NM_ETH1_KEYFILE), 0o600);
      const keyfile = (await lab.readFile('node-0', NM_ETH1_KEYFILE))!;
      for (const line of ['id=eth1', 'type=ethernet', 'interface-name=eth1', 'method=manual', 'address1=192.168.10.101/24']) assert.match(keyfile, line);
      assert.match((await lab.readFile('node-0', '/etc/NetworkManager/NetworkManager.conf'))!, 'unmanaged-devices=except:interface-name:eth1');
      assert.not.ok(fs.existsSync(NM_ETH1_KEYFILE), 'the machine’s /etc is untouched');
      const devices = await ok(lab, 'node-0', ['nmcli', '-t', '-f', 'DEVICE,STATE,CONNECTION', 'device']);
      assert.match(devices, /^eth1:connected:eth1$/m);
      assert.match(devices, /^cni0:unmanaged:$/m);
      assert.is(route(await lab.routes('node-0'), '192.168.10.0/24')?.dev, 'eth1');
      assert.is(route(await lab.routes('node-0'), '10.200.0.0/24')?.dev, 'cni0');
      assert.ok(await lab.ping('node-0', '10.200.0.1'), 'pod reaches its own bridge');
      const ps = await ok(lab, 'node-0', ['ps', '-eo', 'comm=']);
      assert.match(ps, /^NetworkManager$/m);
      assert.not.match(ps, /systemd-network/);
      const active = await lab.jumpbox(lab.sshArgv('node-1', ['systemctl is-active NetworkManager; systemctl is-active systemd-networkd; systemctl is-enabled NetworkManager']));
      assert.is(active.stdout, 'active\ninactive\nenabled\n', active.stderr);
    });

    nm('the guide’s problem on NetworkManager hosts', async (ctx) => {
      await theProblem(need(ctx));
    });

    nm('a route in the keyfile + nmcli connection load + device reapply: in the kernel, and it survives reboot', async (ctx) => {
      const lab = need(ctx);
      const base0 = (await lab.readFile('node-0', NM_ETH1_KEYFILE))!;
      const base1 = (await lab.readFile('node-1', NM_ETH1_KEYFILE))!;
      await lab.writeFile('node-0', NM_ETH1_KEYFILE, withRoute(base0, '10.200.1.0/24', '192.168.10.102'), 0o600);
      await lab.writeFile('node-1', NM_ETH1_KEYFILE, withRoute(base1, '10.200.0.0/24', '192.168.10.101'), 0o600);
      await Promise.all([nmApply(lab, 'node-0'), nmApply(lab, 'node-1')]);
      const r = route(await lab.routes('node-0'), '10.200.1.0/24');
      assert.equal(r, { dst: '10.200.1.0/24', gateway: '192.168.10.102', dev: 'eth1', protocol: 'static', metric: 100 });
      assert.ok(route(await lab.routes('node-1'), '10.200.0.0/24'));
      assert.ok(await lab.ping('node-0', '10.200.1.2'));
      await Promise.all([lab.reboot('node-0'), lab.reboot('node-1')]);
      assert.equal(route(await lab.routes('node-0'), '10.200.1.0/24'), r, 'the route came back by itself');
      assert.ok(await lab.ping('node-0', '10.200.1.2'), 'and the pods talk after the reboot');
      // Back to the base config.
      await lab.writeFile('node-0', NM_ETH1_KEYFILE, base0, 0o600);
      await lab.writeFile('node-1', NM_ETH1_KEYFILE, base1, 0o600);
      await Promise.all([nmApply(lab, 'node-0'), nmApply(lab, 'node-1')]);
      assert.is(route(await lab.routes('node-0'), '10.200.1.0/24'), undefined, 'reapply removes the route');
    });

    nm('a keyfile NM refuses (mode 0644): `nmcli connection load` still exits 0, reboot says eth1 is not activated', async (ctx) => {
      const lab = need(ctx);
      const base = (await lab.readFile('node-1', NM_ETH1_KEYFILE))!;
      await lab.writeFile('node-1', NM_ETH1_KEYFILE, base, 0o644);
      const load = await lab.exec('node-1', ['nmcli', 'connection', 'load', NM_ETH1_KEYFILE]);
      assert.is(load.code, 0);
      assert.match(load.stdout + load.stderr, 'Could not load file');
      const err = await lab.reboot('node-1').then(() => undefined, (e: Error) => e);
      assert.match(err?.message ?? '', 'NetworkManager did not activate eth1 (state: disconnected)');
      assert.match(err?.message ?? '', 'File permissions (100644) are insecure');
      await lab.writeFile('node-1', NM_ETH1_KEYFILE, base, 0o600);
      await lab.reboot('node-1');
      assert.ok(route(await lab.routes('node-1'), '192.168.10.0/24'));
    });

    nm('stop/startNetworkManager and the systemctl stand-in', async (ctx) => {
      const lab = need(ctx);
      await lab.stopNetworkManager('node-1');
      assert.not.ok(await lab.networkManagerRunning('node-1'));
      const inactive = await lab.exec('node-1', ['systemctl', 'is-active', 'NetworkManager']);
      assert.equal([inactive.code, inactive.stdout.trim()], [3, 'inactive']);
      assert.ok(route(await lab.routes('node-1'), '192.168.10.0/24'), 'a stopped NM leaves eth1 configured');
      // Over SSH, as routegen would: restart NM with "systemctl", then reload it.
      const restart = await lab.jumpbox(lab.sshArgv('node-1', ['systemctl restart NetworkManager && systemctl reload NetworkManager && systemctl is-active NetworkManager']));
      assert.equal([restart.code, restart.stdout.trim()], [0, 'active'], restart.stderr);
      await lab.stopNetworkManager('node-1');
      await lab.startNetworkManager('node-1');
      assert.ok(await lab.networkManagerRunning('node-1'));
      await ok(lab, 'node-1', ['rglab', 'wait-eth1']);
      await lab.reboot('node-1', { full: true });
      assert.match(await ok(lab, 'node-1', ['nmcli', '-t', '-f', 'DEVICE,STATE', 'device']), /^eth1:connected$/m);
    });

    nm.run();

    const nmMixed = labSuite('lab: server on NetworkManager, workers on networkd', {
      workers: 2,
      stack: (h) => (h === 'server' ? 'networkmanager' : 'networkd'),
    });

    nmMixed('the server’s keyfile route to a pod subnet lets that pod reach it, after reboots too', async (ctx) => {
      const lab = need(ctx);
      assert.equal(lab.hosts.map((h) => `${h.name} ${h.stack}`), ['server networkmanager', 'node-0 networkd', 'node-1 networkd']);
      assert.is((await lab.jumpbox(lab.sshArgv('server', ['hostname']))).stdout.trim(), 'server');
      assert.not.ok(await lab.ping('node-0', '192.168.10.100'), 'the server has no route back to pod-0 yet');
      const base = (await lab.readFile('server', NM_ETH1_KEYFILE))!;
      await lab.writeFile('server', NM_ETH1_KEYFILE, withRoute(base, '10.200.0.0/24', '192.168.10.101'), 0o600);
      await nmApply(lab, 'server');
      assert.ok(await lab.ping('node-0', '192.168.10.100'));
      await lab.reboot('server');
      assert.is(route(await lab.routes('server'), '10.200.0.0/24')?.gateway, '192.168.10.101');
      assert.ok(await lab.ping('node-0', '192.168.10.100'), 'after the server’s reboot');
      await theProblem(lab);
    });

    nmMixed.run();

    const nmDs = labSuite('lab: dual stack, NetworkManager hosts', { workers: 2, dualStack: true, stack: 'networkmanager', withServer: false });

    nmDs('the IPv6 address is in the keyfile; `ip -6 route add` routes vanish on reboot', async (ctx) => {
      const lab = need(ctx);
      const keyfile = (await lab.readFile('node-0', NM_ETH1_KEYFILE))!;
      assert.match(keyfile, /\[ipv6\]\nmethod=manual\naddress1=fd00:10::101\/64\n/);
      await theProblem6(lab);
    });

    nmDs.run();
  }

  // ------------------------------------------------------------------------- tear-down
  const td = suite('lab: CLI, and tear-down when the test process dies');
  const here = path.dirname(fileURLToPath(import.meta.url));

  /** A child node process that brings a lab up, reports its state file, then waits to be killed. */
  async function labInChild(signal: NodeJS.Signals): Promise<void> {
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'routegen-labkill-')), 'child.mts');
    fs.writeFileSync(
      script,
      `import { Lab } from ${JSON.stringify(path.join(here, 'lab.ts'))};\n` +
        `const lab = await Lab.up({ workers: 1 });\n` +
        `console.log(lab.stateFile);\nsetInterval(() => {}, 1000);\n`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: path.join(here, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const stateFile = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          if (out.includes('\n')) resolve(out.trim());
        });
        child.on('exit', (c) => reject(new Error(`child exited ${c} before its lab was up`)));
        const timer = setTimeout(() => reject(new Error(`child lab not up within ${bound(20000)} ms`)), bound(20000));
        child.stdout!.once('data', () => clearTimeout(timer));
      });
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { dir: string; namespaces: string[]; hosts: Array<{ pid: number }> };
      assert.ok(state.namespaces.every((n) => fs.existsSync(`/run/netns/${n}`)));
      child.kill(signal);
      await waitFor(
        `${signal}: namespaces, hosts and lab dir gone`,
        async () =>
          state.namespaces.every((n) => !fs.existsSync(`/run/netns/${n}`)) &&
          state.hosts.every((h) => dead(h.pid)) &&
          !fs.existsSync(state.dir),
        10000,
      );
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(path.dirname(script), { recursive: true, force: true });
    }
  }

  td('the CLI: up leaves the lab running after it exits; ssh, exec and down re-attach', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'routegen-labcli-'));
    const stateFile = path.join(tmp, 'state.json');
    const cli = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const c = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'cli.ts'), '--state', stateFile, ...args], {
          cwd: path.join(here, '..', '..'),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        c.stdout.on('data', (b: Buffer) => (out += b.toString()));
        c.stderr.on('data', (b: Buffer) => (out += b.toString()));
        c.on('exit', (code) => resolve({ code: code ?? 1, out }));
      });
    try {
      const up = await cli('up', '--workers', '1', '--stack', 'node-0=netplan', '--no-server');
      assert.is(up.code, 0, up.out);
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { hosts: Array<{ pid: number; stack: string }> };
      assert.equal(state.hosts.map((h) => h.stack), ['netplan']);
      assert.not.ok(dead(state.hosts[0]!.pid), 'the host outlives the CLI');
      const ssh = await cli('ssh', 'node-0', 'hostname');
      assert.equal([ssh.code, ssh.out.trim()], [0, 'node-0']);
      const ex = await cli('exec', '192.168.10.101', 'cat', '/etc/netplan/50-lab.yaml');
      assert.is(ex.code, 0, ex.out);
      assert.match(ex.out, 'renderer: networkd');
      const again = await cli('up');
      assert.is(again.code, 2);
      assert.match(again.out, 'a lab is already up');
      const down = await cli('down');
      assert.is(down.code, 0, down.out);
      assert.ok(dead(state.hosts[0]!.pid));
      assert.not.ok(fs.existsSync(stateFile));
    } finally {
      if (fs.existsSync(stateFile)) Lab.attach(stateFile).downSync();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  td('a lab that does not come up in time: up() rejects with the host’s log and leaves nothing behind', async () => {
    const prefix = `rg${process.pid}fail`;
    const err = await Lab.up({ prefix, workers: 1, readyTimeoutMs: 1 }).then(() => undefined, (e: Error) => e);
    assert.match(err?.message ?? '', /not ready after 1 ms[\s\S]*init\.log/);
    assert.equal(fs.readdirSync('/run/netns').filter((n) => n.startsWith(prefix)), []);
    assert.equal(fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(`routegen-lab-${prefix}-`)), []);
  });

  td('SIGTERM: the exit handlers tear the lab down', () => labInChild('SIGTERM'));
  td('SIGKILL: the hosts die on their lifeline, the watchdog removes the namespaces', () => labInChild('SIGKILL'));
  td.run();
}
