/**
 * How much creating a file or directory costs right now on the output file system.
 *
 * Why: on ext4 WITHOUT a journal (this benchmark's reference machine), the inode allocator skips
 * inodes freed in the last 60 s (300 s while their inode-table block is still dirty) and checks
 * each one it skips (fs/ext4/ialloc.c: find_inode_bit → recently_deleted). After a large
 * `rm -rf`, every new inode in the same block group scans past all of them: creating the
 * 1,000-worker tree (≈6,000 inodes) after deleting a previous one took 1–5 s of system time
 * instead of 0.1 s, for routegen and awk alike. That is why the render benchmark keeps its
 * outputs until it ends instead of deleting them between runs, and why it waits here until
 * deletions made before it started (an earlier benchmark run, another user) are forgotten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Microseconds per new inode (a directory plus a file in it, `count` times) under `parent`. */
export function inodeCostUs(parent: string, count = 300): number {
  mkdirSync(parent, { recursive: true });
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const d = join(parent, `d${i}`);
    mkdirSync(d);
    writeFileSync(join(d, 'f'), '');
  }
  return Number(process.hrtime.bigint() - t0) / 1e3 / (2 * count);
}

/** Probes until creating an inode is cheap again, or `maxWaitS` has passed. Probe trees are left
 * in place (deleting them would cause what we wait for) and go with the work directory. */
export async function waitForCheapInodes(
  workDir: string,
  opts: { thresholdUs: number; maxWaitS: number; log: (s: string) => void },
): Promise<{ costUs: number; waitedS: number; settled: boolean }> {
  const start = Date.now();
  for (let probe = 0; ; probe++) {
    const costUs = inodeCostUs(join(workDir, `fs-probe-${probe}`));
    const waitedS = (Date.now() - start) / 1000;
    if (costUs <= opts.thresholdUs) return { costUs, waitedS, settled: true };
    if (waitedS >= opts.maxWaitS) {
      opts.log(`creating an inode still costs ${costUs.toFixed(0)} µs after ${waitedS.toFixed(0)} s; measuring anyway (figures will be inflated by file-system work)`);
      return { costUs, waitedS, settled: false };
    }
    if (probe === 0) {
      opts.log(
        `creating an inode costs ${costUs.toFixed(0)} µs here (> ${opts.thresholdUs} µs): probably many files were deleted on this file system in the last minutes ` +
          `(ext4 without a journal rescans them on every create). Waiting up to ${opts.maxWaitS} s for it to settle (--settle 0 to skip)...`,
      );
    }
    await new Promise((r) => setTimeout(r, 20_000));
  }
}
