/**
 * Lab bases: a host's network configuration as installers, cloud images and distributions leave
 * it, instead of the lab's own plain one (eth1 defined under its own name in the stack's usual
 * file). A base gives the stack the host runs, its persistent files, and whether eth1 needs a
 * fixed MAC address (for `match: {macaddress: ...}`). `Lab.up({ base })` chooses one per host.
 *
 * Where the layouts come from: netplan's own examples and cloud-init's renderers
 * (cloudinit/net/netplan.py: `ethernets: id0: {match: {macaddress}, set-name}`;
 * networkd.py: `10-cloud-init-<iface>.network`; eni.py: `interfaces.d/50-cloud-init`),
 * Multipass (`default`/`extra0`), Ubuntu desktops (`renderer: NetworkManager`), the Arch wiki's
 * `20-wired.network` (`Name=en* eth*`).
 */
import type { LabStack } from './topology.js';

export type LabBaseName =
  | 'netplan-name'
  | 'netplan-glob'
  | 'netplan-mac'
  | 'netplan-nm'
  | 'networkd-wired'
  | 'networkd-cloud-init'
  | 'ifupdown-cloud-init';

export interface LabFile {
  path: string;
  mode: number;
  content: string;
}

export interface LabBase {
  /** The stack the host runs (what `rglab start-stack` starts). */
  stack: LabStack;
  /** What routegen must find on such a host: the file that defines eth1, for test messages. */
  definedBy: string;
  /** eth1 is created with the host's fixed MAC address (macOf). */
  fixedMac?: boolean;
  /** The host runs NetworkManager (the lab must be able to start it). */
  networkManager?: boolean;
  /** The base persistent configuration (besides /etc/hostname and /etc/hosts). */
  files(h: { ip: string; prefixlen: number }): LabFile[];
}

/** A host's fixed eth1 MAC address, from its IPv4 address: 192.168.10.101 → 02:00:c0:a8:0a:65. */
export function macOf(ip: string): string {
  return ['02', '00', ...ip.split('.').map((n) => Number(n).toString(16).padStart(2, '0'))].join(':');
}

/** NetworkManager for one lab host: eth1 only, never DNS or the hostname (as the lab's NM hosts). */
export const LAB_NM_CONF: LabFile = {
  path: '/etc/NetworkManager/NetworkManager.conf',
  mode: 0o644,
  content:
    '# NetworkManager for one routegen lab host: eth1 only\n' +
    '[main]\nplugins=keyfile\ndns=none\nrc-manager=unmanaged\nhostname-mode=none\nno-auto-default=*\nauth-polkit=false\n\n' +
    '[keyfile]\nunmanaged-devices=except:interface-name:eth1\n\n' +
    '[device-eth1]\nmatch-device=interface-name:eth1\nmanaged=1\n\n' +
    '[connectivity]\nenabled=false\n',
};

/** A netplan file defining eth1 under `id` with `match` (YAML lines at 6 spaces). */
function netplanFile(path: string, renderer: string, id: string, match: string, addr: string): LabFile {
  return {
    path,
    mode: 0o600,
    content:
      `network:\n  version: 2\n  renderer: ${renderer}\n  ethernets:\n    ${id}:\n${match}` +
      `      addresses:\n        - ${addr}\n      link-local: []\n      accept-ra: false\n`,
  };
}

export const LAB_BASES: Record<LabBaseName, LabBase> = {
  'netplan-name': {
    stack: 'netplan',
    definedBy: 'ethernets.uplink (match: name: eth1) in /etc/netplan/50-cloud-init.yaml',
    files: (h) => [netplanFile('/etc/netplan/50-cloud-init.yaml', 'networkd', 'uplink', '      match:\n        name: eth1\n', `${h.ip}/${h.prefixlen}`)],
  },
  'netplan-glob': {
    stack: 'netplan',
    definedBy: 'ethernets.lan (match: name: "eth*") in /etc/netplan/00-installer-config.yaml',
    files: (h) => [netplanFile('/etc/netplan/00-installer-config.yaml', 'networkd', 'lan', '      match:\n        name: "eth*"\n', `${h.ip}/${h.prefixlen}`)],
  },
  // Rendered to NetworkManager: for `match: macaddress` networkd matches PermanentMACAddress=,
  // and a veth has no permanent address (only real NICs do), so networkd would never take eth1
  // in the lab. NetworkManager falls back to the current address. (The networkd rendering of the
  // same file is checked with the real `netplan generate` in test/netplan.test.ts.)
  'netplan-mac': {
    stack: 'netplan',
    definedBy: 'ethernets.id0 (match: macaddress, set-name: eth1) in /etc/netplan/50-cloud-init.yaml',
    fixedMac: true,
    networkManager: true,
    files: (h) => [
      LAB_NM_CONF,
      netplanFile('/etc/netplan/50-cloud-init.yaml', 'NetworkManager', 'id0', `      match:\n        macaddress: "${macOf(h.ip)}"\n      set-name: eth1\n`, `${h.ip}/${h.prefixlen}`),
    ],
  },
  'netplan-nm': {
    stack: 'netplan',
    definedBy: 'ethernets.uplink in /etc/netplan/01-network-manager-all.yaml, rendered to NetworkManager',
    networkManager: true,
    files: (h) => [
      LAB_NM_CONF,
      netplanFile('/etc/netplan/01-network-manager-all.yaml', 'NetworkManager', 'uplink', '      match:\n        name: eth1\n', `${h.ip}/${h.prefixlen}`),
    ],
  },
  'networkd-wired': {
    stack: 'networkd',
    definedBy: '/etc/systemd/network/20-wired.network (Name=en* eth*)',
    files: (h) => [
      {
        path: '/etc/systemd/network/20-wired.network',
        mode: 0o644,
        content: `[Match]\nName=en* eth*\n\n[Network]\nAddress=${h.ip}/${h.prefixlen}\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n`,
      },
    ],
  },
  'networkd-cloud-init': {
    stack: 'networkd',
    definedBy: '/etc/systemd/network/10-cloud-init-eth1.network',
    fixedMac: true,
    // (cloud-init's networkd renderer: sections in sorted order, the MAC and the name)
    files: (h) => [
      {
        path: '/etc/systemd/network/10-cloud-init-eth1.network',
        mode: 0o644,
        content: `[Address]\nAddress=${h.ip}/${h.prefixlen}\n\n[Match]\nMACAddress=${macOf(h.ip)}\nName=eth1\n\n[Network]\nDHCP=no\nIPv6AcceptRA=no\nLinkLocalAddressing=no\n`,
      },
    ],
  },
  'ifupdown-cloud-init': {
    stack: 'ifupdown',
    definedBy: '/etc/network/interfaces.d/50-cloud-init',
    files: (h) => [
      { path: '/etc/network/interfaces', mode: 0o644, content: '# ifupdown: the interfaces come from cloud-init\nsource /etc/network/interfaces.d/*\n' },
      {
        path: '/etc/network/interfaces.d/50-cloud-init',
        mode: 0o644,
        content:
          '# This file is generated from information provided by the datasource.  Changes\n' +
          '# to it will not persist across an instance reboot.  To disable cloud-init\'s\n' +
          '# network configuration capabilities, write a file\n' +
          '# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:\n' +
          '# network: {config: disabled}\n' +
          `auto lo\niface lo inet loopback\n\nauto eth1\niface eth1 inet static\n    address ${h.ip}/${h.prefixlen}\n`,
      },
    ],
  },
};

export const LAB_BASE_NAMES = Object.keys(LAB_BASES) as LabBaseName[];
