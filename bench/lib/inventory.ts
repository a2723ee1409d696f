/**
 * Synthetic machines.txt inventories in the guide's format: one control-plane server without a
 * pod subnet, then `workers` nodes. Node addresses come from 10.0.0.0/16 (from 10.0.0.10 on),
 * pod subnets are consecutive /24s of 172.16.0.0/12, so no subnet overlaps another or holds a
 * node address. Lines are in ascending subnet order: routegen sorts routes by subnet, and the awk
 * reference (which does not sort) relies on the input already being in that order.
 */
export const MAX_WORKERS = 4096; // 172.16.0.0/12 holds 4096 /24s

export function workerAddress(i: number): string {
  const a = i + 10;
  return `10.0.${a >> 8}.${a & 255}`;
}

export function workerSubnet(i: number): string {
  return `172.${16 + (i >> 8)}.${i & 255}.0/24`;
}

export function machinesTxt(workers: number): string {
  if (!Number.isInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw new Error(`workers must be 1 to ${MAX_WORKERS} (one /24 of 172.16.0.0/12 each), not ${workers}`);
  }
  const lines = ['10.0.0.1 server.kubernetes.local server'];
  for (let i = 0; i < workers; i++) lines.push(`${workerAddress(i)} node-${i}.kubernetes.local node-${i} ${workerSubnet(i)}`);
  return `${lines.join('\n')}\n`;
}

/** Hosts with a routes file, and routes in all files: the server routes to every worker's
 * subnet, each worker to every other worker's (never to its own). */
export function expectedOutput(workers: number): { files: number; routes: number } {
  return { files: workers > 1 ? workers + 1 : 1, routes: workers + workers * (workers - 1) };
}
