/**
 * The one error type of the remote layer. Data until the CLI's formatter prints it:
 * `kind` picks the exit code and the heading, `step` says what routegen was doing,
 * `stderr`/`exitCode` are the host's own words, `hint` what the user can do about it.
 */
export type RemoteErrorKind =
  | 'config'
  | 'hostkey'
  | 'auth'
  | 'connect'
  | 'timeout'
  | 'sudo'
  | 'command'
  | 'sftp';

export interface RemoteErrorFields {
  kind: RemoteErrorKind;
  step: string;
  host: string;
  stderr?: string;
  exitCode?: number;
  hint?: string;
  cause?: unknown;
}

export class RemoteError extends Error {
  readonly kind: RemoteErrorKind;
  readonly step: string;
  readonly host: string;
  readonly stderr?: string;
  readonly exitCode?: number;
  readonly hint?: string;

  constructor(message: string, fields: RemoteErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'RemoteError';
    this.kind = fields.kind;
    this.step = fields.step;
    this.host = fields.host;
    if (fields.stderr !== undefined) this.stderr = fields.stderr;
    if (fields.exitCode !== undefined) this.exitCode = fields.exitCode;
    if (fields.hint !== undefined) this.hint = fields.hint;
  }
}

/**
 * What to tell a user whose sudo needs a password. Honest about sudoers: a rule naming only the
 * commands routegen runs as root is no narrower than ALL, because each of them can do anything
 * root can (`sh` runs any script; `install`, `mv` and `rm` replace or delete any file).
 */
export function sudoHint(user: string): string {
  return `give ${user} passwordless sudo (sudoers: "${user} ALL=(root) NOPASSWD: ALL"), or connect as root. A rule naming only the commands routegen runs as root (sh, install, mv, rm, mkdir, cat) is not narrower: each can do anything root can`;
}
