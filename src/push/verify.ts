/**
 * Verifying a host after it applied: poll its kernel, through routegen's helper, until every
 * planned route is there and every removed one is gone, or the time is up.
 */
import type { HostPlan } from '../types.js';
import { StepError } from './failure.js';
import type { HostHelper } from './hostAccess.js';
import { checkRoutes, parseKernelRoutes, routeCheckOk, type RouteCheck } from './kernel.js';
import { EXIT, type Families } from './protocol.js';

/** Polls the kernel until the plan is there, or the time is up. networkd reloads
 * asynchronously before systemd 256: the first look may come too early. */
export async function verify(helper: HostHelper, h: HostPlan, gone: string[], first: string, families: Families, timeoutS: number): Promise<RouteCheck> {
  const deadline = Date.now() + timeoutS * 1000;
  let out: string | undefined = first;
  for (let delay = 25; ; delay = Math.min(delay * 2, 1000)) {
    if (out === undefined) {
      const r = await helper.run('routes', { families });
      if (r.code !== EXIT.ok) throw new StepError('verify', 'cannot read the routing table', r.stderr);
      out = r.stdout;
    }
    const check = checkRoutes(parseKernelRoutes(out), h.routes, h.settings.interface!, h.settings.metric, gone);
    out = undefined;
    if (routeCheckOk(check) || Date.now() >= deadline) return check;
    await new Promise((r) => setTimeout(r, delay));
  }
}

