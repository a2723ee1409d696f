#!/bin/sh
# routegen's helper on a managed host. routegen uploads it over SFTP and runs it as root
# (directly, or through `sudo -n`) on the same SSH connection. Every argument was checked by
# routegen against ^[A-Za-z0-9_@%+=:,./-]+$ before it was sent, and nothing here evaluates text
# as shell code. Rendered from routegen's src/push/protocol.ts (verbs, exit codes, state names):
# edit the two together.
#
#   commit  TIMEOUT KEY TARGET STACK IFACE STAGED|- FAM   back up, arm the rollback, rename, apply
#   restore KEY TARGET STACK IFACE                         roll back now (claims the armed token)
#   confirm KEY                                            disarm: the change stays
#   rollback KEY TARGET STACK IFACE                        put back the file kept before the last push
#   reapply STACK IFACE TARGET FAM                         apply the unchanged file again (repair)
#   routes  FAM                                            the kernel's main routing table (JSON)
#   facts   FAM                                            the SSH peer, then the routing table
#   serve                                                  the verbs above, one a line on stdin
#
# TARGET is the file's path; for STACK networkmanager it is the connection's UUID, and the file
# is the keyfile NetworkManager reports for it (its name may hold any character). FAM: the
# address families whose routes are read: 4, 6 or 46.
#
# State lives in {{STATE_DIR}} (0700): KEY.{{STATE.prev}} (the previous file) or KEY.{{STATE.absent}} (there was
# none), KEY.{{STATE.pending}} (armed; holds the deadline), KEY.{{STATE.failed}} (the file a rollback replaced),
# KEY.{{STATE.orig}} (the file as it was before routegen's first push to it, when there was one).
# Exit codes: {{EXIT.ok}} ok; {{EXIT.error}} error (message on stderr); {{EXIT.applyFailed}} apply failed; {{EXIT.nothingToClaim}} nothing to roll back
# or confirm; {{EXIT.awaitingConfirm}} a previous push is still waiting for its confirmation.
set -u
set -f
umask 077
STATE={{STATE_DIR}}
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

die() { echo "routegen-host: $*" >&2; exit {{EXIT.error}}; }

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

# The file behind TARGET (see above), on stdout.
target_of() { # STACK TARGET
	if [ "$1" != networkmanager ]; then
		printf '%s\n' "$2"
		return 0
	fi
	case "$2" in '' | *[!0-9a-f-]*) die "not a NetworkManager connection UUID: $2" ;; esac
	# nmcli -t escapes ':' and '\' in a field with a backslash; the UUID holds neither. In the C
	# locale it prints every non-ASCII letter as '?'.
	f=$(LC_ALL=C.UTF-8 nmcli -t -f UUID,FILENAME connection show | sed -n "s/^$2://p" | sed 's/\\:/:/g; s/\\\\/\\/g')
	case "$f" in
	/etc/NetworkManager/system-connections/?*) [ -f "$f" ] || die "the keyfile of connection $2 is missing: $f" ;;
	'') die "NetworkManager has no keyfile for connection $2 (is NetworkManager running?)" ;;
	*) die "connection $2 is kept in $f, not in /etc/NetworkManager/system-connections" ;;
	esac
	printf '%s\n' "$f"
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


# The kernel's main routing table, for the families in $1 (4, 6 or 46): each after its marker.
routes() { # FAM
	echo "@@ipv4"
	case "$1" in *4*) ip -j -4 route show table main ;; esac
	echo "@@ipv6"
	case "$1" in *6*) ip -j -6 route show table main ;; esac
}

# NOW: seconds since boot, BOOT: this boot's id (a pending deadline from before a reboot is
# stale: its timer died with it). Read, not run: no process.
clock() {
	read -r up _ </proc/uptime && NOW=${up%.*} && read -r BOOT </proc/sys/kernel/random/boot_id
}

# Puts back what was there before the last push: the kept file, or no file.
restore_file() { # KEY TARGET
	dir=${2%/*}
	base=${2##*/}
	if [ -f "$2" ]; then cp -p "$2" "$STATE/$1.{{STATE.failed}}"; elif [ -e "$STATE/$1.{{STATE.failed}}" ]; then rm -f "$STATE/$1.{{STATE.failed}}"; fi
	if [ -f "$STATE/$1.{{STATE.prev}}" ]; then
		cp -p "$STATE/$1.{{STATE.prev}}" "$dir/.$base.routegen-restore" && mv -f "$dir/.$base.routegen-restore" "$2" || return 1
	elif [ -e "$STATE/$1.{{STATE.absent}}" ]; then
		rm -f "$2" || return 1
	else
		echo "routegen-host: no earlier file of $2 was kept" >&2
		return 1
	fi
}

