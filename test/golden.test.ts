/**
 * Golden trees: fixtures/<case>/machines.txt (+ routegen.yaml) rendered by the real command
 * must give exactly the files under test/golden/<case>/ — same set of paths, same bytes, and
 * the modes listed in test/golden/<case>.modes. UPDATE_GOLDEN=1 rewrites them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STACKS } from '../src/stacks/index.js';
import type { StackName } from '../src/types.js';
import { readTree, removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';

const FIXTURES = join(ROOT, 'fixtures');
const GOLDEN = join(ROOT, 'test/golden');
const update = process.env.UPDATE_GOLDEN === '1';

const cases = readdirSync(FIXTURES).filter((d) => existsSync(join(FIXTURES, d, 'machines.txt')) && existsSync(join(FIXTURES, d, 'routegen.yaml')));

/** The cases whose golden tree holds a file named as `stack` names its file. */
function casesWriting(stack: StackName): string[] {
  const base = STACKS[stack].path({ networkdFile: 'x.network', ssh: { via: 'ip' } }).split('/').pop()!;
  return cases.filter((c) => existsSync(join(GOLDEN, `${c}.modes`)) && readFileSync(join(GOLDEN, `${c}.modes`), 'utf8').split('\n').some((l) => l.endsWith(`/${base}`))).sort();
}

test('every stack render writes has golden cases, found by the files their trees hold', () => {
  assert.equal(casesWriting('networkd'), ['dual-stack', 'guide', 'messy', 'mixed']);
  assert.equal(casesWriting('netplan'), ['guide-netplan', 'mixed', 'netplan-bond', 'one-worker']);
  assert.equal(casesWriting('ifupdown'), ['guide-ifupdown', 'mixed']);
  // NetworkManager's routes go into the host's own keyfile, which render cannot see: no golden
  // tree; test/nmKeyfile.test.ts checks its merge against nmcli instead.
  assert.ok(STACKS.networkmanager.merges);
});

for (const name of cases) {
  test(`golden: ${name}`, () => {
    const out = tempDir(`golden-${name}`);
    try {
      const dir = join(FIXTURES, name);
      const r = routegen(['render', '-i', join(dir, 'machines.txt'), '-c', join(dir, 'routegen.yaml'), '--out', out, '--quiet']);
      assert.is(r.code, 0, r.stderr);
      const tree = readTree(out);
      const modes = [...tree].map(([p, f]) => `${f.mode.toString(8).padStart(4, '0')} ${p}`).join('\n') + '\n';
      const goldenDir = join(GOLDEN, name);
      if (update) {
        removeDir(goldenDir);
        mkdirSync(goldenDir, { recursive: true });
        cpSync(out, goldenDir, { recursive: true });
        writeFileSync(join(GOLDEN, `${name}.modes`), modes);
      }
      const expected = readTree(goldenDir);
      assert.equal([...tree.keys()], [...expected.keys()], 'the set of files differs');
      for (const [p, f] of tree) assert.fixture(f.content, expected.get(p)!.content, p);
      assert.fixture(modes, readFileSync(join(GOLDEN, `${name}.modes`), 'utf8'));

      // The same input gives the same bytes, and a second render changes nothing.
      const again = routegen(['render', '-i', join(dir, 'machines.txt'), '-c', join(dir, 'routegen.yaml'), '--out', out, '--check']);
      assert.is(again.code, 0, again.stdout + again.stderr);
    } finally {
      removeDir(out);
    }
  });
}

test.run();
