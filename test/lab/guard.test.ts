/**
 * The check before a host's routes change, on the namespace lab (ifupdown hosts, whose apply is
 * `ip route replace`): a planned route that would replace a route the host already has, or
 * capture the jumpbox routegen connects from, stops that host before anything is written —
 * its file, its kernel and routegen's state directory stay as they were — while the other
 * hosts go ahead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const IFUPDOWN = '/etc/network/interfaces.d/routegen-pod-routes';
const STACK = ['--stack', 'ifupdown', '--interface', 'eth1'];
const HOSTS = ['server', 'node-0', 'node-1'];

interface HostJson {
  host: string;
  outcome: string;
  error?: { step: string; message: string; hint?: string };
  problems?: string[];
}

/** The host's routes as `ip route` would list them, minus what is always there. */
async function routeLines(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host)).map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${r.dev}${r.metric ? ` metric ${r.metric}` : ''}`).sort();
}

/** What a refused host must keep: routegen's file and the kernel's table. */
async function snapshot(lab: Lab, host: string) {
  return { file: await lab.readFile(host, IFUPDOWN), routes: await routeLines(lab, host) };
}

async function push(lab: Lab, inventory: string, extra: string[] = []): Promise<{ code: number; hosts: Map<string, HostJson>; out: string }> {
  const r = await jumpboxRoutegen(lab, ['push', '-i', inventory, ...STACK, '--json', ...extra]);
  const hosts = new Map<string, HostJson>();
  try {
    for (const h of JSON.parse(r.stdout).hosts as HostJson[]) hosts.set(h.host, h);
  } catch {
    throw new Error(`push printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, hosts, out: r.stdout + r.stderr };
}

async function sh(lab: Lab, host: string, argv: string[]): Promise<void> {
  const r = await lab.exec(host, argv);
  assert.is(r.code, 0, `${host}: ${argv.join(' ')}: ${r.stderr}`);
}

