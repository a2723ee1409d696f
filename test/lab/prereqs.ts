/**
 * What the lab needs from this machine (root, Linux, the real programs its hosts run, system
 * users, overlayfs), and what a test does when it is missing: fail in CI, skip loudly elsewhere.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { which } from './processes.js';

/** The daemons the hosts run (rglab starts them; host.env passes these paths to it). */
export const DAEMONS = {
  networkd: '/lib/systemd/systemd-networkd',
  networkManager: '/usr/sbin/NetworkManager',
  sshd: '/usr/sbin/sshd',
} as const;

const REQUIRED_PROGRAMS = [
  'ip', 'unshare', 'nsenter', 'setsid', 'mount', 'hostname', 'ssh', 'sftp', 'dbus-daemon',
  'busctl', 'networkctl', 'netplan', 'ifup', 'ping', DAEMONS.sshd, DAEMONS.networkd, '/lib/netplan/generate',
];

let unavailableCache: string | null | undefined;

/** Why the lab cannot run here (not root, missing program, ...), or null when it can. */
export function labUnavailable(): string | null {
  if (unavailableCache !== undefined) return unavailableCache;
  unavailableCache = (() => {
    if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'needs root (network, mount and PID namespaces)';
    try {
      const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      if (map[0] !== '0' || map[1] !== '0') return 'runs in a user namespace; needs real root';
    } catch {
      return 'cannot read /proc/self/uid_map';
    }
    const missing = REQUIRED_PROGRAMS.filter((p) => !which(p));
    if (missing.length) {
      return `missing programs: ${missing.join(', ')} (apt-get install -y --no-install-recommends openssh-server openssh-client iproute2 dbus systemd netplan.io ifupdown iputils-ping)`;
    }
    for (const user of ['systemd-network', 'messagebus', 'sshd']) {
      if (spawnSync('id', ['-u', user], { stdio: 'ignore' }).status !== 0) return `missing system user ${user}`;
    }
    try {
      const fss = fs.readFileSync('/proc/filesystems', 'utf8');
      if (!/\boverlay\b/.test(fss)) {
        spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
        if (!/\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) return 'kernel has no overlay filesystem';
      }
    } catch {
      return 'cannot read /proc/filesystems';
    }
    return null;
  })();
  return unavailableCache;
}

const NM_PROGRAMS = [DAEMONS.networkManager, 'nmcli', 'nm-online'];

/**
 * Why hosts with the 'networkmanager' stack cannot run here (on top of `labUnavailable`), or null.
 * Only labs with such a host need NetworkManager installed.
 */
export function networkManagerUnavailable(): string | null {
  const missing = NM_PROGRAMS.filter((p) => !which(p));
  return missing.length ? `missing programs: ${missing.join(', ')} (apt-get install -y --no-install-recommends network-manager)` : null;
}

/**
 * For tests: in CI (process.env.CI truthy) a missing prerequisite is an error (throws); outside
 * CI prints a loud "SKIPPED lab tests: <why>" to stderr and returns false. With `networkManager`,
 * NetworkManager (for 'networkmanager' hosts) is a prerequisite too.
 */
export function requireLab(opts: { networkManager?: boolean } = {}): boolean {
  const why = labUnavailable() ?? (opts.networkManager ? networkManagerUnavailable() : null);
  if (!why) return true;
  const what = opts.networkManager ? 'NetworkManager lab tests' : 'lab tests';
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') {
    throw new Error(`${what} cannot run in CI: ${why}`);
  }
  const bar = '!'.repeat(72);
  process.stderr.write(`\n${bar}\n!! SKIPPED ${what}: ${why}\n${bar}\n\n`);
  return false;
}
