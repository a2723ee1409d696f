/**
 * The namespace lab: a jumpbox, a `server` and N workers as network namespaces on one machine,
 * each host running the real stack its users run (sshd, systemd-networkd + networkctl, netplan,
 * ifupdown, NetworkManager + nmcli, the kernel's routing table). See /work/shared/docs/test-lab.md for the recipe.
 *
 * Layout of one host: `ip netns exec NS unshare --mount --uts --pid --fork --mount-proc
 * --kill-child -- sh init.sh`. The PID namespace is what makes tear-down exact: killing the
 * host's init (a PID the lab recorded) makes the kernel kill everything that runs in that host,
 * including SSH sessions and daemons that a test or routegen started there.
 *
 * Network rule: traffic only to 127.0.0.0/8 or to addresses in namespaces the lab created; no
 * namespace but the pods' gets a default route, and theirs points at their own worker.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Readable } from 'node:stream';
import { bound } from '../helpers/time.js';
import { LAB_BASES, macOf, type LabBaseName } from './bases.js';

export type LabStack = 'networkd' | 'netplan' | 'ifupdown' | 'networkmanager';

/** Every stack a lab host can run. */
export const LAB_STACKS: readonly LabStack[] = ['networkd', 'netplan', 'ifupdown', 'networkmanager'];

export interface LabOptions {
  /** Number of workers (node-0, node-1, ...); default 2. At most 150. */
  workers?: number;
  /**
   * Base network configuration of each host; default 'networkd'. 'networkmanager' hosts run
   * NetworkManager (keyfile plugin, eth1 only: NM_ETH1_KEYFILE) and need it installed.
   */
  stack?: LabStack | ((hostname: string) => LabStack);
  /** Per host, a base from bases.ts (a layout as installers and cloud images leave it) instead
   * of the lab's plain one; the base decides the host's stack. */
  base?: (hostname: string) => LabBaseName | undefined;
  /** Namespace name prefix; default unique per run (`rg<pid>x<n>`). */
  prefix?: string;
  /** Include "server" 192.168.10.100 (no pod subnet); default true. */
  withServer?: boolean;
  /**
   * Keep the hosts running after this process exits (the lab CLI uses it). Default false: the
   * hosts die with this process, whatever way it ends, and exit/SIGINT/SIGTERM handlers tear
   * the lab down.
   */
  persist?: boolean;
  /** Per-host limit for coming up (stack configured, sshd listening); default 20000 ms. */
  readyTimeoutMs?: number;
  /**
   * ifupdown hosts: put `source-directory /etc/network/interfaces.d` after the eth1 stanza
   * instead of before it. Default false: Debian's installer layout, where interfaces.d is read
   * first, so its stanzas for eth1 run before eth1 has its address.
   */
  ifupdownSourceLast?: boolean;
  /** Parent of the lab's temp dir; default os.tmpdir(). */
  tmpRoot?: string;
  /**
   * Dual stack: every host's eth1 also gets fd00:10::<last number of its IPv4 address>/64 (server
   * fd00:10::100, node-N fd00:10::(101+N)) in its base persistent config, eth1 gets a link-local
   * address (IPv6 forwarding needs one for neighbour discovery), no duplicate address detection
   * in the hosts; each worker's cni0 gets fd00:10:200:N::1/64 and its pod fd00:10:200:N::2/64
   * with a default route via it, and IPv6 forwarding is on in the workers. The jumpbox gets
   * fd00:10::10. machines.txt lists both families. SSH still goes to the IPv4 addresses.
   * Default false.
   */
  dualStack?: boolean;
  /**
   * Replaces a host's base persistent files (`files`: the stack's own); test/lab/nmBases.ts
   * builds NetworkManager hosts as installers and cloud-init leave them. Default: unchanged.
   */
  baseFiles?: (host: { name: string; ip: string; stack: LabStack }, files: LabFile[]) => LabFile[];
}

/** A file of a host's base persistent configuration. */
export interface LabFile {
  path: string;
  mode: number;
  content: string;
}

