/** `routegen plan`: the routes every host needs, as a table, JSON or a picture. */
import { hostPlan } from '../plan.js';
import { plural, visibleWidth } from '../report.js';
import type { HostPlan } from '../types.js';
import { planPicture, PICTURE_FORMATS, type PictureFormat } from '../picture.js';
import type { ArgsOf } from '../options.js';
import { loadInputs, type Io } from './common.js';

/** `routegen plan` options. */
export type PlanArgs = ArgsOf<'plan'>;

/** The JSON shape of one host in `plan --json` (stable; documented in the README). */
function hostJson(h: HostPlan) {
  return {
    name: h.name,
    ip: h.ip,
    stack: h.settings.stack ?? null,
    interface: h.settings.interface ?? null,
    routes: h.routes.map((r) => ({ to: r.to, via: r.via })),
  };
}

/** `routegen plan`: validates the inventory and prints every host's routes. Streams host by
 * host, so a cluster of thousands prints without holding n² routes in memory. */
export function planCommand(args: PlanArgs, io: Io): number {
  const { plan, hosts } = loadInputs(args);
  if (args.format && (PICTURE_FORMATS as readonly string[]).includes(args.format)) {
    io.out(planPicture(plan, hosts, args.format as PictureFormat));
    return 0;
  }
  if (args.json || args.format === 'json') {
    io.out('{\n  "hosts": [');
    hosts.forEach((h, i) => {
      const body = JSON.stringify(hostJson(hostPlan(plan, h)), null, 2).replace(/\n/g, '\n    ');
      io.out(`    ${body}${i < hosts.length - 1 ? ',' : ''}`);
    });
    io.out('  ]\n}');
    return 0;
  }
  const { c } = io;
  const header = ['HOST', 'STACK', 'INTERFACE', 'DESTINATION', 'VIA'];
  const w = [
    Math.max(4, ...hosts.map((h) => h.machine.hostname.length)),
    Math.max(5, ...hosts.map((h) => (h.settings.stack ?? '-').length)),
    Math.max(9, ...hosts.map((h) => (h.settings.interface ?? '-').length)),
    Math.max(11, ...plan.destinations.map((r) => r.to.length)),
  ];
  const line = (cells: string[]) => cells.map((x, i) => (i < w.length ? x + ' '.repeat(Math.max(0, w[i]! - visibleWidth(x))) : x)).join('  ').trimEnd();
  io.out(c.bold(line(header)));
  let routes = 0;
  for (const h of hosts) {
    const p = hostPlan(plan, h);
    routes += p.routes.length;
    const first = [c.bold(p.name), p.settings.stack ?? c.dim('-'), p.settings.interface ?? c.dim('-')];
    if (p.routes.length === 0) io.out(line([...first, c.dim('(no routes)'), '']));
    p.routes.forEach((r, i) => io.out(line([...(i === 0 ? first : ['', '', '']), r.to, r.via])));
  }
  const unknown = hosts.filter((h) => !h.settings.stack).length;
  io.out('');
  io.out(`${plural(hosts.length, 'host')}, ${plural(routes, 'route')}.${unknown ? c.dim(` Stack and interface not given for ${plural(unknown, 'host')}: push, diff and status ask each host; render needs --stack/--interface, routegen.yaml, or \`routegen discover --write\`.`) : ''}`);
  return 0;
}
