/**
 * The confirm of a push proves that a NEW connection reaches the host's sshd and that its host
 * key still matches, after the change: on the namespace lab, a ProxyCommand (the real OpenSSH
 * way of reaching a host) sends node-0's first connection to node-0 and every later one
 * elsewhere — to node-1's sshd, whose host key is not node-0's, or to a closed port. Either way
 * the push must not stay: node-0 ends with its file and kernel as they were before.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as assert from 'uvu/assert';
import { seconds, waitFor } from '../helpers/time.js';
import { requireLab, type Lab } from './lab.js';
import { jumpboxRoutegen, labSuite, needLab } from './suite.js';

const DROPIN = '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';

interface HostJson {
  host: string;
  outcome: string;
  error?: { step: string; message: string; hint?: string };
}

/** An ssh config whose ProxyCommand takes node-0's first connection to node-0 and every later
 * one to `later` (`HOST PORT`). */
function flipConfig(lab: Lab, name: string, later: string): string {
  const dir = path.join(lab.dir, name);
  fs.mkdirSync(dir, { recursive: true });
  const script = path.join(dir, 'proxy.sh');
  fs.writeFileSync(script, [
    'n=$(cat "$0.count" 2>/dev/null || echo 0)',
    'echo $((n + 1)) > "$0.count"',
    `if [ "$n" -eq 0 ]; then exec nc "$1" "$2"; else exec nc ${later}; fi`,
    '',
  ].join('\n'));
  const config = path.join(dir, 'ssh_config');
  fs.writeFileSync(config, `Host ${lab.host('node-0').ip}\n  ProxyCommand sh ${script} %h %p\n\n${fs.readFileSync(lab.sshConfigFile, 'utf8')}`);
  return config;
}

async function pushNode0(lab: Lab, inventory: string, sshConfig: string): Promise<HostJson> {
  const r = await jumpboxRoutegen(lab, ['push', '-i', inventory, '--hosts', 'node-0', '--stack', 'networkd', '--interface', 'eth1', '--confirm-timeout', seconds(4), '--rollback-grace', seconds(3), '--json'], { sshConfig });
  let hosts: HostJson[];
  try {
    hosts = JSON.parse(r.stdout).hosts as HostJson[];
  } catch {
    throw new Error(`push printed no JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  assert.is(r.code, 1, 'a push that did not stay exits 1');
  return hosts[0]!;
}

/** node-0 as it was before any push: no routegen file, no route to node-1's pods, nothing armed.
 * (A rollback of node-0's own may still be restoring when push has given up on it: waited for.) */
async function untouched(lab: Lab): Promise<void> {
  const marker = async () => (await lab.exec('node-0', ['sh', '-c', 'ls /var/lib/routegen | grep -E "\\.(pending|restoring)$" || true'])).stdout.trim();
  await waitFor('node-0 to be neither armed nor restoring', async () => (await marker()) === '', 30_000, 100).catch(async (e: Error) => {
    throw new Error(`${e.message}; still there: ${await marker()}`);
  });
  assert.is(await lab.readFile('node-0', DROPIN), null, 'routegen\'s file is gone again');
  // (networkd drops the route once it has reloaded: asynchronously before systemd 256)
  await waitFor('no route into node-1\'s pods left on node-0', async () => !(await lab.routes('node-0')).some((r) => r.dst === '10.200.1.0/24'), 30_000, 100);
}

if (requireLab()) {
  const s = labSuite('confirm: a new connection, with the same host key, after the change', { workers: 2 });

  s('the confirming connection meets another host key: the push is rolled back at once, and says so', async (ctx) => {
    const lab = needLab(ctx);
    const config = flipConfig(lab, 'hostkey', `${lab.host('node-1').ip} 22`);
    const h = await pushNode0(lab, ctx.inventory!, config);
    assert.is(h.outcome, 'rolled back', JSON.stringify(h));
    assert.match(h.error?.message ?? '', /host key/i);
    await untouched(lab);
  });

  s('the host accepts no new connection after the change: the push does not stay (the host rolls back by itself)', async (ctx) => {
    const lab = needLab(ctx);
    const config = flipConfig(lab, 'unreachable', `${lab.host('node-0').ip} 1`);
    const h = await pushNode0(lab, ctx.inventory!, config);
    assert.is.not(h.outcome, 'changed', JSON.stringify(h));
    assert.is(h.error?.step, 'confirm', JSON.stringify(h));
    assert.match(h.error?.message ?? '', /accepted no new SSH connection/);
    await untouched(lab);
  });

  s.run();
}
