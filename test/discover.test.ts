/** How discovery reads a host's facts (the script's output), stack by stack. The script itself
 * runs against real hosts in test/lab/push.test.ts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { interpretDiscovery } from '../src/push/discover.js';

test('networkd: the .network file networkctl names', () => {
  const d = interpretDiscovery('iface=eth1\nnetworkd-file=/etc/systemd/network/10-eth1.network\nnetworkd-state=3 eth1 ether routable configured\n');
  assert.equal([d.stack, d.interface, d.networkdFile], ['networkd', 'eth1', '10-eth1.network']);
});

test("netplan: networkd runs netplan's generated file", () => {
  const d = interpretDiscovery('iface=ens3\nnetworkd-file=/run/systemd/network/10-netplan-ens3.network\nnetworkd-state=2 ens3 ether routable configured\n');
  assert.equal([d.stack, d.interface, d.networkdFile], ['netplan', 'ens3', undefined]);
});

test('netplan: the section that defines the interface (a bond is not an ethernet)', () => {
  const out = [
    'iface=bond0',
    'networkd-file=/run/systemd/network/10-netplan-bond0.network',
    'networkd-state=4 bond0 bond routable configured',
    '@@netplan-file /etc/netplan/00-installer-config.yaml',
    'network:\n  version: 2\n  ethernets:\n    eth1: {}\n    eth2: {}\n  bonds:\n    bond0:\n      interfaces: [eth1, eth2]\n      addresses: [192.0.2.10/24]',
    '@@netplan-file /etc/netplan/60-routegen-pod-routes.yaml',
    'network:\n  version: 2\n  bonds:\n    bond0:\n      routes: []',
  ].join('\n');
  const d = interpretDiscovery(out);
  assert.equal([d.stack, d.interface, d.netplanSection], ['netplan', 'bond0', 'bonds']);
  // a plain ethernet, and a file that is not YAML
  const e = interpretDiscovery('iface=eth1\nnetworkd-file=/run/systemd/network/10-netplan-eth1.network\nnetworkd-state=2 eth1 ether routable configured\n@@netplan-file /etc/netplan/x.yaml\n: : [\n@@netplan-file /etc/netplan/50.yaml\nnetwork:\n  ethernets:\n    eth1:\n      dhcp4: true\n');
  assert.is(e.netplanSection, 'ethernets');
});

test('an unmanaged link is not networkd; NetworkManager with its keyfile', () => {
  const d = interpretDiscovery(
    'iface=eth0\nnetworkd-file=\nnetworkd-state=2 eth0 ether routable unmanaged\nnm-state=100 (connected)\nnm-file=/etc/NetworkManager/system-connections/eth0.nmconnection\n',
  );
  assert.equal([d.stack, d.interface, d.connectionFile], ['networkmanager', 'eth0', '/etc/NetworkManager/system-connections/eth0.nmconnection']);
});

test('ifupdown: by its state file, or by a stanza (routegen\'s own file does not count)', () => {
  assert.is(interpretDiscovery('iface=eth1\nifupdown-files=\nifupdown-up=yes\n').stack, 'ifupdown');
  assert.is(interpretDiscovery('iface=eth1\nifupdown-files=/etc/network/interfaces \n').stack, 'ifupdown');
  assert.is(interpretDiscovery('iface=eth1\nifupdown-files=\n').stack, undefined);
});

test('nothing holds the address, or an interface name routegen would not pass on', () => {
  assert.equal(interpretDiscovery('iface=\n'), { evidence: 'no interface holds the machine address' });
  const bad = interpretDiscovery('iface=eth1;reboot\nnetworkd-file=/etc/systemd/network/10-eth1.network\n');
  assert.is(bad.stack, undefined);
  assert.is(bad.interface, undefined);
  assert.match(bad.evidence, 'not one routegen accepts');
});

test.run();
