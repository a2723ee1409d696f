import { configSchemaText } from '../inventory/configSchema.js';
import type { Io } from './common.js';

/** `routegen schema`: prints routegen.yaml's JSON Schema, for editors (README, "Editor support"). */
export function schemaCommand(io: Io): number {
  io.out(configSchemaText());
  return 0;
}
