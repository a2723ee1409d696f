/**
 * One SSH login over a Link: host key trust (trust.ts), then authentication (auth.ts), on a
 * stream any transport opened. Used alike for the hosts routegen configures and for the
 * bastions on the way to them.
 */
import ssh2 from 'ssh2';
import type { Client, ConnectConfig } from 'ssh2';
import { agentSocketFor, authProblem, planAuth, type AuthPlan } from './auth.js';
import { RemoteError } from './errors.js';
import type { SshTarget } from './sshConfig.js';
import type { Link, Transport } from './transport.js';
import { hostTrust, mayAcceptNew, type HostTrust } from './trust.js';

export interface LoginOptions {
  /** Record and trust an unknown host key (OpenSSH's accept-new). Never a changed one. */
  acceptNew?: boolean;
  /** ssh-agent socket. Default: the target's IdentityAgent, else SSH_AUTH_SOCK. */
  agentSocket?: string;
  /** Opening the link, the handshake and authentication together. */
  timeoutMs: number;
}

/** A logged-in SSH connection and the stream under it. */
export interface Session {
  client: Client;
  link: Link;
  /** When the key was unknown and accepted: where it was recorded. */
  accepted?: { file: string; fingerprint: string };
}

/** ssh2's error for a failed handshake or login, in words the user can act on. */
async function loginError(target: SshTarget, link: Link, err: Error & { level?: string }, auth: AuthPlan, trust: HostTrust, timeoutMs: number): Promise<RemoteError> {
  const host = target.alias;
  const where = `${target.user}@${target.hostname}:${target.port}`;
  if (err.level === 'client-authentication') {
    const { message, hint } = authProblem(target, auth);
    return new RemoteError(`authentication as ${where} failed: ${message}`, { kind: 'auth', step: 'authenticate', host, hint, cause: err });
  }
  if (err.level === 'agent') {
    return new RemoteError(`ssh-agent at ${auth.agentSocket} failed: ${err.message}`, {
      kind: 'auth', step: 'authenticate', host, hint: 'start the agent again, or unset SSH_AUTH_SOCK to use identity files only', cause: err,
    });
  }
  const failure = await link.failure();
  const said = failure ? ` (${failure})` : '';
  if (err.level === 'client-timeout') {
    return new RemoteError(`connecting to ${where} ${link.via} timed out after ${timeoutMs} ms${said}`, {
      kind: 'timeout', step: 'connect', host, hint: 'is the host up and port reachable? (ConnectTimeout / --connect-timeout)', cause: err,
    });
  }
  if (/no matching host key/i.test(err.message) && trust.knownTypes.length > 0) {
    return new RemoteError(`${trust.name} offers none of the host key types known_hosts lists for it (${trust.knownTypes.join(', ')}): its host key may have changed; refusing to connect`, {
      kind: 'hostkey', step: 'verify host key', host,
      hint: `check the host's keys out of band (ssh-keyscan -p ${target.port} ${target.hostname}) before changing known_hosts`, cause: err,
    });
  }
  return new RemoteError(`cannot connect to ${where} ${link.via}: ${err.message}${said}`, {
    kind: 'connect', step: 'connect', host, cause: err,
    ...(target.proxyCommand !== undefined && { hint: `run the ProxyCommand by hand to see what it does (\`ssh -v ${target.alias} true\` shows the command ssh runs)` }),
  });
}

/**
 * Checks what can be checked before connecting (known_hosts readable, some credential to
 * offer), opens the transport, and logs in. Rejects with a RemoteError; nothing stays open.
 */
export async function login(target: SshTarget, transport: Transport, opts: LoginOptions): Promise<Session> {
  const host = target.alias;
  const trust = await hostTrust(target, mayAcceptNew(target, opts.acceptNew));
  const auth = await planAuth(target, agentSocketFor(target, opts.agentSocket));
  if (auth.methods.length === 0) {
    const { message, hint } = authProblem(target, auth);
    throw new RemoteError(`no usable SSH credentials for ${target.user}@${target.hostname}: ${message}`, { kind: 'auth', step: 'authenticate', host, hint });
  }
  const started = Date.now();
  const link = await transport.open(target, opts.timeoutMs);
  const timeoutMs = Math.max(1000, opts.timeoutMs - (Date.now() - started));
  const client = new ssh2.Client();
  const config: ConnectConfig = {
    sock: link.sock as ConnectConfig['sock'],
    username: target.user,
    readyTimeout: timeoutMs,
    hostVerifier: trust.hostVerifier,
    authHandler: auth.methods,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 4,
    ...(trust.algorithms && { algorithms: trust.algorithms }),
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let first: (Error & { level?: string }) | undefined;
      client.on('error', (err: Error & { level?: string }) => {
        first ??= err;
        reject(err);
      });
      client.once('close', () => reject(first ?? Object.assign(new Error('connection closed during the handshake'), { level: 'client-socket' })));
      client.once('ready', resolve);
      client.connect(config);
    });
  } catch (err) {
    client.end();
    const refused = trust.refused();
    const error = refused ?? (await loginError(target, link, err as Error & { level?: string }, auth, trust, opts.timeoutMs));
    link.close();
    throw error;
  }
  const accepted = trust.accepted();
  return { client, link, ...(accepted && { accepted }) };
}
