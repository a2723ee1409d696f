/**
 * A fake HOST for the push engine's tests — not a mock of the engine: an in-memory host (files
 * with their modes, a kernel routing table, routegen's state dir) that answers the helper's
 * verbs with the semantics templates/routegen-host.sh gives them, reached through objects shaped
 * like a RemoteHost and a Reach. It records every action (which connection did what) and can be
 * told to fail at one step (Fault). Its rollback timer fires only when a test fires it.
 */
import { posix } from 'node:path';
import { FACTS_SCRIPT, ROUTES_SCRIPT } from '../../src/push/hostAccess.js';
import type { KernelRoute } from '../../src/push/kernel.js';
import { EXIT, HOST_SCRIPT, hostScriptText, STATE, STATE_DIR } from '../../src/push/protocol.js';
import type { PushOptions } from '../../src/push/result.js';
import { RemoteError, type ExecResult, type RemoteStat } from '../../src/remote/connection.js';
import type { SshTarget } from '../../src/remote/sshConfig.js';
import { STACKS } from '../../src/stacks/index.js';
import type { StackName } from '../../src/types.js';

/**
 * Where the host fails: `upload` writing the staged file (SFTP); `apply` the stack's apply at
 * commit (exit EXIT.applyFailed); `kernel` applying never reaches the kernel (verify fails);
 * `unreachable` new connections are refused while the change is armed (it cut the host off);
 * `hostkey` new connections meet a changed host key; `lost` the connection that committed is
 * lost once the host committed (its requests and commands fail, kind 'connect': only the host's
 * timer can roll back); `bug` the request answering commit throws a TypeError after the host
 * committed.
 */
export type Fault = 'upload' | 'apply' | 'kernel' | 'unreachable' | 'hostkey' | 'lost' | 'bug';

interface File {
  content: string;
  mode: number;
}

/** The routes every fake host has besides routegen's: its network and its default route. */
const BASE: KernelRoute[] = [
  { dst: 'default', gateway: '192.168.10.1', dev: 'eth1', protocol: 'static' },
  { dst: '192.168.10.0/24', dev: 'eth1', protocol: 'kernel', scope: 'link' },
];

const ok = (stdout = ''): ExecResult => ({ code: EXIT.ok, stdout, stderr: '' });
const exit = (code: number, stderr: string): ExecResult => ({ code, stdout: '', stderr: `routegen-host: ${stderr}\n` });
const lostError = (host: string, step: string) => new RemoteError(`${step}: connection lost (reset by peer)`, { kind: 'connect', step, host });

export class FakeHost {
  readonly files = new Map<string, File>();
  readonly dirs = new Set<string>(['/']);
  kernel: KernelRoute[] = [...BASE];
  /** Every action, `#N what` (N: the connection that did it; #0: the host itself). */
  readonly log: string[] = [];
  /** The armed change, as the timer that commit started knows it. */
  armed: { key: string; target: string; stack: StackName; iface: string } | undefined;
  private connections = 0;

  constructor(
    readonly name: string,
    public fault?: Fault,
  ) {
    // What a networkd host has before routegen comes (preflight looks for both).
    this.put('/usr/bin/networkctl', '', 0o755);
    this.put('/etc/systemd/network/10-eth1.network', '[Match]\nName=eth1\n', 0o644);
  }

  put(path: string, content: string, mode: number): void {
    for (let d = posix.dirname(path); d !== '/'; d = posix.dirname(d)) this.dirs.add(d);
    this.files.set(path, { content, mode });
  }

  /** The helper script as routegen would have uploaded it (a host pushed to before). */
  withHelperScript(): this {
    this.put(HOST_SCRIPT, hostScriptText(), 0o700);
    return this;
  }

  /** What routegen must leave as it was when a push fails: every file outside its state dir,
   * and the kernel's table. */
  snapshot(): { files: Array<[string, File]>; kernel: KernelRoute[] } {
    const files = [...this.files].filter(([p]) => !p.startsWith(`${STATE_DIR}/`)).sort(([a], [b]) => a.localeCompare(b));
    return structuredClone({ files, kernel: this.kernel });
  }

  /** The log entries of the verbs the helper answered: `#N verb`. */
  verbs(): string[] {
    return this.log.filter((l) => / verb /.test(l)).map((l) => l.replace(' verb', ''));
  }

  /** The host's rollback timer fires now (as `expire` would after TIMEOUT s). */
  fireTimer(): void {
    this.log.push('#0 timer fires');
    const a = this.armed;
    if (a) this.verb(['restore', a.key, a.target, a.stack, a.iface]);
  }

  /** The kernel takes the routes of the stack's file, as the stack's apply would. */
  private apply(stack: StackName, target: string, iface: string): void {
    if (this.fault === 'kernel') return;
    const text = this.files.get(target)?.content;
    const mine = text === undefined ? [] : STACKS[stack].routes(text).map((r): KernelRoute => ({ dst: r.to, gateway: r.via, dev: iface, protocol: 'static', ...(r.metric !== undefined && { metric: r.metric }) }));
    this.kernel = [...BASE, ...mine];
  }

