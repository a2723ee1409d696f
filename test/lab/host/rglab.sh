#!/bin/bash
# rglab: boots and reboots one routegen lab host; runs inside the host's namespaces.
#   rglab start-stack | reboot [full] | start-networkd | stop-networkd | restart-networkd
#         networkd-running | start-nm | stop-nm | restart-nm | reload-nm | nm-running
#         wait-eth1 | start-sshd | kill-sshd | sshd-running
# Waits poll with shell builtins and a growing nap, and start no process to do so: fifty hosts
# boot at once on two CPUs, and starting a process (a `sleep` per nap) is what costs most there.
# bash, not sh, for that: its `read -t` naps on a FIFO no one writes to.
set -eu
. /run/lab/host.env
[ -p /run/lab/nap ] || mkfifo /run/lab/nap 2>/dev/null || [ -p /run/lab/nap ]
exec 9<>/run/lab/nap
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
uptime_cs() { read -r up _ </proc/uptime; UP=${up%.*}${up#*.}; }
# poll COMMAND...: until it succeeds or TIMEOUT seconds pass (then returns 1).
poll() {
  uptime_cs; end=$((UP + TIMEOUT * 100)); nap=0.005
  until "$@"; do
    uptime_cs; [ "$UP" -lt "$end" ] || return 1
    read -r -t $nap -u 9 _ || :
    case $nap in 0.005) nap=0.01 ;; 0.01) nap=0.02 ;; 0.02) nap=0.05 ;; esac
  done
}
# Alive and not a zombie. (The whole file in one read: bash reads ahead, and what a read loop
# left unread of a file that vanished would be what the next read, of another file, returns.)
alive() {
  [ -n "$1" ] && [ -r "/proc/$1/status" ] || return 1
  ST=
  read -r -d '' ST 2>/dev/null <"/proc/$1/status" || :
  case "$ST" in
    *"State:"?[ZX]*) return 1 ;;
    *"State:"*) return 0 ;;
  esac
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
  SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_COLOR=0 setsid "$LAB_NETWORKD" </dev/null >>/run/lab/networkd.log 2>&1 3>&- 4<&- 9<&- &
  ND_PID=$!
  echo "$ND_PID" >"$NETWORKD_PIDFILE"
  if [ "${1:-}" != nowait ]; then networkd_ready; fi
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
  setsid "$LAB_NETWORKMANAGER" --debug </dev/null >>/run/lab/NetworkManager.log 2>&1 3>&- 4<&- 9<&- &
  echo "$!" >"$NM_PIDFILE"
  if [ "${1:-}" != nowait ]; then nm_ready; fi
}
# Ready when its main object answers: NetworkManager owns its name on the bus a moment before
# it exports /org/freedesktop/NetworkManager (a Reload then fails: "Object does not exist").
nm_on_bus() {
  alive "$NM_PID" || return 0 # checked by the caller
  busctl --system get-property org.freedesktop.NetworkManager /org/freedesktop/NetworkManager org.freedesktop.NetworkManager State >/dev/null 2>&1
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
      *) fail "NetworkManager did not activate eth1 (state: ${NMSTATE:-none})" ;;
    esac
  fi
  if networkd_running; then
    read -r ifindex </sys/class/net/eth1/ifindex
    LINKSTATE=/run/systemd/netif/links/$ifindex
    poll eth1_settled || fail "eth1 was not configured by systemd-networkd within $TIMEOUT s (state: ${ADMIN:-none})"
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
  if [ "${1:-}" = full ]; then
    # Every process in this host's PID namespace but its init and this shell.
    victims=
    for d in /proc/[0-9]*; do
      p=${d#/proc/}
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
    dbus-daemon --system --fork 9<&-
  fi
  ip link set eth1 down
  ip addr flush dev eth1
  ip route flush dev eth1 table all 2>/dev/null || true
  ip -6 route flush dev eth1 table all 2>/dev/null || true
  # (NetworkManager's /run state must go too: with it NM "assumes" eth1 as it was, and fails.)
  rm -rf /run/network /run/systemd/network /run/systemd/netif /run/systemd/system /run/NetworkManager
  start_stack
  if [ "${1:-}" = full ]; then start_sshd; fi
}
all_dead() {
  for p in "$@"; do if alive "$p"; then return 1; fi; done
}

start_sshd() {
  if read_pid "$SSHD_PIDFILE"; then return 0; fi
  rm -f "$SSHD_PIDFILE"
  # Daemonises; the daemon writes its pid file once its listening socket is bound.
  "$LAB_SSHD" -f /run/lab/sshd_config -E /run/lab/sshd.log 3>&- 4<&- 9<&-
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
  reboot) reboot_host "${2:-}" ;;
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
