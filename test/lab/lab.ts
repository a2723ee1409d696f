/**
 * The namespace lab: a jumpbox, a `server` and N workers as network namespaces on one machine,
 * each host running the real stack its users run (sshd, systemd-networkd + networkctl, netplan,
 * ifupdown, NetworkManager + nmcli, the kernel's routing table). See /work/shared/docs/test-lab.md for the recipe.
 * This file is the lab's face: `Lab` (up, attach, what a test does with a running lab, down)
 * and everything the tests import. The parts, one job each:
 *
 *   topology.ts    which hosts, addresses, namespace names; the state file
 *   namespaces.ts  namespaces, veth links, the switch and the jumpbox; routes and pings
 *   stacks.ts      each stack's base persistent files
 *   sshd.ts        keys, sshd_config, the jumpbox's ssh_config and known_hosts
 *   boot.ts        the lab dir and booting every host
 *   host/          what runs inside a host: init.sh (PID 1), rglab.sh (its services, reboot),
 *                  systemctl and udevadm stand-ins
 *   hostFiles.ts   a host's files, from outside
 *   processes.ts   running programs, the PIDs the lab owns, tear-down on exit
 *   prereqs.ts     what the machine needs; skip or fail
 *
 * Layout of one host: `ip netns exec NS unshare --mount --uts --pid --fork --mount-proc
 * --kill-child -- sh init.sh`. The PID namespace is what makes tear-down exact: killing the
 * host's init (a PID the lab recorded) makes the kernel kill everything that runs in that host,
 * including SSH sessions and daemons that a test or routegen started there.
 *
 * Network rule: traffic only to 127.0.0.0/8 or to addresses in namespaces the lab created; no
 * namespace but the pods' gets a default route, and theirs points at their own worker.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { bound } from '../helpers/time.js';
import { bringUp, labPaths } from './boot.js';
import { hostFileMode, readHostFile, removeHostFile, writeHostFile } from './hostFiles.js';
import { deleteNamespaces, deleteNamespacesSync, pingFrom, readRoutes, refuseTakenNamespaces, type LabRoute } from './namespaces.js';
import { labUnavailable } from './prereqs.js';
import { cleanEnv, downOnExit, isOurs, killHosts, killHostsSync, notDownOnExit, run, startWatchdog, type RunOptions, type RunResult } from './processes.js';
import { etcHostsEntries, machinesTxt, planLab, publicHost, type HostState, type LabHost, type LabOptions, type LabStack, type LabState } from './topology.js';

export { labUnavailable, networkManagerUnavailable, requireLab } from './prereqs.js';
export { ed25519Key } from './sshd.js';
export { NM_ETH1_KEYFILE } from './stacks.js';
export { LAB_STACKS, labMac, type LabFile, type LabHost, type LabOptions, type LabStack } from './topology.js';
export type { LabRoute, RunOptions, RunResult };

/** A running lab. Create with `Lab.up()`, or re-attach to one with `Lab.attach(stateFile)`. */
export class Lab {
  readonly hosts: LabHost[];
  readonly dir: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly sshConfigFile: string;
  readonly stateFile: string;
  readonly prefix: string;
  readonly jumpboxIp: string;
  /** Dual-stack labs: the jumpbox's IPv6 address (fd00:10::10). */
  readonly jumpboxIp6: string | undefined;
  readonly jumpboxNetns: string;
  /** The namespace holding the node network's bridge (br0). */
  readonly switchNetns: string;
  /** Whether the lab was brought up with `dualStack`. */
  readonly dualStack: boolean;
  /** Milliseconds the last `up()` took (0 for an attached lab). */
  bringUpMs = 0;

  private readonly state: LabState;
  private readonly children = new Set<ChildProcess>();
  private watchdog: ChildProcess | undefined;
  private isDown = false;

