import { spawnSync } from 'node:child_process';

/** Where a test needs a real program: in CI its absence is a failure; elsewhere the test is
 * skipped, loudly, saying why. */
export function need(programs: string[], what: string): boolean {
  const missing = programs.filter((p) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', p]).status !== 0);
  if (missing.length === 0) return true;
  const why = `${what} needs ${missing.join(', ')} (Debian: .ci/run installs them)`;
  if (process.env.CI) throw new Error(`CI must run ${what}, but: ${why}`);
  process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
  return false;
}
