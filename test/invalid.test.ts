/**
 * Every kind of bad input: fixtures/invalid/<case>/ holds machines.txt and routegen.yaml, and
 * expected.txt, the exact text the user sees on stderr. The command must exit 2, print no
 * stack trace, and write nothing. UPDATE_GOLDEN=1 rewrites expected.txt.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeDir, ROOT, routegen, tempDir } from './helpers/cli.js';

const DIR = join(ROOT, 'fixtures/invalid');
const update = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(DIR).filter((d) => existsSync(join(DIR, d, 'machines.txt')));

test('there is an invalid case for each kind of bad input', () => {
  assert.ok(cases.length >= 20, `only ${cases.length} cases`);
});

for (const name of cases) {
  test(`invalid: ${name}`, () => {
    const tmp = tempDir(`invalid-${name}`);
    try {
      const cwd = join(DIR, name);
      const out = join(tmp, 'out');
      const r = routegen(['render', '-i', 'machines.txt', '-c', 'routegen.yaml', '--out', out], { cwd });
      const expectedFile = join(cwd, 'expected.txt');
      if (update) writeFileSync(expectedFile, r.stderr);
      assert.is(r.code, 2, `exit code; stderr:\n${r.stderr}`);
      assert.is(r.stdout, '');
      assert.fixture(r.stderr, readFileSync(expectedFile, 'utf8'));
      assert.not.match(r.stderr, /\n\s+at .*\(.*:\d+:\d+\)/, 'no stack trace');
      assert.match(r.stderr, /^(machines\.txt|routegen\.yaml):\d+:\d+: /, 'starts with file:line:column');
      assert.not.ok(existsSync(out), 'nothing written');
      // plan validates the same way
      assert.is(routegen(['plan', '-i', 'machines.txt', '-c', 'routegen.yaml'], { cwd }).code, 2);
    } finally {
      removeDir(tmp);
    }
  });
}

test.run();
