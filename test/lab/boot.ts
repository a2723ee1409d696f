/**
 * Bring-up: the lab dir (keys, the hosts' scripts from host/, each host's dir with its env, sshd
 * config and base persistent files in its /etc overlay), then every host booted at once — its
 * init (host/init.sh) as PID 1 of its own mount, UTS and PID namespaces inside its network
 * namespace — and waited for until it says READY on its ready pipe.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { bound } from '../helpers/time.js';
import { createNamespacesAndLinks, wireSwitchAndJumpbox } from './namespaces.js';
import { DAEMONS } from './prereqs.js';
import { cleanEnv, onlyChild, procStart, recordUnsharePid } from './processes.js';
import { knownHosts, sshClientConfig, sshdConfig, writeKeyPair } from './sshd.js';
import { persistentFiles } from './stacks.js';
import { etcHostsEntries, hostsHeader, machinesTxt, PREFIXLEN, PREFIXLEN6, type HostState, type LabOptions, type LabState } from './topology.js';

/** The scripts that run inside the hosts (copied into the lab dir at bring-up). */
const HOST_SCRIPTS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'host');

/** The files of a lab dir that its users (ssh, routegen, `Lab.attach`) are pointed at. */
export function labPaths(dir: string) {
  return {
    identityFile: path.join(dir, 'id_ed25519'),
    knownHostsFile: path.join(dir, 'known_hosts'),
    sshConfigFile: path.join(dir, 'ssh_config'),
    stateFile: path.join(dir, 'state.json'),
    jumpboxHosts: path.join(dir, 'jumpbox-hosts'),
  };
}

export function hostDir(dir: string, h: { name: string }): string {
  return path.join(dir, 'hosts', h.name);
}

/**
 * Make the lab's namespaces, links and files and boot every host; resolves once all are ready
 * (their PIDs are in `state`), rejects naming each host that is not. `saveState` is called once
 * the hosts are started, ready or not, so that tear-down finds them.
 */
