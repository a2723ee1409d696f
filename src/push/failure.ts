/**
 * How a host's run fails, in one shape: the step, what went wrong, the host's own words, what
 * to try. Errors of the host (a step, the SSH layer, unexpected output) become that; anything
 * else is a bug in routegen, reported as one for that host alone — never a crash of the run.
 */
import { RemoteError } from '../remote/connection.js';
import { HostOutputError } from './kernel.js';

export interface HostError {
  step: string;
  message: string;
  /** The host's own error text. */
  stderr?: string;
  hint?: string;
  /** A bug in routegen: its stack (shown with --json, for the report). */
  internal?: string;
}

/** Step-tagged failure of a host's run (push, remove, status, rollback). */
export class StepError extends Error {
  constructor(
    readonly step: string,
    message: string,
    readonly stderr?: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

const trimmed = (s: string | undefined) => s?.trim() || undefined;

/** Whether `e` is a host's failure (as opposed to a bug in routegen). */
export function isHostFailure(e: unknown): e is StepError | RemoteError | HostOutputError {
  return e instanceof StepError || e instanceof RemoteError || e instanceof HostOutputError;
}

/** What failed on the host during `step`; a bug is reported as one, with its stack. */
export function describeError(e: unknown, step: string): HostError {
  if (e instanceof StepError) return { step: e.step, message: e.message, stderr: trimmed(e.stderr), hint: e.hint };
  if (e instanceof RemoteError) return { step: e.step || step, message: e.message, stderr: trimmed(e.stderr), hint: e.hint };
  if (e instanceof HostOutputError) return { step, message: e.message, stderr: trimmed(e.output), hint: e.hint };
  const err = e instanceof Error ? e : new Error(String(e));
  return {
    step,
    message: `internal error: ${err.message}`,
    hint: 'this is a bug in routegen, please report it (with the output of --json, which holds the stack)',
    ...(err.stack !== undefined && { internal: err.stack }),
  };
}
