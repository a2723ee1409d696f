/**
 * One Node object of `kubectl get nodes -o json` read into the facts of a Machine:
 *   - hostname = metadata.name, or its first label when the name is a dotted FQDN; checked with
 *     names.ts's HOSTNAME_RE (every label of a dotted name too);
 *   - fqdn = a dotted node name itself; else the first Hostname address, else the first
 *     InternalDNS address, that is a dotted DNS name; else the node name;
 *   - addresses = the first InternalIP of each family, in the order given (the first is the
 *     primary); later ones of the same family and ExternalIPs are ignored. None is an error;
 *   - podSubnets = spec.podCIDRs, else spec.podCIDR (which must then equal podCIDRs[0]); a node
 *     without either (a control-plane node, say) gets routes but no subnet.
 * The node is a value from JSON.parse, or from jsonSlices.ts pruned to its SHAPE (a member read
 * here, or by kubectl.ts, must be listed there); problems and spans name the JSON path of the
 * value they are about, and kubectl.ts turns paths into positions only when they are shown.
 */
import { addPodSubnet, isIpProblem, parseHostAddress, parseNetwork } from '../ip.js';
import type { IpValue, Span } from '../types.js';
import { short } from './describe.js';
import type { JsonPath } from './jsonPositions.js';
import { checkNodeName, isDnsName } from './names.js';

/** What a problem underlines: the value, its property name, or the value's first character. */
export type Mark = 'value' | 'key' | 'start';

/** Positions, for the few messages that quote them (a number as written, the line of an earlier node). */
export interface Lookup {
  /** The value at `path` as written in the file. */
  source(path: JsonPath): string;
  /** The line of the value at `path`. */
  line(path: JsonPath): number;
}

/** Text of a message; a function of the positions when it quotes them. */
export type MessageText = string | ((at: Lookup) => string);

/** Collects a problem about the value at `path`. */
export type Report = (path: JsonPath, message: MessageText, hint?: string, mark?: Mark) => void;

/** What a node gives its Machine, with the paths of the values its spans point at. */
export interface NodeFacts {
  name: string;
  hostname: string;
  fqdn: string;
  fqdnPath: JsonPath;
  addresses: IpValue[];
  /** The primary InternalIP's value. */
  ipPath: JsonPath;
  podSubnets: IpValue[];
  /** spec.podCIDRs (the array) or spec.podCIDR, when the node has a pod subnet. */
  subnetPath?: JsonPath;
}

type Obj = Record<string, unknown>;

