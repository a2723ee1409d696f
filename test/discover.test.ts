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

const U1 = '7712437e-dd9b-509e-af31-b21d19513c33';
const U2 = '0a2c4e6f-1b3d-4f5a-8c7e-9d0b1a2c3d4e';

test('an unmanaged link is not networkd; NetworkManager: the active connection by UUID, its keyfile as nmcli prints it', () => {
  const d = interpretDiscovery(
    'iface=eth0\nnetworkd-file=\nnetworkd-state=2 eth0 ether routable unmanaged\nnm-state=100 (connected)\n' +
      `nm-uuid=${U1}\nnm-profile=${U2}:/etc/NetworkManager/system-connections/other.nmconnection\n` +
      `nm-profile=${U1}:/etc/NetworkManager/system-connections/Wired connection 1.nmconnection\n`,
  );
  assert.equal([d.stack, d.interface, d.nmConnection, d.connectionFile], ['networkmanager', 'eth0', U1, '/etc/NetworkManager/system-connections/Wired connection 1.nmconnection']);
  assert.is(d.nmProfiles?.length, 2);
});

test('NetworkManager: a file name with colons, backslashes, quotes, non-ASCII letters, a leading dash or a trailing space is read as it is', () => {
  const d = interpretDiscovery(`iface=eth1\nnm-state=100 (connected)\nnm-uuid=${U1}\nnm-profile=${U1}:/etc/NetworkManager/system-connections/-x\\:"q\\\\\u00fc's .nmconnection\n`);
  assert.is(d.connectionFile, `/etc/NetworkManager/system-connections/-x:"q\\\u00fc's .nmconnection`);
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
