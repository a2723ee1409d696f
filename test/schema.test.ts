/**
 * routegen.yaml's JSON Schema (src/inventory/configSchema.ts) against the loader
 * (src/inventory/config.ts), with a real validator (ajv, strict): the committed file is what the
 * code generates; every example in the README and every fixture gets the same verdict from both;
 * and for wrong input both point at the same place and name the same key path and the same
 * allowed keys or values. UPDATE_GOLDEN=1 rewrites schema/routegen.schema.json.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, parseDocument, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { UserError, type Problem } from '../src/errors.js';
import { loadConfig } from '../src/inventory/config.js';
import { TOP_KEYS } from '../src/inventory/configKeys.js';
import { configSchema, configSchemaText, SCHEMA_FILE } from '../src/inventory/configSchema.js';
import { SourceText } from '../src/inventory/sourceText.js';
import { ROOT, routegen } from './helpers/cli.js';

const update = process.env.UPDATE_GOLDEN === '1';
const MODELINE = /^# yaml-language-server: \$schema=(\S+)$/m;

const ajv = new Ajv({ strict: true, allErrors: true, verbose: true });
// The YAML language server's keyword for a value's warning: an annotation to ajv.
ajv.addKeyword({ keyword: 'errorMessage', schemaType: 'string' });
const validate = ajv.compile(configSchema());

/** What routegen's loader says of a text: its problems, none when it accepts the text. */
function loaderProblems(text: string): Problem[] {
  try {
    loadConfig(text, 'routegen.yaml');
    return [];
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return e.problems;
  }
}

type Schema = { errorMessage?: string; properties?: Record<string, unknown>; enum?: string[]; minimum?: number; maximum?: number };

/** The pair at a path of keys, walking mappings from the document's root. */
function pairAt(doc: Document, path: string[]): Pair<YamlNode, YamlNode> | undefined {
  let node = doc.contents as YamlNode | null | undefined;
  let pair: Pair<YamlNode, YamlNode> | undefined;
  for (const key of path) {
    if (!isMap(node)) return undefined;
    pair = (node.items as Pair<YamlNode, YamlNode>[]).find((p) => isScalar(p.key) && String(p.key.value) === key);
    node = pair?.value;
  }
  return pair;
}

/** Where an editor would underline a schema error: the unknown key itself, or the bad value. */
function errorPosition(doc: Document, source: SourceText, e: ErrorObject, path: string[]): string {
  const pair = e.keyword === 'additionalProperties' ? pairAt(doc, [...path, String(e.params.additionalProperty)]) : pairAt(doc, path);
  const node = e.keyword === 'additionalProperties' ? pair?.key : path.length === 0 ? doc.contents : (pair?.value ?? pair?.key);
  const pos = source.pos(node?.range?.[0] ?? 0);
  return `${pos.line}:${pos.column}`;
}

/** Where routegen's message and the schema's error disagree on the essentials: nothing when they agree. */
function messageDisagreement(e: ErrorObject, path: string[], p: Problem): string | undefined {
  const text = `${p.message}${p.hint ? ` (${p.hint})` : ''}`;
  const schema = e.parentSchema as Schema;
  const missing = (what: string) => (text.includes(what) ? undefined : `routegen's "${text}" does not say ${JSON.stringify(what)}`);
  /** The list routegen gives after `re`, against the schema's. */
  const sameList = (from: string | undefined, re: RegExp, want: readonly unknown[]) => {
    const got = re.exec(from ?? '')?.[1]?.split(', ');
    return JSON.stringify(got) === JSON.stringify(want.map(String)) ? undefined : `routegen lists ${JSON.stringify(got)}, the schema ${JSON.stringify(want)}`;
  };
  if (e.keyword === 'additionalProperties') {
    const key = String(e.params.additionalProperty);
    const where = path.length ? `unknown key "${key}" in ${path.join('.')}` : `unknown top-level key "${key}"`;
    return p.message !== where ? `routegen says "${p.message}", not "${where}"` : sameList(p.hint, /^known keys: (.*)$/, Object.keys(schema.properties ?? {}));
  }
  if (schema.errorMessage === undefined) {
    // A mapping where something else was written.
    return missing('must be a mapping') ?? (schema.properties ? sameList(p.hint, /^keys: (.*)$/, Object.keys(schema.properties)) : undefined);
  }
  // A value: the editor's warning names the key and says what would be right; so does routegen.
  const [name = '', right = ''] = schema.errorMessage.split(' must be ');
  if (!p.message.startsWith(`${name} `)) return `routegen's "${p.message}" does not start with "${name}"`;
  if (schema.enum) return sameList(p.message, /must be one of (.*); found /, schema.enum);
  if (schema.minimum !== undefined) return sameList(p.message, /must be a whole number from (\d+ to \d+); found /, [`${schema.minimum} to ${schema.maximum}`]);
  return missing(right);
}

/**
 * Every way the schema and the loader disagree about a text: one accepts what the other
 * refuses, they point at different places, or their messages differ on the key path or on the
 * allowed keys or values. Also the verdict each gave.
 */
