/** `routegen discover`: asks each host for its stack, interface and files, prints them, and with --write records them in routegen.yaml. */
import pLimit from 'p-limit';
import { existsSync, readFileSync } from 'node:fs';
import { Document, isMap, parseDocument } from 'yaml';
import { escapeControl } from '../errors.js';
import { loadConfig } from '../inventory/config.js';
import { writeFileSafely } from '../localWrite.js';
import { hostPlan } from '../plan.js';
import { discoverHost, type Discovery } from '../push/discover.js';
import { describeError, type HostError } from '../push/failure.js';
import { connect } from '../push/hostAccess.js';
import { connectName } from '../push/hostFile.js';
import type { RemoteHost } from '../remote/connection.js';
import { plural, table } from '../report.js';
import { loadInputs, type Io } from './common.js';
import type { ArgsOf } from '../options.js';
import { withSsh } from './push.js';

export type DiscoverArgs = ArgsOf<'discover'>;

interface DiscoverResult extends Discovery {
  host: string;
  address: string;
  seconds: number;
  error?: HostError;
}

/**
 * Writes the findings into routegen.yaml under `hosts:`, keeping everything else in the file
 * (comments included); the result is checked by the same loader before it replaces the file.
 */
function writeConfig(path: string, results: DiscoverResult[]): number {
  const doc = existsSync(path) ? parseDocument(readFileSync(path, 'utf8')) : new Document({});
  if (!existsSync(path)) doc.commentBefore = ' routegen settings: `routegen discover --write` filled in hosts:';
  if (!isMap(doc.contents)) doc.contents = doc.createNode({}) as never;
  let n = 0;
  for (const r of results) {
    if (!r.stack || !r.interface) continue;
    doc.setIn(['hosts', r.host, 'stack'], r.stack);
    doc.setIn(['hosts', r.host, 'interface'], r.interface);
    // Everything render needs to write what push writes; a setting of another stack goes.
    const found: Record<string, string | undefined> = {
      'networkd-file': r.stack === 'networkd' ? r.networkdFile : undefined,
      'netplan-id': r.stack === 'netplan' ? r.netplanId : undefined,
      'netplan-section': r.stack === 'netplan' ? r.netplanSection : undefined,
      // NetworkManager: the connection by UUID (its name and file name may change; its UUID not)
      'nm-connection': r.nmConnection,
    };
    for (const [key, value] of Object.entries(found)) {
      if (value !== undefined) doc.setIn(['hosts', r.host, key], value);
      else if (doc.hasIn(['hosts', r.host, key])) doc.deleteIn(['hosts', r.host, key]);
    }
    n++;
  }
  const text = doc.toString();
  loadConfig(text, path); // never write a file routegen itself would reject
  writeFileSafely(path, text);
  return n;
}

/** `routegen discover`: per host, which stack manages the interface holding its address. */
export async function discoverCommand(args: DiscoverArgs, io: Io): Promise<number> {
  // --write creates the config file when it does not exist yet.
  const { plan, hosts } = loadInputs(args, { configMayBeMissing: args.write });
  const limit = pLimit(args.parallel);
  const results: DiscoverResult[] = await withSsh(args, io, (opts) => Promise.all(
    hosts.map((ph) =>
      limit(async () => {
        const h = hostPlan(plan, ph);
        const t0 = Date.now();
        let conn: RemoteHost | undefined;
        try {
          conn = await connect(h, opts);
          // (every NetworkManager profile of the host: not part of the result)
          const { nmProfiles: _, ...found } = await discoverHost(conn, h);
          return { host: h.name, address: connectName(h), ...found, seconds: (Date.now() - t0) / 1000 };
        } catch (e) {
          return { host: h.name, address: connectName(h), evidence: '', seconds: (Date.now() - t0) / 1000, error: describeError(e, 'connect') };
        } finally {
          await conn?.close().catch(() => undefined);
        }
      }),
    ),
  ));
  const bad = results.filter((r) => r.error || !r.stack);
  const configPath = args.config ?? 'routegen.yaml';
  let written = 0;
  if (args.write && results.length > bad.length) written = writeConfig(configPath, results);
  if (args.json) {
    io.out(JSON.stringify({ command: 'discover', ok: bad.length === 0, written: args.write ? configPath : null, hosts: results }, null, 2));
    return bad.length ? 1 : 0;
  }
  const { c } = io;
  io.out(
    table(
      ['HOST', 'ADDRESS', 'STACK', 'INTERFACE', 'DEFINED BY', 'HOW'],
      results.map((r) => [
        r.host,
        r.address,
        r.error ? c.red('unreachable') : r.stack ? c.green(r.stack) : c.red('unknown'),
        // What the host said (its file names, its NetworkManager state) is shown escaped.
        escapeControl(r.interface ?? '-'),
        escapeControl(r.networkdFile ?? (r.netplanId ? `${r.netplanSection ?? 'ethernets'}.${r.netplanId}` : '-')),
        escapeControl(r.error ? r.error.message : r.evidence),
      ]),
      { c },
    ),
  );
  const summary = `\n${plural(results.length, 'host')}: ${results.length - bad.length} recognised${bad.length ? `, ${bad.length} not` : ''}.`;
  io.out(summary + (args.write ? ` Wrote ${plural(written, 'host')} into ${configPath}.` : results.length > bad.length ? ' `--write` records this in routegen.yaml, so render can work offline.' : ''));
  return bad.length ? 1 : 0;
}
