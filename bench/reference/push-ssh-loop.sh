#!/bin/sh
# The leanest OpenSSH loop doing routegen push's job for the push benchmark (bench/push.ts):
# one `ssh HOST 'mkdir -p D && cat > D/FILE && networkctl reload' < FILE` per host, PARALLEL at a
# time through xargs -P. The files come from `routegen render --out RENDER_DIR` beforehand.
# No backup, no rollback, no check that the routes reached the kernel, no confirmation.
#
#   push-ssh-loop.sh SSH_CONFIG MACHINES_TXT RENDER_DIR [PARALLEL]
#
# Hosts are reached by address, as routegen does by default (`via: ip`). Multiplexing is off
# (each host is one fresh connection) and BatchMode is on. A host with no rendered file gets
# nothing. Exits non-zero if any host failed. With SSH_JUMP set, every ssh goes through that jump
# host (`ssh -J "$SSH_JUMP"`): a login to it per host, as a loop of `ssh -J` does.
set -eu
[ $# -ge 3 ] || { echo "usage: $0 SSH_CONFIG MACHINES_TXT RENDER_DIR [PARALLEL]" >&2; exit 2; }
export CFG="$1" RENDER="$3"
PARALLEL="${4:-10}"

# "IP HOSTNAME" per machine (the guide's machines.txt: IP FQDN HOSTNAME [SUBNET]; # comments).
sed -e 's/#.*//' -e 's/\r$//' "$2" | awk 'NF >= 3 { print $1, $3 }' |
	xargs -P "$PARALLEL" -n 2 sh -c '
		ip=$1 name=$2
		dir="$RENDER/$name"
		[ -d "$dir" ] || exit 0
		file=$(find "$dir" -type f)
		rel=${file#"$dir"}
		ssh -F "$CFG" ${SSH_JUMP:+-J "$SSH_JUMP"} -o BatchMode=yes -o ControlMaster=no -o ControlPath=none "$ip" \
			"mkdir -p ${rel%/*} && cat > $rel && networkctl reload" < "$file" ||
			{ echo "push-ssh-loop: $name ($ip) failed" >&2; exit 1; }
	' sh
