/**
 * A bastion for a lab (test/lab/lab.ts): the only way from the jumpbox to the node network.
 *
 *   jumpbox eth2 192.168.20.10 ── 192.168.20.1 eth2 [bastion] eth1 192.168.10.5 ── br0 (nodes)
 *
 * The jumpbox's own link into the node network is taken down, and the bastion does not route
 * (no ip_forward): routegen on the jumpbox reaches a node only through an SSH channel on the
 * bastion's real OpenSSH server, which allows TCP forwarding and logs every login to a file.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { waitFor } from '../helpers/time.js';
import { ed25519Key, type Lab } from './lab.js';

export const BASTION_IP = '192.168.20.1';
const BASTION_NODE_IP = '192.168.10.5';
const JUMPBOX_OUTSIDE_IP = '192.168.20.10';

export interface Bastion {
  /** Address the jumpbox reaches the bastion at. */
  ip: string;
  netns: string;
  /** The bastion sshd's log (LogLevel VERBOSE). */
  logFile: string;
  /** Successful logins to the bastion so far, from its sshd's log. */
  logins(): number;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args);
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} exited ${r.status}: ${r.stderr.toString().trim()}`);
}

/**
 * Adds the bastion to a running lab: its namespace and links, its sshd (root by the lab key,
 * forwarding allowed), its host key in the lab's known_hosts (as `192.168.20.1` and `bastion`),
 * and cuts the jumpbox off from the node network. Resolves once sshd listens.
 */
export async function addBastion(lab: Lab, timeoutMs = 20_000): Promise<Bastion> {
  const netns = `${lab.prefix}-bastion`;
  if (fs.existsSync(path.join('/run/netns', netns))) throw new Error(`network namespace ${netns} already exists`);
  ip(['netns', 'add', netns]);
  lab.addNamespace(netns);
  ip(['link', 'add', 'eth1', 'netns', netns, 'type', 'veth', 'peer', 'name', 'p-bastion', 'netns', lab.switchNetns]);
  ip(['-n', lab.switchNetns, 'link', 'set', 'p-bastion', 'master', 'br0', 'up']);
  ip(['link', 'add', 'eth2', 'netns', netns, 'type', 'veth', 'peer', 'name', 'eth2', 'netns', lab.jumpboxNetns]);
  for (const cmd of [['link', 'set', 'lo', 'up'], ['addr', 'add', `${BASTION_NODE_IP}/24`, 'brd', '+', 'dev', 'eth1'], ['link', 'set', 'eth1', 'up'], ['addr', 'add', `${BASTION_IP}/24`, 'brd', '+', 'dev', 'eth2'], ['link', 'set', 'eth2', 'up']]) {
    ip(['-n', netns, ...cmd]);
  }
  ip(['-n', lab.jumpboxNetns, 'addr', 'add', `${JUMPBOX_OUTSIDE_IP}/24`, 'brd', '+', 'dev', 'eth2']);
  ip(['-n', lab.jumpboxNetns, 'link', 'set', 'eth2', 'up']);
  // From now on the jumpbox has no route to 192.168.10.0/24.
  ip(['-n', lab.jumpboxNetns, 'link', 'set', 'eth1', 'down']);

  const dir = path.join(lab.dir, 'bastion');
  fs.mkdirSync(dir, { recursive: true });
  const hostKey = ed25519Key('bastion');
  fs.writeFileSync(path.join(dir, 'ssh_host_ed25519_key'), hostKey.privateKey, { mode: 0o600 });
  fs.copyFileSync(`${lab.identityFile}.pub`, path.join(dir, 'authorized_keys'));
  const logFile = path.join(dir, 'sshd.log');
  fs.writeFileSync(logFile, '');
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `ListenAddress ${BASTION_IP}:22`,
      `HostKey ${path.join(dir, 'ssh_host_ed25519_key')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      'PermitRootLogin prohibit-password',
      'AuthenticationMethods publickey',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'AllowTcpForwarding yes',
      // The OpenSSH loop of the benchmark logs in once per host, many at once.
      'MaxStartups 200:30:400',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  if (!fs.existsSync('/run/sshd')) fs.mkdirSync('/run/sshd', { mode: 0o755 });
  // Its own PID namespace: killing it (the lab kills what it tracks) ends every session too.
  const child = spawn('ip', ['netns', 'exec', netns, 'unshare', '--pid', '--fork', '--kill-child', '--', '/usr/sbin/sshd', '-D', '-f', config, '-E', logFile], { stdio: 'ignore' });
  lab.track(child);
  await waitFor('the bastion sshd to listen', () => {
    if (child.exitCode !== null) throw new Error(`bastion sshd exited: ${fs.readFileSync(logFile, 'utf8')}`);
    return fs.readFileSync(logFile, 'utf8').includes('Server listening on');
  }, timeoutMs);
  const pub = hostKey.publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
  fs.appendFileSync(lab.knownHostsFile, `${BASTION_IP} ${pub}\nbastion ${pub}\n`);
  return {
    ip: BASTION_IP,
    netns,
    logFile,
    logins: () => (fs.readFileSync(logFile, 'utf8').match(/Accepted publickey/g) ?? []).length,
  };
}

/**
 * The lab's ssh config with `Host bastion` added and `lines` for every node (Host 192.168.10.*
 * and the nodes' names), written next to it; for ProxyJump / ProxyCommand in the config.
 */
export function bastionSshConfig(lab: Lab, name: string, lines: string[]): string {
  const file = path.join(lab.dir, name);
  fs.writeFileSync(
    file,
    [
      'Host bastion',
      `  HostName ${BASTION_IP}`,
      'Host 192.168.10.* server node-* *.kubernetes.local',
      ...lines.map((l) => `  ${l}`),
      '',
      fs.readFileSync(lab.sshConfigFile, 'utf8'),
    ].join('\n'),
  );
  return file;
}
