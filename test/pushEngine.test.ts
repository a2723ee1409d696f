/**
 * The push engine (pushHost, runHosts) against fake hosts (test/helpers/fakeHost.ts): every path
 * a host's push can take, and a failure at each step — failed before arming with nothing changed,
 * rolled back after arming with the host's file and kernel exactly as before.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadConfig } from '../src/inventory/config.js';
import { parseInventory } from '../src/inventory/machines.js';
import { hostPlan, planRoutes } from '../src/plan.js';
import { checkRoutes, parseKernelRoutes, routeCheckOk } from '../src/push/kernel.js';
import { STATE_DIR } from '../src/push/protocol.js';
import { pushHost, type PushOptions } from '../src/push/pushHost.js';
import { runHosts } from '../src/push/run.js';
import { renderHost } from '../src/render.js';
import { FakeHost, fakeReach, type Fault } from './helpers/fakeHost.js';
import { waitFor } from './helpers/time.js';

const INVENTORY = ['192.168.10.11 node-a.t node-a 10.200.0.0/24', '192.168.10.12 node-b.t node-b 10.200.1.0/24', '192.168.10.13 node-c.t node-c 10.200.2.0/24', ''].join('\n');
const CONFIG = 'defaults:\n  stack: networkd\n  interface: eth1\n  networkd-file: 10-eth1.network\n';
const plan = planRoutes(parseInventory(INVENTORY, 'machines.txt'), loadConfig(CONFIG, 'routegen.yaml'));
const hostA = hostPlan(plan, plan.hosts[0]!);
const PATH = '/etc/systemd/network/10-eth1.network.d/60-routegen-pod-routes.conf';
const PLANNED = renderHost(hostA, 'machines.txt')[0]!.content;
/** A file of an earlier push: one route, to a subnet the plan no longer has. */
const OLDER = '[Route]\nDestination=10.200.9.0/24\nGateway=192.168.10.19\n';

function options(hosts: Record<string, FakeHost>, more: Partial<PushOptions> = {}): PushOptions {
  return {
    ssh: fakeReach(hosts),
    confirmTimeoutS: 1,
    verifyTimeoutS: 0,
    commandTimeoutS: 5,
    inventoryName: 'machines.txt',
    cluster: plan.hosts.flatMap((h) => h.machine.podSubnets),
    ...more,
  };
}

/** A host routegen pushed `file` to before (file in place, kernel from it, helper installed). */
function pushedBefore(file: string, fault?: Fault, name = hostA.ip): FakeHost {
  const host = new FakeHost(name, fault).withHelperScript();
  host.put(PATH, file, 0o644);
  host.verb(['reapply', 'networkd', 'eth1', PATH, '4']);
  return host;
}

const push = (host: FakeHost, more: Partial<PushOptions> = {}) => pushHost(hostA, options({ [host.name]: host }, more));
const writes = (host: FakeHost) => host.log.filter((l) => / (write|remove) /.test(l));
const kernelHasPlan = (host: FakeHost) => routeCheckOk(checkRoutes(parseKernelRoutes(host.table('4')), hostA.routes, 'eth1', undefined));

test('unchanged: the file and the kernel are right — nothing written, nothing committed', async () => {
  const host = pushedBefore(PLANNED);
  const before = host.snapshot();
  const r = await push(host);
  assert.is(r.outcome, 'unchanged', JSON.stringify(r.error));
  assert.equal(writes(host), []);
  assert.equal(host.verbs(), ['#1 facts']);
  assert.equal(host.snapshot(), before);
});

test('repaired: the file is right but the kernel lost a route — applied again, nothing written', async () => {
  const host = pushedBefore(PLANNED);
  host.kernel = host.kernel.filter((k) => k.dst !== '10.200.1.0/24');
  const r = await push(host);
  assert.is(r.outcome, 'repaired', JSON.stringify(r.error));
  assert.equal(r.problems, ['10.200.1.0/24 via 192.168.10.12: missing from the kernel']);
  assert.equal(writes(host), []);
  assert.equal(host.verbs(), ['#1 facts', '#1 reapply']);
  assert.ok(kernelHasPlan(host));
});