export const isObject = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
/** An own property (never one of Object.prototype's). */
export const member = (o: Obj, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** A JSON value as a message names it; numbers as written in the file. */
export function describe(v: unknown, source: string): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(short(v))}`;
  if (typeof v === 'number') return `the number ${source}`;
  if (typeof v === 'boolean') return String(v);
  return 'nothing';
}

/** "…; found X" about the value at `path`. */
export const found =
  (before: string, v: unknown, path: JsonPath): MessageText =>
  (at) =>
    `${before}; found ${describe(v, typeof v === 'number' ? at.source(path) : '')}`;

const isNull = (v: unknown) => v === null || v === undefined;

/** The node's name: its value and path, and whether it is usable; null when it has none. */
export function readNodeName(node: Obj, path: JsonPath, where: string, report: Report): { name: string; path: JsonPath; ok: boolean } | null {
  const meta = member(node, 'metadata');
  if (meta !== undefined && !isObject(meta)) {
    const metaPath = path.concat('metadata');
    report(metaPath, found(`metadata of ${where} must be an object`, meta, metaPath));
    return null;
  }
  const name = meta === undefined ? undefined : member(meta, 'name');
  if (name === undefined) {
    if (meta !== undefined) report(path.concat('metadata'), `${where} has no metadata.name`, 'every Node has a name', 'key');
    else report(path, `${where} has no metadata.name`, 'every Node has a name', 'start');
    return null;
  }
  const namePath = path.concat(['metadata', 'name']);
  if (typeof name !== 'string') {
    report(namePath, found(`metadata.name of ${where} must be a string`, name, namePath));
    return null;
  }
  const problem = checkNodeName(name);
  if (problem) report(namePath, problem.message, problem.hint);
  return { name, path: namePath, ok: !problem };
}

/**
 * The addresses, FQDN and pod subnets of a node whose name is `name` (at `namePath`); null when
 * a problem was reported. `spanOf` gives the span of a value for an IpValue. Paths are built
 * only for the values that need one (a span, a problem): a large cluster has many nodes.
 */
export function readNodeFacts(node: Obj, path: JsonPath, name: string, namePath: JsonPath, report: Report, spanOf: (path: JsonPath) => Span): NodeFacts | null {
  const who = `node "${short(name)}"`;
  const at = (...keys: Array<string | number>) => path.concat(keys);
  let ok = true;

  // status.addresses
  const addresses: IpValue[] = [];
  let ipPath: JsonPath | undefined;
  const dnsNames: Array<{ type: string; text: string; index: number }> = [];
  let sawInternalIp = false;
  const addressTypes: string[] = [];
  /** A type error in status: "no InternalIP" would only repeat it. */
  let statusBroken = false;
  const status = member(node, 'status');
  let list: unknown[] | undefined;
  if (!isNull(status) && !isObject(status)) {
    report(at('status'), found(`status of ${who} must be an object`, status, at('status')));
    ok = false;
    statusBroken = true;
  } else if (isObject(status)) {
    const addrs = member(status, 'addresses');
    if (!isNull(addrs) && !Array.isArray(addrs)) {
      report(at('status', 'addresses'), found(`status.addresses of ${who} must be an array`, addrs, at('status', 'addresses')));
      ok = false;
      statusBroken = true;
    } else if (Array.isArray(addrs)) list = addrs;
  }
  for (let i = 0; list && i < list.length; i++) {
    const entry = list[i];
    if (!isObject(entry)) {
      const entryPath = at('status', 'addresses', i);
      report(entryPath, found(`an entry of status.addresses of ${who} must be an object with "type" and "address"`, entry, entryPath));
      ok = false;
      statusBroken = true;
      continue;
    }
    const type = member(entry, 'type');
    const value = member(entry, 'address');
    if (typeof type === 'string') addressTypes.push(type);
    if (type === 'InternalIP') sawInternalIp = true;
    if (typeof type !== 'string' || typeof value !== 'string') {
      const what = typeof type !== 'string' ? 'type' : 'address';
      const bad = typeof type !== 'string' ? type : value;
      const badPath = at('status', 'addresses', i, what);
      if (bad !== undefined) report(badPath, found(`"${what}" of an address of ${who} must be a string`, bad, badPath));
      else report(at('status', 'addresses', i), `an address of ${who} has no "${what}"`, 'each entry of status.addresses is {"type": ..., "address": ...}', 'start');
      ok = false;
      statusBroken = true;
      continue;
    }
    if (type === 'Hostname' || type === 'InternalDNS') dnsNames.push({ type, text: value, index: i });
    if (type !== 'InternalIP') continue;
    const valuePath = at('status', 'addresses', i, 'address');
    if (value.includes('/')) {
      report(valuePath, `InternalIP "${short(value)}" of ${who} has a prefix length`, `a node address is a plain address: ${value.split('/')[0]}`);
      ok = false;
      continue;
    }
    const a = parseHostAddress(value, spanOf(valuePath));
    if (isIpProblem(a)) {
      report(valuePath, `InternalIP ${a.message}`, a.hint);
      ok = false;
    } else if (!addresses.some((x) => x.family === a.family)) {
      // The node's IPs are its first InternalIP of each family, as Kubernetes picks them
      // (GetNodeHostIPs); more than one per family happens with several NICs.
      addresses.push(a);
      ipPath ??= valuePath;
    }
  }
  if (!sawInternalIp && !statusBroken) {
    if (list) {
      const types = [...new Set(addressTypes)];
      const has = types.length ? `status.addresses lists only ${types.map((t) => short(t)).join(', ')}` : 'status.addresses is empty';
      report(at('status', 'addresses'), `${who} has no InternalIP address: ${has}`, "routes to a node's pod subnet go via its InternalIP, which the kubelet reports (see its --node-ip)");
    } else report(namePath, `${who} has no InternalIP address: its status.addresses is missing`, "routes to a node's pod subnet go via its InternalIP; has the node's kubelet registered yet?");
    ok = false;
  }

  // FQDN: a dotted node name is one; else the node's first Hostname address, else its first
  // InternalDNS address, that is a dotted DNS name; else the node name.
  const dotted = (t: string) => dnsNames.find((d) => d.type === t && d.text.includes('.') && isDnsName(d.text));
  const dns = name.includes('.') ? undefined : (dotted('Hostname') ?? dotted('InternalDNS'));
  const fqdn = dns ? { text: dns.text, path: at('status', 'addresses', dns.index, 'address') } : { text: name, path: namePath };

  // spec.podCIDRs, else spec.podCIDR
  const podSubnets: IpValue[] = [];
  let subnetPath: JsonPath | undefined;
  const spec = member(node, 'spec');
  if (!isNull(spec) && !isObject(spec)) {
    report(at('spec'), found(`spec of ${who} must be an object`, spec, at('spec')));
    ok = false;
  } else if (isObject(spec)) {
    const cidrs = member(spec, 'podCIDRs');
    const onePath = () => at('spec', 'podCIDR');
    let one = member(spec, 'podCIDR');
    if (!isNull(one) && typeof one !== 'string') {
      report(onePath(), found(`spec.podCIDR of ${who} must be a CIDR string`, one, onePath()));
      ok = false;
      one = undefined;
    }
    const entries: Array<{ text: string; path: JsonPath }> = [];
    if (!isNull(cidrs)) {
      const cidrsPath = at('spec', 'podCIDRs');
      if (!Array.isArray(cidrs)) {
        report(
          cidrsPath,
          found(`spec.podCIDRs of ${who} must be an array of CIDR strings`, cidrs, cidrsPath),
          typeof cidrs === 'string' ? `write [${JSON.stringify(cidrs)}]` : 'e.g. ["10.200.0.0/24"], or one CIDR per address family',
        );
        ok = false;
      } else {
        subnetPath = cidrsPath;
        for (let i = 0; i < cidrs.length; i++) {
          const item: unknown = cidrs[i];
          const itemPath = cidrsPath.concat(i);
          if (typeof item !== 'string') {
            report(itemPath, found(`an entry of spec.podCIDRs of ${who} must be a CIDR string`, item, itemPath));
            ok = false;
          } else entries.push({ text: item, path: itemPath });
        }
      }
    } else if (typeof one === 'string' && one !== '') {
      subnetPath = onePath();
      entries.push({ text: one, path: subnetPath });
    }
    for (const item of entries) {
      const problem = addPodSubnet(podSubnets, item.text, spanOf(item.path), who);
      if (problem) {
        report(item.path, problem.message, problem.hint);
        ok = false;
      }
    }
    // The API server keeps podCIDR equal to podCIDRs[0]; a difference means a hand edit.
    if (typeof one === 'string' && one !== '' && entries[0] && !isNull(cidrs) && podSubnets[0]) {
      const single = parseNetwork(one, spanOf(onePath()));
      if (!isIpProblem(single) && single.text !== podSubnets[0].text) {
        report(onePath(), `spec.podCIDR ${single.text} of ${who} differs from spec.podCIDRs[0] ${podSubnets[0].text}`, 'Kubernetes keeps podCIDR equal to the first of podCIDRs; was one of them edited?');
        ok = false;
      }
    }
  }

  if (!ok || !ipPath) return null;
  return { name, hostname: name.split('.')[0]!, fqdn: fqdn.text, fqdnPath: fqdn.path, addresses, ipPath, podSubnets, subnetPath: subnetPath && podSubnets.length ? subnetPath : undefined };
}
