#!/bin/sh
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
mkdir -m 0755 /run/lab /run/dbus /run/sshd /run/network
mount --bind "$LAB_HOSTDIR" /run/lab
# Stand-ins for systemctl and udevadm (no systemd, no udev here) and the lab's rglab helper:
# first in PATH (read-only), and bound over the real programs where those exist.
mount -o bind,ro "$LAB_DIR/bin" /usr/local/sbin
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
# (what hostname(1) does, without starting a process: each one counts when fifty hosts boot)
echo "$LAB_NAME" >/proc/sys/kernel/hostname
stage mounts
if [ -z "$LAB_CNI_ADDR" ]; then
  ip link set lo up
else
  # The CNI bridge: set up directly, not by the host's network stack.
  ip -batch - <<EOF
link set lo up
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