/** The fixed MAC address of a host's eth1 (locally administered), so a base can match on it. */
export function labMac(hostname: string): string {
  const h = createHash('sha256').update(`routegen-lab-mac:${hostname}`).digest();
  return ['02', ...[...h.subarray(0, 5)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export interface LabHost {
  name: string;
  ip: string;
  podSubnet?: string;
  podIp?: string;
  /** Dual-stack labs: eth1's IPv6 address (fd00:10::101), the pod subnet and the pod's address. */
  ip6?: string;
  podSubnet6?: string;
  podIp6?: string;
  stack: LabStack;
  /** Network namespace name (under /run/netns). */
  netns: string;
  /** PID (as this machine sees it) of the host's init; `nsenter -t PID -m -u -n -p` enters it. */
  pid: number;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  input?: string;
  timeoutMs?: number;
}

export interface LabRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
}

/** What the state file holds: enough for `Lab.attach` to find and tear down a running lab. */
interface HostState extends LabHost {
  /** The host's base from bases.ts, when not the lab's plain one. */
  base?: LabBaseName;
  podNetns?: string;
  /** PID of the `unshare` process whose child is the init. */
  unsharePid: number;
  /** Start times (clock ticks since boot, /proc/PID/stat field 22) guard against reused PIDs. */
  pidStart: string;
  unshareStart: string;
}

interface LabState {
  version: 1;
  prefix: string;
  dir: string;
  persist: boolean;
  ifupdownSourceLast: boolean;
  /** Absent in state files written before dual stack existed: false. */
  dualStack?: boolean;
  switchNetns: string;
  jumpboxNetns: string;
  jumpboxIp: string;
  jumpboxIp6?: string;
  /** Every namespace the lab created, in creation order. */
  namespaces: string[];
  hosts: HostState[];
  createdAt: string;
}

const NETWORK = '192.168.10';
const PREFIXLEN = 24;
const JUMPBOX_IP = `${NETWORK}.10`;
const SERVER_IP = `${NETWORK}.100`;
/** Dual stack: the node network's IPv6 prefix; a host's address ends in its IPv4 last number. */
const PREFIXLEN6 = 64;
const JUMPBOX_IP6 = 'fd00:10::10';
/** fd00:10::101 for 192.168.10.101 (the decimal digits, read as hex: the guide's style). */
function ip6Of(ipv4: string): string {
  return `fd00:10::${ipv4.slice(ipv4.lastIndexOf('.') + 1)}`;
}
/** Worker N's IPv6 pod network in canonical text: subnet fd00:10:200:N::/64 (fd00:10:200::/64 for 0). */
function podNet6(n: number): { subnet: string; gw: string; pod: string } {
  const p = n === 0 ? 'fd00:10:200:' : `fd00:10:200:${n}:`;
  return { subnet: `${p}:/${PREFIXLEN6}`, gw: `${p}:1`, pod: `${p}:2` };
}
const MAX_WORKERS = 150;
/** The PATH a root SSH session gets from OpenSSH on Debian; the lab's stand-ins come first. */
const HOST_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NETNS_DIR = '/run/netns';
const NETWORKD = '/lib/systemd/systemd-networkd';
const SSHD = '/usr/sbin/sshd';
const NETWORKMANAGER = '/usr/sbin/NetworkManager';
/** Where a NetworkManager host keeps eth1's connection (its base persistent config). */
export const NM_ETH1_KEYFILE = '/etc/NetworkManager/system-connections/eth1.nmconnection';

// ---------------------------------------------------------------------------------------------
// Scripts that run inside the hosts. Written into the lab dir at bring-up.
// (Plain template literals: no `${` in the shell code, and backslashes doubled.)

/** PID 1 of one host. fd 0: lifeline (EOF ends the host) or /dev/null; fd 3: ready pipe. */
const INIT_SH = `#!/bin/sh
# PID 1 of one routegen lab host. Runs in the host's network namespace, with its own mount, UTS
# and PID namespaces. Env: LAB_DIR LAB_HOSTDIR LAB_NAME LAB_PERSIST.
set -eu
exec 4<&0 </dev/null
# "T <stage> <uptime>" lines time the boot (see init.log).
stage() { read -r up _ </proc/uptime; echo "T $1 $up"; }
stage start
set -x
. "$LAB_HOSTDIR/host.env"
if [ -n "$LAB_POD_NETNS" ]; then
  # The pod: its own namespace, a default route to its worker's bridge (and nowhere else).
  ip -n "$LAB_POD_NETNS" -batch - <<EOF
link set lo up
addr add $LAB_POD_ADDR brd + dev eth0
link set eth0 up
route add default via $LAB_POD_GW
EOF
  if [ -n "$LAB_POD_ADDR6" ]; then
    ip -n "$LAB_POD_NETNS" -batch - <<EOF
addr add $LAB_POD_ADDR6 dev eth0 nodad
route add ::/0 via $LAB_POD_GW6
EOF
  fi
fi
if [ -n "$LAB_IP6" ]; then
  # Dual stack: no duplicate address detection in this host, before any link is up, so IPv6
  # addresses (eth1's link-local one too, which forwarding needs) are usable at once.
  for f in /proc/sys/net/ipv6/conf/*/accept_dad; do echo 0 >"$f"; done
fi
# A writable /sys makes networkd wait for udev forever ("link pending udev initialization").
mount -o remount,bind,ro /sys
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir /run/lab
mount --bind "$LAB_HOSTDIR" /run/lab
# Stand-ins for systemctl and udevadm (no systemd, no udev here) and the lab's rglab helper:
# first in PATH, and bound over the real programs where those exist.
mount --bind "$LAB_DIR/bin" /usr/local/sbin
mount -o remount,bind,ro /usr/local/sbin
for t in systemctl udevadm; do
  for d in /usr/bin /usr/sbin; do
    if [ -f "$d/$t" ] && [ ! -L "$d/$t" ]; then mount --bind "/usr/local/sbin/$t" "$d/$t"; fi
  done
done
# The host's own /etc and /var: writes land in its overlay upper dirs, never in the machine's.
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$LAB_HOSTDIR/etc.upper,workdir=$LAB_HOSTDIR/etc.work" /etc
mount -t overlay overlay -o "lowerdir=/var,upperdir=$LAB_HOSTDIR/var.upper,workdir=$LAB_HOSTDIR/var.work" /var
mount -t tmpfs -o mode=0700 tmpfs /root
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
hostname "$LAB_NAME"
stage mounts
ip link set lo up
if [ -n "$LAB_CNI_ADDR" ]; then
  # The CNI bridge: set up directly, not by the host's network stack.
  ip -batch - <<EOF
link add cni0 type bridge
addr add $LAB_CNI_ADDR brd + dev cni0
link set cni0 up
link set vpod master cni0 up
EOF
  echo 1 > /proc/sys/net/ipv4/ip_forward
  if [ -n "$LAB_CNI_ADDR6" ]; then
    ip addr add "$LAB_CNI_ADDR6" dev cni0 nodad
    echo 1 > /proc/sys/net/ipv6/conf/all/forwarding
  fi
fi
mkdir -p /run/dbus /run/sshd /run/network
chmod 0755 /run/sshd
stage links
dbus-daemon --system --fork 3>&- 4<&-
stage dbus
rglab start-stack 3>&- 4<&-
stage stack
rglab start-sshd 3>&- 4<&-
stage sshd
set +x
echo READY >&3
exec 3>&-
# Stay PID 1 and reap orphans (dash's wait reaps any child, so no zombies pile up). When PID 1
# exits, the kernel kills the whole host: a child killed from inside (kill -9 -1, a full reboot)
# must not end the loop.
set +e
if [ "$LAB_PERSIST" = 1 ]; then
  exec 4<&-
  while :; do sleep 2147483647 & wait $!; done
fi
while :; do
  cat <&4 >/dev/null &
  wait $!
  # cat killed: start it again; EOF: the process that started the lab is gone.
  [ $? -gt 128 ] || break
done
echo "lifeline closed: host $LAB_NAME shuts down"
exit 0
`;

/** The lab's own "init system" for one host: boot, reboot, start and stop daemons. */
const RGLAB_SH = `#!/bin/sh
# rglab: boots and reboots one routegen lab host; runs inside the host's namespaces.
#   rglab start-stack | reboot [full] | start-networkd | stop-networkd | restart-networkd
#         networkd-running | start-nm | stop-nm | restart-nm | reload-nm | nm-running
#         wait-eth1 | start-sshd | kill-sshd | sshd-running
# Waits poll with shell builtins and a growing nap: fifty hosts boot at once on two CPUs.
set -eu
. /run/lab/host.env
NETWORKD_PIDFILE=/run/systemd-networkd.pid
NM_PIDFILE=/run/NetworkManager.lab.pid
SSHD_PIDFILE=/run/sshd.pid
TIMEOUT=$RGLAB_TIMEOUT

fail() {
  echo "rglab($LAB_NAME): $*" >&2
  ip addr show dev eth1 >&2 || true
  if networkd_pid >/dev/null; then networkctl --no-pager status eth1 >&2 || true; fi
  if nm_running; then
    nmcli device status >&2 || true
    # (its warnings first: a keyfile it refused says why there, early in its start)
    grep -E '^<(warn|error)>' /run/lab/NetworkManager.log | grep -v ModemManager | tail -n 8 >&2 || true
    tail -n 8 /run/lab/NetworkManager.log >&2 || true
  fi
  exit 1
}
# UP: uptime in centiseconds.
uptime_cs() { read -r up _ </proc/uptime; UP=\${up%.*}\${up#*.}; }
# poll COMMAND...: until it succeeds or TIMEOUT seconds pass (then returns 1).
poll() {
  uptime_cs; end=$((UP + TIMEOUT * 100)); nap=0.005
  until "$@"; do
    uptime_cs; [ "$UP" -lt "$end" ] || return 1
    sleep $nap
    case $nap in 0.005) nap=0.01 ;; 0.01) nap=0.02 ;; 0.02) nap=0.05 ;; esac
  done
}
# Alive and not a zombie.
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/status" ] || return 1
  while read -r k v _; do
    if [ "$k" = State: ]; then case "$v" in Z|X) return 1 ;; *) return 0 ;; esac; fi
  done 2>/dev/null <"/proc/$1/status"
  return 1
}
dead() { ! alive "$1"; }
# PID: the live process named in pid file $1.
read_pid() { PID=; [ -s "$1" ] && read -r PID <"$1" && alive "$PID"; }
networkd_pid() { read_pid "$NETWORKD_PIDFILE" && echo "$PID"; }
networkd_running() { read_pid "$NETWORKD_PIDFILE"; }

# on_bus NAME: NAME has an owner on the system bus.
on_bus() {
  case "$(busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s "$1" 2>/dev/null)" in
    *true*) return 0 ;;
  esac
  return 1
}
networkd_on_bus() {
  alive "$ND_PID" || return 0 # checked by the caller
  on_bus org.freedesktop.network1
}

# Start networkd; with "nowait", return before it is on D-Bus (start_stack checks that later).
start_networkd() {
  if networkd_running; then return 0; fi
  mkdir -p /run/systemd/netif
  chown systemd-network:systemd-network /run/systemd/netif
  # Logs to its own file; without SYSTEMD_LOG_TARGET it would write to the machine's kmsg.
  SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 setsid ${NETWORKD} </dev/null >>/run/lab/networkd.log 2>&1 3>&- 4<&- &
  ND_PID=$!
  echo "$ND_PID" >"$NETWORKD_PIDFILE"
  if [ "\${1:-}" != nowait ]; then networkd_ready; fi
}
# Ready when it owns its D-Bus name: networkctl reload and reconfigure talk to it there.
# (busctl status fails here: "Failed to get credentials: No medium found"; ask the bus.)
networkd_ready() {
  read_pid "$NETWORKD_PIDFILE" || fail "systemd-networkd is not running"
  ND_PID=$PID
  poll networkd_on_bus || fail "systemd-networkd did not answer on D-Bus within $TIMEOUT s"
  alive "$ND_PID" || { tail -n 20 /run/lab/networkd.log >&2; fail "systemd-networkd exited"; }
}

# stop_pidfile FILE: SIGTERM the process named in FILE, SIGKILL if it does not end in time.
stop_pidfile() {
  read_pid "$1" || { rm -f "$1"; return 0; }
  kill "$PID"
  if ! poll dead "$PID"; then kill -9 "$PID"; poll dead "$PID" || true; fi
  rm -f "$1"
}
stop_networkd() { stop_pidfile "$NETWORKD_PIDFILE"; }

# NetworkManager: runs in the foreground (--debug: no daemon, log to stderr only, which goes
# to the host's lab dir; never syslog). Needs /run/NetworkManager; D-Bus name
# org.freedesktop.NetworkManager. On SIGTERM it leaves eth1 configured.
nm_running() { read_pid "$NM_PIDFILE"; }
start_nm() {
  if nm_running; then return 0; fi
  mkdir -p /run/NetworkManager
  setsid ${NETWORKMANAGER} --debug </dev/null >>/run/lab/NetworkManager.log 2>&1 3>&- 4<&- &
  echo "$!" >"$NM_PIDFILE"
  if [ "\${1:-}" != nowait ]; then nm_ready; fi
}
nm_on_bus() {
  alive "$NM_PID" || return 0 # checked by the caller
  on_bus org.freedesktop.NetworkManager
}
nm_ready() {
  read_pid "$NM_PIDFILE" || fail "NetworkManager is not running"
  NM_PID=$PID
  poll nm_on_bus || fail "NetworkManager did not answer on D-Bus within $TIMEOUT s"
  alive "$NM_PID" || { tail -n 20 /run/lab/NetworkManager.log >&2; fail "NetworkManager exited"; }
}
# The bus may still hold the name of a NetworkManager that just died; a new one that comes up
# then exits at once ("Service already taken").
nm_off_bus() { ! on_bus org.freedesktop.NetworkManager; }
stop_nm() {
  if ! nm_running; then rm -f "$NM_PIDFILE"; return 0; fi
  stop_pidfile "$NM_PIDFILE"
  poll nm_off_bus || fail "the D-Bus name of the stopped NetworkManager was not released within $TIMEOUT s"
}
# NMSTATE: NetworkManager's state of eth1 (connected, connecting (...), disconnected, ...).
nm_eth1_state() {
  NMSTATE=
  NMOUT=$(nmcli -t -f DEVICE,STATE device 2>&1) || return 0
  while IFS=: read -r dev st; do
    if [ "$dev" = eth1 ]; then NMSTATE=$st; fi
  done <<EOF
$NMOUT
EOF
}

# networkd's view of eth1: ADMIN is its ADMIN_STATE (pending, configuring, configured, failed,
# unmanaged, ...). The wait ends at a final state.
eth1_settled() {
  ADMIN=
  if [ -r "$LINKSTATE" ]; then
    while IFS='=' read -r k v; do if [ "$k" = ADMIN_STATE ]; then ADMIN=$v; fi; done <"$LINKSTATE"
  fi
  case "$ADMIN" in configured|failed|unmanaged|linger) return 0 ;; esac
  return 1
}
has_address() {
  case "$(ip -4 -o addr show dev eth1)" in *" inet $LAB_IP/"*) return 0 ;; esac
  return 1
}
# Dual stack: eth1 has its IPv6 address and a link-local one (without it the kernel sends no
# neighbour solicitation for forwarded packets), and none of them is tentative.
has_address6() {
  [ -n "$LAB_IP6" ] || return 0
  A6=$(ip -6 -o addr show dev eth1)
  case "$A6" in *tentative*|*dadfailed*) return 1 ;; esac
  case "$A6" in *" inet6 $LAB_IP6/$LAB_PREFIXLEN6 "*) ;; *) return 1 ;; esac
  case "$A6" in *" scope link "*) return 0 ;; esac
  return 1
}

# Until eth1 carries its address and, when networkd runs, networkd calls the link configured
# (its static routes are in the kernel by then); when NetworkManager runs, until it has finished
# starting up (every device it activates at start is activated or failed: nm-online -s) and
# calls eth1 connected (its addresses and routes are in the kernel by then).
wait_eth1() {
  if nm_running; then
    nm_ready
    nm-online -s -q -t "$TIMEOUT" || fail "NetworkManager did not finish starting up within $TIMEOUT s"
    nm_eth1_state
    case "$NMSTATE" in
      connected) ;;
      *) fail "NetworkManager did not activate eth1 (state: \${NMSTATE:-none})" ;;
    esac
  fi
  if networkd_running; then
    read -r ifindex </sys/class/net/eth1/ifindex
    LINKSTATE=/run/systemd/netif/links/$ifindex
    poll eth1_settled || fail "eth1 was not configured by systemd-networkd within $TIMEOUT s (state: \${ADMIN:-none})"
    case "$ADMIN" in
      configured) ;;
      unmanaged) fail "systemd-networkd leaves eth1 unmanaged: no readable .network file matches it" ;;
      *) fail "systemd-networkd could not configure eth1 (state: $ADMIN)" ;;
    esac
  fi
  has_address || fail "eth1 did not get $LAB_IP/$LAB_PREFIXLEN"
  poll has_address6 || fail "eth1 did not get $LAB_IP6/$LAB_PREFIXLEN6 and a link-local address, or one is still tentative"
}

start_stack() {
  case "$LAB_STACK" in
    networkd) start_networkd nowait ;;
    netplan)
      netplan generate
      # renderer: NetworkManager: netplan wrote NetworkManager profiles instead of networkd files
      if [ -n "$(ls /run/NetworkManager/system-connections/netplan-* 2>/dev/null)" ]; then start_nm nowait; else start_networkd nowait; fi ;;
    networkmanager) start_nm nowait ;;
    ifupdown)
      mkdir -p /run/network
      # At boot a failing ifup does not stop the machine: report what it left behind.
      if ! ifup -a; then
        has_address || fail "ifup -a failed: eth1 did not get $LAB_IP/$LAB_PREFIXLEN"
        fail "ifup -a failed"
      fi ;;
    *) fail "unknown stack $LAB_STACK" ;;
  esac
  wait_eth1
  if networkd_running; then networkd_ready; fi
}

# A reboot as routes see it: the stack stops, the link loses every address and route, /run is
# wiped, and the stack starts again from its persistent files.
# "full": also every process of the host dies (SSH sessions, timers, dbus, sshd), /run and /tmp
# are emptied, and dbus and sshd start again.
reboot_host() {
  stop_networkd
  stop_nm
  if [ "\${1:-}" = full ]; then
    # Every process in this host's PID namespace but its init and this shell.
    victims=
    for d in /proc/[0-9]*; do
      p=\${d#/proc/}
      if [ "$p" != 1 ] && [ "$p" != $$ ]; then victims="$victims $p"; fi
    done
    kill -9 -1 2>/dev/null || true
    # (unquoted on purpose: one argument a PID)
    poll all_dead $victims || fail "processes survived kill -9 -1"
    for d in /run/* /run/.[!.]*; do
      if [ -e "$d" ] && [ "$d" != /run/lab ]; then rm -rf "$d"; fi
    done
    find /tmp -mindepth 1 -delete
    mkdir -p /run/dbus /run/sshd /run/network
    chmod 0755 /run/sshd
    dbus-daemon --system --fork
  fi
  ip link set eth1 down
  ip addr flush dev eth1
  ip route flush dev eth1 table all 2>/dev/null || true
  ip -6 route flush dev eth1 table all 2>/dev/null || true
  # (NetworkManager's /run state must go too: with it NM "assumes" eth1 as it was, and fails.)
  rm -rf /run/network /run/systemd/network /run/systemd/netif /run/systemd/system /run/NetworkManager
  start_stack
  if [ "\${1:-}" = full ]; then start_sshd; fi
}
all_dead() {
  for p in "$@"; do if alive "$p"; then return 1; fi; done
}

start_sshd() {
  if read_pid "$SSHD_PIDFILE"; then return 0; fi
  rm -f "$SSHD_PIDFILE"
  # Daemonises; the daemon writes its pid file once its listening socket is bound.
  ${SSHD} -f /run/lab/sshd_config -E /run/lab/sshd.log 3>&- 4<&-
  poll read_pid "$SSHD_PIDFILE" || { tail -n 20 /run/lab/sshd.log >&2; fail "sshd did not start within $TIMEOUT s"; }
}

kill_sshd() {
  read_pid "$SSHD_PIDFILE" || return 0
  kill "$PID"
  poll dead "$PID" || fail "sshd (PID $PID) did not stop"
  rm -f "$SSHD_PIDFILE"
}

case "$1" in
  start-stack) start_stack ;;
  reboot) reboot_host "\${2:-}" ;;
  start-networkd) start_networkd ;;
  stop-networkd) stop_networkd ;;
  restart-networkd) stop_networkd; start_networkd ;;
  networkd-running) networkd_running ;;
  start-nm) start_nm ;;
  stop-nm) stop_nm ;;
  restart-nm) stop_nm; start_nm ;;
  # What NetworkManager.service's ExecReload runs (configuration and DNS, not connections)
  reload-nm) nm_running || fail "NetworkManager is not running"
    busctl --system call org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager Reload u 0 >/dev/null ;;
  nm-running) nm_running ;;
  wait-eth1) wait_eth1 ;;
  start-sshd) start_sshd ;;
  kill-sshd) kill_sshd ;;
  sshd-running) read_pid "$SSHD_PIDFILE" ;;
  *) echo "usage: rglab start-stack|reboot|start-networkd|stop-networkd|restart-networkd|networkd-running|start-nm|stop-nm|restart-nm|reload-nm|nm-running|wait-eth1|start-sshd|kill-sshd|sshd-running" >&2; exit 2 ;;
esac
`;

const SYSTEMCTL_SH = `#!/bin/sh
# Stand-in for systemctl inside a routegen lab host, where systemd is not PID 1. It starts and
# stops systemd-networkd and NetworkManager for real (through rglab), reports them and
# networking (ifupdown) as they are on this host, and answers what netplan apply and ifupdown
# hook scripts ask. Other units do not exist here: starting or stopping them does nothing.
set -f
. /run/lab/host.env
quiet=
verb=
units=
for a in "$@"; do
  case "$a" in
    -q|--quiet) quiet=1 ;;
    -*) ;;
    *) if [ -z "$verb" ]; then verb=$a; else units="$units $a"; fi ;;
  esac
done
say() { [ -n "$quiet" ] || echo "$@"; }
is_networkd() { case "$1" in systemd-networkd|systemd-networkd.service) return 0 ;; *) return 1 ;; esac; }
is_networking() { case "$1" in networking|networking.service) return 0 ;; *) return 1 ;; esac; }
is_nm() { case "$1" in NetworkManager|NetworkManager.service|network-manager|network-manager.service) return 0 ;; *) return 1 ;; esac; }
active() {
  if is_networkd "$1"; then rglab networkd-running && return 0; return 1; fi
  if is_nm "$1"; then rglab nm-running && return 0; return 1; fi
  if is_networking "$1"; then [ "$LAB_STACK" = ifupdown ]; return; fi
  return 1
}
enabled() {
  if is_networkd "$1"; then [ "$LAB_STACK" = networkd ] || [ "$LAB_STACK" = netplan ]; return; fi
  if is_nm "$1"; then [ "$LAB_STACK" = networkmanager ]; return; fi
  if is_networking "$1"; then [ "$LAB_STACK" = ifupdown ]; return; fi
  return 1
}
case "$verb" in
  daemon-reload|daemon-reexec|reset-failed|enable|disable|mask|unmask) exit 0 ;;
  is-active)
    rc=3
    for u in $units; do if active "$u"; then say active; rc=0; else say inactive; fi; done
    exit $rc ;;
  is-enabled)
    rc=1
    for u in $units; do if enabled "$u"; then say enabled; rc=0; else say disabled; fi; done
    exit $rc ;;
  is-failed) exit 1 ;;
  status)
    rc=3
    for u in $units; do if active "$u"; then echo "$u: active (running)"; rc=0; else echo "$u: inactive (dead)"; fi; done
    exit $rc ;;
  start|stop|restart|try-restart|reload|reload-or-restart|try-reload-or-restart)
    for u in $units; do
      if is_networkd "$u"; then
        case "$verb" in
          start) rglab start-networkd || exit 1 ;;
          stop) rglab stop-networkd || exit 1 ;;
          restart|reload-or-restart) rglab restart-networkd || exit 1 ;;
          try-restart|try-reload-or-restart) if rglab networkd-running; then rglab restart-networkd || exit 1; fi ;;
          reload) networkctl reload || exit 1 ;;
        esac
      elif is_nm "$u"; then
        # (reload: the unit's ExecReload, NM's D-Bus Reload method)
        case "$verb" in
          start) rglab start-nm || exit 1 ;;
          stop) rglab stop-nm || exit 1 ;;
          restart) rglab restart-nm || exit 1 ;;
          try-restart) if rglab nm-running; then rglab restart-nm || exit 1; fi ;;
          reload|reload-or-restart|try-reload-or-restart)
            if rglab nm-running; then rglab reload-nm || exit 1
            elif [ "$verb" = reload-or-restart ]; then rglab start-nm || exit 1
            elif [ "$verb" = reload ]; then echo "NetworkManager.service is not active, cannot reload." >&2; exit 1
            fi ;;
        esac
      fi
    done
    exit 0 ;;
  *) echo "systemctl (routegen lab stand-in): '$verb' is not supported here" >&2; exit 1 ;;
esac
`;

const UDEVADM_SH = `#!/bin/sh
# Stand-in for udevadm inside a routegen lab host: there is no udev here, and netplan apply only
# needs trigger/settle/test to succeed.
exit 0
`;

// ---------------------------------------------------------------------------------------------
// Small process helpers.

function cleanEnv(extra?: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: HOST_PATH, HOME: '/root', LANG: 'C.UTF-8', ...extra };
}

/** Run a program; never rejects for a non-zero exit (only for a failure to start it). */
function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string; track?: Set<ChildProcess> } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    opts.track?.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer =
      opts.timeoutMs && opts.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, opts.timeoutMs)
        : undefined;
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      opts.track?.delete(child);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.track?.delete(child);
      let stderr = Buffer.concat(err).toString();
      if (timedOut) stderr += `\n[lab] ${cmd} timed out after ${opts.timeoutMs} ms and was killed`;
      resolve({
        code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1),
        stdout: Buffer.concat(out).toString(),
        stderr,
      });
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