  /** `ip -j` output, as the helper's `routes` prints it. */
  table(fam: string): string {
    // (the fake's default route is IPv4)
    const of = (six: boolean) => JSON.stringify(this.kernel.filter((r) => r.dst.includes(':') === six));
    return `@@ipv4\n${fam.includes('4') ? of(false) : ''}\n@@ipv6\n${fam.includes('6') ? of(true) : ''}\n`;
  }

  private move(from: string, to: string): void {
    const f = this.files.get(from);
    if (f) this.files.set(to, f);
    this.files.delete(from);
  }

  private state = (key: string, s: keyof typeof STATE) => `${STATE_DIR}/${key}.${STATE[s]}`;

  /** One verb of routegen-host.sh, as that script does it. */
  verb(argv: string[]): ExecResult {
    const [name, ...a] = argv;
    const st = this.state;
    switch (name) {
      case 'commit': {
        const [timeoutS, key, target, stack, iface, staged, fam] = a as [string, string, string, StackName, string, string, string];
        if (this.files.has(st(key, 'pending'))) return exit(EXIT.awaitingConfirm, `an earlier push of ${target} is waiting for its confirmation`);
        const cur = this.files.get(target);
        if (cur && ![st(key, 'prev'), st(key, 'absent'), st(key, 'orig')].some((p) => this.files.has(p))) this.put(st(key, 'orig'), cur.content, cur.mode);
        if (cur) {
          this.put(st(key, 'prev'), cur.content, cur.mode);
          this.files.delete(st(key, 'absent'));
        } else {
          this.files.delete(st(key, 'prev'));
          this.put(st(key, 'absent'), '', 0o600);
        }
        if (staged !== '-' && (posix.dirname(staged) !== posix.dirname(target) || !this.files.has(staged))) return exit(EXIT.error, `staged file ${staged} is missing or not beside ${target}`);
        this.put(st(key, 'pending'), `${Math.floor(Date.now() / 1000) + Number(timeoutS)}\n`, 0o600);
        this.armed = { key, target, stack, iface };
        if (staged !== '-') this.move(staged, target);
        else this.files.delete(target);
        if (this.fault === 'apply') return exit(EXIT.applyFailed, `applying ${stack} failed`);
        this.apply(stack, target, iface);
        return ok(this.table(fam));
      }
      case 'restore': {
        const [key, target, stack, iface] = a as [string, string, StackName, string];
        if (!this.files.has(st(key, 'pending'))) return exit(EXIT.nothingToClaim, `nothing to roll back for ${target}`);
        this.move(st(key, 'pending'), st(key, 'restoring'));
        this.armed = undefined;
        const now = this.files.get(target);
        if (now) this.put(st(key, 'failed'), now.content, now.mode);
        const prev = this.files.get(st(key, 'prev'));
        if (prev) this.put(target, prev.content, prev.mode);
        else if (this.files.has(st(key, 'absent'))) this.files.delete(target);
        this.apply(stack, target, iface);
        this.files.delete(st(key, 'restoring'));
        return ok();
      }
      case 'confirm': {
        const [key] = a as [string];
        if (!this.files.has(st(key, 'pending'))) return exit(EXIT.nothingToClaim, 'the change was already rolled back');
        this.files.delete(st(key, 'pending'));
        this.files.delete(st(key, 'failed'));
        this.armed = undefined; // the timer is killed
        return ok();
      }
      case 'reapply': {
        const [stack, iface, target, fam] = a as [StackName, string, string, string];
        this.apply(stack, target, iface);
        return ok(this.table(fam));
      }
      case 'routes':
        return ok(this.table(a[0]!));
      case 'facts':
        return ok(`@@ssh 192.168.10.254 50022 192.168.10.11 22\n${this.table(a[0]!)}`);
      default:
        return exit(EXIT.error, `unknown command ${name ?? '(none)'}`);
    }
  }

  /** A new SSH connection to the host; `sftp: false`: commands only (the confirming login). */
  async connect(how: { sftp?: boolean }): Promise<FakeConnection> {
    const n = ++this.connections;
    if (n > 1 && this.fault === 'hostkey') {
      this.log.push(`#${n} refused: host key changed`);
      throw new RemoteError(`host key for ${this.name} has changed`, { kind: 'hostkey', step: 'connect', host: this.name });
    }
    if (n > 1 && this.fault === 'unreachable' && this.armed) {
      this.log.push(`#${n} refused: unreachable`);
      throw new RemoteError(`connect ${this.name}: connection timed out`, { kind: 'connect', step: 'connect', host: this.name });
    }
    this.log.push(`#${n} connect${how.sftp === false ? ' (no sftp)' : ''}`);
    return new FakeConnection(this, n, how.sftp !== false);
  }
}

/** One connection to a FakeHost, shaped like a RemoteHost (as root). */
export class FakeConnection {
  readonly user = 'root';
  readonly privileged = true;
  readonly target: SshTarget;
  lost = false;
  private closed = false;