function compare(text: string): { loader: Problem[]; schema: ErrorObject[]; disagreements: string[] } {
  const loader = loaderProblems(text);
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length) return { loader, schema: [], disagreements: loader.length ? [] : ['not YAML, yet routegen accepts it'] };
  const source = new SourceText(text);
  const schema = validate(doc.toJS()) ? [] : [...(validate.errors ?? [])];
  const byPosition = new Map(loader.map((p) => [`${p.line}:${p.column}`, p]));
  const disagreements: string[] = [];
  const seen = new Set<string>();
  for (const e of schema) {
    const path = e.instancePath.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const at = errorPosition(doc, source, e, path);
    seen.add(at);
    const p = byPosition.get(at);
    const says = `${at}: schema: ${e.instancePath || '/'} ${e.message}`;
    if (!p) disagreements.push(`${says}; routegen: nothing there`);
    else {
      const d = messageDisagreement(e, path, p);
      if (d) disagreements.push(`${says}; ${d}`);
    }
  }
  for (const [at, p] of byPosition) if (!seen.has(at)) disagreements.push(`${at}: routegen: ${p.message}; schema: nothing there`);
  return { loader, schema, disagreements };
}

test('the committed schema file is what the code generates (UPDATE_GOLDEN=1 rewrites it)', () => {
  const file = join(ROOT, SCHEMA_FILE);
  if (update) writeFileSync(file, configSchemaText());
  assert.fixture(readFileSync(file, 'utf8'), configSchemaText());
});

