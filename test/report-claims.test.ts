/**
 * The paper's claims as checks: a clearly better system supports a claim, an equal one cannot resolve it,
 * a worse one contradicts it; missing or ambiguous settings cannot resolve; ratio claims test A − r·B.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './helpers/shared';
import { evaluateClaims, formatClaims, PAPER_CLAIMS, type Claim } from '../lib/report/claims';
import { groupSettings } from '../lib/report/tables';
import type { EvaluationResult } from '../lib/report/results';
import { better, mainSet, makeResult, wobble, worse } from './helpers/report';

const settingsOf = (rs: EvaluationResult[]) => groupSettings(rs).get('smoke')!;
const verdict = (rs: ReturnType<typeof evaluateClaims>, id: string) => rs.find((r) => r.id === id)!;

test('claims are data: unique ids, a statement, a source in the paper, a comparison of two selectors', () => {
  const ids = PAPER_CLAIMS.map((c) => c.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const c of PAPER_CLAIMS) {
    assert.ok(c.statement.length > 10 && c.source.length > 3, c.id);
    assert.ok(c.comparison.kind === 'better' || c.comparison.kind === 'ratio');
  }
  // Links to the paper's transcribed claims name claims that exist there.
  const transcribed = new Set(JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'results', 'paper', 'claims.json'), 'utf8')).claims.map((c: { id: string }) => c.id));
  const links = PAPER_CLAIMS.flatMap((c) => c.paperClaims ?? []);
  assert.ok(links.length >= 10);
  assert.deepEqual(links.filter((id) => !transcribed.has(id)), []);
  assert.match(formatClaims(evaluateClaims(settingsOf(mainSet()))), /\(results\/paper\/claims\.json: `kd-only-gap`\)/);
});

test('better → supports, equal → cannot resolve, worse → contradicts, missing → cannot resolve (with the reason)', () => {
  const rs = [
    ...mainSet(), // a, b = a ± 0.01, c clearly better, base clearly worse
    makeResult({ id: 'c-supervised', pipeline: 'c', phase: 'supervised', shift: (d, q, v) => better(d, q, better(d, q, v)) }),
  ];
  const out = evaluateClaims(settingsOf(rs));
  const ca = verdict(out, 'c-beats-a');
  assert.equal(ca.verdict, 'supports');
  assert.equal(ca.a!.label, 'c-distilled');
  assert.equal(ca.b!.label, 'a-distilled');
  assert.deepEqual(ca.datasets, ['alpha', 'beta']);
  assert.match(ca.reason, /^"c-distilled" [\d.]+ vs "a-distilled" [\d.]+ \(Δ \+[\d.]+\): significant \(p = .*holm-adjusted .*α = 0\.05, 70 queries\)$/);
  const ba = verdict(out, 'b-beats-a');
  assert.equal(ba.verdict, 'cannot resolve');
  assert.match(ba.reason, /not significant/);
  assert.ok(ba.comparison!.pValue > 0.5);
  // the supervised model is better than the distilled one here: "KD improves on supervised" is contradicted
  const kd = verdict(out, 'c-kd-improves-supervised');
  assert.equal(kd.verdict, 'contradicts');
  assert.match(kd.reason, /significant in the opposite direction/);
  assert.equal(verdict(out, 'c-beats-base').verdict, 'supports');
  const bm25 = verdict(out, 'c-beats-bm25');
  assert.equal(bm25.verdict, 'cannot resolve');
  assert.equal(bm25.reason, 'no result for pipeline bm25');
  assert.equal(bm25.comparison, undefined);
  // ratio: b ≈ a, and c is about 13 % better, so b is clearly below 99.4 % of c
  const ratio = verdict(out, 'b-reaches-99.4pct-of-c');
  assert.equal(ratio.verdict, 'contradicts');
  assert.match(ratio.reason, /is [\d.]+ % of "c-distilled" [\d.]+ \(claimed ≥ 99\.4 %\)/);
  // the correction's family is the claims that have data
  const tested = out.filter((r) => r.comparison);
  assert.equal(tested.length, 6);
  const md = formatClaims(out);
  assert.match(md, /\*\*supports\*\*/);
  assert.match(md, /Holm–Bonferroni \(holm\) correction over the 6 claims with data; α = 0\.05/);
});