test('changed: upload, commit, verify, a second login, confirm on the first connection', async () => {
  const host = pushedBefore(OLDER);
  const r = await push(host);
  assert.is(r.outcome, 'changed', JSON.stringify(r.error));
  assert.equal(host.files.get(PATH), { content: PLANNED, mode: 0o644 });
  assert.ok(kernelHasPlan(host));
  assert.not.ok(host.kernel.some((k) => k.dst === '10.200.9.0/24'), 'the route the plan dropped is gone');
  const staged = '/etc/systemd/network/10-eth1.network.d/.60-routegen-pod-routes.conf.routegen-new';
  const steps = host.log.filter((l) => !/ close$/.test(l));
  assert.equal(steps, ['#1 connect', '#1 serve serve', '#1 verb facts', `#1 write ${staged}`, '#1 verb commit', '#2 connect (no sftp)', '#1 verb confirm']);
  assert.is(host.armed, undefined, 'the timer is disarmed');
  assert.not.ok(host.files.has(`${STATE_DIR}/etc%systemd%network%10-eth1.network.d%60-routegen-pod-routes.conf.pending`));
  assert.equal(host.files.get(`${STATE_DIR}/etc%systemd%network%10-eth1.network.d%60-routegen-pod-routes.conf.prev`)?.content, OLDER);
});

test('changed, first push: the helper script is installed and "no file before" is kept', async () => {
  const host = new FakeHost(hostA.ip);
  const r = await push(host);
  assert.is(r.outcome, 'changed', JSON.stringify(r.error));
  assert.ok(writes(host).some((l) => l.endsWith('/routegen-host.sh')));
  assert.ok(host.files.has(`${STATE_DIR}/etc%systemd%network%10-eth1.network.d%60-routegen-pod-routes.conf.absent`));
  assert.is(host.files.get(PATH)?.content, PLANNED);
});

for (const mode of ['dryRun', 'diffOnly'] as const) {
  test(`${mode}: nothing written or applied, the diff given`, async () => {
    const host = pushedBefore(OLDER);
    const before = host.snapshot();
    const r = await push(host, { [mode]: true });
    assert.is(r.outcome, 'would change', JSON.stringify(r.error));
    assert.match(r.diff ?? '', '+Destination=10.200.1.0/24');
    assert.match(r.diff ?? '', '-Destination=10.200.9.0/24');
    assert.equal(writes(host), []);
    assert.equal(host.verbs(), []);
    assert.equal(host.snapshot(), before);
  });
}

/** The push fails before anything is armed: outcome failed, the host as it was, no commit. */
async function failsBeforeArming(fault: Fault) {
  const host = pushedBefore(OLDER, fault);
  const before = host.snapshot();
  const r = await push(host);
  assert.is(r.outcome, 'failed');
  assert.not.ok(host.verbs().some((v) => / commit/.test(v)), 'never committed');
  assert.equal(host.snapshot(), before);
  return r;
}

test('upload fails: failed, nothing changed on the host', async () => {
  const r = await failsBeforeArming('upload');
  assert.is(r.error?.step, 'write');
  assert.match(r.error?.message ?? '', 'No space left on device');
});

/** The push fails once the host is armed: rolled back, file and kernel exactly as before. */
async function rolledBack(fault: Fault, byTimer?: (host: FakeHost) => Promise<void>) {
  const host = pushedBefore(OLDER, fault);
  const before = host.snapshot();
  const running = push(host);
  await byTimer?.(host);
  const r = await running;
  assert.is(r.outcome, 'rolled back', JSON.stringify(r.error));
  assert.ok(host.verbs().includes('#1 commit'), 'it was armed');
  assert.not.ok(host.files.get(PATH)?.content === PLANNED, 'the planned file did not stay');
  assert.is(host.armed, undefined);
  assert.equal(host.snapshot(), before);
  return { r, host };
}

