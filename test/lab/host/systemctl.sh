#!/bin/sh
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
