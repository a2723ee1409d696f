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

/** A user error: bad input file or bad usage. Holds the problems found, not just the first. */
export class UserError extends Error {
  readonly kind: UserErrorKind;
  readonly problems: Problem[];
  /** Problems found but not kept (past MAX_PROBLEMS): only counted. */
  readonly omitted: number;
  readonly hint?: string;

  constructor(message: string, opts: { kind?: UserErrorKind; problems?: Problem[]; omitted?: number; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.kind = opts.kind ?? 'input';
    this.problems = opts.problems ?? [];
    this.omitted = opts.omitted ?? 0;
    this.hint = opts.hint;
  }
}

/** Problems shown for one file: the first ones in the file, then a count of the rest. A file of
 * a million bad lines must not print a million errors (or hold them all in memory). */
export const MAX_PROBLEMS = 100;

const byPosition = (a: Problem, b: Problem) => a.line - b.line || a.column - b.column;

/** Collects problems while a file is checked, so that the user sees them all at once (the
 * first MAX_PROBLEMS by position, and how many more there are). */
export class ProblemList {
  private kept: Problem[] = [];
  private total = 0;

  /** The problems kept so far, in file order. */
  get items(): Problem[] {
    this.trim();
    return this.kept;
  }

  add(p: Problem): void {
    this.total++;
    // The underline stays within its line (a YAML error may span several).
    this.kept.push({ ...p, length: Math.max(1, Math.min(p.length, p.source.length - p.column + 1)) });
    // Problems may come in any order (a duplicate found late points at an early line): keep the
    // first MAX_PROBLEMS by position, sorting only when twice that many have piled up.
    if (this.kept.length >= 2 * MAX_PROBLEMS) this.trim();
  }

  private trim(): void {
    this.kept.sort(byPosition);
    if (this.kept.length > MAX_PROBLEMS) this.kept.length = MAX_PROBLEMS;
  }

  /** Throws a UserError holding the problems, if there is any. */
  throwIfAny(what: string): void {
    if (this.total === 0) return;
    const n = this.total;
    const problems = [...this.items];
    throw new UserError(`${what}: ${n} problem${n === 1 ? '' : 's'} found${n > problems.length ? ` (the first ${problems.length} shown)` : ''}; nothing was written or sent`, {
      problems,
      omitted: n - problems.length,
    });
  }
}

/** Characters never sent to a terminal as they are: C0 and C1 controls (ESC, CSI, OSC...),
 * bidi overrides that reorder what is shown, and invisible ones (zero-width, BOM). */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** User text may hold control characters (an escape sequence in a hostname, say): they are
 * shown escaped, never sent to the terminal. `keepNewlines` for routegen's own multi-line
 * messages; everything quoted from input is escaped, newlines included. */
export function escapeControl(s: string, keepNewlines = false): string {
  return s.replace(UNSAFE, (c) => (keepNewlines && c === '\n' ? c : escapeChar(c)));
}

/** `file:line:col: message`, the line, a caret under the offending text, then the hint. */
export function formatProblem(p: Problem): string {
  const shown = p.source.replace(/\t/g, ' ');
  // One character per column, so that the caret stays under the right text.
  const printable = shown.replace(UNSAFE, '?');
  const lineNo = String(p.line);
  const pad = ' '.repeat(lineNo.length);
  // The underline stays within the line (a YAML error may span several).
  const length = Math.max(1, Math.min(p.length, printable.length - p.column + 1));
  const caret = ' '.repeat(Math.max(0, p.column - 1)) + '^'.repeat(length);
  const out = [`${escapeControl(p.file)}:${p.line}:${p.column}: ${escapeControl(p.message)}`, ` ${lineNo} | ${printable}`, ` ${pad} | ${caret}`];
  if (p.hint) out.push(` ${pad} = ${escapeControl(p.hint)}`);
  return out.join('\n');
}

/** The whole text a user sees for a UserError. */
export function formatUserError(e: UserError): string {
  const parts = e.problems.map(formatProblem);
  if (e.omitted > 0) parts.push(`... and ${e.omitted} more problem${e.omitted === 1 ? '' : 's'} not shown: fix these first, then run again`);
  parts.push(`Error: ${escapeControl(e.message, true)}`);
  if (e.hint) parts.push(`Hint: ${escapeControl(e.hint, true)}`);
  return parts.join('\n\n');
}
