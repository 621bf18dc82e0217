/**
 * The README's first commands run as written. The shell blocks and inline commands of its "Other first
 * commands" section are read from README.md itself and run in a fresh folder, each block as one bash script,
 * with `colbert-zero` on the PATH: the only substitutions are the data a reader brings (SciFact's folder, for
 * which the synthetic BEIR folder `train --example` writes stands in, so `data fetch`, which needs the Hub, is
 * left out; trec_eval's test files from the shared data). A failing command fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, sharedPath } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

const SECTION = '## Other first commands';

/** The scripts of the section: each shell block (comments dropped), then each inline `colbert-zero …` span. */
function sectionScripts(readme: string): string[] {
  const start = readme.indexOf(SECTION);
  assert.ok(start >= 0, `README.md has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  const text = readme.slice(start, end < 0 ? undefined : end);
  const out: string[] = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    out.push(block[1].split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter(Boolean).join('\n'));
  }
  const prose = text.replace(/```[\s\S]*?```/g, '');
  for (const span of prose.matchAll(/`((?:mkdir -p \S+ && )?colbert-zero (?:train|reproduce|eval-run)[^`]*)`/g)) out.push(span[1]);
  return out;
}

/** A folder whose `colbert-zero` runs this checkout's CLI. */
function shim(): string {
  const dir = tmpDir('readme-bin');
  const bin = path.join(dir, 'colbert-zero');
  fs.writeFileSync(bin, `#!/bin/sh\nexec "${process.execPath}" "${path.join(PROJECT_ROOT, 'bin', 'colbert-zero.cjs')}" "$@"\n`);
  fs.chmodSync(bin, 0o755);
  return dir;
}

test("the README's first commands run as written (a random model's SciFact round trip, a training example, eval-run)", () => {
  const scripts = sectionScripts(fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8'));
  assert.ok(scripts.some((c) => /colbert-zero search /.test(c) && /^SCIFACT=/m.test(c)) && scripts.some((c) => /train --example/.test(c)), `the section lost its commands: ${scripts.join(' | ')}`);
  const cwd = tmpDir('readme');
  const env = { ...process.env, CZ_PROGRESS: '0', PATH: `${shim()}${path.delimiter}${process.env.PATH}` };
  const sh = (script: string) => spawnSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  // The reader's data: a small BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv) stands in for SciFact.
  const made = sh(`colbert-zero train --example supervised-colbert --data-dir ${JSON.stringify(path.join(cwd, 'example'))} > /dev/null`);
  assert.equal(made.status, 0, made.stderr);
  const beir = path.join(cwd, 'example', 'data', 'eval-beir');
  const trec = sharedPath('trec_eval', 'qrels.test');
  let ran = 0;
  for (const script of scripts) {
    if (/qrels\.test|results\.test/.test(script)) {
      if (!trec) continue; // trec_eval's own test files come from the shared data
      for (const f of ['qrels.test', 'results.test']) fs.copyFileSync(sharedPath('trec_eval', f)!, path.join(cwd, f));
    }
    const lines = script
      .split('\n')
      .filter((l) => !/colbert-zero data fetch /.test(l))
      .map((l) => l.replace(/^npx colbert-zero /, 'colbert-zero ').replace(/^SCIFACT=.*$/, `SCIFACT=${JSON.stringify(beir)}`));
    const r = sh(lines.join('\n'));
    assert.equal(r.status, 0, `${script}\n${r.stderr}`);
    ran += lines.length;
    if (/eval-run .*SCIFACT/.test(script)) assert.match(r.stdout, /^ndcg_cut_10\s+all\s+0\.\d{4}$/m);
  }
  assert.ok(fs.statSync(path.join(cwd, 'runs', 'scifact.run')).size > 0, 'search wrote its run');
  assert.ok(ran >= 7, `ran ${ran} commands`);
});
