#!/usr/bin/env node
// The installed command. All logic lives in dist/cli.js (built from src/cli.ts by `npm run build`).
// Ctrl-C is caught before the rest loads, so that push handles even an early one as promised.
import { catchInterruptsFor } from '../dist/interrupt.js';

catchInterruptsFor(process.argv[2]);
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv.slice(2));