  private constructor(state: LabState) {
    this.state = state;
    this.prefix = state.prefix;
    this.dir = state.dir;
    ({ identityFile: this.identityFile, knownHostsFile: this.knownHostsFile, sshConfigFile: this.sshConfigFile, stateFile: this.stateFile } = labPaths(state.dir));
    this.jumpboxIp = state.jumpboxIp;
    this.jumpboxNetns = state.jumpboxNetns;
    this.switchNetns = state.switchNetns;
    this.dualStack = state.dualStack ?? false;
    this.jumpboxIp6 = state.jumpboxIp6;
    this.hosts = state.hosts.map(publicHost);
  }

  /** Bring a lab up. Rejects (after cleaning up what it made) if any host does not come up. */
  static async up(opts: LabOptions = {}): Promise<Lab> {
    const why = labUnavailable();
    if (why) throw new Error(`lab unavailable: ${why}`);
    const plan = planLab(opts);
    refuseTakenNamespaces(plan);
    const dir = await fsp.mkdtemp(path.join(opts.tmpRoot ?? os.tmpdir(), `routegen-lab-${plan.prefix}-`));
    const lab = new Lab({ ...plan, dir });
    // From here on, anything that goes wrong (or a ^C) tears down what exists. A persistent
    // lab is left to its owner once it is up.
    downOnExit(lab);
    if (!plan.persist) lab.watchdog = startWatchdog(dir, plan.namespaces);
    const t0 = Date.now();
    try {
      await bringUp(lab.state, { hook: opts.baseFiles, readyTimeoutMs: opts.readyTimeoutMs ?? bound(90_000), saveState: () => lab.saveState(lab.stateFile) });
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
    lab.state.hosts.forEach((h, i) => (lab.hosts[i]!.pid = h.pid));
    lab.bringUpMs = Date.now() - t0;
    if (plan.persist) notDownOnExit(lab);
    return lab;
  }

  /**
   * Re-attach to a lab from its state file (`<dir>/state.json`, or a copy). The lab keeps running
   * after this process exits unless `down()` is called.
   */
  static attach(stateFile: string): Lab {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as LabState;
    if (state.version !== 1 || !Array.isArray(state.hosts)) throw new Error(`${stateFile}: not a lab state file`);
    return new Lab(state);
  }

  /** The state as JSON (what `Lab.attach` reads). */
  saveState(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(this.state, null, 2) + '\n');
  }

  // ------------------------------------------------------------------------------- queries

  /** /etc/hosts lines for the machines, as the guide writes them ("IP FQDN HOSTNAME"). */
  etcHostsEntries(): string {
    return etcHostsEntries(this.state.hosts);
  }

  /**
   * The guide's machines.txt for this lab. Dual stack: both families in the address and subnet
   * columns, IPv4 first (`192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0
   * 10.200.0.0/24,fd00:10:200::/64`).
   */
  machinesTxt(): string {
    return machinesTxt(this.hosts);
  }

  /** A host by name, IPv4 address or (dual stack) IPv6 address. */
  host(nameOrIp: string): LabHost {
    const h = this.hosts.find((x) => x.name === nameOrIp || x.ip === nameOrIp || (x.ip6 !== undefined && x.ip6 === nameOrIp));
    if (!h) throw new Error(`no lab host ${nameOrIp} (hosts: ${this.hosts.map((x) => x.name).join(', ')})`);
    return h;
  }

  /** The host's state, once it is known to be running. */
  private running(nameOrIp: string): HostState {
    const name = this.host(nameOrIp).name;
    const h = this.state.hosts.find((x) => x.name === name)!;
    if (this.isDown) throw new Error('lab is down');
    if (!isOurs(h.pid, h.pidStart)) throw new Error(`lab host ${h.name} is not running (init PID ${h.pid} is gone)`);
    return h;
  }

  /** Per host: is its init (and so the host) still running. */
  status(): Array<{ name: string; ip: string; stack: LabStack; pid: number; running: boolean }> {
    return this.state.hosts.map((h) => ({ name: h.name, ip: h.ip, stack: h.stack, pid: h.pid, running: isOurs(h.pid, h.pidStart) }));
  }

  // ------------------------------------------------------------------ hooks for lab add-ons

