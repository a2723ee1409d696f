/** How a host's failure (push/failure.ts's HostError) is shown under its host: what the host
 * said and what to try, the same in push, diff, remove, status and rollback. */
import { escapeControl } from '../errors.js';
import type { HostError } from '../push/failure.js';
import type { Colors } from '../report.js';

/** The lines under a host's failure: what the host said (its last `lastLines`, when given) and
 * what to try. Text from the host is shown escaped, never raw. */
export function hostErrorDetails(c: Colors, e: HostError, lastLines?: number): string[] {
  const said = e.stderr ? e.stderr.split('\n') : [];
  const out = (lastLines === undefined ? said : said.slice(-lastLines)).map((l) => `  ${c.dim('host said:')} ${escapeControl(l)}`);
  if (e.hint) out.push(`  ${c.cyan('try:')} ${escapeControl(e.hint)}`);
  return out;
}