export async function bringUp(state: LabState, opts: { hook: LabOptions['baseFiles']; readyTimeoutMs: number; saveState: () => void }): Promise<void> {
  const { dir, hosts } = state;
  const files = labPaths(dir);
  await Promise.all([
    createNamespacesAndLinks(state),
    writeKeyPair(files.identityFile, `routegen-lab-${state.prefix}`),
    writeLabFiles(dir),
    ...hosts.map((h) =>
      prepareHostDir(state, h, opts.hook).then(() => writeKeyPair(path.join(hostDir(dir, h), 'ssh_host_ed25519_key'), `${h.name}.kubernetes.local`)),
    ),
  ]);
  const identityPub = await fsp.readFile(`${files.identityFile}.pub`, 'utf8');
  await Promise.all(hosts.map((h) => fsp.writeFile(path.join(hostDir(dir, h), 'authorized_keys'), identityPub, { mode: 0o600 })));

  const results = await Promise.allSettled([...wireSwitchAndJumpbox(state), ...hosts.map((h) => bootHost(state, h, opts.readyTimeoutMs))]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  opts.saveState();
  if (failed.length) {
    throw new Error(`lab bring-up failed:\n${failed.map((f) => String(f.reason instanceof Error ? f.reason.message : f.reason)).join('\n')}`);
  }

  const keys = await Promise.all(hosts.map((h) => fsp.readFile(path.join(hostDir(dir, h), 'ssh_host_ed25519_key.pub'), 'utf8')));
  await fsp.writeFile(files.knownHostsFile, knownHosts(hosts, keys));
  await fsp.writeFile(path.join(dir, 'machines.txt'), machinesTxt(hosts));
  await fsp.writeFile(files.jumpboxHosts, `${hostsHeader('jumpbox')}${etcHostsEntries(hosts)}`);
  opts.saveState();
}

/** The hosts' scripts (init.sh; rglab and the systemctl and udevadm stand-ins in bin/) and the jumpbox's ssh_config. */
async function writeLabFiles(dir: string): Promise<void> {
  const bin = path.join(dir, 'bin');
  await fsp.mkdir(bin, { recursive: true });
  const script = async (name: string, to: string) => {
    await fsp.copyFile(path.join(HOST_SCRIPTS, name), to);
    await fsp.chmod(to, 0o755);
  };
  const files = labPaths(dir);
  await Promise.all([
    script('init.sh', path.join(dir, 'init.sh')),
    script('rglab.sh', path.join(bin, 'rglab')),
    script('systemctl.sh', path.join(bin, 'systemctl')),
    script('udevadm.sh', path.join(bin, 'udevadm')),
    fsp.writeFile(files.sshConfigFile, sshClientConfig(files.identityFile, files.knownHostsFile)),
  ]);
}

/** The host's dir: overlay dirs, host.env (what init.sh and rglab read), sshd_config, and its /etc files. */
async function prepareHostDir(state: LabState, h: HostState, hook: LabOptions['baseFiles']): Promise<void> {
  const hd = hostDir(state.dir, h);
  await Promise.all(['etc.upper', 'etc.work', 'var.upper', 'var.work'].map((d) => fsp.mkdir(path.join(hd, d), { recursive: true })));
  const env = {
    LAB_NAME: h.name,
    LAB_IP: h.ip,
    LAB_PREFIXLEN: String(PREFIXLEN),
    LAB_STACK: h.stack,
    LAB_CNI_ADDR: h.podIp ? `${h.podIp.replace(/\.2$/, '.1')}/24` : '',
    LAB_POD_NETNS: h.podNetns ?? '',
    LAB_POD_ADDR: h.podIp ? `${h.podIp}/24` : '',
    LAB_POD_GW: h.podIp ? h.podIp.replace(/\.2$/, '.1') : '',
    // Dual stack (empty otherwise)
    LAB_IP6: h.ip6 ?? '',
    LAB_PREFIXLEN6: String(PREFIXLEN6),
    LAB_CNI_ADDR6: h.podIp6 ? `${h.podIp6.replace(/::2$/, '::1')}/${PREFIXLEN6}` : '',
    LAB_POD_ADDR6: h.podIp6 ? `${h.podIp6}/${PREFIXLEN6}` : '',
    LAB_POD_GW6: h.podIp6 ? h.podIp6.replace(/::2$/, '::1') : '',
    // The daemons rglab starts
    LAB_NETWORKD: DAEMONS.networkd,
    LAB_NETWORKMANAGER: DAEMONS.networkManager,
    LAB_SSHD: DAEMONS.sshd,
    // A bound, not a wait: 51 hosts starting at once on a cold, busy machine need more than 10 s.
    RGLAB_TIMEOUT: String(Math.ceil(bound(60_000) / 1000)),
  };
  const etcFiles = [
    ...persistentFiles(h, { ifupdownSourceLast: state.ifupdownSourceLast, hook }),
    { path: '/etc/hosts', mode: 0o644, content: `${hostsHeader(`${h.name}.kubernetes.local ${h.name}`)}${etcHostsEntries(state.hosts)}` },
  ];
  await Promise.all([
    fsp.writeFile(path.join(hd, 'host.env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('')),
    fsp.writeFile(path.join(hd, 'sshd_config'), sshdConfig(h.ip)),
    // The base persistent configuration, straight into the host's overlay upper dir.
    ...etcFiles.map(async (f) => {
      const p = path.join(hd, 'etc.upper', f.path.replace(/^\/etc\//, ''));
      await fsp.mkdir(path.dirname(p), { recursive: true });
      await fsp.writeFile(p, f.content, { mode: f.mode });
      await fsp.chmod(p, f.mode);
    }),
  ]);
}

/**
 * Start the host's init and wait for READY on its ready pipe; fills in its PIDs. Rejects with
 * the tail of its init.log when it exits first or is not ready within `timeoutMs`.
 */
function bootHost(state: LabState, h: HostState, timeoutMs: number): Promise<void> {
  const hd = hostDir(state.dir, h);
  const log = fs.openSync(path.join(hd, 'init.log'), 'a');
  let child: ChildProcess;
  try {
    const spawnOpts: SpawnOptions = {
      cwd: '/',
      detached: true, // own session: a ^C in the terminal reaches us, not the hosts
      env: cleanEnv({ LAB_DIR: state.dir, LAB_HOSTDIR: hd, LAB_NAME: h.name, LAB_PERSIST: state.persist ? '1' : '0' }),
      // fd 0: lifeline (EOF when this process dies, whatever way), fd 3: the ready pipe
      stdio: [state.persist ? 'ignore' : 'pipe', log, log, 'pipe'],
    };
    child = spawn(
      'ip',
      ['netns', 'exec', h.netns, 'unshare', '--mount', '--uts', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--kill-child', '--', '/bin/sh', path.join(state.dir, 'init.sh')],
      spawnOpts,
    );
  } finally {
    fs.closeSync(log);
  }
  h.unsharePid = child.pid ?? 0;
  if (child.pid) recordUnsharePid(state.dir, child.pid);
  h.unshareStart = child.pid ? (procStart(child.pid) ?? '') : '';
  child.unref();
  if (child.stdin) (child.stdin as unknown as { unref?: () => void }).unref?.();
  const ready = child.stdio[3] as Readable;

  return new Promise<void>((resolve, reject) => {
    let buf = '';
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ready.destroy();
      let tail = '';
      try {
        tail = fs.readFileSync(path.join(hd, 'init.log'), 'utf8').split('\n').slice(-25).join('\n');
      } catch {
        /* none */
      }
      reject(new Error(`${h.name}: ${why}\n--- ${path.join(hd, 'init.log')} (tail) ---\n${tail}`));
    };
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    child.on('error', (e) => fail(`cannot start: ${e.message}`));
    child.on('exit', (code, signal) => fail(`init exited (${signal ?? code}) before it was ready`));
    ready.on('data', (b: Buffer) => {
      buf += b.toString();
      if (!buf.includes('READY') || settled) return;
      settled = true;
      clearTimeout(timer);
      ready.destroy();
      child.removeAllListeners('exit');
      h.pid = onlyChild(child.pid!);
      h.pidStart = procStart(h.pid) ?? '';
      if (!h.pid || !h.pidStart) {
        reject(new Error(`${h.name}: init is ready but its PID could not be read`));
        return;
      }
      resolve();
    });
    ready.on('error', () => undefined);
  });
}