test('`routegen schema` prints the committed file, and the package ships it', () => {
  const r = routegen(['schema']);
  assert.is(r.code, 0, r.stderr);
  assert.fixture(r.stdout, readFileSync(join(ROOT, SCHEMA_FILE), 'utf8'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes(SCHEMA_FILE.split('/')[0]!), `package.json files: ${pkg.files.join(', ')}`);
});

test('the schema is valid draft-07, and every key has a description for hover and every value an errorMessage', () => {
  assert.ok(ajv.validateSchema(configSchema()), JSON.stringify(ajv.errors));
  assert.is(configSchema().$schema, 'http://json-schema.org/draft-07/schema#');
  const undescribed: string[] = [];
  const walk = (s: Record<string, unknown>, where: string) => {
    if (typeof s.description !== 'string') undescribed.push(`${where}: description`);
    if (s.type !== 'object' && !String(s.type).includes('object') && typeof s.errorMessage !== 'string') undescribed.push(`${where}: errorMessage`);
    for (const [k, v] of Object.entries((s.properties ?? {}) as Record<string, Record<string, unknown>>)) walk(v, `${where}.${k}`);
    if (typeof s.additionalProperties === 'object') walk(s.additionalProperties as Record<string, unknown>, `${where}.*`);
  };
  walk(configSchema(), '(root)');
  assert.equal(undescribed, []);
});

test('every routegen.yaml example in the README validates, and routegen accepts it', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const topKey = new RegExp(`^(${Object.keys(TOP_KEYS).join('|')}):`, 'm');
  const examples = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```/gm)].map((m) => m[1]!).filter((y) => MODELINE.test(y) || topKey.test(y));
  assert.ok(examples.length >= 2, `only ${examples.length} routegen.yaml examples found in README.md`);
  for (const y of examples) {
    const r = compare(y);
    assert.equal(r.loader, [], `routegen refuses the README example:\n${y}`);
    assert.equal(r.schema, [], `the schema refuses the README example:\n${y}`);
  }
});

/** Every routegen.yaml under fixtures/, as paths from the repository's root. */
const fixtureConfigs = (readdirSync(join(ROOT, 'fixtures'), { recursive: true }) as string[]).filter((f) => f.endsWith('routegen.yaml')).map((f) => join('fixtures', f)).sort();

test('every routegen.yaml under fixtures/: the schema and routegen give the same verdict, and point at the same places', () => {
  let valid = 0;
  let invalid = 0;
  for (const f of fixtureConfigs) {
    const r = compare(readFileSync(join(ROOT, f), 'utf8'));
    assert.equal(r.disagreements, [], f);
    if (r.loader.length) invalid++;
    else valid++;
  }
  assert.ok(valid >= 20, `only ${valid} valid fixtures`);
  assert.ok(invalid >= 3, `only ${invalid} invalid fixtures (config-unknown-key, config-bad-values, config-bad-yaml)`);
});

test("the fixtures' modelines point at the schema file", () => {
  const withModeline = fixtureConfigs.filter((f) => MODELINE.test(readFileSync(join(ROOT, f), 'utf8')));
  assert.ok(withModeline.length >= 8, `only ${withModeline.length} fixtures have a modeline`);
  for (const f of withModeline) {
    const target = MODELINE.exec(readFileSync(join(ROOT, f), 'utf8'))![1]!;
    assert.is(resolve(ROOT, dirname(f), target), join(ROOT, SCHEMA_FILE), f);
  }
});

/** Wrong routegen.yaml: each must be refused by both, at the same places, for the same reasons. */
const WRONG: Array<[string, string]> = [
  ['unknown top-level key', 'defualts:\n  stack: networkd\n'],
  ['unknown key in defaults', 'defaults:\n  metrc: 100\n'],
  ['unknown key in a host', 'hosts:\n  node-0:\n    netplan-ids: lan\n'],
  ['unknown key in ssh', 'defaults:\n  ssh:\n    identity_file: ~/.ssh/id_ed25519\n'],
  ['unknown key in a host\'s ssh', 'hosts:\n  node-0:\n    ssh:\n      username: root\n'],
  ['a key named like an Object.prototype member', 'defaults:\n  constructor: x\n'],
  ['metric not a number', 'defaults:\n  metric: high\n'],
  ['metric below 0', 'defaults:\n  metric: -1\n'],
  ['metric above 2^32-1', 'defaults:\n  metric: 4294967296\n'],
  ['ssh port 0', 'defaults:\n  ssh:\n    port: 0\n'],
  ['ssh port above 65535', 'hosts:\n  node-0:\n    ssh:\n      port: 70000\n'],
  ['ssh port as a string', 'defaults:\n  ssh:\n    port: "22"\n'],
  ['stack not one of the stacks', 'defaults:\n  stack: wicked\n'],
  ['stack a number', 'defaults:\n  stack: 5\n'],
  ['ssh via not ip, hostname or fqdn', 'defaults:\n  ssh:\n    via: dns\n'],
  ['netplan-section not a section', 'hosts:\n  node-0:\n    netplan-section: ethernet\n'],
  ['interface with shell metacharacters', 'defaults:\n  interface: "eth1; reboot"\n'],
  ['interface a number', 'defaults:\n  interface: 5\n'],
  ['networkd-file not a .network file', 'defaults:\n  networkd-file: 10-eth1.conf\n'],
  ['netplan-id with a space', 'defaults:\n  netplan-id: "my lan"\n'],
  ['nm-connection in upper case', 'defaults:\n  nm-connection: 7712437E-DD9B-509E-AF31-B21D19513C33\n'],
  ['ssh user with a capital', 'defaults:\n  ssh:\n    user: Root\n'],
  ['identity-file empty', 'defaults:\n  ssh:\n    identity-file: ""\n'],
  ['allow-special-pod-subnets not true or false', 'allow-special-pod-subnets: yes\n'],
  ['the file a list', '- defaults\n'],
  ['defaults a string', 'defaults: eth1\n'],
  ['defaults empty', 'defaults:\n'],
  ['hosts a list', 'hosts:\n  - node-0\n'],
  ['a host with nothing under it', 'hosts:\n  node-0:\n'],
  ['ssh a string', 'defaults:\n  ssh: root@node-0\n'],
  ['several problems at once', 'defaults:\n  stack: wicked\n  metrc: 1\nhosts:\n  node-0:\n    ssh:\n      port: 0\n      via: dns\nextra: 1\n'],
];

for (const [name, text] of WRONG) {
  test(`wrong routegen.yaml (${name}): both refuse it, at the same places, naming the same key and the same allowed keys or values`, () => {
    const r = compare(text);
    assert.ok(r.loader.length > 0, 'routegen accepts it');
    assert.ok(r.schema.length > 0, 'the schema accepts it');
    assert.equal(r.disagreements, []);
  });
}

test('the comparison can fail: a schema that lists a different key or value disagrees with routegen', () => {
  // The checks above would pass vacuously if compare() never reported anything.
  assert.equal(compare('defaults:\n  stack: networkd\n').disagreements, []);
  const r = compare('defaults:\n  stack: wicked\n  metrc: 1\n');
  const e = r.schema.find((x) => x.keyword === 'enum')!;
  const p = r.loader.find((x) => x.message.startsWith('stack'))!;
  assert.ok(messageDisagreement({ ...e, parentSchema: { ...(e.parentSchema as object), enum: ['networkd', 'netplan'] } }, ['defaults', 'stack'], p));
  const u = r.schema.find((x) => x.keyword === 'additionalProperties')!;
  const q = r.loader.find((x) => x.message.startsWith('unknown'))!;
  assert.ok(messageDisagreement(u, ['hosts'], q), 'a different key path');
  assert.ok(messageDisagreement({ ...u, parentSchema: { properties: { stack: {} } } }, ['defaults'], q), 'a different list of keys');
  const m = compare('defaults:\n  metric: 70000000000\n');
  assert.ok(messageDisagreement({ ...m.schema[0]!, parentSchema: { errorMessage: 'metric must be a whole number from 0 to 429496729', minimum: 0, maximum: 429496729 } }, ['defaults', 'metric'], m.loader[0]!), 'a different range');
});

test('known difference: routegen refuses numbers not written in decimal digits (0x10, 1e3); JSON Schema cannot see how a number was written', () => {
  const r = compare('defaults:\n  metric: 0x10\n');
  assert.equal(r.schema, []);
  assert.match(r.loader[0]?.message ?? '', /^metric must be a whole number from 0 to 4294967295; found "0x10"$/);
});

test.run();