test('ratio claims: b equal to c reaches 99.4 % of it (supports); a worse b cannot, unless barely', () => {
  const rs = [
    makeResult({ id: 'b', pipeline: 'b', phase: 'distillation' }),
    makeResult({ id: 'c', pipeline: 'c', phase: 'distillation', shift: wobble }),
  ];
  assert.equal(verdict(evaluateClaims(settingsOf(rs)), 'b-reaches-99.4pct-of-c').verdict, 'supports');
  // c-beats-b: equal → cannot resolve
  assert.equal(verdict(evaluateClaims(settingsOf(rs)), 'c-beats-b').verdict, 'cannot resolve');
  const worseB = [makeResult({ id: 'b', pipeline: 'b', phase: 'distillation', shift: worse }), rs[1]];
  assert.equal(verdict(evaluateClaims(settingsOf(worseB)), 'b-reaches-99.4pct-of-c').verdict, 'contradicts');
});

test('ablation selectors: prompts aligned vs misaligned; ambiguous matches cannot resolve', () => {
  const on = { unsupervisedPrompts: true, supervisedPrompts: true, supervisedLength: true, kdPrompts: true, kdLength: true };
  const off = { unsupervisedPrompts: true, supervisedPrompts: false, supervisedLength: false, kdPrompts: false, kdLength: false };
  const rs = [
    makeResult({ id: 'b-on', pipeline: 'b', phase: 'distillation', ablation: on, shift: better }),
    makeResult({ id: 'b-off', pipeline: 'b', phase: 'distillation', ablation: off }),
  ];
  assert.equal(verdict(evaluateClaims(settingsOf(rs)), 'b-aligned-prompts').verdict, 'supports');
  // A result with no recorded switches is the main setting (every switch on): with b-on also present, two match.
  const amb = evaluateClaims(settingsOf([...rs, makeResult({ id: 'b-main', pipeline: 'b', phase: 'distillation' })]));
  const v = verdict(amb, 'b-aligned-prompts');
  assert.equal(v.verdict, 'cannot resolve');
  assert.match(v.reason, /2 settings match pipeline b, phase distillation, unsupervisedPrompts=true .* \("b-on", "b-main"\)|2 settings match .*\("b-main", "b-on"\)/);
});

test('a claim added as data is evaluated like the paper\'s; the randomization test gives the same verdicts', () => {
  const custom: Claim[] = [
    { id: 'base-beats-c', statement: 'the base model beats ColBERT-Zero', source: 'nowhere', comparison: { kind: 'better', better: { label: 'base' }, worse: { pipeline: 'c', phase: 'distillation' } } },
  ];
  const out = evaluateClaims(settingsOf(mainSet()), { test: 'randomization', permutations: 999, seed: 1 }, custom);
  assert.equal(out.length, 1);
  assert.equal(out[0].verdict, 'contradicts');
  assert.equal(out[0].comparison!.pValue, 1 / 1000);
  assert.match(out[0].comparison!.test, /randomization/);
  const all = evaluateClaims(settingsOf(mainSet()), { test: 'randomization', permutations: 999, seed: 1 });
  assert.equal(verdict(all, 'c-beats-a').verdict, 'supports');
  assert.equal(verdict(all, 'b-beats-a').verdict, 'cannot resolve');
});

test('the untrained-base sanity check picks the base model with no phase, not a trained "base" such as the dense supervised model', () => {
  const rs = [
    makeResult({ id: 'c', pipeline: 'c', phase: 'distillation', shift: better }),
    makeResult({ id: 'dense-supervised', pipeline: 'base', phase: 'supervised' }),
  ];
  const v = evaluateClaims(settingsOf(rs)).find((r) => r.id === 'c-beats-base')!;
  assert.equal(v.verdict, 'cannot resolve');
  assert.equal(v.reason, 'no result for pipeline base, phase null');
  const withBase = evaluateClaims(settingsOf([...rs, makeResult({ id: 'untrained', pipeline: 'base', phase: null, shift: worse })]));
  assert.equal(withBase.find((r) => r.id === 'c-beats-base')!.verdict, 'supports');
});
