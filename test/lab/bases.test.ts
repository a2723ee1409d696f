/**
 * Hosts as installers, cloud images and distributions leave them (test/lab/bases.ts): netplan IDs
 * that are not the interface's name (match by name, by glob, by MAC + set-name, rendered to
 * networkd or to NetworkManager), networkd files named by whoever wrote them, ifupdown stanzas in
 * cloud-init's interfaces.d file. routegen is given NO stack flags: it must find each host's
 * place itself, and the kernel's routing table is the judge.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { routegen as localRoutegen } from '../helpers/cli.js';
import { bound, seconds } from '../helpers/time.js';
import { LAB_BASES, type LabBaseName } from './bases.js';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

/** One host per base: server and node-0..node-5. */
const BASE_OF: Record<string, LabBaseName> = {
  server: 'netplan-name',
  'node-0': 'netplan-glob',
  'node-1': 'netplan-mac',
  'node-2': 'netplan-nm',
  'node-3': 'networkd-wired',
  'node-4': 'networkd-cloud-init',
  'node-5': 'ifupdown-cloud-init',
};
const NETPLAN = '/etc/netplan/60-routegen-pod-routes.yaml';
/** Where routegen must write on each base, and the netplan ID the routes must go under. */
const PLACE: Record<LabBaseName, { path: string; netplanId?: string }> = {
  'netplan-name': { path: NETPLAN, netplanId: 'uplink' },
  'netplan-glob': { path: NETPLAN, netplanId: 'lan' },
  'netplan-mac': { path: NETPLAN, netplanId: 'id0' },
  'netplan-nm': { path: NETPLAN, netplanId: 'uplink' },
  'networkd-wired': { path: '/etc/systemd/network/20-wired.network.d/60-routegen-pod-routes.conf' },
  'networkd-cloud-init': { path: '/etc/systemd/network/10-cloud-init-eth1.network.d/60-routegen-pod-routes.conf' },
  'ifupdown-cloud-init': { path: '/etc/network/interfaces.d/routegen-pod-routes' },
};

/** Every other worker's pod subnet via its address, as "dst via gw dev eth1", sorted. */
function plannedRoutes(lab: Lab, host: string): string[] {
  return lab.hosts
    .filter((h) => h.name !== host && h.podSubnet)
    .map((h) => `${h.podSubnet} via ${h.ip} dev eth1`)
    .sort();
}

