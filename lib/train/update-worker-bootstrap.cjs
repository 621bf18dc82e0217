// Optimiser threads start here: register tsx so the TypeScript sources load without a build step.
require('tsx/cjs');
require('./update-worker.ts');
