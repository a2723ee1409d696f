/**
 * Waiting for a quiet machine before a measurement. On a shared machine (others' test suites on
 * the same 2 cores), whatever runs at the time competes with the program measured and stretches
 * its wall time; this waits, a little, until the machine is idle, and says how busy it was.
 */
import { readFileSync } from 'node:fs';

const HZ = 100; // USER_HZ on Linux

/** Busy and total jiffies of the whole machine, from /proc/stat. */
function cpuJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Cores kept busy by everything on the machine over the next `ms`. */
export async function busyCores(ms: number): Promise<number> {
  const a = cpuJiffies();
  await new Promise((r) => setTimeout(r, ms));
  const b = cpuJiffies();
  return (b.busy - a.busy) / HZ / (ms / 1000);
}

/**
 * Waits until a `windowMs` window in which the machine keeps fewer than `quietCores` cores busy,
 * or `maxWaitS` has passed. Returns the last window's busy cores (0 when not probing).
 */
export async function waitForQuiet(maxWaitS: number, quietCores = 0.25, windowMs = 500): Promise<number> {
  if (maxWaitS <= 0) return 0;
  const t0 = Date.now();
  for (;;) {
    const busy = await busyCores(windowMs);
    if (busy < quietCores || Date.now() - t0 >= maxWaitS * 1000) return busy;
  }
}