restore() { # KEY TARGET STACK IFACE
	file=$(target_of "$3" "$2") || exit {{EXIT.error}}
	mv -f "$STATE/$1.{{STATE.pending}}" "$STATE/$1.{{STATE.restoring}}" 2>/dev/null || {
		echo "routegen-host: nothing to roll back for $file: the change was confirmed, or already rolled back" >&2
		exit {{EXIT.nothingToClaim}}
	}
	rc={{EXIT.ok}}
	restore_file "$1" "$file" || rc={{EXIT.error}}
	apply "$3" "$file" "$STATE/$1.{{STATE.failed}}" "$4" || rc={{EXIT.applyFailed}}
	rm -f "$STATE/$1.{{STATE.restoring}}"
	exit $rc
}

commit() { # TIMEOUT KEY TARGET STACK IFACE STAGED FAM
	timeout=$1 key=$2 stack=$4 iface=$5 staged=$6
	target=$(target_of "$stack" "$3") || exit {{EXIT.error}}
	dir=${target%/*}
	[ -d "$STATE" ] || { mkdir -p "$STATE" && chmod 700 "$STATE"; } || die "cannot create $STATE"
	clock || die "cannot read /proc/uptime and the boot id"
	if [ -e "$STATE/$key.{{STATE.pending}}" ]; then
		pboot= deadline=
		read -r pboot deadline 2>/dev/null <"$STATE/$key.{{STATE.pending}}" || true
		case "$deadline" in '' | *[!0-9]*) deadline=-99 ;; esac
		if [ "$pboot" = "$BOOT" ] && [ "$NOW" -le "$((deadline + 5))" ]; then
			echo "routegen-host: an earlier push of $target is waiting for its confirmation; its automatic rollback runs within $((deadline + 5 - NOW)) s. Try again after that." >&2
			exit {{EXIT.awaitingConfirm}}
		fi
		# The timer of an interrupted push died with a reboot: that push's file stayed.
		rm -f "$STATE/$key.{{STATE.pending}}"
	fi
	# The stack's directory must stay readable by it (networkd runs as systemd-network).
	[ -d "$dir" ] || mkdir -p -m 755 "$dir" || die "cannot create $dir"
	# The first push to this target keeps the file as it was before routegen came, for `remove`.
	if [ -f "$target" ] && [ ! -e "$STATE/$key.{{STATE.prev}}" ] && [ ! -e "$STATE/$key.{{STATE.absent}}" ] && [ ! -e "$STATE/$key.{{STATE.orig}}" ]; then
		cp -p "$target" "$STATE/$key.{{STATE.orig}}.tmp" && mv -f "$STATE/$key.{{STATE.orig}}.tmp" "$STATE/$key.{{STATE.orig}}" || die "cannot back up $target"
	fi
	if [ -f "$target" ]; then
		# A second name for the file (it is replaced by a rename, never written in place); a copy
		# where the state directory is on another filesystem.
		# ({{STATE.copies}}: a link failed here once; the state directory is on another filesystem)
		{ [ ! -e "$STATE/{{STATE.copies}}" ] && ln -f "$target" "$STATE/$key.{{STATE.prev}}" 2>/dev/null; } ||
			{ : >"$STATE/{{STATE.copies}}" && cp -p "$target" "$STATE/$key.{{STATE.prev}}.tmp" && mv -f "$STATE/$key.{{STATE.prev}}.tmp" "$STATE/$key.{{STATE.prev}}"; } ||
			die "cannot back up $target"
		[ ! -e "$STATE/$key.{{STATE.absent}}" ] || rm -f "$STATE/$key.{{STATE.absent}}"
	else
		[ ! -e "$STATE/$key.{{STATE.prev}}" ] || rm -f "$STATE/$key.{{STATE.prev}}"
		: >"$STATE/$key.{{STATE.absent}}"
	fi
	if [ "$staged" != "-" ]; then
		# routegen uploaded it under a hidden name in the same directory (so the rename below is
		# atomic), created as root with its final mode before it got that name.
		[ "${staged%/*}" = "$dir" ] && [ -f "$staged" ] || die "staged file $staged is missing or not beside $target"
	fi
	# (a PID left by a timer that died with a reboot is no one's to kill)
	forget_timer "$key"
	echo "$BOOT $((NOW + timeout))" >"$STATE/$key.{{STATE.pending}}"
	# The timer: a process of its own (forked, nothing started), holding none of the session's
	# pipes, so it outlives the connection. Without a terminal, sshd signals nothing it started
	# when the connection ends, and routegen runs the helper under no `timeout`.
	expire "$timeout" "$key" "$3" "$stack" "$iface" </dev/null >/dev/null 2>&1 &
	if [ "$staged" != "-" ]; then
		mv -f "$staged" "$target" || die "cannot rename $staged to $target"
	else
		rm -f "$target" || die "cannot remove $target"
	fi
	if ! apply "$stack" "$target" "$STATE/$key.{{STATE.prev}}" "$iface"; then
		echo "routegen-host: applying $stack failed" >&2
		exit {{EXIT.applyFailed}}
	fi
	routes "$7"
}

# The timer's PID file emptied rather than removed: the shell's own work, no process started
# (the next push's timer writes its PID there again).
forget_timer() { # KEY
	[ ! -s "$STATE/$1.{{STATE.timer}}" ] || : >"$STATE/$1.{{STATE.timer}}"
}

expire() { # TIMEOUT KEY TARGET STACK IFACE
	# A hangup is not for the timer: should the helper have had a terminal (sudo's use_pty, I/O
	# logging), its closing would send one to this process group. (The sleep inherits it.)
	trap '' HUP
	# confirm kills this sleep, so that no timer outlives a confirmed push; restore then finds
	# nothing to claim.
	sleep "$1" &
	echo "$!" >"$STATE/$2.{{STATE.timer}}"
	wait "$!"
	# Confirmed (confirm took the token and the timer file): nothing to do.
	[ -e "$STATE/$2.{{STATE.pending}}" ] || exit {{EXIT.nothingToClaim}}
	rm -f "$STATE/$2.{{STATE.timer}}"
	restore "$2" "$3" "$4" "$5"
}

confirm() { # KEY
	# Removing the token is the claim: of confirm and the timer, only one can.
	rm "$STATE/$1.{{STATE.pending}}" 2>/dev/null || {
		echo "routegen-host: the change was already rolled back: the confirmation came after the timeout" >&2
		exit {{EXIT.nothingToClaim}}
	}
	timer=
	read -r timer 2>/dev/null <"$STATE/$1.{{STATE.timer}}" || true
	case "$timer" in
	'' | *[!0-9]*) ;;
	*) kill "$timer" 2>/dev/null || true ;;
	esac
	forget_timer "$1"
	# (the copy removed only when there is one: no process started for nothing)
	[ ! -e "$STATE/$1.{{STATE.failed}}" ] || rm -f "$STATE/$1.{{STATE.failed}}"
}

rollback() { # KEY TARGET STACK IFACE
	[ ! -e "$STATE/$1.{{STATE.pending}}" ] || { echo "routegen-host: a push is waiting for its confirmation; it rolls back by itself" >&2; exit {{EXIT.awaitingConfirm}}; }
	target_of "$3" "$2" >/dev/null || exit {{EXIT.error}}
	: >"$STATE/$1.{{STATE.pending}}"
	restore "$1" "$2" "$3" "$4"
}

reapply() { # STACK IFACE TARGET FAM
	# The file is right but the kernel is not (routes deleted by hand): configure the link again.
	file=$(target_of "$1" "$3") || exit {{EXIT.error}}
	case "$1" in
	networkd) networkctl reconfigure "$2" ;;
	*) apply "$1" "$file" /dev/null "$2" ;;
	esac || { echo "routegen-host: applying $1 failed" >&2; exit {{EXIT.applyFailed}}; }
	routes "$4"
}

facts() { # FAM
	echo "@@ssh ${SSH_CONNECTION:-}"
	routes "$1"
}

# One verb with its arguments; NAME N: the verb takes exactly N arguments.
run() {
	verb=${1:-}
	[ $# -gt 0 ] && shift
	case "$verb" in
	commit) [ $# -eq 7 ] || die "commit: wrong number of arguments"; commit "$@" ;;
	restore) [ $# -eq 4 ] || die "restore: wrong number of arguments"; restore "$@" ;;
	confirm) [ $# -eq 1 ] || die "confirm: wrong number of arguments"; confirm "$@" ;;
	rollback) [ $# -eq 4 ] || die "rollback: wrong number of arguments"; rollback "$@" ;;
	reapply) [ $# -eq 4 ] || die "reapply: wrong number of arguments"; reapply "$@" ;;
	routes) [ $# -eq 1 ] || die "routes: wrong number of arguments"; routes "$@" ;;
	facts) [ $# -eq 1 ] || die "facts: wrong number of arguments"; facts "$@" ;;
	*) die "unknown command ${verb:-(none)}" ;;
	esac
}

# serve: one process for a whole push. Each line on stdin is a verb and its arguments (split on
# blanks, never globbed: set -f); each runs in a subshell (its `exit` ends only it), with stdin
# from /dev/null, and its answer ends with a marker line on stdout (with the exit code) and one
# on stderr. Ends at the end of stdin.
serve() {
	while read -r line; do
		# shellcheck disable=SC2086 # word splitting is the point; arguments are plain words
		(run $line) </dev/null
		rc=$?
		echo
		echo "{{SERVE_MARK}} $rc"
		echo >&2
		echo "{{SERVE_MARK}}" >&2
	done
}

if [ "${1:-}" = serve ]; then
	[ $# -eq 1 ] || die "serve: wrong number of arguments"
	serve
else
	run "$@"
fi
