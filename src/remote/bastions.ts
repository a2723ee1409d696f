/**
 * The jump hosts of one run: one SSH login per bastion, shared by every host behind it
 * (each host gets its own channel on it), instead of one bastion login per host as a loop of
 * `ssh -J` does. A bastion reached through another bastion is itself a channel on that one.
 */
import type { Client } from 'ssh2';
import { RemoteError } from './errors.js';
import { login, type LoginOptions, type Session } from './login.js';
import type { SshTarget } from './sshConfig.js';
import { transportFor } from './transports/index.js';
import { hopName } from './transports/jump.js';

/** A target's identity as a hop: who logs in where, and through what. */
function hopKey(t: SshTarget): string {
  const via = t.jump ? ` via ${hopKey(t.jump)}` : t.proxyCommand !== undefined ? ` via [${t.proxyCommand}]` : '';
  return `${t.user}@${t.hostname}:${t.port}${via}`;
}

export class Bastions {
  private readonly sessions = new Map<string, Promise<Session>>();
  private closed = false;
  /** Logins made so far (for tests and the benchmark: one per bastion per run). */
  logins = 0;

  constructor(private readonly opts: LoginOptions) {}

  /**
   * The logged-in connection to `hop`, made on first use. A login that failed is not retried
   * within the run; a connection that dropped is made again on next use. Errors name `behind`,
   * the host the caller wanted to reach.
   */
  async client(hop: SshTarget, behind: SshTarget): Promise<Client> {
    if (this.closed) throw new RemoteError(`the connections of this run are closed`, { kind: 'connect', step: 'connect', host: behind.alias });
    const key = hopKey(hop);
    let pending = this.sessions.get(key);
    if (pending === undefined) {
      this.logins++;
      pending = login(hop, transportFor(hop, this), this.opts);
      this.sessions.set(key, pending);
      pending.then(
        (s) => s.client.once('close', () => {
          if (this.sessions.get(key) === pending) this.sessions.delete(key);
        }),
        () => undefined,
      );
    }
    try {
      return (await pending).client;
    } catch (err) {
      throw behindError(hop, behind, err);
    }
  }

  /** Ends every bastion connection. */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of await Promise.allSettled(all)) {
      if (s.status === 'fulfilled') {
        s.value.client.end();
        s.value.link.close();
      }
    }
  }
}

/** A hop's failure, told from the host behind it: which hop, what happened, what to try. */
function behindError(hop: SshTarget, behind: SshTarget, err: unknown): RemoteError {
  if (!(err instanceof RemoteError)) throw err;
  // Further along a chain, the hop before already said which jump host failed and what to try.
  const inner = err.step.startsWith('jump host');
  const hint = err.hint ?? '';
  return new RemoteError(`jump host ${hopName(hop)} on the way to ${behind.alias}: ${err.message}`, {
    kind: err.kind,
    step: inner ? err.step : `jump host ${hop.alias}: ${err.step}`,
    host: behind.alias,
    ...(err.stderr !== undefined && { stderr: err.stderr }),
    hint: inner ? hint : `${hint ? `${hint}. ` : ''}\`ssh ${hop.port !== 22 ? `-p ${hop.port} ` : ''}${hop.user}@${hop.alias} true\` should log in to the jump host without a prompt; hosts not behind it are not affected`,
    cause: err,
  });
}
