/**
 * Errors are data until one formatter prints them. A `UserError` is something the user can
 * fix (bad inventory, bad config, bad flags): it prints without a stack trace and exits 2.
 * Anything else reaching the CLI is a bug and prints its stack.
 */

/** One problem in an input file, with the position a person needs to fix it. */
export interface Problem {
  file: string;
  /** 1-based line number. */
  line: number;
  /** 1-based column of the first offending character. */
  column: number;
  /** Number of characters to underline (at least 1). */
  length: number;
  /** The offending source line, without its line break. */
  source: string;
  message: string;
  /** What would be right, when there is something useful to say. */
  hint?: string;
}

export type UserErrorKind = 'input' | 'usage';

/** A user error: bad input file or bad usage. Holds every problem found, not just the first. */
export class UserError extends Error {
  readonly kind: UserErrorKind;
  readonly problems: Problem[];
  readonly hint?: string;

  constructor(message: string, opts: { kind?: UserErrorKind; problems?: Problem[]; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.kind = opts.kind ?? 'input';
    this.problems = opts.problems ?? [];
    this.hint = opts.hint;
  }
}

/** Collects problems while a file is checked, so that the user sees all of them at once. */
export class ProblemList {
  readonly items: Problem[] = [];

  add(p: Problem): void {
    this.items.push(p);
  }

  /** Throws a UserError holding every problem, if there is any. */
  throwIfAny(what: string): void {
    if (this.items.length === 0) return;
    const n = this.items.length;
    throw new UserError(`${what}: ${n} problem${n === 1 ? '' : 's'} found; nothing was written or sent`, {
      problems: [...this.items].sort((a, b) => a.line - b.line || a.column - b.column),
    });
  }
}

/** User text may hold control characters (an escape sequence in a hostname, say): they are
 * shown escaped, never sent to the terminal. */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** `file:line:col: message`, the line, a caret under the offending text, then the hint. */
export function formatProblem(p: Problem): string {
  const shown = p.source.replace(/\t/g, ' ');
  // One character per column, so that the caret stays under the right text.
  // eslint-disable-next-line no-control-regex
  const printable = [...shown].map((c) => (/[\x00-\x1f\x7f]/.test(c) ? '?' : c)).join('');
  const lineNo = String(p.line);
  const pad = ' '.repeat(lineNo.length);
  const caret = ' '.repeat(Math.max(0, p.column - 1)) + '^'.repeat(Math.max(1, p.length));
  const out = [`${escapeControl(p.file)}:${p.line}:${p.column}: ${escapeControl(p.message)}`, ` ${lineNo} | ${printable}`, ` ${pad} | ${caret}`];
  if (p.hint) out.push(` ${pad} = ${escapeControl(p.hint)}`);
  return out.join('\n');
}

/** The whole text a user sees for a UserError. */
export function formatUserError(e: UserError): string {
  const parts = e.problems.map(formatProblem);
  parts.push(`Error: ${escapeControl(e.message)}`);
  if (e.hint) parts.push(`Hint: ${escapeControl(e.hint)}`);
  return parts.join('\n\n');
}
