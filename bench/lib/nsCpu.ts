/** CPU used inside PID namespaces (the lab's hosts): what bench/push.ts and bench/hostCost.ts count as a host's cost. */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const HZ = 100; // USER_HZ on Linux

const pidNamespace = (pid: string | number): string | null => {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
};

/**
 * CPU seconds used so far by every process in the PID namespaces of `pids`: each one's own time
 * plus that of the children it reaped (sshd reaps its sessions, each host's init the orphans, so
 * processes that already ended are counted too). The difference across a run is the server
 * side's cost: sshd, the remote shells, networkctl, networkd, routegen's helper.
 */
export function cpuSecondsIn(pids: Array<number | undefined>): number {
  const namespaces = new Set(pids.filter((p): p is number => p !== undefined).map(pidNamespace).filter((n): n is string => n !== null));
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const ns = pidNamespace(pid);
    if (ns === null || !namespaces.has(ns)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields 14-17 of stat(5): utime stime cutime cstime (f[0] is field 3)
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // ended meanwhile: its time is in its parent's cutime/cstime once reaped
    }
  }
  return ticks / HZ;
}
