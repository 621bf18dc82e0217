#!/usr/bin/env node
// The CLI runs the TypeScript sources directly (no build step), so notebooks, tests and the CLI share one tree.
require('tsx/cjs');
require('../lib/cli/main.ts').run(process.argv);
