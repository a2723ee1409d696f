/**
 * NetworkManager keyfiles (nm-settings-keyfile(5)), what routegen reads and changes in them:
 * routegen owns no file of its own on a NetworkManager host — NM activates one connection per
 * device — so it edits the routes of the connection that owns the interface. It owns exactly the
 * routes whose destination lies inside the cluster's pod subnets; every other line of the file
 * stays as it was, byte for byte (a kept route may only get a new number, its value is
 * untouched). This file decides which routes go and come; nmKeyfileParse.ts reads the file as
 * NM 1.42 does (checked against `nmcli --offline`, see test/nmKeyfile.test.ts) and
 * nmKeyfileEmit.ts writes it back.
 *
 * Pure: no I/O. The file on the host must stay mode 0600 (NM ignores keyfiles others can read).
 */
import { UserError } from '../errors.js';
import type { Family } from '../types.js';
import { emitKeyfile, type SectionRoutes } from './nmKeyfileEmit.js';
import { addressOf, networkOf, parseRouteValue, parseSections, SECTIONS, splitLines } from './nmKeyfileParse.js';

/** Mode of a keyfile in /etc/NetworkManager/system-connections: NM refuses anything else. */
export const KEYFILE_MODE = 0o600;

export interface PlannedRoute {
  family: Family;
  to: string;
  via: string;
  metric?: number;
}

export interface AddressRange {
  family: Family;
  start: bigint;
  end: bigint;
}

/** A route as NetworkManager reads it from a keyfile. */
export interface KeyfileRoute {
  family: Family;
  /** The key it was read from (`route3`, `routes1`, `route`). */
  key: string;
  /** Destination with its prefix length (NM's default added when the file has none). */
  to: string;
  /** Gateway; '' when there is none (absent, empty, 0.0.0.0 or ::). */
  via: string;
  metric?: number;
  /** The raw value of `<key>_options`, when there is one. */
  options?: string;
}

function inside(r: AddressRange, cluster: AddressRange[]): boolean {
  return cluster.some((c) => c.family === r.family && c.start <= r.start && r.end <= c.end);
}

/** The routes NetworkManager reads from a keyfile: [ipv4] then [ipv6], each in NM's order. */
export function keyfileRoutes(text: string): KeyfileRoute[] {
  const { lines } = splitLines(text);
  const sections = parseSections(lines);
  const out: KeyfileRoute[] = [];
  for (const family of [4, 6] as const) {
    const s = sections.get(SECTIONS[family]);
    if (!s) continue;
    for (const r of s.routes) {
      const v = parseRouteValue(r.value, family);
      if (!v) continue;
      const opt = s.options.get(r.key);
      out.push({ family, key: r.key, ...v, ...(opt !== undefined ? { options: lines[opt]?.value ?? '' } : {}) });
    }
  }
  return out;
}

/**
 * The keyfile with its pod routes replaced by `routes`: routes whose destination lies inside one
 * of `cluster`'s pod subnets (and their `_options`) are removed, every other route keeps its
 * value and its place in NM's order, renumbered densely from 1 (`routeN`), and the planned
 * routes follow them, ordered by destination. Everything else in the file is kept as it was.
 * The same input always gives the same bytes, and merging the result again changes nothing.
 *
 * Throws a UserError when the connection has no [ipv4]/[ipv6] section for a family that has
 * planned routes (adding one would change how NM configures that family), when that family is
 * disabled in the connection, or when the file is ambiguous (a section or key given twice).
 */
export function mergeKeyfileRoutes(
  existing: string,
  routes: PlannedRoute[],
  cluster: AddressRange[],
  toRange: (cidr: string) => AddressRange | null,
): string {
  const { lines, eol } = splitLines(existing);
  const sections = parseSections(lines);

  const planned = new Map<Family, Array<PlannedRoute & { range: AddressRange }>>([
    [4, []],
    [6, []],
  ]);
  for (const r of routes) {
    const range = toRange(r.to);
    if (!range || range.family !== r.family || addressOf(r.via, r.family) === null) throw new Error(`bug: planned route ${r.to} via ${r.via} is not an IPv${r.family} route`);
    // A planned route outside the pod subnets would not be recognised as routegen's next time.
    if (!inside(range, cluster)) throw new Error(`bug: planned route ${r.to} is not inside the cluster's pod subnets`);
    const list = planned.get(r.family) as Array<PlannedRoute & { range: AddressRange }>;
    if (!list.some((p) => p.to === r.to && p.via === r.via && p.metric === r.metric)) list.push({ ...r, range });
  }

  const blocks: SectionRoutes[] = [];
  for (const family of [4, 6] as const) {
    const want = (planned.get(family) ?? []).sort((a, b) => (a.range.start < b.range.start ? -1 : a.range.start > b.range.start ? 1 : a.range.end < b.range.end ? -1 : a.range.end > b.range.end ? 1 : a.via < b.via ? -1 : a.via > b.via ? 1 : 0));
    const s = sections.get(SECTIONS[family]);
    if (!s) {
      if (want.length === 0) continue;
      throw new UserError(`the connection has no [${SECTIONS[family]}] section, but ${want.length} IPv${family} pod route${want.length === 1 ? '' : 's'} are planned for it`, {
        hint: `adding [${SECTIONS[family]}] would change how NetworkManager configures IPv${family} on this interface; configure IPv${family} in the connection first (e.g. \`nmcli connection modify <name> ${SECTIONS[family]}.method manual ${SECTIONS[family]}.addresses ...\`)`,
      });
    }
    if (want.length > 0 && (s.method === 'disabled' || s.method === 'ignore')) {
      throw new UserError(`the connection has ${SECTIONS[family]}.method=${s.method}: NetworkManager would not configure its IPv${family} pod routes`, {
        hint: `enable IPv${family} in the connection, or leave IPv${family} pod subnets out of the inventory for this host`,
      });
    }
    const kept = s.routes.filter((r) => {
      const v = parseRouteValue(r.value, family);
      if (!v) return true; // NM ignores it; not routegen's either
      const net = networkOf(v.to);
      const range = net === null ? null : toRange(net);
      return !(range && range.family === family && inside(range, cluster));
    });
    blocks.push({ section: s, kept, planned: want });
  }
  return emitKeyfile(lines, eol, blocks);
}
