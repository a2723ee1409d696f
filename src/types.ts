/** The data passed between routegen's stages. Plain values only: every stage above the remote
 * layer can be tested in memory. */

export type StackName = 'networkd' | 'netplan' | 'ifupdown' | 'networkmanager';
export const STACK_NAMES: readonly StackName[] = ['networkd', 'netplan', 'ifupdown', 'networkmanager'];

export type Family = 4 | 6;

/** netplan's device sections: an interface's routes go into the section that defines it. */
export const NETPLAN_SECTIONS = ['ethernets', 'bonds', 'bridges', 'vlans', 'wifis', 'tunnels', 'vrfs', 'dummy-devices', 'virtual-ethernets'] as const;
export type NetplanSection = (typeof NETPLAN_SECTIONS)[number];

/** The largest route metric the kernel takes (a 32-bit priority). */
export const ROUTE_METRIC_MAX = 4294967295;

/** Where a token sits in its source line, for error messages. */
export interface Span {
  column: number;
  length: number;
}

/** An address or a CIDR as parsed and normalised. */
export interface IpValue {
  family: Family;
  /** Canonical text: `10.200.0.0/24`, `fd00:10::/64`, `192.168.10.101`. */
  text: string;
  /** First address as a number, for ordering and containment. */
  start: bigint;
  /** Last address (the address itself for a plain address). */
  end: bigint;
  prefix: number;
  span: Span;
}

/** One line of machines.txt. */
export interface Machine {
  /** Addresses in the IP column (one per family at most; the first is the primary one). */
  addresses: IpValue[];
  fqdn: string;
  hostname: string;
  /** Pod subnets (zero, one, or one per family). */
  podSubnets: IpValue[];
  line: number;
  source: string;
  spans: { ip: Span; fqdn: Span; hostname: Span; subnet?: Span };
}

export interface Inventory {
  /** The path as the user gave it (for messages). */
  file: string;
  /** The file name alone (goes into generated files, so output does not depend on cwd). */
  name: string;
  machines: Machine[];
}

export type ConnectVia = 'ip' | 'hostname' | 'fqdn';

export interface SshSettings {
  user?: string;
  port?: number;
  identityFile?: string;
  via: ConnectVia;
}

/** Settings of one host after defaults, routegen.yaml and command-line flags are merged. */
export interface HostSettings {
  stack?: StackName;
  interface?: string;
  /** networkd: the `.network` file managing the interface, whose drop-in directory routegen writes. */
  networkdFile?: string;
  /** netplan: the section that defines the interface (`ethernets`, `bonds`, ...); asked of the host. */
  netplanSection?: NetplanSection;
  /** netplan: the ID (the key under the section) that defines the interface, as netplan resolved
   * it on the host (`lan` for `lan: {match: {name: "eth*"}}`); the interface name when unset. */
  netplanId?: string;
  /** NetworkManager: the keyfile of the connection that owns the interface (asked of the host). */
  /** NetworkManager: the UUID of the connection that owns the interface (`nm-connection`;
   * default: the interface's active connection, asked of the host). */
  nmConnection?: string;
  /** NetworkManager: that connection's keyfile, as NetworkManager reports it (asked of the host). */
  connectionFile?: string;
  metric?: number;
  ssh: SshSettings;
}

export interface Route {
  family: Family;
  /** Destination pod subnet, canonical CIDR. */
  to: string;
  /** Gateway: the owning machine's address of the same family. */
  via: string;
  /** The machine whose pod subnet this is. */
  owner: string;
}

export interface HostPlan {
  name: string;
  fqdn: string;
  /** Primary address (first in the IP column). */
  ip: string;
  addresses: string[];
  settings: HostSettings;
  /** The host's own pod subnets (canonical CIDRs): the other hosts route them to it. */
  podSubnets: string[];
  /** Sorted: IPv4 first, then by destination address. */
  routes: Route[];
}

export interface RenderedFile {
  host: string;
  /** Absolute path on the host. */
  path: string;
  mode: number;
  content: string;
}
