/** What the results were measured on: printed above every table and kept in the JSON. */
import { spawnSync } from 'node:child_process';
import { readFileSync, realpathSync, statfsSync } from 'node:fs';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  freeMemoryGiB: number;
  node: string;
  kernel: string;
  os: string;
  loadAverage: number[];
}

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    date: new Date().toISOString(),
    cores: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    memoryGiB: totalmem() / 2 ** 30,
    freeMemoryGiB: freemem() / 2 ** 30,
    node: process.version,
    kernel: release(),
    os: osName(),
    loadAverage: loadavg(),
  };
}

export function describeMachine(m: MachineInfo): string {
  return [
    `date:    ${m.date}`,
    `machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(1)} GiB memory (${m.freeMemoryGiB.toFixed(1)} GiB free), ${m.os}, kernel ${m.kernel}`,
    `node:    ${m.node}`,
    `load:    ${m.loadAverage.map((x) => x.toFixed(2)).join(' ')} (1/5/15 min) at start${m.loadAverage[0]! > m.cores / 2 ? ' — the machine is busy: expect noisy figures' : ''}`,
  ].join('\n');
}

/** The first line a command prints for --version / -W version (which awk, which diff). */
export function programVersion(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() || 'unknown';
}

/** Bytes free for an unprivileged writer, as `df` shows them. */
export function freeBytes(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** The file system a directory is on (`ext4`, `tmpfs`, ...), from /proc/mounts. */
export function fsType(dir: string): { type: string; mount: string; options: string } {
  const real = realpathSync(dir);
  let best = { type: 'unknown', mount: '', options: '' };
  try {
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const [, mount, type, options] = line.split(' ');
      if (!mount || !type) continue;
      const m = mount.replace(/\\040/g, ' ');
      if ((real === m || real.startsWith(m.endsWith('/') ? m : `${m}/`)) && m.length >= best.mount.length) best = { type, mount: m, options: options ?? '' };
    }
  } catch {
    // not Linux: unknown
  }
  return best;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}
