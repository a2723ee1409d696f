#!/usr/bin/env node
// The installed command. All logic lives in dist/cli.js (built from src/cli.ts by `npm run build`).
// Ctrl-C is caught before the rest loads, so that push handles even an early one as promised.
import { catchInterruptsFor } from '../dist/interrupt.js';

catchInterruptsFor(process.argv[2]);
// `routegen plan | head`: the reader went away; what it did not read nobody wants. Quiet exit.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
