// Preloaded (node --require) by tests into a command that trains: a kill at a chosen step, with no race.
// When a training run appends the log line of step CZ_TEST_KILL_STEP to a log.jsonl whose path matches
// CZ_TEST_KILL_LOG (a regular expression), the process sends itself SIGKILL right after the write: no
// handler runs, nothing is flushed or saved, as when a machine loses power between two checkpoints.
// CZ_TEST_STEPS_FILE, when set, receives one line per step logged by this process (what it really trained).
// Training logs each step with fs.appendFileSync (lib/train/run.ts; logEvery 1 logs every step).
const fs = require('node:fs');

const pattern = process.env.CZ_TEST_KILL_LOG ? new RegExp(process.env.CZ_TEST_KILL_LOG) : /log\.jsonl$/;
const killStep = process.env.CZ_TEST_KILL_STEP ? Number(process.env.CZ_TEST_KILL_STEP) : null;
const stepsFile = process.env.CZ_TEST_STEPS_FILE || null;
const append = fs.appendFileSync;

fs.appendFileSync = function appendFileSync(file, data, ...rest) {
  const out = append.call(this, file, data, ...rest);
  if (typeof file === 'string' && file.endsWith('log.jsonl') && pattern.test(file)) {
    const step = JSON.parse(String(data)).step;
    if (stepsFile) append.call(fs, stepsFile, `${step}\n`);
    if (step === killStep) process.kill(process.pid, 'SIGKILL');
  }
  return out;
};
