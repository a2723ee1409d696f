/**
 * Writes a NetworkManager keyfile back with new route lines: each section's kept routes
 * renumbered densely from 1 (`routeN`, with their `_options`), then the planned routes, the
 * block standing where the section's first route line was. Every other line stays as it was.
 */
import type { PlannedRoute } from './nmKeyfile.js';
import type { Line, RouteEntry, Section } from './nmKeyfileParse.js';

/** One section's new routes: the ones kept from the file, in NM's order, then the planned ones. */
export interface SectionRoutes {
  section: Section;
  kept: RouteEntry[];
  planned: PlannedRoute[];
}

/** The file's lines with each section's route lines replaced by its new block, joined by `eol`. */
export function emitKeyfile(lines: Line[], eol: string, sections: SectionRoutes[]): string {
  const rewrite = new Map<number, string[]>();
  const drop = new Set<number>();
  for (const { section: s, kept, planned: want } of sections) {
    const block: string[] = [];
    let n = 0;
    for (const r of kept) {
      n++;
      const line = lines[r.line] as Line;
      block.push(`${line.lead ?? ''}route${n}${line.rest ?? ''}`);
      const opt = s.options.get(r.key);
      if (opt !== undefined) {
        const o = lines[opt] as Line;
        block.push(`${o.lead ?? ''}route${n}_options${o.rest ?? ''}`);
      }
    }
    for (const r of want) {
      n++;
      block.push(`route${n}=${r.to},${r.via}${r.metric === undefined ? '' : `,${r.metric}`}`);
    }
    // The new block goes where the first route line was; else after the section's last line.
    for (const i of s.routeLines) drop.add(i);
    let at = s.routeLines.length > 0 ? Math.min(...s.routeLines) : s.header;
    if (s.routeLines.length === 0) {
      for (let i = s.end - 1; i > s.header; i--) {
        if ((lines[i] as Line).text.trim() !== '') {
          at = i;
          break;
        }
      }
      rewrite.set(at, [(lines[at] as Line).text, ...block]);
    } else {
      rewrite.set(at, block);
    }
  }
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const r = rewrite.get(i);
    if (r) out.push(...r);
    else if (!drop.has(i)) out.push((lines[i] as Line).text);
  }
  return out.join(eol);
}

