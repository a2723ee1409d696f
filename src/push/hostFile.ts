/**
 * routegen's file on a host, as text: what it should hold (rendered, or merged into the host's
 * own NetworkManager keyfile), how it differs from what is there, and the names routegen gives
 * it on the host (its state key, the address it connects to).
 */
import { createTwoFilesPatch } from 'diff';
import { UserError } from '../errors.js';
import { cidrRange } from '../ip.js';
import type { RemoteHost } from '../remote/connection.js';
import { renderHost } from '../render.js';
import { mergeKeyfileRoutes } from '../stacks/nmKeyfile.js';
import type { StackModule } from '../stacks/index.js';
import { plainName } from '../stacks/stack.js';
import type { HostPlan, IpValue, Route } from '../types.js';
import { StepError } from './failure.js';
import { stateFile, type Families } from './protocol.js';

/** What plannedFile needs of a run's options. */
export interface FileContext {
  inventoryName: string;
  /** Every pod subnet of the cluster: on NetworkManager hosts, the routes routegen owns. */
  cluster: IpValue[];
}

/** Which address or name to give ssh for a host. */
export function connectName(h: HostPlan): string {
  switch (h.settings.ssh.via) {
    case 'hostname':
      return h.name;
    case 'fqdn':
      return h.fqdn;
    default:
      return h.ip;
  }
}

/** The state key of a target path: its path with `/` as `%`, any other character that is not
 * safe in a file name and an argument as `=XX` (a keyfile may be named `Wired connection 1`). */
export function stateKey(path: string): string {
  return path.replace(/^\//, '').split('/').map(plainName).join('%');
}

/** NetworkManager: the destinations routegen wrote into the host's keyfile at its last push. */
export async function ownedRoutes(conn: RemoteHost, key: string): Promise<string[]> {
  const text = await conn.readFile(stateFile(key, 'owned')).catch(() => null);
  return text?.toString('utf8').split('\n').filter(Boolean) ?? [];
}

/**
 * What the host's file should hold: the rendered file, or — on NetworkManager, whose keyfile is
 * the host's own — the current keyfile with its pod routes replaced. `before`: the destinations
 * routegen owned in the current file, for checking that removed ones left the kernel.
 */
export function plannedFile(stack: StackModule, h: HostPlan, current: string | null, opts: FileContext, owned: string[] = []): { planned: string | null; before: string[] } {
  if (!stack.merges) {
    return { planned: renderHost(h, opts.inventoryName)[0]?.content ?? null, before: current === null ? [] : stack.routes(current).map((r) => r.to) };
  }
  if (current === null) throw new StepError('check', `${stack.path(h.settings)} does not exist`);
  // Routegen's routes: those into today's pod subnets, and those it wrote last time (a node
  // removed from the inventory takes its subnet out of the cluster, not out of the keyfile).
  const ours = [...opts.cluster, ...owned.map(cidrRange).filter((r): r is IpValue => r !== null)];
  const inCluster = (cidr: string) => {
    const r = cidrRange(cidr);
    return r !== null && ours.some((c) => c.family === r.family && r.start >= c.start && r.end <= c.end);
  };
  try {
    const planned = mergeKeyfileRoutes(current, h.routes.map((r) => ({ family: r.family, to: r.to, via: r.via, ...(h.settings.metric === undefined ? {} : { metric: h.settings.metric }) })), ours, cidrRange);
    return { planned, before: stack.routes(current).map((r) => r.to).filter(inCluster) };
  } catch (e) {
    if (e instanceof UserError) throw new StepError('check', `${stack.path(h.settings)}: ${e.message}`, undefined, e.hint);
    throw e;
  }
}

export function unifiedDiff(path: string, current: string | null, planned: string | null): string {
  if ((current ?? '') === (planned ?? '')) return '';
  return createTwoFilesPatch(current === null ? '/dev/null' : `a${path}`, planned === null ? '/dev/null' : `b${path}`, current ?? '', planned ?? '', '', '', { context: 3 })
    .split('\n')
    .slice(1) // the "Index:"/"===" header createTwoFilesPatch starts with
    .filter((l) => !/^=+$/.test(l))
    .join('\n');
}

/** Destinations added and removed, by destination: a changed gateway or metric rewrites the
 * file but adds or removes nothing. */
export function countChanges(planned: Route[], before: string[]): { added: number; removed: number } {
  const now = new Set(planned.map((r) => r.to));
  const was = new Set(before);
  return { added: [...now].filter((d) => !was.has(d)).length, removed: [...was].filter((d) => !now.has(d)).length };
}

/** The address families whose routing tables a push reads: those of the planned routes and of
 * the ones it takes away (IPv4 when there are none: the table the guard reads then is empty). */
export function familiesOf(planned: Route[], before: string[]): Families {
  const v4 = planned.some((r) => r.family === 4) || before.some((d) => !d.includes(':'));
  const v6 = planned.some((r) => r.family === 6) || before.some((d) => d.includes(':'));
  return v4 && v6 ? '46' : v6 ? '6' : '4';
}
