/**
 * The plan as a picture, for `routegen plan --format mermaid|dot`: every machine a box with its
 * address and pod subnets, and an arrow from each host to the machine each of its routes goes
 * through, labelled with the destination and gateway. Pure: plan in, text out.
 */
import { hostPlan, type PlannedHost, type RoutePlan } from './plan.js';

/** The picture formats `plan --format` offers. */
export const PICTURE_FORMATS = ['mermaid', 'dot'] as const;
export type PictureFormat = (typeof PICTURE_FORMATS)[number];

interface Box {
  id: string;
  lines: string[];
}

interface Arrow {
  from: string;
  to: string;
  label: string;
}

function boxesAndArrows(plan: RoutePlan, hosts: PlannedHost[]): { boxes: Box[]; arrows: Arrow[] } {
  const ids = new Map(plan.hosts.map((h, i) => [h.machine.hostname, `m${i}`]));
  const shown = new Set(hosts.map((h) => h.machine.hostname));
  const arrows: Arrow[] = [];
  for (const h of hosts) {
    for (const r of hostPlan(plan, h).routes) {
      arrows.push({ from: ids.get(h.machine.hostname)!, to: ids.get(r.owner)!, label: `${r.to} via ${r.via}` });
      shown.add(r.owner);
    }
  }
  const boxes = plan.hosts
    .filter((h) => shown.has(h.machine.hostname))
    .map((h) => {
      const m = h.machine;
      const pods = m.podSubnets.length ? `pods ${m.podSubnets.map((s) => s.text).join(', ')}` : 'no pod subnet';
      return { id: ids.get(m.hostname)!, lines: [m.hostname, m.addresses.map((a) => a.text).join(', '), pods] };
    });
  return { boxes, arrows };
}

/** Mermaid flowchart text (GitHub and most Markdown viewers render it in a ```mermaid block). */
function mermaid(boxes: Box[], arrows: Arrow[]): string {
  const q = (s: string) => s.replace(/"/g, '#quot;');
  return [
    'flowchart LR',
    ...boxes.map((b) => `  ${b.id}["${b.lines.map(q).join('<br/>')}"]`),
    ...arrows.map((a) => `  ${a.from} -->|"${q(a.label)}"| ${a.to}`),
  ].join('\n');
}

/** Graphviz dot text (`dot -Tsvg`). */
function dot(boxes: Box[], arrows: Arrow[]): string {
  const q = (s: string) => `"${s.replace(/[\\"]/g, (m) => `\\${m}`)}"`;
  return [
    'digraph routegen {',
    '  rankdir=LR;',
    '  node [shape=box, fontname="sans-serif"];',
    '  edge [fontname="sans-serif", fontsize=10];',
    ...boxes.map((b) => `  ${b.id} [label=${q(b.lines.join('\n')).replace(/\n/g, '\\n')}];`),
    ...arrows.map((a) => `  ${a.from} -> ${a.to} [label=${q(a.label)}];`),
    '}',
  ].join('\n');
}

/** The chosen hosts' routes as a picture; machines that are only gateways are drawn too. */
export function planPicture(plan: RoutePlan, hosts: PlannedHost[], format: PictureFormat): string {
  const { boxes, arrows } = boxesAndArrows(plan, hosts);
  return format === 'dot' ? dot(boxes, arrows) : mermaid(boxes, arrows);
}
