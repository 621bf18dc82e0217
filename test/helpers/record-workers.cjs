// Preloaded (node --require) by tests: appends the script of every worker thread this process starts to
// CZ_TEST_WORKERS_FILE, so a test can see that a command took its multi-threaded path.
const fs = require('node:fs');
const path = require('node:path');
const threads = require('node:worker_threads');

const file = process.env.CZ_TEST_WORKERS_FILE;
const Worker = threads.Worker;
threads.Worker = class RecordedWorker extends Worker {
  constructor(script, ...rest) {
    super(script, ...rest);
    if (file) fs.appendFileSync(file, `${path.basename(String(script))}\n`);
  }
};
