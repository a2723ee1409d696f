/**
 * routegen from outside the cluster's network: the jumpbox reaches the nodes only through a
 * bastion running real OpenSSH (test/lab/bastion.ts). push, status and rollback with ProxyJump
 * in the ssh config, with -J, and with `ProxyCommand ssh -W %h:%p bastion` (the OpenSSH
 * client); the kernel's routing tables, a pod-to-pod ping and the bastion sshd's own log judge.
 */
import * as assert from 'uvu/assert';
import { requireLab, type Lab, type LabRoute } from './lab.js';
import { addBastion, bastionSshConfig, BASTION_IP, type Bastion } from './bastion.js';
import { seconds } from '../helpers/time.js';
import { jumpboxRoutegen, labSuite, needLab, type LabCtx } from './suite.js';

const STACK = ['--stack', 'networkd', '--interface', 'eth1'];
const GUIDE_ROUTES: Record<string, string[]> = {
  server: ['10.200.0.0/24 via 192.168.10.101 dev eth1', '10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-0': ['10.200.1.0/24 via 192.168.10.102 dev eth1'],
  'node-1': ['10.200.0.0/24 via 192.168.10.101 dev eth1'],
};

async function gatewayRoutes(lab: Lab, host: string): Promise<LabRoute[]> {
  return (await lab.routes(host)).filter((r) => r.gateway);
}

async function assertGuideRoutes(lab: Lab, what: string, metric?: number): Promise<void> {
  for (const [host, expected] of Object.entries(GUIDE_ROUTES)) {
    const routes = await gatewayRoutes(lab, host);
    assert.equal(routes.map((r) => `${r.dst} via ${r.gateway} dev ${r.dev}`).sort(), expected, `${host} ${what}`);
    if (metric !== undefined) assert.ok(routes.every((r) => r.metric === metric), `${host} ${what}: metric ${metric}: ${JSON.stringify(routes)}`);
  }
}

let bastion: Bastion | undefined;

function need(ctx: LabCtx): { lab: Lab; bastion: Bastion } {
  const lab = needLab(ctx);
  if (!bastion) throw (ctx as { bastionError?: unknown }).bastionError ?? new Error('bastion did not come up');
  return { lab, bastion };
}

if (requireLab()) {
  const s = labSuite('routegen through a bastion', { stack: 'networkd' });
  s.before(async (ctx) => {
    if (!ctx.lab) return;
    try {
      bastion = await addBastion(ctx.lab);
    } catch (e) {
      (ctx as { bastionError?: unknown }).bastionError = e;
    }
  });

  s('the jumpbox has no route to the nodes: without a jump host every host fails to connect, and the hint says -J', async (ctx) => {
    const { lab } = need(ctx);
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--connect-timeout', seconds(5)]);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, '3 hosts: 3 failed');
    assert.match(r.stdout, /ENETUNREACH/);
    assert.match(r.stdout, '-J BASTION');
  });

  s('push with ProxyJump in the ssh config: every host configured and verified, pods talk, ONE bastion login', async (ctx) => {
    const { lab, bastion } = need(ctx);
    const cfg = bastionSshConfig(lab, 'ssh_config_proxyjump', ['ProxyJump bastion']);
    const before = bastion.logins();
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK], { sshConfig: cfg });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, '3 hosts: 3 changed');
    await assertGuideRoutes(lab, 'after push through the bastion');
    assert.ok(await lab.ping('node-0', '10.200.1.2'), 'pod on node-0 reaches the pod on node-1');
    // Three hosts, each connected twice (push, then a new connection to confirm): one bastion login.
    assert.is(bastion.logins() - before, 1, `bastion logins in this run (sshd log ${bastion.logFile})`);
  });

  s('status and rollback with -J: in sync; a rollback through the bastion puts back the earlier file', async (ctx) => {
    const { lab, bastion } = need(ctx);
    const J = ['-J', `root@${BASTION_IP}`];
    const before = bastion.logins();
    const st = await jumpboxRoutegen(lab, ['status', '-i', ctx.inventory!, ...STACK, ...J]);
    assert.is(st.code, 0, st.stdout + st.stderr);
    assert.match(st.stdout, 'All 3 hosts match the plan.');
    assert.is(bastion.logins() - before, 1, 'status: one bastion login');
    const p = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, ...J, '--metric', '300']);
    assert.is(p.code, 0, p.stdout + p.stderr);
    await assertGuideRoutes(lab, 'after push --metric 300 with -J', 300);
    const rb = await jumpboxRoutegen(lab, ['rollback', '-i', ctx.inventory!, ...STACK, ...J]);
    assert.is(rb.code, 0, rb.stdout + rb.stderr);
    assert.match(rb.stdout, '3 rolled back, 0 failed');
    await assertGuideRoutes(lab, 'after rollback with -J');
    assert.ok((await gatewayRoutes(lab, 'node-0')).every((r) => r.metric !== 300), 'metric 300 gone');
  });

  s('push with ProxyCommand ssh -W %h:%p bastion (the OpenSSH client): every host configured and confirmed', async (ctx) => {
    const { lab, bastion } = need(ctx);
    const cfgPath = `${lab.dir}/ssh_config_proxycommand`;
    const cfg = bastionSshConfig(lab, 'ssh_config_proxycommand', [`ProxyCommand ssh -F ${cfgPath} -W %h:%p bastion`]);
    const before = bastion.logins();
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '--metric', '200'], { sshConfig: cfg });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, '3 hosts: 3 changed');
    await assertGuideRoutes(lab, 'after push --metric 200 with ProxyCommand', 200);
    // ssh -W logs in once per connection: push and confirm for each host.
    assert.is(bastion.logins() - before, 6);
  });

  s('a jump host that refuses connections: every host fails naming the hop and itself; nothing changes', async (ctx) => {
    const { lab } = need(ctx);
    const before = await gatewayRoutes(lab, 'node-0');
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '-J', `root@${BASTION_IP}:2222`]);
    assert.is(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, '3 hosts: 3 failed');
    for (const h of ['server', 'node-0', 'node-1']) {
      assert.match(r.stdout, new RegExp(`jump host root@${BASTION_IP.replace(/\./g, '\\.')}:2222 on the way to 192\\.168\\.10\\.\\d+: cannot connect .*ECONNREFUSED`), h);
    }
    assert.match(r.stdout, `ssh -p 2222 root@${BASTION_IP} true`);
    assert.equal(await gatewayRoutes(lab, 'node-0'), before);
  });

  s('a bad -J value is a usage error before anything connects', async (ctx) => {
    const { lab } = need(ctx);
    const r = await jumpboxRoutegen(lab, ['push', '-i', ctx.inventory!, ...STACK, '-J', 'root@bastion:99999']);
    assert.is(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, 'invalid port "99999"');
  });

  s.run();
}
