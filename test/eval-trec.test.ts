/**
 * evaluate() against trec_eval 10.0's own test suite: every line of the expected outputs, produced by
 * NIST's binary with the flags its Makefile uses, must come out identical (same names, query order,
 * values to 4 decimals, integers, relstrings, runid).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { readTrecQrels, readTrecRun } from '../lib/index';
import { evaluate, formatTrecEval, type EvalOptions } from '../lib/index';
import { sharedPath, skipWithoutShared } from './helpers/shared';

const DIR = 'trec_eval';

interface Case {
  out: string;
  qrels: string;
  run: string;
  opts: EvalOptions;
  perQuery: boolean;
}

// The commands of trec_eval's Makefile `test` target.
const CASES: Case[] = [
  { out: 'out.test', qrels: 'qrels.test', run: 'results.test', opts: {}, perQuery: false },
  { out: 'out.test.a', qrels: 'qrels.test', run: 'results.test', opts: { measures: ['all_trec'] }, perQuery: false },
  { out: 'out.test.aq', qrels: 'qrels.test', run: 'results.test', opts: { measures: ['all_trec'] }, perQuery: true },
  { out: 'out.test.aqc', qrels: 'qrels.test', run: 'results.trunc', opts: { measures: ['all_trec'], complete: true }, perQuery: true },
  {
    out: 'out.test.aqcM',
    qrels: 'qrels.test',
    run: 'results.trunc',
    opts: { measures: ['all_trec'], complete: true, maxDocsPerQuery: 100 },
    perQuery: true,
  },
  {
    out: 'out.test.aql',
    qrels: 'qrels.rel_level',
    run: 'results.test',
    opts: { measures: ['all_trec', 'relstring.20'], minRel: 2 },
    perQuery: true,
  },
  {
    out: 'out.test.meas_params',
    qrels: 'qrels.test',
    run: 'results.test',
    opts: {
      measures: [
        'iprec_at_recall..10,.20,.25,.75,.50',
        'P.5,7,3',
        'recall.20,2000',
        'Rprec_mult.5.0,0.2,0.35',
        'utility.2,-1,0,0',
        '11pt_avg..25,.5,.75',
        'ndcg.1=3,2=9,4=4.5',
        'ndcg_cut.10,20,23.4',
        'success.2,5,20',
      ],
    },
    perQuery: true,
  },
];

function normalise(text: string): string[] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).join(' '));
}

for (const c of CASES) {
  test(`trec_eval suite: ${c.out} is reproduced line for line`, { skip: skipWithoutShared(DIR, c.out) }, () => {
    const qrels = readTrecQrels(sharedPath(DIR, c.qrels)!);
    const run = readTrecRun(sharedPath(DIR, c.run)!);
    const result = evaluate(qrels, run.run, { ...c.opts, runId: run.runId });
    const got = normalise(formatTrecEval(result, { perQuery: c.perQuery }));
    const want = normalise(fs.readFileSync(sharedPath(DIR, c.out)!, 'utf8'));
    assert.equal(got.length, want.length, `line count of ${c.out}`);
    for (let i = 0; i < want.length; i++) assert.equal(got[i], want[i], `${c.out} line ${i + 1}`);
  });
}

test('trec_eval suite: out.test is byte-identical, padding and tabs included', { skip: skipWithoutShared(DIR, 'out.test') }, () => {
  const run = readTrecRun(sharedPath(DIR, 'results.test')!);
  const text = formatTrecEval(evaluate(readTrecQrels(sharedPath(DIR, 'qrels.test')!), run.run, { runId: run.runId }));
  assert.equal(text, fs.readFileSync(sharedPath(DIR, 'out.test')!, 'utf8'));
});

test('trec_eval suite: numeric values agree with the printed ones to 4 decimals', { skip: skipWithoutShared(DIR, 'out.test.aq') }, () => {
  const run = readTrecRun(sharedPath(DIR, 'results.test')!);
  const r = evaluate(readTrecQrels(sharedPath(DIR, 'qrels.test')!), run.run, { measures: ['all_trec'] });
  let checked = 0;
  for (const line of fs.readFileSync(sharedPath(DIR, 'out.test.aq')!, 'utf8').trim().split('\n')) {
    const [key, qid, value] = line.split('\t').map((s) => s.trim());
    const v = Number(value);
    if (Number.isNaN(v)) continue; // runid, relstring
    const mine = qid === 'all' ? r.all[key] : r.perQuery.get(qid)![key];
    assert.ok(Math.abs(mine - v) <= 0.00005 + 1e-12, `${key} ${qid}: ${mine} vs ${v}`);
    checked++;
  }
  assert.ok(checked > 300, `only ${checked} values checked`);
});