if (requireLab()) {
  const s = labSuite('the check before applying: routes a host already has, and the jumpbox routegen connects from', { stack: 'ifupdown' });

  s('a planned route equal to one made by hand (a docker bridge) stops that host; the guide\'s own identical route does not', async (ctx) => {
    const lab = needLab(ctx);
    // node-0: a bridge holding node-1's pod subnet, as docker or a VPN would
    await sh(lab, 'node-0', ['ip', 'link', 'add', 'docker0', 'type', 'bridge']);
    await sh(lab, 'node-0', ['ip', 'link', 'set', 'docker0', 'up']);
    await sh(lab, 'node-0', ['ip', 'route', 'add', '10.200.1.0/24', 'dev', 'docker0']);
    // node-1: the guide's own hand-typed route, the same as routegen plans
    await sh(lab, 'node-1', ['ip', 'route', 'add', '10.200.0.0/24', 'via', '192.168.10.101']);
    const before = await snapshot(lab, 'node-0');
    assert.ok(before.routes.includes('10.200.1.0/24 dev docker0'), before.routes.join('\n'));

    const r = await push(lab, ctx.inventory!);
    assert.is(r.code, 1, r.out);
    const n0 = r.hosts.get('node-0')!;
    assert.is(n0.outcome, 'failed', r.out);
    assert.is(n0.error?.step, 'check');
    assert.is(n0.error?.message, "refusing to change node-0's routes: a planned route would take traffic that is not the pods' (nothing was written)");
    assert.is(n0.problems?.length, 1, r.out);
    assert.match(n0.problems![0]!, /^10\.200\.1\.0\/24: the host already routes it \(10\.200\.1\.0\/24 dev docker0 [^)]*scope link\), and routegen did not make that route; applying would replace it$/);
    // untouched: no file, the bridge's route still there, not even routegen's state directory
    assert.equal(await snapshot(lab, 'node-0'), before);
    assert.is(await lab.readFile('node-0', '/var/lib/routegen/routegen-host.sh'), null, 'nothing uploaded');
    // the others went ahead; node-1 keeps exactly one route to node-0's pods
    assert.is(r.hosts.get('server')!.outcome, 'changed', r.out);
    assert.is(r.hosts.get('node-1')!.outcome, 'changed', r.out);
    assert.equal((await routeLines(lab, 'node-1')).filter((l) => l.startsWith('10.200.0.0/24')), ['10.200.0.0/24 via 192.168.10.101 dev eth1']);

    // what the user sees without --json: the reason and what to do
    const text = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--dry-run']);
    assert.is(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout + text.stderr, "node-0 (192.168.10.101) failed at check: refusing to change node-0's routes");
    assert.match(text.stdout + text.stderr, 'route: 10.200.1.0/24: the host already routes it (10.200.1.0/24 dev docker0');
    assert.match(text.stdout + text.stderr, 'ip route del DST');

    // the stale route removed by hand: the push goes through
    await sh(lab, 'node-0', ['ip', 'route', 'del', '10.200.1.0/24', 'dev', 'docker0']);
    const again = await push(lab, ctx.inventory!);
    assert.is(again.code, 0, again.out);
    assert.equal((await routeLines(lab, 'node-0')).filter((l) => l.startsWith('10.200.')), ['10.200.0.0/24 dev cni0', '10.200.1.0/24 via 192.168.10.102 dev eth1']);
  });

  s('a pod subnet holding the jumpbox\'s address: the hosts it would capture are left as they were, the other goes ahead', async (ctx) => {
    const lab = needLab(ctx);
    // node-1's "pod subnet" holds the jumpbox (192.168.10.10) but none of the machines, so the
    // inventory passes; on server and node-0 a route to it would send routegen's own
    // connection, and the rest of the node network, through node-1.
    const bad = path.join(lab.dir, 'machines-jumpbox.txt');
    fs.writeFileSync(bad, lab.machinesTxt().replace('10.200.1.0/24', '192.168.10.0/28'));
    assert.match(fs.readFileSync(bad, 'utf8'), /node-1 192\.168\.10\.0\/28/);
    const before = new Map<string, Awaited<ReturnType<typeof snapshot>>>();
    for (const h of HOSTS) before.set(h, await snapshot(lab, h));

    // --metric 50: node-1's own routes change too, so it has something to apply
    const r = await push(lab, bad, ['--metric', '50']);
    assert.is(r.code, 1, r.out);
    for (const h of ['server', 'node-0']) {
      const res = r.hosts.get(h)!;
      assert.is(res.outcome, 'failed', r.out);
      assert.is(res.error?.step, 'check');
      assert.match(res.error!.message, `refusing to change ${h}'s routes`);
      assert.ok(res.problems?.includes('192.168.10.0/28 via 192.168.10.102 would carry the traffic to 192.168.10.10, the address routegen is connected from (SSH_CONNECTION), through node-1'), `${h}: ${res.problems?.join('\n')}`);
      assert.ok(res.problems?.some((p) => p.startsWith('192.168.10.0/28 lies inside 192.168.10.0/24, a network this host is on (')), `${h}: ${res.problems?.join('\n')}`);
      assert.equal(await snapshot(lab, h), before.get(h), `${h}: file and kernel as before`);
      assert.not.ok(fs.readdirSync(`/proc/${lab.host(h).pid}/root/var/lib/routegen`).some((n) => n.endsWith('.pending')), `${h}: nothing armed`);
    }
    const n1 = r.hosts.get('node-1')!;
    assert.is(n1.outcome, 'changed', r.out);
    assert.equal((await routeLines(lab, 'node-1')).filter((l) => l.startsWith('10.200.0.0/24')), ['10.200.0.0/24 via 192.168.10.101 dev eth1 metric 50']);
    // routegen still reaches every host: the guide's plan goes through
    const back = await push(lab, ctx.inventory!);
    assert.is(back.code, 0, back.out);
  });

  s.run();
}
