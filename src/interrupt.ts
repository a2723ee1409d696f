/**
 * Ctrl-C (SIGINT) and SIGTERM for the commands that must finish cleanly when asked to stop.
 * The handlers go in as the very first thing such a command does, before it loads anything or
 * reaches any host: an interrupt that comes while it is still starting up is remembered, and
 * the command acts on it as soon as it subscribes (no host starts). Without this, a Ctrl-C in
 * the first few hundred milliseconds took Node's default action and killed routegen outright.
 */

let count = 0;
let listener: ((n: number) => void) | undefined;

function onSignal(): void {
  count++;
  listener?.(count);
}

/** Starts catching SIGINT and SIGTERM; until someone subscribes, they are only counted. */
export function catchInterrupts(): void {
  if (process.listeners('SIGINT').includes(onSignal)) return;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** The commands that finish the hosts in flight on Ctrl-C (push and remove, and diff which shares push's code). */
const INTERRUPTIBLE = ['push', 'diff', 'remove'];

/** catchInterrupts() if `command` is one that handles them; the bin script calls it first thing. */
export function catchInterruptsFor(command: string | undefined): void {
  if (INTERRUPTIBLE.includes(command ?? '')) catchInterrupts();
}

/** Stops catching them: the default action (quit) applies again. */
export function releaseInterrupts(): void {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  listener = undefined;
  count = 0;
}

/**
 * Calls `fn(n)` on the n-th interrupt, starting with any that came before this call (then once,
 * with their count). Catches interrupts from now on if nobody did yet.
 */
export function onInterrupt(fn: (n: number) => void): void {
  catchInterrupts();
  listener = fn;
  if (count > 0) fn(count);
}
