#!/bin/sh
# routegen's helper on a managed host. routegen uploads it to its staging directory and runs it
# as root (directly, or through `sudo -n`) on the same SSH connection that uploaded the files.
# Every argument was checked by routegen against ^[A-Za-z0-9_@%+=:,./-]+$ before it was sent,
# and nothing here evaluates text as shell code.
#
#   commit  TIMEOUT KEY TARGET MODE STACK IFACE STAGED|-   back up, arm the rollback, rename, apply
#   restore KEY TARGET STACK IFACE                          roll back now (claims the armed token)
#   expire  TIMEOUT KEY TARGET STACK IFACE                  the armed rollback: sleep, then restore
#   confirm KEY                                             disarm: the change stays
#   rollback KEY TARGET STACK IFACE                         put back the file kept before the last push
#   reapply STACK IFACE TARGET                              apply the unchanged file again (repair)
#   routes                                                  the kernel's main routing table (JSON)
#
# State lives in /var/lib/routegen (0700): KEY.prev (the previous file) or KEY.absent (there was
# none), KEY.pending (armed; holds the deadline), KEY.failed (the file a rollback replaced),
# KEY.orig (the file as it was before routegen's first push to it, when there was one).
# Exit codes: 0 ok; 1 error (message on stderr); 3 apply failed; 4 nothing to roll back;
# 5 a previous push is still waiting for its confirmation.
set -u
set -f
umask 077
STATE=/var/lib/routegen
SELF=$0
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

die() { echo "routegen-host: $*" >&2; exit 1; }

# The routes of one of routegen's ifupdown files, one "DST via GW dev IF [metric M]" a line.
ifupdown_routes() {
	[ -f "$1" ] || return 0
	sed -n 's/^[[:space:]]*up ip route replace //p' "$1"
}

# ifup does nothing for an interface that is already up: run the file's own commands now, and
# delete the routes that the previous file had and this one has not.
apply_ifupdown() { # NEWFILE OLDFILE
	rc=0
	ifupdown_routes "$1" > "$STATE/.new-routes"
	ifupdown_routes "$2" > "$STATE/.old-routes"
	while read -r dst via gw dev ifc rest; do
		# shellcheck disable=SC2086 # rest is "onlink [metric N]"
		ip route replace "$dst" "$via" "$gw" "$dev" "$ifc" $rest || rc=1
	done < "$STATE/.new-routes"
	# Whole lines: a route whose gateway or metric changed is a different kernel route. The
	# gateway and metric in the delete make sure it never removes the route just replaced.
	# (Not NR == FNR: with no new routes at all, that holds in the old file too.)
	awk 'FILENAME == ARGV[1] { keep[$0] = 1; next } !($0 in keep)' "$STATE/.new-routes" "$STATE/.old-routes" |
		while read -r dst via gw dev ifc rest; do
			# shellcheck disable=SC2086 # rest is "onlink [metric N]"
			ip route del "$dst" "$via" "$gw" "$dev" "$ifc" $rest 2>/dev/null || true
		done
	rm -f "$STATE/.new-routes" "$STATE/.old-routes"
	return $rc
}

apply() { # STACK NEWFILE OLDFILE IFACE
	case "$1" in
	networkd)
		command -v networkctl >/dev/null || die "networkctl not found: is systemd-networkd installed?"
		networkctl reload
		;;
	netplan)
		command -v netplan >/dev/null || die "netplan not found"
		netplan apply
		;;
	ifupdown) apply_ifupdown "$2" "$3" ;;
	networkmanager)
		command -v nmcli >/dev/null || die "nmcli not found: is NetworkManager installed?"
		# `nmcli connection load` exits 0 even when NetworkManager rejects the file.
		nm_out=$(nmcli connection load "$2" 2>&1)
		nm_rc=$?
		[ -z "$nm_out" ] || echo "$nm_out" >&2
		case "$nm_out" in *"Could not load"*) nm_rc=1 ;; esac
		[ $nm_rc -eq 0 ] && nmcli device reapply "$4"
		;;
	*) die "unknown stack $1" ;;
	esac
}

routes() {
	echo "@@ipv4"
	ip -j -4 route show table main
	echo "@@ipv6"
	ip -j -6 route show table main
}

now() { date +%s; }

# Puts back what was there before the last push: the kept file, or no file.
restore_file() { # KEY TARGET
	dir=${2%/*}
	base=${2##*/}
	if [ -f "$2" ]; then cp -p "$2" "$STATE/$1.failed"; else rm -f "$STATE/$1.failed"; fi
	if [ -f "$STATE/$1.prev" ]; then
		cp -p "$STATE/$1.prev" "$dir/.$base.routegen-restore" && mv -f "$dir/.$base.routegen-restore" "$2" || return 1
	elif [ -e "$STATE/$1.absent" ]; then
		rm -f "$2" || return 1
	else
		echo "routegen-host: no earlier file of $2 was kept" >&2
		return 1
	fi
}

restore() { # KEY TARGET STACK IFACE
	mv -f "$STATE/$1.pending" "$STATE/$1.restoring" 2>/dev/null || {
		echo "routegen-host: nothing to roll back for $2: the change was confirmed, or already rolled back" >&2
		exit 4
	}
	rc=0
	restore_file "$1" "$2" || rc=1
	apply "$3" "$2" "$STATE/$1.failed" "$4" || rc=3
	rm -f "$STATE/$1.restoring"
	exit $rc
}

