/**
 * Reaching a host the way push, remove, status and rollback all start: connect, complete its
 * settings from discovery, check that routegen may write there, and talk to routegen's helper
 * script (templates/routegen-host.sh) on it.
 */
import { sudoHint } from '../remote/errors.js';
import type { RemoteHost, RequestChannel } from '../remote/connection.js';
import type { Reach } from '../remote/reach.js';
import type { SshTarget } from '../remote/sshConfig.js';
import { STACKS, type StackModule } from '../stacks/index.js';
import type { HostPlan } from '../types.js';
import { completeSettings } from './discover.js';
import { StepError } from './failure.js';
import { connectName } from './hostFile.js';
import { parseKernelRoutes } from './kernel.js';
import { HOST_SCRIPT, hostScriptText, SERVE_MARK, STATE_DIR, verb } from './protocol.js';

/** Reads the kernel's main tables; a constant script, nothing installed on the host. */
export const ROUTES_SCRIPT = 'echo @@ipv4; ip -j -4 route show table main; echo @@ipv6; ip -j -6 route show table main';
/** The SSH peer, then the table: the helper's `facts` where it is not there yet (a dry run) or
 * would run under sudo, which drops SSH_CONNECTION. */
export const FACTS_SCRIPT = `echo "@@ssh \${SSH_CONNECTION:-}"; ${ROUTES_SCRIPT}`;

/** `resolved`: the target of an earlier connection to the same host (no second `ssh -G`);
 * `sftp: false`: a connection for commands only (the one that confirms a push). */
export async function connect(h: HostPlan, opts: { ssh: Reach }, resolved?: SshTarget, how: { sftp?: boolean } = {}): Promise<RemoteHost> {
  const target = resolved ?? await opts.ssh.target(connectName(h), {
    user: h.settings.ssh.user,
    port: h.settings.ssh.port,
    identityFile: h.settings.ssh.identityFile,
  });
  return opts.ssh.connect(target, how);
}

/**
 * The host's full settings (what the user left open asked of the host, on this connection), its
 * stack, the path of routegen's file there and what the host script is told in its place
 * (`target`); push, status and rollback all start with it.
 */
export async function resolveHost(conn: RemoteHost, h0: HostPlan): Promise<{ h: HostPlan; stack: StackModule; path: string; target: string }> {
  const { settings, problem, hint } = await completeSettings(conn, h0);
  if (problem) throw new StepError('discover', problem, undefined, hint ?? 'give the stack and interface with flags or in routegen.yaml (`routegen discover --write` records what it finds)');
  const stack = STACKS[settings.stack!];
  const path = stack.path(settings);
  return { h: { ...h0, settings }, stack, path, target: stack.hostTarget?.(settings) ?? path };
}

/** Writing network configuration needs root: the login user, or `sudo -n` without a password. */
export function requirePrivilege(conn: RemoteHost): void {
  if (conn.privileged) return;
  const u = conn.user;
  throw new StepError('sudo', `${u} is not root, and \`sudo -n true\` fails on ${conn.target.alias} (sudo is missing, or asks for a password)`, undefined, sudoHint(u));
}

/** What the stack needs on the host (its tools, its configuration) is there. */
export async function preflight(conn: RemoteHost, stack: StackModule, h: HostPlan): Promise<void> {
  for (const check of stack.preflight(h.settings)) {
    let found: string | undefined;
    for (const p of check.paths) {
      if (await conn.stat(p)) {
        found = p;
        break;
      }
    }
    if (!found) throw new StepError('check', `${check.what} not found on ${h.name} (looked for ${check.paths.join(', ')})`, undefined, check.hint);
    if (check.contains) {
      const text = (await conn.readFile(found))?.toString('utf8') ?? '';
      if (!check.contains.pattern.test(text)) throw new StepError('check', check.contains.missing, undefined, check.hint);
    }
  }
}

/**
 * Uploads the helper script unless the host has this very version. Returns what takes it away
 * again when routegen brought it in this run: a host refused before anything changed keeps
 * nothing of routegen's (an older version replaced stays replaced).
 */
export async function ensureHostScript(conn: RemoteHost): Promise<() => Promise<void>> {
  const text = hostScriptText();
  const cur = await conn.readFile(HOST_SCRIPT);
  if (cur && cur.toString('utf8') === text) return async () => undefined;
  const hadDir = cur !== null || (await conn.stat(STATE_DIR)) !== null;
  await conn.mkdirp(STATE_DIR, 0o700);
  await conn.writeFileAtomic(HOST_SCRIPT, text, 0o700);
  if (cur !== null) return async () => undefined;
  return async () => {
    await conn.remove(HOST_SCRIPT);
    if (!hadDir) await conn.exec(['rmdir', STATE_DIR], { sudo: true });
  };
}

/** The kernel's routing table, read with a command of its own (status, remove, rollback). */
export async function kernelRoutes(conn: RemoteHost) {
  const r = await conn.execScript(ROUTES_SCRIPT, []);
  if (r.code !== 0) throw new StepError('verify', 'cannot read the routing table', r.stderr);
  return parseKernelRoutes(r.stdout);
}

type VerbArgs<V extends keyof typeof verb> = Parameters<(typeof verb)[V]>[0];

/**
 * routegen's helper on one host, as root: one `serve` process answers every verb of a push
 * (see protocol.ts). When that process is gone (its connection lost, a request timed out), a
 * verb still runs with a command of its own where the connection allows.
 */
export class HostHelper {
  private constructor(
    private readonly conn: RemoteHost,
    private readonly channel: RequestChannel,
    private readonly timeoutMs: number,
  ) {}

  /** Starts the helper (the script must be on the host: ensureHostScript); `timeoutMs` bounds
   * each answer. */
  static async start(conn: RemoteHost, timeoutMs: number): Promise<HostHelper> {
    const channel = await conn.serve(['sh', HOST_SCRIPT, ...verb.serve()], { sudo: true }, SERVE_MARK);
    return new HostHelper(conn, channel, timeoutMs);
  }

  run<V extends Exclude<keyof typeof verb, 'serve'>>(name: V, args: VerbArgs<V>, timeoutMs = this.timeoutMs) {
    const argv = (verb[name] as (a: VerbArgs<V>) => string[])(args);
    return this.channel.request(argv, timeoutMs, name);
  }

  /** Runs the verb with a command of its own on `conn` (another connection, or this one when
   * the helper process is gone). */
  static once<V extends Exclude<keyof typeof verb, 'serve'>>(conn: RemoteHost, name: V, args: VerbArgs<V>, timeoutMs?: number) {
    const argv = (verb[name] as (a: VerbArgs<V>) => string[])(args);
    return conn.exec(['sh', HOST_SCRIPT, ...argv], { sudo: true, ...(timeoutMs !== undefined && { timeoutMs }) });
  }

  /** Ends the helper process. */
  close(): void {
    this.channel.close();
  }

  get connection(): RemoteHost {
    return this.conn;
  }
}
