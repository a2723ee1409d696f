#!/usr/bin/env node
// The installed command. All logic lives in dist/cli.js (built from src/cli.ts by `npm run build`).
import { main } from '../dist/cli.js';

process.exitCode = await main(process.argv.slice(2));
