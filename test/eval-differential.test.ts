/**
 * Differential test against a real trec_eval 10.0 binary, when one is available: point CZ_TREC_EVAL
 * at it (build it from NIST's usnistgov/trec_eval with `make`). Several hundred random qrels/runs
 * (ties, graded and negative judgments, queries on one side only) under random flags (-c, -l, -M, -J)
 * and measure parameters must print exactly what trec_eval prints.
 *
 * Left out on purpose, because trec_eval's own output is undefined there: rbp next to other gain
 * measures (it reads uninitialised min/max), queries whose judgments are all negative (stale state
 * from the previous query), and, without -c, judged queries absent from the run (10.0 exits).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readTrecQrels, readTrecRun } from '../lib/index';
import { evaluate, formatTrecEval } from '../lib/index';
import { tmpDir } from './helpers/tmp';

const BIN = process.env.CZ_TREC_EVAL;
const skip = BIN && fs.existsSync(BIN) ? false : 'set CZ_TREC_EVAL to a trec_eval 10.0 binary to compare against it';

const SPEC_SETS = [
  ['all_trec'],
  ['all_trec', 'relstring.15'],
  ['ndcg.1=3,2=9,4=4.5', 'G.0=1,2=5', 'Rndcg.3=0.5', 'ndcg_rel.1=2'],
  ['rbp.p=0.8', 'rbp_resid.p=0.5'],
  ['dcg', 'ideal_dcg', 'ndcg', 'G'],
  ['iprec_at_recall..33,.66', 'Rprec_mult.0.5,3', '11pt_avg..1,.9', 'set_F.0.5', 'utility.1,-2,3,0.5', 'unj.1,3'],
  ['ndcg_cut.1,2,3,50', 'map_cut.2,7', 'relative_P.3,9', 'success.2,4', 'P.1,7', 'recall.3'],
];

test('random cases print exactly what trec_eval 10.0 prints', { skip }, () => {
  const dir = tmpDir('te');
  const qFile = path.join(dir, 'q');
  const rFile = path.join(dir, 'r');
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
  const ri = (n: number) => Math.floor(rand() * n);
  let compared = 0;
  try {
    for (let t = 0; t < 400; t++) {
      const complete = rand() < 0.4;
      const qrels: string[] = [];
      const run: string[] = [];
      for (let q = 0, nq = 1 + ri(5); q < nq; q++) {
        const qid = ri(3) === 0 ? `x${q}` : String(100 + q);
        const judged = rand() < 0.9;
        if (judged) {
          const docs = new Set<string>();
          for (let j = 0, nj = 1 + ri(25); j < nj; j++) docs.add(`D${ri(70)}`);
          const rels = [...docs].map(() => ri(7) - 1);
          if (rels.every((r) => r < 0)) rels[0] = ri(3);
          [...docs].forEach((d, i) => qrels.push(`${qid} 0 ${d} ${rels[i]}`));
        }
        if ((complete && rand() < 0.2) || (!judged && rand() < 0.5)) continue;
        const docs = new Set<string>();
        for (let j = 0, nd = 1 + ri(40); j < nd; j++) docs.add(`D${ri(60)}`);
        for (const d of docs) run.push(`${qid} Q0 ${d} 0 ${(ri(8) / 4).toFixed(2)} tag${t}`);
      }
      const judgedQ = new Set(qrels.map((l) => l.split(' ')[0]));
      const runQ = new Set(run.map((l) => l.split(' ')[0]));
      if (!run.length || ![...judgedQ].some((q) => runQ.has(q))) continue;
      if (!complete && [...judgedQ].some((q) => !runQ.has(q))) continue;
      fs.writeFileSync(qFile, qrels.join('\n') + '\n');
      fs.writeFileSync(rFile, run.join('\n') + '\n');
      const specs = SPEC_SETS[ri(SPEC_SETS.length)];
      const minRel = ri(4) === 0 ? ri(4) : 1;
      const maxDocs = rand() < 0.2 ? 1 + ri(20) : undefined;
      const judgedOnly = rand() < 0.15;
      const args = ['-q', ...specs.flatMap((s) => ['-m', s]), `-l${minRel}`];
      if (complete) args.push('-c');
      if (maxDocs) args.push(`-M${maxDocs}`);
      if (judgedOnly) args.push('-J');
      const ref = spawnSync(BIN!, [...args, qFile, rFile], { encoding: 'utf8' });
      assert.equal(ref.status, 0, `trec_eval ${args.join(' ')} failed: ${ref.stderr}`);
      const r = readTrecRun(rFile);
      const mine = evaluate(readTrecQrels(qFile), r.run, { measures: specs, minRel, complete, maxDocsPerQuery: maxDocs, judgedOnly, runId: r.runId });
      assert.equal(formatTrecEval(mine, { perQuery: true }), ref.stdout, `case ${t}: trec_eval ${args.join(' ')}`);
      compared++;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(compared > 150, `only ${compared} cases compared`);
});