  constructor(
    readonly host: FakeHost,
    readonly id: number,
    private readonly sftp: boolean,
  ) {
    this.target = fakeTarget(host.name);
  }

  private note(what: string): void {
    this.host.log.push(`#${this.id} ${what}`);
  }

  private check(step: string, files = false): void {
    if (this.lost || this.closed) throw lostError(this.host.name, step);
    // The confirming login opens no SFTP: a file operation on it is routegen's mistake.
    if (files && !this.sftp) throw new Error(`fake: ${step} on connection #${this.id}, which has no SFTP`);
  }

  async readFile(path: string): Promise<Buffer | null> {
    this.check('read', true);
    const f = this.host.files.get(path);
    return f ? Buffer.from(f.content) : null;
  }

  async stat(path: string): Promise<RemoteStat | null> {
    this.check('stat', true);
    if (this.host.dirs.has(path)) return { mode: 0o755, size: 0, isDir: true };
    const f = this.host.files.get(path);
    return f ? { mode: f.mode, size: Buffer.byteLength(f.content), isDir: false } : null;
  }

  async list(dir: string): Promise<string[]> {
    this.check('list', true);
    return [...this.host.files.keys(), ...this.host.dirs].filter((p) => p !== dir && posix.dirname(p) === dir).map((p) => posix.basename(p)).sort();
  }

  async remove(path: string): Promise<void> {
    this.check('remove', true);
    this.note(`remove ${path}`);
    this.host.files.delete(path);
  }

  async mkdirp(path: string, _mode = 0o755): Promise<void> {
    this.check('mkdir', true);
    for (let d = path; d !== '/'; d = posix.dirname(d)) this.host.dirs.add(d);
  }

  async writeFileAtomic(path: string, content: string | Buffer, mode: number): Promise<void> {
    this.check('write', true);
    if (this.host.fault === 'upload' && !path.startsWith(`${STATE_DIR}/`)) {
      this.note(`write failed ${path}`);
      throw new RemoteError(`write ${path}: No space left on device`, { kind: 'sftp', step: 'write', host: this.host.name });
    }
    this.note(`write ${path}`);
    this.host.put(path, content.toString(), mode);
  }

  async exec(argv: string[], _opts: unknown = {}): Promise<ExecResult> {
    this.check('exec');
    if (argv[0] !== 'sh' || argv[1] !== HOST_SCRIPT) return { code: 127, stdout: '', stderr: `fake: ${argv[0]}: not found\n` };
    this.note(`verb ${argv[2]} (command)`);
    return this.host.verb(argv.slice(2));
  }

  async execScript(script: string, _args: string[], _opts: unknown = {}): Promise<ExecResult> {
    this.check('exec');
    this.note(`script ${script === ROUTES_SCRIPT ? 'routes' : script === FACTS_SCRIPT ? 'facts' : 'other'}`);
    if (script === ROUTES_SCRIPT) return { code: 0, stdout: this.host.table('46'), stderr: '' };
    if (script === FACTS_SCRIPT) return this.host.verb(['facts', '46']);
    return { code: 127, stdout: '', stderr: 'fake: not a script this host knows\n' };
  }

  /** The helper's `serve` process on this connection. */
  async serve(argv: string[], _opts: unknown, _mark: string) {
    this.check('serve');
    this.note(`serve ${argv.slice(2).join(' ')}`);
    let open = true;
    return {
      request: async (args: string[], _timeoutMs: number, step: string): Promise<ExecResult> => {
        if (!open) throw new RemoteError(`${step}: the host's helper ended`, { kind: 'command', step, host: this.host.name });
        this.check(step);
        this.note(`verb ${args[0]}`);
        const r = this.host.verb(args);
        if (args[0] === 'commit' && this.host.fault === 'lost') {
          this.lost = true;
          throw lostError(this.host.name, step);
        }
        if (args[0] === 'commit' && this.host.fault === 'bug') throw new TypeError("Cannot read properties of undefined (reading 'code')");
        return r;
      },
      close: () => {
        open = false;
      },
    };
  }

  async close(): Promise<void> {
    if (!this.closed) this.note('close');
    this.closed = true;
  }
}

function fakeTarget(name: string): SshTarget {
  return { alias: name, hostname: name, port: 22, user: 'root', identityFiles: [], knownHostsFiles: [], strictHostKeyChecking: 'yes', hashKnownHosts: false, warnings: [] };
}

/** A Reach over fake hosts, by the name routegen connects to (the host's address by default). */
export function fakeReach(hosts: Record<string, FakeHost>): PushOptions['ssh'] {
  const reach = {
    target: async (name: string) => fakeTarget(name),
    connect: async (target: SshTarget, how: { sftp?: boolean } = {}) => {
      const h = hosts[target.alias];
      if (!h) throw new RemoteError(`connect ${target.alias}: no such host`, { kind: 'connect', step: 'connect', host: target.alias });
      return h.connect(how);
    },
  };
  return reach as unknown as PushOptions['ssh'];
}
