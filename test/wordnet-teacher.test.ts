/** The WordNet distillation teacher: Wu–Palmer similarity on the real hypernym graph, its examples, and its strength. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadWordnet } from '../lib/data/wordnet';
import { buildWordnetSets } from '../lib/data/wordnet-sets';
import { newWupMemo, padNegatives, teacherRun, wordnetDistillation, wuPalmer } from '../lib/data/wordnet-teacher';
import { evaluate } from '../lib/index';

const wn = loadWordnet();
const first = (lemma: string, pos: string) => wn.senses.get(lemma)!.find((id) => id.startsWith(pos))!;

test('Wu–Palmer: 1 for a sense with itself, symmetric, in [0, 1], closer for co-hyponyms than for distant senses', () => {
  const memo = newWupMemo();
  const dog = first('dog', 'n');
  const cat = first('cat', 'n');
  const car = first('car', 'n');
  assert.equal(wuPalmer(wn, dog, dog, memo), 1);
  assert.equal(wuPalmer(wn, dog, cat, memo), wuPalmer(wn, cat, dog, memo));
  const dc = wuPalmer(wn, dog, cat, memo);
  const dcar = wuPalmer(wn, dog, car, memo);
  assert.ok(dc > 0.5 && dc < 1, `dog/cat ${dc}`);
  assert.ok(dcar > 0 && dcar < dc, `dog/car ${dcar} vs dog/cat ${dc}`);
  // An adjective has no hypernyms: nothing in common with a noun.
  assert.equal(wuPalmer(wn, first('red', 'a'), dog, memo), 0);
});

test('distillation examples: the positive first with score 1, graded negatives, exactly the candidates asked; padded triples', () => {
  const sets = buildWordnetSets(wn, { testQueries: 30, validationQueries: 30 });
  const kd = wordnetDistillation(wn, sets, { candidates: 8, seed: 1 });
  assert.ok(kd.length > 0.9 * sets.supervised.length, `${kd.length} of ${sets.supervised.length}`);
  for (const ex of kd.slice(0, 200)) {
    assert.equal(ex.documents.length, 8);
    assert.equal(ex.scores[0], 1);
    assert.ok(ex.scores.slice(1).every((s) => s >= 0 && s < 1));
    assert.equal(new Set(ex.documents).size, 8);
  }
  const padded = padNegatives(wn, sets, 7, 2);
  assert.equal(padded.length, sets.supervised.length);
  assert.ok(padded.every((e) => e.negatives.length === 7 && !e.negatives.includes(e.positive)));
  // The sets' own hard negatives come first.
  assert.deepEqual(padded[0].negatives.slice(0, sets.supervised[0].negatives.length), sets.supervised[0].negatives.slice(0, 7));

  // The teacher is strong on the validation set (it knows each query's sense).
  const v = sets.validation;
  const ndcg = evaluate(v.qrels, teacherRun(wn, v.queries, v.corpus.map((d) => d.id)), { measures: ['ndcg_cut.10'] }).all['ndcg_cut_10'];
  assert.ok(ndcg > 0.8, `teacher nDCG@10 ${ndcg}`);
});
