/**
 * What the push lab tests share: the guide's routes per host, how a host's routes are judged (the
 * kernel's table, a pod-to-pod ping), and routegen run from the jumpbox.
 */
import * as assert from 'uvu/assert';
import type { Lab, LabRoute } from './lab.js';
import { jumpboxRoutegen } from './suite.js';

export const DROPIN = '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';
export const NETPLAN = '/etc/netplan/60-routegen-pod-routes.yaml';
export const GUIDE_ROUTES: Record<string, string[]> = {
  server: ['10.200.0.0/24 via 192.168.10.101 dev eth1', '10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-0': ['10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-1': ['10.200.0.0/24 via 192.168.10.101 dev eth1'],
};

/** routegen, run from the jumpbox as a user would, with the lab's ssh config. */
export const routegen = (lab: Lab, args: string[], opts: { sshConfig?: string } = {}) => jumpboxRoutegen(lab, args, opts);

/** The routes via a gateway (the ones routegen is about), as "dst via gw dev if". */
export async function gatewayRoutes(lab: Lab, host: string): Promise<string[]> {
  const routes: LabRoute[] = await lab.routes(host);
  return routes
    .filter((r) => r.gateway)
    .map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`)
    .sort();
}

export async function assertGuideRoutes(lab: Lab, what: string) {
  for (const [host, expected] of Object.entries(GUIDE_ROUTES)) {
    assert.equal(await gatewayRoutes(lab, host), expected, `${host} ${what}`);
  }
}

export async function assertPodsTalk(lab: Lab) {
  assert.ok(await lab.ping('node-0', '10.200.1.2'), 'pod on node-0 reaches the pod on node-1');
  assert.ok(await lab.ping('node-1', '10.200.0.2'), 'pod on node-1 reaches the pod on node-0');
}

export const STACK = ['--stack', 'networkd', '--interface', 'eth1'];
