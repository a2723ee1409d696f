/**
 * status checks the whole pod path on real hosts: each worker's CNI bridge config and kubelet
 * config (the guide's own files) and, with --cluster, the Node objects' podCIDRs — against
 * machines.txt. One worker's bridge config and one Node's podCIDRs disagree: exactly those two
 * are reported, and status exits 1.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers/cli.js';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const STACK = ['--stack', 'networkd', '--interface', 'eth1'];
const guide = (name: string, subnet: string) => fs.readFileSync(path.join(ROOT, 'fixtures/pod-path', name), 'utf8').replaceAll('SUBNET', subnet);

/** Puts the guide's CNI and kubelet configs on every worker; the bridge config names `bridgeSubnet(worker)`. */
async function installPodConfigs(lab: Lab, bridgeSubnet: (h: { name: string; podSubnet?: string }) => string): Promise<void> {
  for (const h of lab.hosts.filter((x) => x.podSubnet)) {
    await lab.writeFile(h.name, '/etc/cni/net.d/10-bridge.conf', guide('10-bridge.conf', bridgeSubnet(h)));
    await lab.writeFile(h.name, '/etc/cni/net.d/99-loopback.conf', guide('99-loopback.conf', ''));
    await lab.writeFile(h.name, '/var/lib/kubelet/kubelet-config.yaml', guide('kubelet-config.yaml', h.podSubnet!));
  }
}

/** `kubectl get nodes -o json` for the lab's machines, the pod subnets taken from `subnetOf`. */
function nodesJson(lab: Lab, subnetOf: (h: { name: string; podSubnet?: string }) => string | undefined): string {
  const items = lab.hosts.map((h) => {
    const cidr = subnetOf(h);
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: h.name, labels: { 'kubernetes.io/hostname': h.name } },
      spec: cidr ? { podCIDR: cidr, podCIDRs: [cidr] } : {},
      status: { addresses: [{ type: 'InternalIP', address: h.ip }, { type: 'Hostname', address: h.name }] },
    };
  });
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items, metadata: { resourceVersion: '' } }, null, 4);
}

interface StatusJson {
  ok: boolean;
  hosts: Array<{ host: string; ok: boolean; drift: string[]; podSubnetSources?: Array<{ source: string; subnets: string[] }> }>;
}

if (requireLab()) {
  const s = labSuite('status: the whole pod path (CNI, kubelet, Node objects) against machines.txt', { stack: 'networkd', workers: 2 });

  s('routes pushed and every config agreeing: status is clean and names what it read', async (ctx) => {
    const lab = needLab(ctx);
    const push = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK]);
    assert.is(push.code, 0, push.stdout + push.stderr);
    await installPodConfigs(lab, (h) => h.podSubnet!);
    const nodes = path.join(lab.dir, 'nodes-agree.json');
    fs.writeFileSync(nodes, nodesJson(lab, (h) => h.podSubnet));
    const r = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, ...STACK, '--cluster', nodes, '--json']);
    assert.is(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as StatusJson;
    const node1 = out.hosts.find((h) => h.host === 'node-1')!;
    assert.equal(
      node1.podSubnetSources?.map((x) => `${x.source}: ${x.subnets.join(',')}`),
      ['/etc/cni/net.d/10-bridge.conf: 10.200.1.0/24', '/etc/cni/net.d/99-loopback.conf: ', '/var/lib/kubelet/kubelet-config.yaml: 10.200.1.0/24', `${nodes} (Node node-1, spec.podCIDRs): 10.200.1.0/24`],
    );
    // the server has no CNI or kubelet config: not an error
    assert.ok(out.hosts.find((h) => h.host === 'server')!.ok);
  });

  s("a worker whose bridge config names another subnet, and a Node whose podCIDRs differ: both reported, nothing else, exit 1", async (ctx) => {
    const lab = needLab(ctx);
    await installPodConfigs(lab, (h) => (h.name === 'node-1' ? '10.200.11.0/24' : h.podSubnet!));
    const nodes = path.join(lab.dir, 'nodes-differ.json');
    fs.writeFileSync(nodes, nodesJson(lab, (h) => (h.name === 'node-0' ? '10.200.7.0/24' : h.podSubnet)));
    const r = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, ...STACK, '--cluster', nodes]);
    assert.is(r.code, 1, r.stdout + r.stderr);
    const drift = r.stdout.split('\n').filter((l) => /^(server|node-\d): /.test(l));
    assert.equal(drift, [
      `node-0: pod subnet: ${nodes} (Node node-0, spec.podCIDRs) says 10.200.7.0/24; machines.txt says 10.200.0.0/24`,
      'node-1: pod subnet: /etc/cni/net.d/10-bridge.conf says 10.200.11.0/24; machines.txt says 10.200.1.0/24',
    ]);
    assert.match(r.stdout, /push cannot settle these/);
    assert.match(r.stdout, /3 hosts: 1 in sync, 2 drifted/);
  });

  s.run();
}
