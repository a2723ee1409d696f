/**
 * routegen.yaml's JSON Schema, made from the declarations the loader checks with
 * (configKeys.ts): editors complete and validate the same keys and values routegen accepts.
 * Draft-07, the newest draft the YAML language server (VS Code's YAML extension and others)
 * supports; no $ref, so every editor resolves it the same way. `errorMessage` and
 * `description` are that language server's keywords for a value's warning and its hover text.
 */
import { ALLOW_SPECIAL, HOST_SETTINGS, mustBe, SSH_KEY, SSH_SETTINGS, TOP_KEYS, type Setting } from './configKeys.js';

/** Where the package keeps the schema; `routegen schema` prints the same text. */
export const SCHEMA_FILE = 'schema/routegen.schema.json';

type Schema = Record<string, unknown>;

function valueSchema(s: Setting<string>): Schema {
  const r = s.rule;
  const head = { description: s.description };
  const tail = { ...(s.default === undefined ? {} : { default: s.default }), errorMessage: mustBe(s) };
  switch (r.kind) {
    case 'oneOf':
      return { ...head, type: 'string', enum: [...r.values], ...tail };
    case 'pattern':
      if (r.re.flags !== '') throw new Error(`bug: ${s.key}'s pattern has flags, which JSON Schema cannot say`);
      return { ...head, type: 'string', pattern: r.re.source, ...tail };
    case 'integer':
      return { ...head, type: 'integer', minimum: r.min, maximum: r.max, ...tail };
    case 'boolean':
      return { ...head, type: 'boolean', ...tail };
  }
}

const mapping = (description: string, settings: readonly Setting<string>[], more: Record<string, Schema> = {}): Schema => ({
  description,
  type: 'object',
  properties: { ...Object.fromEntries(settings.map((s) => [s.key, valueSchema(s)])), ...more },
  additionalProperties: false,
});

const hostSettings = (description: string): Schema => mapping(description, HOST_SETTINGS, { [SSH_KEY.key]: mapping(SSH_KEY.description, SSH_SETTINGS) });

/** The schema as an object. */
export function configSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'urn:routegen:schema:routegen.yaml',
    title: 'routegen.yaml',
    description: "routegen's settings: defaults for every host, settings for single hosts, and allow-special-pod-subnets. Command-line flags override them.",
    // A file with nothing but comments is a valid, empty configuration.
    type: ['object', 'null'],
    properties: {
      defaults: hostSettings(TOP_KEYS.defaults),
      hosts: {
        description: TOP_KEYS.hosts,
        type: 'object',
        additionalProperties: hostSettings('Settings for this host; they override defaults:.'),
      },
      [ALLOW_SPECIAL.key]: valueSchema(ALLOW_SPECIAL),
    },
    additionalProperties: false,
  };
}

/** The schema as the file holds it. */
export const configSchemaText = (): string => `${JSON.stringify(configSchema(), null, 2)}\n`;