  /** A namespace an add-on (test/lab/bastion.ts) made: deleted with the lab's own. */
  addNamespace(name: string): void {
    this.state.namespaces.push(name);
    this.saveState(this.stateFile);
  }

  /** A process an add-on started: killed when the lab goes down, whatever way. */
  track(child: ChildProcess): void {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
  }

  // ------------------------------------------------------------------------- running things

  /** Run a command in the jumpbox's network namespace (192.168.10.10), as a child of this process. */
  jumpbox(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (this.isDown) return Promise.reject(new Error('lab is down'));
    const [cmd, ...args] = this.jumpboxCommand(argv);
    return run(cmd!, args, {
      env: { ...process.env, ...opts.env },
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? bound(120_000),
      track: this.children,
    });
  }

  /**
   * Like `jumpbox`, but returns the child process (pipes for stdio unless `stdio` says
   * otherwise). Its PID is the command's own: killing it kills the command.
   */
  jumpboxSpawn(argv: string[], opts: { env?: Record<string, string>; stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
    if (this.isDown) throw new Error('lab is down');
    const [cmd, ...args] = this.jumpboxCommand(argv);
    const child = spawn(cmd!, args, { env: { ...process.env, ...opts.env }, stdio: opts.stdio ?? 'pipe' });
    this.track(child);
    return child;
  }

  /**
   * The full command line `jumpbox()` runs (for callers that want their own stdio): the jumpbox's
   * network namespace, and a private mount namespace where /etc/hosts names the lab's machines
   * as the guide's jumpbox does. Every step execs the next, so the PID is the command's.
   */
  jumpboxCommand(argv: string[]): string[] {
    return [
      'ip', 'netns', 'exec', this.jumpboxNetns,
      'unshare', '--mount', '--propagation', 'private', '--',
      '/bin/sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', labPaths(this.dir).jumpboxHosts,
      ...argv,
    ];
  }

  /** The full command line `exec()` runs, and the environment to run it with. */
  hostCommand(host: string, argv: string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
    const h = this.running(host);
    return { argv: ['nsenter', '-t', String(h.pid), '-m', '-u', '-n', '-p', '-r', '-w', '--', ...argv], env: cleanEnv() };
  }

  /** `ssh` arguments that reach a host from the jumpbox with the lab's config. */
  sshArgv(host: string, command: string[] = []): string[] {
    return ['ssh', '-F', this.sshConfigFile, this.host(host).ip, ...command];
  }

  /** Run a command inside the host's mount, UTS, network and PID namespaces, as root. */
  exec(host: string, argv: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
    const [cmd, ...args] = this.hostCommand(host, argv).argv;
    return run(cmd!, args, {
      env: cleanEnv(opts.env),
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? bound(60_000),
      track: this.children,
    });
  }

  // ------------------------------------------------------------- a host's network and files

  /** The host's main routing table, from `ip -j route show` (IPv4 only). */
  async routes(host: string): Promise<LabRoute[]> {
    return readRoutes(this.running(host).netns, []);
  }

  /**
   * The host's main IPv6 routing table, from `ip -j -6 route show table main`: the connected
   * fd00:10::/64 and fe80::/64 routes, cni0's pod subnet, routes added by hand or by the stack.
   */
  async routes6(host: string): Promise<LabRoute[]> {
    return readRoutes(this.running(host).netns, ['-6']);
  }

  /** One ping (-c1 -W1) from the pod namespace of a worker; an IPv6 target (dual stack) pings with -6. */
  async ping(fromPodOfHost: string, toIp: string): Promise<boolean> {
    const h = this.state.hosts.find((x) => x.name === this.host(fromPodOfHost).name)!;
    if (!h.podNetns) throw new Error(`${h.name} has no pod namespace`);
    if (this.isDown) throw new Error('lab is down');
    return pingFrom(h.podNetns, toIp);
  }

  /** A file's contents as the host sees it, or null when it does not exist. */
  async readFile(host: string, p: string): Promise<string | null> {
    return readHostFile(this.running(host).pid, p);
  }

  /** A file's permission bits (e.g. 0o644) as the host sees it, or null when it does not exist. */
  async fileMode(host: string, p: string): Promise<number | null> {
    return hostFileMode(this.running(host).pid, p);
  }

  /** Write a file into the host's filesystem (its /etc overlay for /etc paths), creating parents. */
  async writeFile(host: string, p: string, content: string, mode = 0o644): Promise<void> {
    await writeHostFile(this.running(host).pid, p, content, mode);
  }

  /** Remove a file from the host's filesystem (no error when missing). */
  async removeFile(host: string, p: string): Promise<void> {
    await removeHostFile(this.running(host).pid, p);
  }

  // ------------------------------------------- the host's services, through rglab (host/rglab.sh)

  private async rglab(host: string, args: string[], timeoutMs?: number): Promise<void> {
    const r = await this.exec(host, ['rglab', ...args], { timeoutMs });
    if (r.code !== 0) throw new Error(`${host}: rglab ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }

  /**
   * Reboot, as routes see it: stop networkd and NetworkManager (if running), flush eth1's
   * addresses and routes, empty the stacks' state in /run, start the host's stack again from its
   * persistent files, wait until eth1 has its address (and networkd calls it configured, or
   * NetworkManager calls it connected). Throws with the host's own diagnostics when it does not come back.
   * With `full`, every process of the host dies first (SSH sessions, timers such as an armed
   * rollback), /run and /tmp are emptied, and dbus and sshd start again.
   */
  async reboot(host: string, opts: { full?: boolean } = {}): Promise<void> {
    await this.rglab(host, ['reboot', ...(opts.full ? ['full'] : [])], bound(30_000));
  }

  async stopNetworkd(host: string): Promise<void> {
    await this.rglab(host, ['stop-networkd']);
  }

  /** Start networkd if it is not running; returns once it answers on D-Bus. */
  async startNetworkd(host: string): Promise<void> {
    await this.rglab(host, ['start-networkd'], bound(30_000));
  }

  /** Whether networkd runs on the host. */
  async networkdRunning(host: string): Promise<boolean> {
    return (await this.exec(host, ['rglab', 'networkd-running'])).code === 0;
  }

  /** Stop NetworkManager (SIGTERM; it leaves eth1 configured, as on a real machine). */
  async stopNetworkManager(host: string): Promise<void> {
    await this.rglab(host, ['stop-nm']);
  }

  /**
   * Start NetworkManager if it is not running; returns once it answers on D-Bus. (To wait until it
   * has configured eth1 too: `exec(host, ['rglab', 'wait-eth1'])`.)
   */
  async startNetworkManager(host: string): Promise<void> {
    await this.rglab(host, ['start-nm'], bound(30_000));
  }

  /** Whether NetworkManager runs on the host. */
  async networkManagerRunning(host: string): Promise<boolean> {
    return (await this.exec(host, ['rglab', 'nm-running'])).code === 0;
  }

  /** Kill the host's listening sshd (sessions already open stay, as with OpenSSH). */
  async killSshd(host: string): Promise<void> {
    await this.rglab(host, ['kill-sshd']);
  }

  async startSshd(host: string): Promise<void> {
    await this.rglab(host, ['start-sshd'], bound(30_000));
  }

  // ------------------------------------------------------------------------------- tear-down

  /** Tear the lab down: kill its hosts, delete its namespaces, remove its dir. Idempotent. */
  async down(): Promise<void> {
    if (this.isDown) return;
    this.isDown = true;
    await killHosts(this.state.hosts, this.children);
    await deleteNamespaces(this.state.namespaces);
    await fsp.rm(this.dir, { recursive: true, force: true });
    this.finish();
  }

  /** The same, synchronously (for process 'exit' handlers). */
  downSync(): void {
    if (this.isDown) return;
    this.isDown = true;
    killHostsSync(this.state.hosts, this.children);
    deleteNamespacesSync(this.state.namespaces);
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.finish();
  }

  private finish(): void {
    try {
      this.watchdog?.kill('SIGKILL');
    } catch {
      /* gone */
    }
    this.watchdog = undefined;
    notDownOnExit(this);
  }
}
