/**
 * Each stack's base persistent configuration: the files a host boots from (networkd's
 * 10-eth1.network, netplan's 50-lab.yaml, ifupdown's interfaces, NetworkManager's keyfile), as
 * the lab's plain layout, a base from bases.ts, or what a test's `baseFiles` hook makes of them.
 * The services themselves are started, stopped and waited for inside the host by rglab
 * (host/rglab.sh).
 */
import { createHash } from 'node:crypto';
import { LAB_BASES } from './bases.js';
import { PREFIXLEN, PREFIXLEN6, type HostState, type LabFile, type LabOptions, type LabStack } from './topology.js';

/** Where a NetworkManager host keeps eth1's connection (its base persistent config). */
export const NM_ETH1_KEYFILE = '/etc/NetworkManager/system-connections/eth1.nmconnection';

/** The host's base persistent files (/etc/hosts aside): its base's, the hook's, or the lab's plain ones. */
export function persistentFiles(h: HostState, opts: { ifupdownSourceLast: boolean; hook: LabOptions['baseFiles'] }): LabFile[] {
  if (h.base) return [{ path: '/etc/hostname', mode: 0o644, content: `${h.name}\n` }, ...LAB_BASES[h.base].files({ ip: h.ip, prefixlen: PREFIXLEN })];
  const plain = baseFiles(h, opts.ifupdownSourceLast);
  return opts.hook ? opts.hook(h, plain) : plain;
}

/** The lab's plain layout: eth1 under its own name in the stack's usual file. */
function baseFiles(host: { name: string; ip: string; ip6?: string; stack: LabStack }, sourceLast: boolean): LabFile[] {
  const addr = `${host.ip}/${PREFIXLEN}`;
  // Dual stack: eth1 also needs a link-local address (IPv6 forwarding does not work without).
  const addr6 = host.ip6 ? `${host.ip6}/${PREFIXLEN6}` : undefined;
  const files: LabFile[] = [
    { path: '/etc/hostname', mode: 0o644, content: `${host.name}\n` },
  ];
  switch (host.stack) {
    case 'networkd':
      files.push({
        path: '/etc/systemd/network/10-eth1.network',
        mode: 0o644,
        content:
          `[Match]\nName=eth1\n\n[Network]\nAddress=${addr}\n` +
          (addr6
            ? `Address=${addr6}\nIPv6AcceptRA=no\nLinkLocalAddressing=ipv6\nIPv6DuplicateAddressDetection=0\n`
            : 'IPv6AcceptRA=no\nLinkLocalAddressing=no\n'),
      });
      break;
    case 'netplan':
      // (netplan has no setting for duplicate address detection: the host's accept_dad=0 does it)
      files.push({
        path: '/etc/netplan/50-lab.yaml',
        mode: 0o600,
        content:
          'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth1:\n' +
          `      addresses:\n        - ${addr}\n` +
          (addr6 ? `        - "${addr6}"\n      link-local: [ ipv6 ]\n` : '      link-local: []\n') +
          '      accept-ra: false\n',
      });
      break;
    case 'ifupdown': {
      // Debian's installer layout reads interfaces.d before the primary interface.
      const source = 'source-directory /etc/network/interfaces.d\n';
      files.push({
        path: '/etc/network/interfaces',
        mode: 0o644,
        content:
          '# interfaces(5) file used by ifup(8) and ifdown(8)\n' +
          (sourceLast ? '' : `${source}\n`) +
          'auto lo\niface lo inet loopback\n\n' +
          `auto eth1\niface eth1 inet static\n    address ${addr}\n` +
          // dad-attempts 0: `ip -6 addr add ... nodad`, and no wait for DAD to settle
          (addr6 ? `\niface eth1 inet6 static\n    address ${addr6}\n    accept_ra 0\n    autoconf 0\n    dad-attempts 0\n` : '') +
          (sourceLast ? `\n${source}` : ''),
      });
      break;
    }
    case 'networkmanager':
      // The machine's own NetworkManager.conf (plugins=ifupdown,keyfile) is replaced in the host.
      // NM leaves alone every link but eth1 (lo, cni0, vpod), DNS and the hostname.
      files.push({
        path: '/etc/NetworkManager/NetworkManager.conf',
        mode: 0o644,
        content:
          '# NetworkManager for one routegen lab host: eth1 only, from keyfiles\n' +
          '[main]\nplugins=keyfile\ndns=none\nrc-manager=unmanaged\nhostname-mode=none\nno-auto-default=*\nauth-polkit=false\n\n' +
          '[keyfile]\nunmanaged-devices=except:interface-name:eth1\n\n' +
          '[device-eth1]\nmatch-device=interface-name:eth1\nmanaged=1\n\n' +
          '[connectivity]\nenabled=false\n',
      });
      // NM ignores a keyfile that is not 0600 and owned by root.
      files.push({
        path: NM_ETH1_KEYFILE,
        mode: 0o600,
        content:
          `[connection]\nid=eth1\nuuid=${labUuid(`${host.name}/eth1`)}\ntype=ethernet\ninterface-name=eth1\n\n[ethernet]\n\n` +
          `[ipv4]\nmethod=manual\naddress1=${addr}\n\n` +
          // (eui64: a link-local address that does not depend on /var/lib/NetworkManager/secret_key)
          (addr6
            ? `[ipv6]\nmethod=manual\naddress1=${addr6}\naddr-gen-mode=eui64\nignore-auto-dns=true\nignore-auto-routes=true\n`
            : '[ipv6]\nmethod=disabled\n'),
      });
      break;
  }
  return files;
}

/** A UUID that depends only on `name` (so a host's connection keeps its UUID from run to run). */
function labUuid(name: string): string {
  const h = createHash('sha256').update(`routegen-lab:${name}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