test('apply fails (exit applyFailed): rolled back at once, the host as before', async () => {
  const { r, host } = await rolledBack('apply');
  assert.equal({ step: r.error?.step, message: r.error?.message }, { step: 'apply', message: 'applying networkd failed' });
  assert.match(r.error?.stderr ?? '', 'applying networkd failed');
  assert.ok(host.verbs().includes('#1 restore'));
});

test('the kernel never gets the routes: verify fails, rolled back, the problems listed', async () => {
  const { r, host } = await rolledBack('kernel');
  assert.is(r.error?.step, 'verify');
  assert.ok(r.problems?.includes('10.200.1.0/24 via 192.168.10.12: missing from the kernel'), JSON.stringify(r.problems));
  assert.ok(host.verbs().includes('#1 restore'));
});

test('the confirming login meets a changed host key: rolled back on the first connection', async () => {
  const { r, host } = await rolledBack('hostkey');
  assert.match(r.error?.message ?? '', 'host key');
  assert.ok(host.log.includes('#2 refused: host key changed'));
  assert.ok(host.verbs().includes('#1 restore'));
});

test("the change cuts the host off until its own timer rolls it back: rolled back, as the host's timer left it", async () => {
  const { r, host } = await rolledBack('unreachable', async (h) => {
    await waitFor('a confirming login refused', () => h.log.some((l) => l.endsWith('refused: unreachable')), 10_000);
    h.fireTimer();
  });
  assert.match(r.error?.message ?? '', 'rolled back');
  assert.ok(host.log.includes('#0 timer fires'));
  assert.not.ok(host.verbs().some((v) => / restore/.test(v)), 'routegen had nothing to restore: the timer did');
  // (its confirmation came after the timer: nothing left to claim)
  assert.ok(host.verbs().includes('#1 confirm'));
});

test('the connection is lost once armed: failed, saying the host rolls back by itself — which it does', async () => {
  const host = pushedBefore(OLDER, 'lost');
  const before = host.snapshot();
  const r = await push(host);
  assert.is(r.outcome, 'failed');
  assert.match(r.error?.message ?? '', /connection lost.*rolling back failed too.*rolls back by itself within 1 s/);
  assert.ok(host.armed, 'still armed: only its timer can roll it back');
  assert.is(host.files.get(PATH)?.content, PLANNED);
  host.fireTimer();
  assert.is(host.armed, undefined);
  assert.equal(host.snapshot(), before);
});

test('a bug after commit (a TypeError): that host rolled back, reported as an internal error with its stack', async () => {
  const { r, host } = await rolledBack('bug');
  assert.ok(r.error?.message.startsWith('internal error: '), r.error?.message);
  assert.match(r.error?.internal ?? '', /TypeError: Cannot read properties of undefined/);
  assert.match(r.error?.hint ?? '', 'bug in routegen');
  assert.ok(host.verbs().includes('#1 restore'));
});

test('runHosts: a bug on one host does not stop the others, which end changed', async () => {
  const hosts = plan.hosts.map((p) => pushedBefore(OLDER, p.machine.hostname === 'node-b' ? 'bug' : undefined, p.machine.addresses[0]!.text));
  const done: string[] = [];
  const results = await runHosts(plan, plan.hosts, { ...options(Object.fromEntries(hosts.map((h) => [h.name, h]))), parallel: 2, onDone: (r) => done.push(r.host) });
  assert.equal(results.map((r) => [r.host, r.outcome]), [['node-a', 'changed'], ['node-b', 'rolled back'], ['node-c', 'changed']]);
  assert.ok(results[1]!.error?.message.startsWith('internal error: '));
  assert.equal(done.sort(), ['node-a', 'node-b', 'node-c']);
  assert.is(hosts[1]!.files.get(PATH)?.content, OLDER);
});

test.run();
