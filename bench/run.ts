/**
 * Runs the benchmarks one after another, each in its own process (a fresh backend and heap, so one
 * benchmark's memory does not slow the next), and prints where each wrote its table.
 *
 *   npm run bench                   every benchmark (tens of minutes on 2 cores)
 *   npm run bench -- maxsim search  just these
 *
 * Benchmarks that compare with a Python peer (PyTorch, pytrec_eval, maxsim-cpu) use the reference
 * environment when it exists (test/reference/venv.sh) and say in their table when it does not.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const HERE = __dirname;
const ALL = fs
  .readdirSync(HERE)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && f !== 'common.ts')
  .map((f) => f.replace(/\.ts$/, ''))
  .sort();

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !ALL.includes(a));
if (unknown.length) {
  process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')} (have: ${ALL.join(', ')})\n`);
  process.exit(2);
}
const chosen = asked.length ? asked : ALL;
const tsx = path.join(HERE, '..', 'node_modules', '.bin', 'tsx');
const failed: string[] = [];
for (const name of chosen) {
  process.stderr.write(`\n== bench/${name}.ts\n`);
  const t0 = Date.now();
  const r = spawnSync(tsx, [path.join(HERE, `${name}.ts`)], { stdio: 'inherit' });
  const secs = ((Date.now() - t0) / 1000).toFixed(0);
  if (r.status !== 0) failed.push(name);
  process.stderr.write(`== ${name}: ${r.status === 0 ? 'done' : `failed (exit ${r.status ?? r.signal})`} in ${secs} s\n`);
}
if (failed.length) {
  process.stderr.write(`bench: ${failed.length} failed: ${failed.join(', ')}\n`);
  process.exitCode = 1;
}
