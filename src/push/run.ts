/** Runs one host function (push, remove) over the selected hosts, --parallel at a time. */
import pLimit from 'p-limit';
import { hostPlan, type PlannedHost, type RoutePlan } from '../plan.js';
import { describeError } from './failure.js';
import { pushHost, type HostResult, type PushOptions, type Step } from './pushHost.js';

export interface RunOptions extends PushOptions {
  parallel: number;
  /** Called when a host starts and finishes, for progress displays. */
  onStart?: (host: string) => void;
  onDone?: (r: HostResult) => void;
  /** When it returns true, hosts not yet started are skipped (SIGINT). */
  stopped?: () => boolean;
}

/**
 * Runs pushHost over the hosts, at most `parallel` at a time. A failing host — even one that
 * meets a bug in routegen — never stops the others; each host's routes are listed only while it is in flight (memory stays O(n)).
 */
export async function runHosts(plan: RoutePlan, hosts: PlannedHost[], opts: RunOptions, fn = pushHost): Promise<HostResult[]> {
  const limit = pLimit(Math.max(1, opts.parallel));
  return Promise.all(
    hosts.map((h) =>
      limit(async () => {
        const name = h.machine.hostname;
        if (opts.stopped?.()) {
          const r: HostResult = { host: name, address: h.machine.addresses[0]!.text, outcome: 'failed', routes: plan.destinations.filter((d) => d.owner !== name).length, seconds: 0, error: { step: 'start', message: 'not started: interrupted' } };
          opts.onDone?.(r);
          return r;
        }
        opts.onStart?.(name);
        const hp = hostPlan(plan, h);
        // A host's run ends as its result, whatever happens: a bug on one host fails that host.
        const r = await fn(hp, opts).catch((e: unknown): HostResult => ({ host: name, address: h.machine.addresses[0]!.text, outcome: 'failed', routes: hp.routes.length, seconds: 0, error: describeError(e, 'start') }));
        opts.onDone?.(r);
        return r;
      }),
    ),
  );
}

export type { Step };