async function kernelRoutes(lab: Lab, host: string): Promise<string[]> {
  return (await lab.routes(host))
    .filter((r) => r.gateway)
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`)
    .sort();
}

/** eth1 keeps its address and every planned route is in the kernel, on every host. */
async function assertEveryHost(lab: Lab, what: string) {
  for (const h of lab.hosts) {
    const base = `${h.name} (${BASE_OF[h.name]}, ${LAB_BASES[BASE_OF[h.name]!].definedBy})`;
    const addr = await lab.exec(h.name, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1']);
    assert.match(addr.stdout, ` ${h.ip}/24 `, `${base}: eth1 lost its address ${what}`);
    assert.equal(await kernelRoutes(lab, h.name), plannedRoutes(lab, h.name), `${base}: routes ${what}`);
  }
  assert.ok(await lab.ping('node-0', '10.200.5.2'), `pod on node-0 (netplan) reaches the pod on node-5 (ifupdown) ${what}`);
  assert.ok(await lab.ping('node-2', '10.200.3.2'), `pod on node-2 (netplan → NetworkManager) reaches the pod on node-3 (networkd) ${what}`);
}

if (requireLab({ networkManager: true })) {
  const s = labSuite('hosts as they come: netplan IDs, networkd files and ifupdown stanzas as installers and cloud images write them', {
    workers: 6,
    base: (h) => BASE_OF[h],
  });

  s('push with no stack flags writes into the place that defines each host\'s eth1; addresses kept, every planned route in the kernel', async (ctx) => {
    const lab = needLab(ctx);
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, '7 hosts: 7 changed');
    for (const h of lab.hosts) {
      const base = BASE_OF[h.name]!;
      const place = PLACE[base];
      const text = await lab.readFile(h.name, place.path);
      assert.ok(text, `${h.name} (${base}): nothing at ${place.path}`);
      if (place.netplanId) {
        // Under netplan's own ID for eth1, never a second definition named eth1.
        assert.match(text!, `\n    ${place.netplanId}:\n      routes:\n`, `${h.name} (${base})`);
        assert.not.match(text!, /^ {4}eth1:/m, `${h.name} (${base}): a second definition of eth1`);
        const generated = base === 'netplan-nm' || base === 'netplan-mac'
          ? (await lab.exec(h.name, ['ls', '/run/NetworkManager/system-connections'])).stdout
          : (await lab.exec(h.name, ['ls', '/run/systemd/network'])).stdout;
        assert.not.match(generated, 'netplan-eth1', `${h.name} (${base}): netplan generated a file for a definition named eth1`);
      }
    }
    await assertEveryHost(lab, 'after push');
  });

  s('after a reboot of every host the routes come back; status is clean; a second push changes nothing', async (ctx) => {
    const lab = needLab(ctx);
    for (const h of lab.hosts) await lab.reboot(h.name);
    await assertEveryHost(lab, 'after reboot');
    const st = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, 'All 7 hosts match the plan.');
    const again = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, '7 hosts: 7 unchanged');
  });

  s('discover --write records where each host is configured; render offline then writes byte for byte what push wrote', async (ctx) => {
    const lab = needLab(ctx);
    const cfg = path.join(lab.dir, 'routegen.yaml');
    const d = await jumpboxRoutegen(lab, ['discover', '-i', ctx.inventory!, '-c', cfg, '--write']);
    assert.is(d.code, 0, d.stdout + d.stderr);
    const written = fs.readFileSync(cfg, 'utf8');
    assert.match(written, 'networkd-file: 20-wired.network');
    assert.match(written, 'networkd-file: 10-cloud-init-eth1.network');
    assert.match(written, 'netplan-id: lan');
    const out = path.join(lab.dir, 'rendered');
    const rr = localRoutegen(['render', '-i', ctx.inventory!, '-c', cfg, '--out', out]);
    assert.is(rr.code, 0, rr.stdout + rr.stderr);
    for (const h of lab.hosts) {
      const p = PLACE[BASE_OF[h.name]!].path;
      const rendered = fs.readFileSync(path.join(out, h.name, p), 'utf8');
      assert.fixture(rendered, (await lab.readFile(h.name, p))!, `${h.name}: render and push differ`);
    }
    // and render --check agrees with the tree it wrote
    assert.is(localRoutegen(['render', '-i', ctx.inventory!, '-c', cfg, '--out', out, '--check']).code, 0);
  });

  s.run();
}

if (requireLab()) {
  const cut = labSuite('a change that cuts a host off: reported as such, rolled back by the host itself, the others configured', {
    base: () => 'netplan-glob',
  });

  cut('routes under a second netplan definition of eth1 on node-0 (netplan-id: eth1 in routegen.yaml): node-0 cut off and rolled back with the true cause; server and node-1 changed', async (ctx) => {
    const lab = needLab(ctx);
    const first = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', '/dev/null']);
    assert.is(first.code, 0, first.stdout + first.stderr);
    const before = (await lab.readFile('node-0', NETPLAN))!;
    const cfg = path.join(lab.dir, 'cut-off.yaml');
    fs.writeFileSync(cfg, 'hosts:\n  node-0:\n    netplan-id: eth1\n');
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, '-c', cfg, '--metric', '50', '--confirm-timeout', seconds(10)]);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /node-0 \(192\.168\.10\.101\) rolled back at confirm: after applying, node-0 accepted no new SSH connection for \d+ s: the change cut it off until it rolled back by itself after --confirm-timeout \d+ s; its previous file and routes are back/, r.stdout);
    assert.match(r.stdout, 'netplan defines eth1 as ethernets.lan in /etc/netplan/00-installer-config.yaml, but routegen wrote its routes under ethernets.eth1');
    assert.match(r.stdout, 'A longer --confirm-timeout would only keep it cut off longer');
    assert.not.match(r.stdout, 'raise --confirm-timeout');
    assert.match(r.stdout, /server\s+changed/);
    assert.match(r.stdout, /node-1\s+changed/);
    assert.match(r.stdout, '3 hosts: 2 changed, 1 rolled back');
    // node-0: reachable again, its address and previous file and routes back
    assert.is(await lab.readFile('node-0', NETPLAN), before);
    const addr = await lab.exec('node-0', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth1']);
    assert.match(addr.stdout, ' 192.168.10.101/24 ');
    assert.equal(await kernelRoutes(lab, 'node-0'), plannedRoutes(lab, 'node-0'));
    const ssh = await lab.jumpbox(lab.sshArgv('node-0', ['true']), { timeoutMs: bound(30_000) });
    assert.is(ssh.code, 0, ssh.stderr);
    // the others carry the new plan (metric 50)
    for (const h of ['server', 'node-1']) {
      const routes = (await lab.routes(h)).filter((x) => x.gateway);
      assert.ok(routes.length > 0 && routes.every((x) => x.metric === 50), `${h}: ${JSON.stringify(routes)}`);
    }
  });

  cut.run();
}