async function runOk(cmd: string, args: string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r.stdout;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Field 22 of /proc/PID/stat (start time), or null when the process is gone. */
function procStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** The PID of a process's only child (the host's init is the unshare process's), or 0. */
function onlyChild(pid: number): number {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]) || 0;
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: look for it.
    for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
        if (stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] === String(pid)) return Number(p);
      } catch {
        /* gone */
      }
    }
    return 0;
  }
}

/** Running (not gone, not a zombie) and still the process we recorded. */
function isOurs(pid: number, start: string): boolean {
  if (!pid) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && fields[0] !== 'X' && fields[19] === start;
  } catch {
    return false;
  }
}

function which(prog: string): string | null {
  if (prog.includes('/')) return fs.existsSync(prog) ? prog : null;
  const dirs = `${process.env.PATH ?? ''}:${HOST_PATH}`.split(':').filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, prog);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

/** SSH wire-format string: uint32 length, bytes. */
function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

/**
 * A new ed25519 key pair in OpenSSH's formats (unencrypted "openssh-key-v1" private key, one-line
 * public key), made in-process: 51 `ssh-keygen` runs cost a quarter of a second of CPU.
 */
export function ed25519Key(comment: string): { privateKey: string; publicKey: string } {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const none = sshString('none');
  const count = Buffer.from([0, 0, 0, 1]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0'), none, none, sshString(''), count, sshString(pubBlob), sshString(priv)]);
  const b64 = body.toString('base64').replace(/(.{70})/g, '$1\n').replace(/\n$/, '');
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString('base64')} ${comment}\n`,
  };
}

// ---------------------------------------------------------------------------------------------
// Prerequisites.

const REQUIRED_PROGRAMS = [
  'ip', 'unshare', 'nsenter', 'setsid', 'mount', 'hostname', 'ssh', 'sftp', 'dbus-daemon',
  'busctl', 'networkctl', 'netplan', 'ifup', 'ping', SSHD, NETWORKD, '/lib/netplan/generate',
];

let unavailableCache: string | null | undefined;

/** Why the lab cannot run here (not root, missing program, ...), or null when it can. */
export function labUnavailable(): string | null {
  if (unavailableCache !== undefined) return unavailableCache;
  unavailableCache = (() => {
    if (process.platform !== 'linux') return `needs Linux (this is ${process.platform})`;
    if (process.getuid?.() !== 0) return 'needs root (network, mount and PID namespaces)';
    try {
      const map = fs.readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      if (map[0] !== '0' || map[1] !== '0') return 'runs in a user namespace; needs real root';
    } catch {
      return 'cannot read /proc/self/uid_map';
    }
    const missing = REQUIRED_PROGRAMS.filter((p) => !which(p));
    if (missing.length) {
      return `missing programs: ${missing.join(', ')} (apt-get install -y --no-install-recommends openssh-server openssh-client iproute2 dbus systemd netplan.io ifupdown iputils-ping)`;
    }
    for (const user of ['systemd-network', 'messagebus', 'sshd']) {
      if (spawnSync('id', ['-u', user], { stdio: 'ignore' }).status !== 0) return `missing system user ${user}`;
    }
    try {
      const fss = fs.readFileSync('/proc/filesystems', 'utf8');
      if (!/\boverlay\b/.test(fss)) {
        spawnSync('modprobe', ['overlay'], { stdio: 'ignore' });
        if (!/\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'))) return 'kernel has no overlay filesystem';
      }
    } catch {
      return 'cannot read /proc/filesystems';
    }
    return null;
  })();
  return unavailableCache;
}

const NM_PROGRAMS = [NETWORKMANAGER, 'nmcli', 'nm-online'];

/**
 * Why hosts with the 'networkmanager' stack cannot run here (on top of `labUnavailable`), or null.
 * Only labs with such a host need NetworkManager installed.
 */
export function networkManagerUnavailable(): string | null {
  const missing = NM_PROGRAMS.filter((p) => !which(p));
  return missing.length ? `missing programs: ${missing.join(', ')} (apt-get install -y --no-install-recommends network-manager)` : null;
}

/**
 * For tests: in CI (process.env.CI truthy) a missing prerequisite is an error (throws); outside
 * CI prints a loud "SKIPPED lab tests: <why>" to stderr and returns false. With `networkManager`,
 * NetworkManager (for 'networkmanager' hosts) is a prerequisite too.
 */
export function requireLab(opts: { networkManager?: boolean } = {}): boolean {
  const why = labUnavailable() ?? (opts.networkManager ? networkManagerUnavailable() : null);
  if (!why) return true;
  const what = opts.networkManager ? 'NetworkManager lab tests' : 'lab tests';
  if (process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0') {
    throw new Error(`${what} cannot run in CI: ${why}`);
  }
  const bar = '!'.repeat(72);
  process.stderr.write(`\n${bar}\n!! SKIPPED ${what}: ${why}\n${bar}\n\n`);
  return false;
}

// ---------------------------------------------------------------------------------------------
// Tear-down on exit, for labs that belong to this process.

const liveLabs = new Set<Lab>();
let handlersInstalled = false;

function onExit(): void {
  for (const lab of [...liveLabs]) lab.downSync();
}

function onSignal(signal: NodeJS.Signals): void {
  onExit();
  process.exit(128 + (os.constants.signals[signal] ?? 0));
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', onExit);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
}

function removeHandlersIfIdle(): void {
  if (!handlersInstalled || liveLabs.size > 0) return;
  handlersInstalled = false;
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.off('SIGHUP', onSignal);
}

let prefixSeq = 0;

// ---------------------------------------------------------------------------------------------

function baseFiles(host: { name: string; ip: string; ip6?: string; stack: LabStack }, sourceLast = false): Array<{ path: string; mode: number; content: string }> {
  const addr = `${host.ip}/${PREFIXLEN}`;
  // Dual stack: eth1 also needs a link-local address (IPv6 forwarding does not work without).
  const addr6 = host.ip6 ? `${host.ip6}/${PREFIXLEN6}` : undefined;
  const files: Array<{ path: string; mode: number; content: string }> = [
    { path: '/etc/hostname', mode: 0o644, content: `${host.name}\n` },
  ];
  switch (host.stack) {
    case 'networkd':
      files.push({
        path: '/etc/systemd/network/10-eth1.network',
        mode: 0o644,
        content:
          `[Match]\nName=eth1\n\n[Network]\nAddress=${addr}\n` +
          (addr6
            ? `Address=${addr6}\nIPv6AcceptRA=no\nLinkLocalAddressing=ipv6\nIPv6DuplicateAddressDetection=0\n`
            : 'IPv6AcceptRA=no\nLinkLocalAddressing=no\n'),
      });
      break;
    case 'netplan':
      // (netplan has no setting for duplicate address detection: the host's accept_dad=0 does it)
      files.push({
        path: '/etc/netplan/50-lab.yaml',
        mode: 0o600,
        content:
          'network:\n  version: 2\n  renderer: networkd\n  ethernets:\n    eth1:\n' +
          `      addresses:\n        - ${addr}\n` +
          (addr6 ? `        - "${addr6}"\n      link-local: [ ipv6 ]\n` : '      link-local: []\n') +
          '      accept-ra: false\n',
      });
      break;
    case 'ifupdown': {
      // Debian's installer layout reads interfaces.d before the primary interface.
      const source = 'source-directory /etc/network/interfaces.d\n';
      files.push({
        path: '/etc/network/interfaces',
        mode: 0o644,
        content:
          '# interfaces(5) file used by ifup(8) and ifdown(8)\n' +
          (sourceLast ? '' : `${source}\n`) +
          'auto lo\niface lo inet loopback\n\n' +
          `auto eth1\niface eth1 inet static\n    address ${addr}\n` +
          // dad-attempts 0: `ip -6 addr add ... nodad`, and no wait for DAD to settle
          (addr6 ? `\niface eth1 inet6 static\n    address ${addr6}\n    accept_ra 0\n    autoconf 0\n    dad-attempts 0\n` : '') +
          (sourceLast ? `\n${source}` : ''),
      });
      break;
    }
    case 'networkmanager':
      // The machine's own NetworkManager.conf (plugins=ifupdown,keyfile) is replaced in the host.
      // NM leaves alone every link but eth1 (lo, cni0, vpod), DNS and the hostname.
      files.push({
        path: '/etc/NetworkManager/NetworkManager.conf',
        mode: 0o644,
        content:
          '# NetworkManager for one routegen lab host: eth1 only, from keyfiles\n' +
          '[main]\nplugins=keyfile\ndns=none\nrc-manager=unmanaged\nhostname-mode=none\nno-auto-default=*\nauth-polkit=false\n\n' +
          '[keyfile]\nunmanaged-devices=except:interface-name:eth1\n\n' +
          '[device-eth1]\nmatch-device=interface-name:eth1\nmanaged=1\n\n' +
          '[connectivity]\nenabled=false\n',
      });
      // NM ignores a keyfile that is not 0600 and owned by root.
      files.push({
        path: NM_ETH1_KEYFILE,
        mode: 0o600,
        content:
          `[connection]\nid=eth1\nuuid=${labUuid(`${host.name}/eth1`)}\ntype=ethernet\ninterface-name=eth1\n\n[ethernet]\n\n` +
          `[ipv4]\nmethod=manual\naddress1=${addr}\n\n` +
          // (eui64: a link-local address that does not depend on /var/lib/NetworkManager/secret_key)
          (addr6
            ? `[ipv6]\nmethod=manual\naddress1=${addr6}\naddr-gen-mode=eui64\nignore-auto-dns=true\nignore-auto-routes=true\n`
            : '[ipv6]\nmethod=disabled\n'),
      });
      break;
  }
  return files;
}

/** A UUID that depends only on `name` (so a host's connection keeps its UUID from run to run). */
function labUuid(name: string): string {
  const h = createHash('sha256').update(`routegen-lab:${name}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function hostsHeader(name: string): string {
  return `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost ip6-localhost ip6-loopback\n\n# routegen lab machines\n`;
}

function sshdConfig(ip: string): string {
  return [
    '# sshd for one routegen lab host (paths as the host sees them: /run/lab is its lab dir)',
    `ListenAddress ${ip}:22`,
    'HostKey /run/lab/ssh_host_ed25519_key',
    'PidFile /run/sshd.pid',
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'AuthenticationMethods publickey',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AuthorizedKeysFile /run/lab/authorized_keys',
    'Subsystem sftp internal-sftp',
    'MaxStartups 200:30:400',
    'MaxSessions 50',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** A running lab. Create with `Lab.up()`, or re-attach to one with `Lab.attach(stateFile)`. */
export class Lab {
  readonly hosts: LabHost[];
  readonly dir: string;
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly sshConfigFile: string;
  readonly stateFile: string;
  readonly prefix: string;
  readonly jumpboxIp = JUMPBOX_IP;
  /** Dual-stack labs: the jumpbox's IPv6 address (fd00:10::10). */
  readonly jumpboxIp6: string | undefined;
  readonly jumpboxNetns: string;
  /** The namespace holding the node network's bridge (br0). */
  readonly switchNetns: string;
  /** Whether the lab was brought up with `dualStack`. */
  readonly dualStack: boolean;

  private readonly state: LabState;
  private baseHook: LabOptions['baseFiles'];
  private readonly children = new Set<ChildProcess>();
  private watchdog: ChildProcess | undefined;
  private isDown = false;

  private constructor(state: LabState) {
    this.state = state;
    this.prefix = state.prefix;
    this.dir = state.dir;
    this.identityFile = path.join(state.dir, 'id_ed25519');
    this.knownHostsFile = path.join(state.dir, 'known_hosts');
    this.sshConfigFile = path.join(state.dir, 'ssh_config');
    this.stateFile = path.join(state.dir, 'state.json');
    this.jumpboxNetns = state.jumpboxNetns;
    this.switchNetns = state.switchNetns;
    this.dualStack = state.dualStack ?? false;
    this.jumpboxIp6 = state.jumpboxIp6;
    this.hosts = state.hosts.map((h) => {
      const host: LabHost = { name: h.name, ip: h.ip, stack: h.stack, netns: h.netns, pid: h.pid };
      if (h.podSubnet) host.podSubnet = h.podSubnet;
      if (h.podIp) host.podIp = h.podIp;
      if (h.ip6) host.ip6 = h.ip6;
      if (h.podSubnet6) host.podSubnet6 = h.podSubnet6;
      if (h.podIp6) host.podIp6 = h.podIp6;
      return host;
    });
  }

  /** Bring a lab up. Rejects (after cleaning up what it made) if any host does not come up. */
  static async up(opts: LabOptions = {}): Promise<Lab> {
    const why = labUnavailable();
    if (why) throw new Error(`lab unavailable: ${why}`);
    const workers = opts.workers ?? 2;
    if (!Number.isInteger(workers) || workers < 0 || workers > MAX_WORKERS) {
      throw new Error(`workers must be an integer from 0 to ${MAX_WORKERS}, got ${workers}`);
    }
    const prefix = opts.prefix ?? `rg${process.pid}x${prefixSeq++}`;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/.test(prefix)) throw new Error(`bad lab prefix ${JSON.stringify(prefix)}`);
    const stackOf = (name: string): LabStack => {
      const base = opts.base?.(name);
      if (base && LAB_BASES[base].networkManager) {
        const nmWhy = networkManagerUnavailable();
        if (nmWhy) throw new Error(`lab unavailable: ${name} runs NetworkManager, but ${nmWhy}`);
      }
      const s = base ? LAB_BASES[base].stack : typeof opts.stack === 'function' ? opts.stack(name) : (opts.stack ?? 'networkd');
      if (!LAB_STACKS.includes(s)) throw new Error(`unknown stack ${String(s)} for ${name}`);
      if (s === 'networkmanager') {
        const nmWhy = networkManagerUnavailable();
        if (nmWhy) throw new Error(`lab unavailable: ${name} runs NetworkManager, but ${nmWhy}`);
      }
      return s;
    };

    const ns = (n: string) => `${prefix}-${n}`;
    const hosts: HostState[] = [];
    if (opts.withServer ?? true) {
      hosts.push({ name: 'server', ip: SERVER_IP, stack: stackOf('server'), netns: ns('server'), pid: 0, unsharePid: 0, pidStart: '', unshareStart: '' });
    }
    for (let i = 0; i < workers; i++) {
      const name = `node-${i}`;
      hosts.push({
        name,
        ip: `${NETWORK}.${101 + i}`,
        podSubnet: `10.200.${i}.0/24`,
        podIp: `10.200.${i}.2`,
        stack: stackOf(name),
        netns: ns(name),
        podNetns: ns(`${name}-pod`),
        pid: 0,
        unsharePid: 0,
        pidStart: '',
        unshareStart: '',
      });
    }
    for (const h of hosts) {
      const base = opts.base?.(h.name);
      if (base) h.base = base;
    }
    const dualStack = opts.dualStack ?? false;
    if (dualStack) {
      for (const h of hosts) {
        h.ip6 = ip6Of(h.ip);
        if (h.podNetns) {
          const net6 = podNet6(Number(h.name.slice('node-'.length)));
          h.podSubnet6 = net6.subnet;
          h.podIp6 = net6.pod;
        }
      }
    }
    const switchNetns = ns('switch');
    const jumpboxNetns = ns('jumpbox');
    const namespaces = [switchNetns, jumpboxNetns, ...hosts.flatMap((h) => (h.podNetns ? [h.netns, h.podNetns] : [h.netns]))];
    const taken = namespaces.filter((n) => fs.existsSync(path.join(NETNS_DIR, n)));
    if (taken.length) {
      throw new Error(`network namespace(s) already exist: ${taken.join(', ')} — another lab with prefix ${prefix} is running or was not torn down (ip netns del NAME)`);
    }

    const tmpRoot = opts.tmpRoot ?? os.tmpdir();
    const dir = await fsp.mkdtemp(path.join(tmpRoot, `routegen-lab-${prefix}-`));
    const state: LabState = {
      version: 1,
      prefix,
      dir,
      persist: opts.persist ?? false,
      ifupdownSourceLast: opts.ifupdownSourceLast ?? false,
      dualStack,
      switchNetns,
      jumpboxNetns,
      jumpboxIp: JUMPBOX_IP,
      ...(dualStack ? { jumpboxIp6: JUMPBOX_IP6 } : {}),
      namespaces,
      hosts,
      createdAt: new Date().toISOString(),
    };
    const lab = new Lab(state);
    lab.baseHook = opts.baseFiles;
    // From here on, anything that goes wrong (or a ^C) tears down what exists. A persistent
    // lab is left to its owner once it is up.
    liveLabs.add(lab);
    installHandlers();
    if (!state.persist) lab.startWatchdog();
    try {
      await lab.build(opts.readyTimeoutMs ?? bound(90_000));
    } catch (e) {
      await lab.down().catch(() => undefined);
      throw e;
    }
    if (state.persist) {
      liveLabs.delete(lab);
      removeHandlersIfIdle();
    }
    return lab;
  }

  /**
   * Re-attach to a lab from its state file (`<dir>/state.json`, or a copy). The lab keeps running
   * after this process exits unless `down()` is called.
   */
  static attach(stateFile: string): Lab {
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as LabState;
    if (state.version !== 1 || !Array.isArray(state.hosts)) throw new Error(`${stateFile}: not a lab state file`);
    return new Lab(state);
  }

  /** The state as JSON (what `Lab.attach` reads). */
  saveState(file: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(this.state, null, 2) + '\n');
  }

  // ------------------------------------------------------------------------------- bring-up

  private async build(readyTimeoutMs: number): Promise<void> {
    const { hosts } = this.state;
    const t0 = Date.now();

    // Namespaces and links, all from one `ip -batch` in this namespace; the links are created
    // directly inside the lab's namespaces (nothing appears here, even for a moment).
    const batch: string[] = [];
    for (const n of this.state.namespaces) batch.push(`netns add ${n}`);
    batch.push(`link add br0 netns ${this.state.switchNetns} type bridge`);
    batch.push(`link add eth1 netns ${this.state.jumpboxNetns} type veth peer name p-jumpbox netns ${this.state.switchNetns}`);
    for (const h of hosts) {
      const mac = h.base && LAB_BASES[h.base].fixedMac ? macOf(h.ip) : labMac(h.name);
      batch.push(`link add eth1 netns ${h.netns} address ${mac} type veth peer name p-${h.name} netns ${this.state.switchNetns}`);
      if (h.podNetns) batch.push(`link add eth0 netns ${h.podNetns} type veth peer name vpod netns ${h.netns}`);
    }
    const keygen = async (file: string, comment: string) => {
      const key = ed25519Key(comment);
      await fsp.writeFile(file, key.privateKey, { mode: 0o600 });
      await fsp.writeFile(`${file}.pub`, key.publicKey);
    };

    await Promise.all([
      runOk('ip', ['-batch', '-'], { input: batch.join('\n') + '\n' }),
      keygen(this.identityFile, `routegen-lab-${this.prefix}`),
      this.writeStaticFiles(),
      ...hosts.map((h) => this.prepareHostDir(h).then(() => keygen(path.join(this.hostDir(h), 'ssh_host_ed25519_key'), `${h.name}.kubernetes.local`))),
    ]);
    const identityPub = await fsp.readFile(`${this.identityFile}.pub`, 'utf8');
    await Promise.all(hosts.map((h) => fsp.writeFile(path.join(this.hostDir(h), 'authorized_keys'), identityPub, { mode: 0o600 })));

    // The switch, the jumpbox and the pods; the hosts themselves configure their side at boot.
    const sw = ['link set br0 up', 'link set p-jumpbox master br0 up', ...hosts.map((h) => `link set p-${h.name} master br0 up`)];
    const jump = ['link set lo up', `addr add ${JUMPBOX_IP}/${PREFIXLEN} brd + dev eth1`, 'link set eth1 up'];
    if (this.state.jumpboxIp6) jump.push(`addr add ${this.state.jumpboxIp6}/${PREFIXLEN6} dev eth1 nodad`);
    // (Each worker's init sets up its pod.)
    const boots = hosts.map((h) => this.bootHost(h, readyTimeoutMs));
    const links = [
      runOk('ip', ['-n', this.state.switchNetns, '-batch', '-'], { input: sw.join('\n') + '\n' }),
      runOk('ip', ['-n', this.state.jumpboxNetns, '-batch', '-'], { input: jump.join('\n') + '\n' }),
    ];
    const results = await Promise.allSettled([...links, ...boots]);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    this.saveState(this.stateFile);
    if (failed.length) {
      throw new Error(`lab bring-up failed:\n${failed.map((f) => String(f.reason instanceof Error ? f.reason.message : f.reason)).join('\n')}`);
    }

    const keys = await Promise.all(hosts.map((h) => fsp.readFile(path.join(this.hostDir(h), 'ssh_host_ed25519_key.pub'), 'utf8')));
    // One plain "HOST keytype base64" line per name: IPs first, then hostnames and FQDNs
    // (the jumpbox's /etc/hosts resolves those).
    const key = (i: number) => keys[i]!.trim().split(/\s+/).slice(0, 2).join(' ');
    await fsp.writeFile(
      this.knownHostsFile,
      [
        ...hosts.map((h, i) => `${h.ip} ${key(i)}\n`),
        ...hosts.map((h, i) => `${h.name} ${key(i)}\n${h.name}.kubernetes.local ${key(i)}\n`),
      ].join(''),
    );
    await fsp.writeFile(path.join(this.dir, 'machines.txt'), this.machinesTxt());
    await fsp.writeFile(path.join(this.dir, 'jumpbox-hosts'), `${hostsHeader('jumpbox')}${this.etcHostsEntries()}`);
    this.saveState(this.stateFile);
    this.bringUpMs = Date.now() - t0;
  }

  /** Milliseconds the last `up()` took (0 for an attached lab). */
  bringUpMs = 0;

  private hostDir(h: { name: string }): string {
    return path.join(this.dir, 'hosts', h.name);
  }

  private async writeStaticFiles(): Promise<void> {
    const bin = path.join(this.dir, 'bin');
    await fsp.mkdir(bin, { recursive: true });
    await Promise.all([
      fsp.writeFile(path.join(this.dir, 'init.sh'), INIT_SH, { mode: 0o755 }),
      fsp.writeFile(path.join(bin, 'rglab'), RGLAB_SH, { mode: 0o755 }),
      fsp.writeFile(path.join(bin, 'systemctl'), SYSTEMCTL_SH, { mode: 0o755 }),
      fsp.writeFile(path.join(bin, 'udevadm'), UDEVADM_SH, { mode: 0o755 }),
      fsp.writeFile(
        this.sshConfigFile,
        [
          '# routegen lab: every host, as root, with the lab key; host keys from the lab known_hosts',
          'Host *',
          `  IdentityFile ${this.identityFile}`,
          '  IdentitiesOnly yes',
          `  UserKnownHostsFile ${this.knownHostsFile}`,
          '  GlobalKnownHostsFile /dev/null',
          '  User root',
          '  StrictHostKeyChecking yes',
          '  BatchMode yes',
          `  ConnectTimeout ${Math.ceil(bound(5000) / 1000)}`,
          '  LogLevel ERROR',
          '',
        ].join('\n'),
      ),
    ]);
  }

  private async prepareHostDir(h: HostState): Promise<void> {
    const hd = this.hostDir(h);
    await Promise.all(['etc.upper', 'etc.work', 'var.upper', 'var.work'].map((d) => fsp.mkdir(path.join(hd, d), { recursive: true })));
    const env = {
      LAB_NAME: h.name,
      LAB_IP: h.ip,
      LAB_PREFIXLEN: String(PREFIXLEN),
      LAB_STACK: h.stack,
      LAB_CNI_ADDR: h.podIp ? `${h.podIp.replace(/\.2$/, '.1')}/24` : '',
      LAB_POD_NETNS: h.podNetns ?? '',
      LAB_POD_ADDR: h.podIp ? `${h.podIp}/24` : '',
      LAB_POD_GW: h.podIp ? h.podIp.replace(/\.2$/, '.1') : '',
      // Dual stack (empty otherwise)
      LAB_IP6: h.ip6 ?? '',
      LAB_PREFIXLEN6: String(PREFIXLEN6),
      LAB_CNI_ADDR6: h.podIp6 ? `${h.podIp6.replace(/::2$/, '::1')}/${PREFIXLEN6}` : '',
      LAB_POD_ADDR6: h.podIp6 ? `${h.podIp6}/${PREFIXLEN6}` : '',
      LAB_POD_GW6: h.podIp6 ? h.podIp6.replace(/::2$/, '::1') : '',
      // A bound, not a wait: 51 hosts starting at once on a cold, busy machine need more than 10 s.
      RGLAB_TIMEOUT: String(Math.ceil(bound(60_000) / 1000)),
    };
    await Promise.all([
      fsp.writeFile(path.join(hd, 'host.env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join('')),
      fsp.writeFile(path.join(hd, 'sshd_config'), sshdConfig(h.ip)),
      // The base persistent configuration, straight into the host's overlay upper dir.
      ...[
        ...(h.base
          ? [{ path: '/etc/hostname', mode: 0o644, content: `${h.name}\n` }, ...LAB_BASES[h.base].files({ ip: h.ip, prefixlen: PREFIXLEN })]
          : this.baseHook
            ? this.baseHook(h, baseFiles(h, this.state.ifupdownSourceLast))
            : baseFiles(h, this.state.ifupdownSourceLast)),
        { path: '/etc/hosts', mode: 0o644, content: `${hostsHeader(`${h.name}.kubernetes.local ${h.name}`)}${this.etcHostsEntries()}` },
      ].map(async (f) => {
        const p = path.join(hd, 'etc.upper', f.path.replace(/^\/etc\//, ''));
        await fsp.mkdir(path.dirname(p), { recursive: true });
        await fsp.writeFile(p, f.content, { mode: f.mode });
        await fsp.chmod(p, f.mode);
      }),
    ]);
  }

  private bootHost(h: HostState, timeoutMs: number): Promise<void> {
    const hd = this.hostDir(h);
    const log = fs.openSync(path.join(hd, 'init.log'), 'a');
    let child: ChildProcess;
    try {
      const spawnOpts: SpawnOptions = {
        cwd: '/',
        detached: true, // own session: a ^C in the terminal reaches us, not the hosts
        env: cleanEnv({ LAB_DIR: this.dir, LAB_HOSTDIR: hd, LAB_NAME: h.name, LAB_PERSIST: this.state.persist ? '1' : '0' }),
        // fd 0: lifeline (EOF when this process dies, whatever way), fd 3: the ready pipe
        stdio: [this.state.persist ? 'ignore' : 'pipe', log, log, 'pipe'],
      };
      child = spawn(
        'ip',
        ['netns', 'exec', h.netns, 'unshare', '--mount', '--uts', '--pid', '--fork', '--mount-proc', '--propagation', 'private', '--kill-child', '--', '/bin/sh', path.join(this.dir, 'init.sh')],
        spawnOpts,
      );
    } finally {
      fs.closeSync(log);
    }
    h.unsharePid = child.pid ?? 0;
    if (child.pid) fs.appendFileSync(path.join(this.dir, 'unshare-pids'), `${child.pid}\n`);
    h.unshareStart = child.pid ? (procStart(child.pid) ?? '') : '';
    child.unref();
    if (child.stdin) (child.stdin as unknown as { unref?: () => void }).unref?.();
    const ready = child.stdio[3] as Readable;

    return new Promise<void>((resolve, reject) => {
      let buf = '';
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ready.destroy();
        let tail = '';
        try {
          tail = fs.readFileSync(path.join(hd, 'init.log'), 'utf8').split('\n').slice(-25).join('\n');
        } catch {
          /* none */
        }
        reject(new Error(`${h.name}: ${why}\n--- ${path.join(hd, 'init.log')} (tail) ---\n${tail}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
      child.on('error', (e) => fail(`cannot start: ${e.message}`));
      child.on('exit', (code, signal) => fail(`init exited (${signal ?? code}) before it was ready`));
      ready.on('data', (b: Buffer) => {
        buf += b.toString();
        if (!buf.includes('READY') || settled) return;
        settled = true;
        clearTimeout(timer);
        ready.destroy();
        child.removeAllListeners('exit');
        h.pid = onlyChild(child.pid!);
        h.pidStart = procStart(h.pid) ?? '';
        const pub = this.hosts.find((x) => x.name === h.name);
        if (pub) pub.pid = h.pid;
        if (!h.pid || !h.pidStart) {
          reject(new Error(`${h.name}: init is ready but its PID could not be read`));
          return;
        }
        resolve();
      });
      ready.on('error', () => undefined);
    });
  }

  /**
   * A process outside the lab's namespaces that cleans up if this process dies without running
   * its exit handlers (SIGKILL, crash), even in the middle of bring-up: on EOF on its stdin it
   * waits for the hosts to end (they die on their own lifeline), then deletes the lab's
   * namespaces and dir.
   */
  private startWatchdog(): void {
    const nsDel = this.state.namespaces.map((n) => `netns del ${n}\\n`).join('');
    const pids = path.join(this.dir, 'unshare-pids');
    const script = [
      'cat >/dev/null',
      `if [ -r '${pids}' ]; then for p in $(cat '${pids}'); do`,
      `  n=0; while [ $n -lt 500 ] && [ -r /proc/$p/stat ] && ! grep -q ') [ZX] ' /proc/$p/stat; do n=$((n+1)); sleep 0.01; done`,
      'done; fi',
      `printf '${nsDel}' | ip -force -batch - >/dev/null 2>&1`,
      `rm -rf '${this.dir}'`,
    ].join('\n');
    const wd = spawn('/bin/sh', ['-c', script], { detached: true, stdio: ['pipe', 'ignore', 'ignore'], cwd: '/' });
    wd.unref();
    (wd.stdin as unknown as { unref?: () => void }).unref?.();
    wd.stdin!.on('error', () => undefined);
    this.watchdog = wd;
  }

  // ------------------------------------------------------------------------------- queries

  /** /etc/hosts lines for the machines, as the guide writes them ("IP FQDN HOSTNAME"). */
  etcHostsEntries(): string {
    return this.state.hosts.map((h) => `${h.ip} ${h.name}.kubernetes.local ${h.name}\n`).join('');
  }

  /**
   * The guide's machines.txt for this lab. Dual stack: both families in the address and subnet
   * columns, IPv4 first (`192.168.10.101,fd00:10::101 node-0.kubernetes.local node-0
   * 10.200.0.0/24,fd00:10:200::/64`).
   */
  machinesTxt(): string {
    const both = (a: string, b: string | undefined) => (b ? `${a},${b}` : a);
    return this.hosts
      .map((h) => `${both(h.ip, h.ip6)} ${h.name}.kubernetes.local ${h.name}${h.podSubnet ? ` ${both(h.podSubnet, h.podSubnet6)}` : ''}\n`)
      .join('');
  }

  /** A host by name, IPv4 address or (dual stack) IPv6 address. */
  host(nameOrIp: string): LabHost {
    const h = this.hosts.find((x) => x.name === nameOrIp || x.ip === nameOrIp || (x.ip6 !== undefined && x.ip6 === nameOrIp));
    if (!h) throw new Error(`no lab host ${nameOrIp} (hosts: ${this.hosts.map((x) => x.name).join(', ')})`);
    return h;
  }

  private hostState(nameOrIp: string): HostState {
    const name = this.host(nameOrIp).name;
    return this.state.hosts.find((h) => h.name === name)!;
  }

  private alive(h: HostState): void {
    if (this.isDown) throw new Error('lab is down');
    if (!isOurs(h.pid, h.pidStart)) throw new Error(`lab host ${h.name} is not running (init PID ${h.pid} is gone)`);
  }

  // ------------------------------------------------------------------ hooks for lab add-ons

  /** A namespace an add-on (test/lab/bastion.ts) made: deleted with the lab's own. */
  addNamespace(name: string): void {
    this.state.namespaces.push(name);
    this.saveState(this.stateFile);
  }

  /** A process an add-on started: killed when the lab goes down, whatever way. */
  track(child: ChildProcess): void {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
  }

  /** Run a command in the jumpbox's network namespace (192.168.10.10), as a child of this process. */
  jumpbox(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    if (this.isDown) return Promise.reject(new Error('lab is down'));
    const [cmd, ...args] = this.jumpboxCommand(argv);
    return run(cmd!, args, {
      env: { ...process.env, ...opts.env },
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? bound(120_000),
      track: this.children,
    });
  }

  /**
   * Like `jumpbox`, but returns the child process (pipes for stdio unless `stdio` says
   * otherwise). Its PID is the command's own: killing it kills the command.
   */
  jumpboxSpawn(argv: string[], opts: { env?: Record<string, string>; stdio?: SpawnOptions['stdio'] } = {}): ChildProcess {
    if (this.isDown) throw new Error('lab is down');
    const [cmd, ...args] = this.jumpboxCommand(argv);
    const child = spawn(cmd!, args, { env: { ...process.env, ...opts.env }, stdio: opts.stdio ?? 'pipe' });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /**
   * The full command line `jumpbox()` runs (for callers that want their own stdio): the jumpbox's
   * network namespace, and a private mount namespace where /etc/hosts names the lab's machines
   * as the guide's jumpbox does. Every step execs the next, so the PID is the command's.
   */
  jumpboxCommand(argv: string[]): string[] {
    return [
      'ip', 'netns', 'exec', this.jumpboxNetns,
      'unshare', '--mount', '--propagation', 'private', '--',
      '/bin/sh', '-c', 'mount --bind "$0" /etc/hosts && exec "$@"', path.join(this.dir, 'jumpbox-hosts'),
      ...argv,
    ];
  }

  /** The full command line `exec()` runs, and the environment to run it with. */
  hostCommand(host: string, argv: string[]): { argv: string[]; env: NodeJS.ProcessEnv } {
    const h = this.hostState(host);
    this.alive(h);
    return { argv: ['nsenter', '-t', String(h.pid), '-m', '-u', '-n', '-p', '-r', '-w', '--', ...argv], env: cleanEnv() };
  }

  /** `ssh` arguments that reach a host from the jumpbox with the lab's config. */
  sshArgv(host: string, command: string[] = []): string[] {
    return ['ssh', '-F', this.sshConfigFile, this.host(host).ip, ...command];
  }

  /** Run a command inside the host's mount, UTS, network and PID namespaces, as root. */
  exec(host: string, argv: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
    const [cmd, ...args] = this.hostCommand(host, argv).argv;
    return run(cmd!, args, {
      env: cleanEnv(opts.env),
      input: opts.input,
      timeoutMs: opts.timeoutMs ?? bound(60_000),
      track: this.children,
    });
  }

  private async execOk(host: string, argv: string[], timeoutMs?: number): Promise<string> {
    const r = await this.exec(host, argv, { timeoutMs });
    if (r.code !== 0) throw new Error(`${host}: ${argv.join(' ')} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout;
  }

  /** The host's main routing table, from `ip -j route show` (IPv4 only). */
  async routes(host: string): Promise<LabRoute[]> {
    return this.readRoutes(host, []);
  }

  /**
   * The host's main IPv6 routing table, from `ip -j -6 route show table main`: the connected
   * fd00:10::/64 and fe80::/64 routes, cni0's pod subnet, routes added by hand or by the stack.
   */
  async routes6(host: string): Promise<LabRoute[]> {
    return this.readRoutes(host, ['-6']);
  }

  private async readRoutes(host: string, family: string[]): Promise<LabRoute[]> {
    const h = this.hostState(host);
    this.alive(h);
    const out = await runOk('ip', ['-n', h.netns, '-j', ...family, 'route', 'show', 'table', 'main']);
    const raw = JSON.parse(out || '[]') as Array<Record<string, unknown>>;
    return raw.map((r) => {
      const route: LabRoute = { dst: String(r.dst) };
      if (typeof r.gateway === 'string') route.gateway = r.gateway;
      if (typeof r.dev === 'string') route.dev = r.dev;
      if (typeof r.protocol === 'string') route.protocol = r.protocol;
      if (typeof r.metric === 'number') route.metric = r.metric;
      return route;
    });
  }

  /**
   * A path as the host sees it, reached through /proc/PID/root (which resolves in the host's
   * mount namespace); symlinks are resolved against the host's root, not ours.
   */
  private resolveInHost(h: HostState, p: string): string {
    if (!p.startsWith('/')) throw new Error(`path must be absolute: ${p}`);
    const root = `/proc/${h.pid}/root`;
    const parts = p.split('/').filter(Boolean);
    const done: string[] = [];
    let hops = 0;
    while (parts.length) {
      const part = parts.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        done.pop();
        continue;
      }
      const cur = `${root}/${[...done, part].join('/')}`;
      let st: fs.Stats;
      try {
        st = fs.lstatSync(cur);
      } catch {
        done.push(part, ...parts);
        break;
      }
      if (st.isSymbolicLink()) {
        if (++hops > 40) throw new Error(`too many symlinks in ${p}`);
        const target = fs.readlinkSync(cur);
        if (target.startsWith('/')) done.length = 0;
        parts.unshift(...target.split('/').filter(Boolean));
      } else {
        done.push(part);
      }
    }
    return `${root}/${done.join('/')}`;
  }

  /** A file's contents as the host sees it, or null when it does not exist. */
  async readFile(host: string, p: string): Promise<string | null> {
    const h = this.hostState(host);
    this.alive(h);
    try {
      return await fsp.readFile(this.resolveInHost(h, p), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** A file's permission bits (e.g. 0o644) as the host sees it, or null when it does not exist. */
  async fileMode(host: string, p: string): Promise<number | null> {
    const h = this.hostState(host);
    this.alive(h);
    try {
      return (await fsp.stat(this.resolveInHost(h, p))).mode & 0o7777;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** Write a file into the host's filesystem (its /etc overlay for /etc paths), creating parents. */
  async writeFile(host: string, p: string, content: string, mode = 0o644): Promise<void> {
    const h = this.hostState(host);
    this.alive(h);
    const target = this.resolveInHost(h, p);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.writeFile(target, content, { mode });
    await fsp.chmod(target, mode);
  }

  /** Remove a file from the host's filesystem (no error when missing). */
  async removeFile(host: string, p: string): Promise<void> {
    const h = this.hostState(host);
    this.alive(h);
    await fsp.rm(this.resolveInHost(h, p), { force: true });
  }

  /** One ping (-c1 -W1) from the pod namespace of a worker; an IPv6 target (dual stack) pings with -6. */
  async ping(fromPodOfHost: string, toIp: string): Promise<boolean> {
    const h = this.hostState(fromPodOfHost);
    if (!h.podNetns) throw new Error(`${h.name} has no pod namespace`);
    if (this.isDown) throw new Error('lab is down');
    const family = toIp.includes(':') ? ['-6'] : [];
    const r = await run('nsenter', [`--net=${NETNS_DIR}/${h.podNetns}`, '--', 'ping', ...family, '-n', '-q', '-c1', '-W1', toIp], { env: cleanEnv(), timeoutMs: bound(5000) });
    return r.code === 0;
  }

  /**
   * Reboot, as routes see it: stop networkd and NetworkManager (if running), flush eth1's
   * addresses and routes, empty the stacks' state in /run, start the host's stack again from its
   * persistent files, wait until eth1 has its address (and networkd calls it configured, or
   * NetworkManager calls it connected). Throws with the host's own diagnostics when it does not come back.
   * With `full`, every process of the host dies first (SSH sessions, timers such as an armed
   * rollback), /run and /tmp are emptied, and dbus and sshd start again.
   */
  async reboot(host: string, opts: { full?: boolean } = {}): Promise<void> {
    await this.execOk(host, ['rglab', 'reboot', ...(opts.full ? ['full'] : [])], bound(30_000));
  }

  async stopNetworkd(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'stop-networkd']);
  }

  /** Start networkd if it is not running; returns once it answers on D-Bus. */
  async startNetworkd(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'start-networkd'], bound(30_000));
  }

  /** Whether networkd runs on the host. */
  async networkdRunning(host: string): Promise<boolean> {
    return (await this.exec(host, ['rglab', 'networkd-running'])).code === 0;
  }

  /** Stop NetworkManager (SIGTERM; it leaves eth1 configured, as on a real machine). */
  async stopNetworkManager(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'stop-nm']);
  }

  /**
   * Start NetworkManager if it is not running; returns once it answers on D-Bus. (To wait until it
   * has configured eth1 too: `exec(host, ['rglab', 'wait-eth1'])`.)
   */
  async startNetworkManager(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'start-nm'], bound(30_000));
  }

  /** Whether NetworkManager runs on the host. */
  async networkManagerRunning(host: string): Promise<boolean> {
    return (await this.exec(host, ['rglab', 'nm-running'])).code === 0;
  }

  /** Kill the host's listening sshd (sessions already open stay, as with OpenSSH). */
  async killSshd(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'kill-sshd']);
  }

  async startSshd(host: string): Promise<void> {
    await this.execOk(host, ['rglab', 'start-sshd'], bound(30_000));
  }

  /** Per host: is its init (and so the host) still running. */
  status(): Array<{ name: string; ip: string; stack: LabStack; pid: number; running: boolean }> {
    return this.state.hosts.map((h) => ({ name: h.name, ip: h.ip, stack: h.stack, pid: h.pid, running: isOurs(h.pid, h.pidStart) }));
  }

  // ------------------------------------------------------------------------------- tear-down

  /**
   * Kill the hosts' inits (PID 1 of each host: the kernel then kills everything in that host),
   * if they are still the processes we recorded. Returns the PIDs to wait for.
   */
  private killInits(): number[] {
    for (const c of this.children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }
    this.children.clear();
    const waitFor: number[] = [];
    for (const h of this.state.hosts) {
      if (h.pid && h.pidStart && isOurs(h.pid, h.pidStart)) {
        try {
          process.kill(h.pid, 'SIGKILL');
          waitFor.push(h.pid);
        } catch {
          /* gone */
        }
      }
    }
    return waitFor;
  }

  /**
   * Each `unshare` parent exits by itself once its child is dead (and reaps it); kill the ones
   * that have not (their init never came up, say). Returns the PIDs to wait for.
   */
  private killUnshares(): number[] {
    const waitFor: number[] = [];
    for (const h of this.state.hosts) {
      if (h.unsharePid && h.unshareStart && isOurs(h.unsharePid, h.unshareStart)) {
        try {
          process.kill(h.unsharePid, 'SIGKILL');
          waitFor.push(h.unsharePid);
        } catch {
          /* gone */
        }
      }
    }
    return waitFor;
  }

  private nsDelBatch(): string {
    return this.state.namespaces.filter((n) => fs.existsSync(path.join(NETNS_DIR, n))).map((n) => `netns del ${n}\n`).join('');
  }

  private finish(): void {
    try {
      this.watchdog?.kill('SIGKILL');
    } catch {
      /* gone */
    }
    this.watchdog = undefined;
    liveLabs.delete(this);
    removeHandlersIfIdle();
  }

  /** Tear the lab down: kill its hosts, delete its namespaces, remove its dir. Idempotent. */
  async down(): Promise<void> {
    if (this.isDown) return;
    this.isDown = true;
    for (const kill of [this.killInits, this.killUnshares]) {
      const waitFor = kill.call(this);
      const deadline = Date.now() + bound(5000);
      while (waitFor.some((p) => !isZombie(p)) && Date.now() < deadline) await sleepMs(5);
    }
    const batch = this.nsDelBatch();
    if (batch) await run('ip', ['-force', '-batch', '-'], { input: batch });
    await fsp.rm(this.dir, { recursive: true, force: true });
    this.finish();
  }

  /** The same, synchronously (for process 'exit' handlers). */
  downSync(): void {
    if (this.isDown) return;
    this.isDown = true;
    for (const kill of [this.killInits, this.killUnshares]) {
      const waitFor = kill.call(this);
      const deadline = Date.now() + bound(5000);
      while (waitFor.some((p) => !isZombie(p)) && Date.now() < deadline) sleepSync(5);
    }
    const batch = this.nsDelBatch();
    if (batch) spawnSync('ip', ['-force', '-batch', '-'], { input: batch, stdio: ['pipe', 'ignore', 'ignore'] });
    fs.rmSync(this.dir, { recursive: true, force: true });
    this.finish();
  }
}

/** Dead: gone, or a zombie waiting for its parent. */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const s = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return s === 'Z' || s === 'X';
  } catch {
    return true;
  }
}