case "${1:-}" in
commit)
	[ $# -eq 8 ] || die "commit: wrong number of arguments"
	timeout=$2 key=$3 target=$4 mode=$5 stack=$6 staged=$8
	dir=${target%/*}
	base=${target##*/}
	mkdir -p "$STATE" && chmod 700 "$STATE" || die "cannot create $STATE"
	if [ -e "$STATE/$key.pending" ]; then
		deadline=$(cat "$STATE/$key.pending" 2>/dev/null || echo 0)
		if [ "$(now)" -le "$((deadline + 5))" ]; then
			echo "routegen-host: an earlier push of $target is waiting for its confirmation; its automatic rollback runs within $((deadline + 5 - $(now))) s. Try again after that." >&2
			exit 5
		fi
		# The timer of an interrupted push died with a reboot: that push's file stayed.
		rm -f "$STATE/$key.pending"
	fi
	# The stack's directory must stay readable by it (networkd runs as systemd-network).
	mkdir -p -m 755 "$dir" || die "cannot create $dir"
	# The first push to this target keeps the file as it was before routegen came, for `remove`.
	if [ -f "$target" ] && [ ! -e "$STATE/$key.prev" ] && [ ! -e "$STATE/$key.absent" ] && [ ! -e "$STATE/$key.orig" ]; then
		cp -p "$target" "$STATE/$key.orig.tmp" && mv -f "$STATE/$key.orig.tmp" "$STATE/$key.orig" || die "cannot back up $target"
	fi
	if [ -f "$target" ]; then
		cp -p "$target" "$STATE/$key.prev.tmp" && mv -f "$STATE/$key.prev.tmp" "$STATE/$key.prev" || die "cannot back up $target"
		rm -f "$STATE/$key.absent"
	else
		rm -f "$STATE/$key.prev"
		: > "$STATE/$key.absent"
	fi
	if [ "$staged" != "-" ]; then
		# routegen uploaded it under a hidden name in the same directory (so the rename below is
		# atomic); owner and mode are final before the file becomes visible to the stack.
		[ "${staged%/*}" = "$dir" ] && [ -f "$staged" ] || die "staged file $staged is missing or not beside $target"
		chown 0:0 "$staged" && chmod "$mode" "$staged" || die "cannot set the mode of $staged"
	fi
	echo "$(($(now) + timeout))" > "$STATE/$key.pending"
	if command -v setsid >/dev/null; then
		setsid -f sh "$SELF" expire "$timeout" "$key" "$target" "$stack" "$7" </dev/null >/dev/null 2>&1
	else
		nohup sh "$SELF" expire "$timeout" "$key" "$target" "$stack" "$7" </dev/null >/dev/null 2>&1 &
	fi || die "cannot start the rollback timer"
	if [ "$staged" != "-" ]; then
		mv -f "$staged" "$target" || die "cannot rename $staged to $target"
	else
		rm -f "$target" || die "cannot remove $target"
	fi
	if ! apply "$stack" "$target" "$STATE/$key.prev" "$7"; then
		echo "routegen-host: applying $stack failed" >&2
		exit 3
	fi
	routes
	;;
restore)
	[ $# -eq 5 ] || die "restore: wrong number of arguments"
	restore "$2" "$3" "$4" "$5"
	;;
expire)
	[ $# -eq 6 ] || die "expire: wrong number of arguments"
	# confirm kills this sleep, so that no timer outlives a confirmed push; restore then finds
	# nothing to claim and exits 4.
	sleep "$2" &
	echo "$!" > "$STATE/$3.timer"
	wait "$!"
	rm -f "$STATE/$3.timer"
	restore "$3" "$4" "$5" "$6"
	;;
confirm)
	[ $# -eq 2 ] || die "confirm: wrong number of arguments"
	mv -f "$STATE/$2.pending" "$STATE/$2.confirmed" 2>/dev/null || {
		echo "routegen-host: the change was already rolled back: the confirmation came after the timeout" >&2
		exit 4
	}
	rm -f "$STATE/$2.confirmed" "$STATE/$2.failed"
	timer=$(cat "$STATE/$2.timer" 2>/dev/null || true)
	case "$timer" in
	'' | *[!0-9]*) ;;
	*) kill "$timer" 2>/dev/null || true ;;
	esac
	;;
rollback)
	[ $# -eq 5 ] || die "rollback: wrong number of arguments"
	[ ! -e "$STATE/$2.pending" ] || { echo "routegen-host: a push is waiting for its confirmation; it rolls back by itself" >&2; exit 5; }
	: > "$STATE/$2.pending"
	restore "$2" "$3" "$4" "$5"
	;;
reapply)
	# The file is right but the kernel is not (routes deleted by hand): configure the link again.
	[ $# -eq 4 ] || die "reapply: wrong number of arguments"
	case "$2" in
	networkd) networkctl reconfigure "$3" ;;
	*) apply "$2" "$4" /dev/null "$3" ;;
	esac || { echo "routegen-host: applying $2 failed" >&2; exit 3; }
	routes
	;;
routes)
	routes
	;;
*)
	die "unknown command ${1:-(none)}"
	;;
esac
