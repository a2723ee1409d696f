/** The Node versions the guide's systems ship can run every installed package (README, Install). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { ROOT } from './helpers/cli.js';

/** Ubuntu 24.04's and Debian 12's own Node 18, Debian 13's Node 20, and current Node 22. */
const SHIPPED = ['18.19.1', '18.20.4', '20.19.2', '22.12.0'];

interface LockEntry {
  version?: string;
  engines?: { node?: string } | string[];
}

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

test('package.json engines admits every shipped Node and nothing older than 18.19', () => {
  for (const v of SHIPPED) assert.ok(semver.satisfies(v, pkg.engines.node), `${v} not in engines ${pkg.engines.node}`);
  assert.not.ok(semver.satisfies('18.18.2', pkg.engines.node), 'engines admits 18.18, which nothing here was tested on');
});

test('every package in package-lock.json (dependencies and devDependencies) accepts each shipped Node', () => {
  const refused: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
    if (!path || !range) continue;
    checked++;
    for (const v of SHIPPED) if (!semver.satisfies(v, range)) refused.push(`${path}@${entry.version}: node ${range} refuses ${v}`);
  }
  assert.ok(checked > 20, `only ${checked} packages declare engines: is package-lock.json complete?`);
  assert.equal(refused, []);
});

test('the running Node is one the package admits', () => {
  assert.ok(semver.satisfies(process.versions.node, pkg.engines.node), `${process.versions.node} is outside ${pkg.engines.node}`);
});

test.run();
