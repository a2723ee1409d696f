/** Reading the pod subnet from the guide's CNI and kubelet configs, and comparing sources. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cniSubnets, isCniConfigName, kubeletSubnets, podPathDisagreements } from '../src/podPath.js';
import { ROOT } from './helpers/cli.js';

/** The guide's file with its SUBNET filled in, as the guide's sed does. */
const guide = (name: string, subnet = '10.200.1.0/24') => readFileSync(join(ROOT, 'fixtures/pod-path', name), 'utf8').replaceAll('SUBNET', subnet);

test("the guide's 10-bridge.conf names its subnet (host-local ranges); the loopback config names none", () => {
  assert.equal(cniSubnets('/etc/cni/net.d/10-bridge.conf', guide('10-bridge.conf')), { source: '/etc/cni/net.d/10-bridge.conf', subnets: ['10.200.1.0/24'] });
  assert.equal(cniSubnets('lo', guide('99-loopback.conf')).subnets, []);
});

test("the guide's kubelet-config.yaml names its podCIDR", () => {
  assert.equal(kubeletSubnets('k', guide('kubelet-config.yaml', '10.200.0.0/24')).subnets, ['10.200.0.0/24']);
  assert.equal(kubeletSubnets('k', 'kind: KubeletConfiguration\n').subnets, [], 'no podCIDR: no source');
});

test('a conflist, ipam.subnet, dual-stack ranges, and non-canonical spellings', () => {
  const conflist = JSON.stringify({
    cniVersion: '1.0.0',
    name: 'k8s',
    plugins: [
      { type: 'bridge', ipam: { type: 'host-local', ranges: [[{ subnet: 'fd00:10:200:0001::/64' }], [{ subnet: '10.200.1.0/24' }]] } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  assert.equal(cniSubnets('c', conflist).subnets, ['10.200.1.0/24', 'fd00:10:200:1::/64']);
  assert.equal(cniSubnets('s', '{"type":"bridge","ipam":{"type":"host-local","subnet":"10.200.2.0/24"}}').subnets, ['10.200.2.0/24']);
});

test('a config that is not JSON (or not YAML) is reported as unreadable, not skipped', () => {
  assert.match(cniSubnets('x', '{"type": "bridge",').unreadable ?? '', /^not JSON/);
  assert.match(kubeletSubnets('y', 'podCIDR: [unclosed').unreadable ?? '', /^not YAML/);
  assert.equal(podPathDisagreements('machines.txt', ['10.200.1.0/24'], [cniSubnets('/etc/cni/net.d/x.conf', '[')]), ['/etc/cni/net.d/x.conf: cannot tell its pod subnet: not JSON (Unexpected end of JSON input)']);
});

test('agreement is silent; each disagreeing source says what it says and what the inventory says', () => {
  const agree = [cniSubnets('/etc/cni/net.d/10-bridge.conf', guide('10-bridge.conf')), kubeletSubnets('/var/lib/kubelet/kubelet-config.yaml', guide('kubelet-config.yaml'))];
  assert.equal(podPathDisagreements('machines.txt', ['10.200.1.0/24'], agree), []);
  const typo = cniSubnets('/etc/cni/net.d/10-bridge.conf', guide('10-bridge.conf', '10.200.10.0/24'));
  assert.equal(podPathDisagreements('machines.txt', ['10.200.1.0/24'], [typo, agree[1]!]), ['pod subnet: /etc/cni/net.d/10-bridge.conf says 10.200.10.0/24; machines.txt says 10.200.1.0/24']);
  // the server: no subnet in machines.txt, but a CNI config that gives its pods one
  assert.equal(podPathDisagreements('machines.txt', [], [typo]), ['pod subnet: /etc/cni/net.d/10-bridge.conf says 10.200.10.0/24; machines.txt says no pod subnet']);
  // a dual-stack node is compared as a set, whatever the order
  assert.equal(podPathDisagreements('m', ['fd00:10:200:1::/64', '10.200.1.0/24'], [{ source: 'n', subnets: ['10.200.1.0/24', 'fd00:10:200:1::/64'] }]), []);
});

test('the CNI file names a runtime reads', () => {
  assert.equal(['10-bridge.conf', '99-loopback.conf', '10-k8s.conflist', 'a.json', 'README', '.hidden.conf', 'x.conf.bak'].filter(isCniConfigName), ['10-bridge.conf', '99-loopback.conf', '10-k8s.conflist', 'a.json']);
});

test.run();
