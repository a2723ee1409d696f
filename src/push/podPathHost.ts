/** Reads, on one host, the files that name its pod subnet (see src/podPath.ts). */
import { CNI_DIR, cniSubnets, isCniConfigName, KUBELET_CONFIG, kubeletSubnets, type SubnetSource } from '../podPath.js';
import type { RemoteHost } from '../remote/connection.js';

/** A CNI or kubelet config larger than this is not one (and is not read whole). */
const MAX_CONFIG_BYTES = 1 << 20;

async function readSmall(conn: RemoteHost, path: string): Promise<string | { unreadable: string } | null> {
  const st = await conn.stat(path);
  if (!st || st.isDir) return null;
  if (st.size > MAX_CONFIG_BYTES) return { unreadable: `${st.size} bytes, larger than any such config` };
  try {
    return (await conn.readFile(path))?.toString('utf8') ?? null;
  } catch (e) {
    return { unreadable: (e as Error).message };
  }
}

/**
 * The pod subnets named by the host's CNI configs (every .conf/.conflist/.json in
 * /etc/cni/net.d) and its kubelet config; files that do not exist are simply not sources.
 */
export async function readPodPathSources(conn: RemoteHost): Promise<SubnetSource[]> {
  const sources: SubnetSource[] = [];
  const dir = await conn.stat(CNI_DIR);
  const names = dir?.isDir ? (await conn.list(CNI_DIR)).filter(isCniConfigName) : [];
  for (const name of names) {
    const path = `${CNI_DIR}/${name}`;
    const text = await readSmall(conn, path);
    if (text === null) continue;
    sources.push(typeof text === 'string' ? cniSubnets(path, text) : { source: path, subnets: [], unreadable: text.unreadable });
  }
  const kubelet = await readSmall(conn, KUBELET_CONFIG);
  if (kubelet !== null) sources.push(typeof kubelet === 'string' ? kubeletSubnets(KUBELET_CONFIG, kubelet) : { source: KUBELET_CONFIG, subnets: [], unreadable: kubelet.unreadable });
  return sources;
}
