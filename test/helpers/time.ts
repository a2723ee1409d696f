/**
 * How long a test may wait, scaled to the machine it runs on. Tests wait for events (a file
 * appearing, a line printed, a socket opening), never for a fixed time; the bounds here only say
 * when to give up. `ROUTEGEN_TEST_TIME_FACTOR` multiplies every bound and every routegen timeout a
 * test passes on the command line (default 1; `.ci/run` raises it, since CI may run on a machine
 * several times slower than a developer's).
 */

const raw = process.env.ROUTEGEN_TEST_TIME_FACTOR;
const parsed = raw === undefined || raw === '' ? 1 : Number(raw);
if (!Number.isFinite(parsed) || parsed < 1) throw new Error(`ROUTEGEN_TEST_TIME_FACTOR must be a number >= 1; got ${JSON.stringify(raw)}`);

/** The machine's slowness factor (>= 1). */
export const TIME_FACTOR = parsed;

/** A bound of `ms` milliseconds on this machine. */
export function bound(ms: number): number {
  return Math.round(ms * TIME_FACTOR);
}

/** `s` seconds on this machine, as a whole number for a routegen flag (`--confirm-timeout`). */
export function seconds(s: number): string {
  return String(Math.ceil(s * TIME_FACTOR));
}

/**
 * Resolves with the first truthy value of `check`, polled every `everyMs`; fails with a message
 * naming `what` once `bound(ms)` has passed without it.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms: number, everyMs = 10): Promise<T> {
  const limit = bound(ms);
  const deadline = Date.now() + limit;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${limit} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
