/**
 * A Machine read from `kubectl get nodes -o json`, whose positions are found when first read.
 *
 * validateInventory() reports every cross-machine problem (duplicate addresses, overlapping
 * subnets, missing family...) on `m.line` with a column from `m.spans` or an IpValue's `span`:
 * one line per machine. In kubectl's output a node's name, its addresses and its podCIDRs are on
 * different lines, so:
 *   - Machine.line is the line of the node's `metadata.name` value and Machine.source that line:
 *     the line that names the node, inside the node's object;
 *   - a span (spans.ip/fqdn/hostname/subnet and every IpValue.span) points at its own JSON value
 *     when that value is on the same line (single-line JSON, e.g. `jq -c`), and otherwise at the
 *     `metadata.name` value. The messages of validateInventory name the value itself
 *     ("pod subnet 10.200.1.0/24 overlaps ..."), so the caret only has to show which node.
 * A valid inventory never needs them: they are getters, computed on first read from the text
 * (jsonPositions.ts: one pass finds those of every machine), and give what plain fields would.
 */
import type { IpValue, Machine, Span } from '../types.js';
import type { JsonPath, JsonPositions } from './jsonPositions.js';
import type { NodeFacts } from './kubectlNode.js';
import type { SourceText } from './sourceText.js';

/** Where one node's values are: its name's line, and the spans of its values. */
export class NodePlace {
  constructor(
    private readonly positions: JsonPositions,
    private readonly src: SourceText,
    readonly namePath: JsonPath,
  ) {
    positions.need(namePath);
  }

  /** The line of the node's name. */
  line(): number {
    return this.src.pos(this.positions.range(this.namePath).start).line;
  }

  source(): string {
    return this.src.source(this.line());
  }

  /** A value's own column if it lies on the name's line, else the name's. */
  span(valuePath: JsonPath): Span {
    const name = this.positions.range(this.namePath);
    const at = this.src.pos(name.start);
    const r = this.positions.range(valuePath);
    const a = this.src.pos(r.start);
    const b = this.src.pos(Math.max(r.start, r.end - 1));
    return a.line === at.line && b.line === at.line ? { column: a.column, length: Math.max(1, r.end - r.start) } : { column: at.column, length: Math.max(1, name.end - name.start) };
  }

  /** `span()` of a value, computed when first read (for IpValue.span, set while parsing). A plain
   * object with its own `column` and `length`, as every other Span. */
  lazySpan(valuePath: JsonPath): Span {
    this.positions.need(valuePath);
    let span: Span | undefined;
    const find = () => (span ??= this.span(valuePath));
    return {
      get column() {
        return find().column;
      },
      get length() {
        return find().length;
      },
    };
  }
}

/** A node as a Machine: its facts, and positions found when first read. */
export class KubectlMachine implements Machine {
  readonly addresses: IpValue[];
  readonly fqdn: string;
  readonly hostname: string;
  readonly podSubnets: IpValue[];
  private found?: Machine['spans'];

  constructor(
    private readonly facts: NodeFacts,
    private readonly place: NodePlace,
  ) {
    this.addresses = facts.addresses;
    this.fqdn = facts.fqdn;
    this.hostname = facts.hostname;
    this.podSubnets = facts.podSubnets;
  }

  get line(): number {
    return this.place.line();
  }

  get source(): string {
    return this.place.source();
  }

  get spans(): Machine['spans'] {
    const { place, facts } = this;
    return (this.found ??= {
      ip: place.span(facts.ipPath),
      fqdn: place.span(facts.fqdnPath),
      hostname: place.span(place.namePath),
      subnet: facts.subnetPath ? place.span(facts.subnetPath) : undefined,
    });
  }
}
