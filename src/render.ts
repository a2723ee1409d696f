import Handlebars from 'handlebars';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';
import type { PlannedHost } from './plan.js';
import { STACKS } from './stacks/index.js';
import type { HostPlan, HostSettings, RenderedFile, StackName } from './types.js';

/** templates/ beside src/ and dist/ alike. */
export const TEMPLATE_DIR = fileURLToPath(new URL('../templates/', import.meta.url));

const compiled = new Map<StackName, HandlebarsTemplateDelegate>();

/** Compiled once per process; `noEscape` because these are not HTML, `strict` so that a
 * missing field is an error rather than an empty string in a network file. */
function template(stack: StackName): HandlebarsTemplateDelegate {
  let t = compiled.get(stack);
  if (!t) {
    const src = readFileSync(TEMPLATE_DIR + STACKS[stack].template, 'utf8');
    // precompile() parses eagerly, so a broken template fails here rather than mid-render.
    Handlebars.precompile(src, { noEscape: true, strict: true });
    t = Handlebars.compile(src, { noEscape: true, strict: true });
    compiled.set(stack, t);
  }
  return t;
}

/** The inventory's file name as it may appear in a generated comment: nothing that could end
 * the comment line or confuse a reader. */
export function safeLabel(name: string): string {
  return name.replace(/[^A-Za-z0-9._+@-]/g, '_') || 'inventory';
}

/** Offline, a networkd host's `.network` file defaults to `10-<interface>.network`; push
 * asks the host instead (`networkctl status`). */
export function renderSettings(s: HostSettings): HostSettings {
  if (s.stack === 'networkd' && s.interface && !s.networkdFile) return { ...s, networkdFile: `10-${s.interface}.network` };
  return s;
}

/**
 * Every host must have the settings its stack needs before anything is rendered; lists every
 * host that lacks one, so the user fixes them all in one go.
 */
export function checkRenderable(hosts: PlannedHost[]): void {
  const missing: string[] = [];
  for (const h of hosts) {
    const s = renderSettings(h.settings);
    if (!s.stack) {
      missing.push(`${h.machine.hostname}: no network stack`);
      continue;
    }
    if (STACKS[s.stack].merges) {
      missing.push(`${h.machine.hostname}: NetworkManager — routegen edits the routes of its connection's keyfile on the host, which render cannot do offline (use \`routegen diff\`)`);
      continue;
    }
    for (const r of STACKS[s.stack].required) {
      if (!s[r]) missing.push(`${h.machine.hostname}: no ${r === 'networkdFile' ? 'networkd file' : 'interface'} (stack ${s.stack})`);
    }
  }
  if (missing.length === 0) return;
  const shown = missing.length > 8 ? [...missing.slice(0, 8), `... and ${missing.length - 8} more`] : missing;
  throw new UserError(`routegen needs to know each host's network stack and interface:\n  ${shown.join('\n  ')}`, {
    kind: 'usage',
    hint: 'pass --stack networkd|netplan|ifupdown and --interface IFACE (e.g. --stack networkd --interface eth1), set them in routegen.yaml under defaults: or hosts:, or let `routegen discover --write` find them on the hosts',
  });
}

/**
 * Renders one host's file. A host with no routes gets no file: routegen removes the file it
 * owns there instead.
 */
export function renderHost(host: HostPlan, inventoryName: string): RenderedFile[] {
  const s = renderSettings(host.settings);
  if (!s.stack || STACKS[s.stack].merges) throw new Error(`internal: renderHost(${host.name}) without a stack it can render`);
  if (host.routes.length === 0) return [];
  const stack = STACKS[s.stack];
  const metric = s.metric === undefined ? null : String(s.metric);
  const content = template(s.stack)({
    inventory: safeLabel(inventoryName),
    host: host.name,
    interface: s.interface,
    networkdFile: s.networkdFile ?? null,
    routes: host.routes.map((r) => ({ to: r.to, via: r.via, metric })),
  });
  return [{ host: host.name, path: stack.path(s), mode: stack.mode, content }];
}
