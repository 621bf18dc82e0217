/**
 * A knowledge-distillation teacher for the WordNet sets, in the layout of ms-marco-en-bge-gemma (a query,
 * its candidate documents, one teacher score each).
 *
 * Which teacher: one with privileged knowledge, as a large cross-encoder has knowledge a small student
 * lacks. It knows the sense each query was written for (the synset whose example sentence it is) and
 * scores each candidate sense by Wu–Palmer similarity in WordNet's hypernym graph:
 *   wup(a, b) = 2·depth(lcs) / (depth(a) + depth(b)),  depth counted in nodes from a root (root = 1),
 * the lowest common subsumer taken over every hypernym path; the query's own sense scores 1. Senses with
 * no hypernyms (adjectives, adverbs) share no subsumer with another sense: 0. It is far stronger than any
 * student (it is told the answer) and its graded scores over the hard negatives are what distillation
 * transfers; `teacherRun` lets a caller measure that on the validation set.
 */
import { hypernymsOf, type Wordnet } from './wordnet';
import { documentText } from './beir';
import { synsetDoc, type WordnetSets } from './wordnet-sets';
import type { DistillationExample, TripletExample } from './training';
import type { Query, Run } from './types';
import { mulberry32, shuffleInPlace } from '../util/rng';

/** Depths (in nodes from a root, root = 1: the longest hypernym path) and ancestor sets, memoised. */
export interface WupMemo {
  depth: Map<string, number>;
  ancestors: Map<string, Set<string>>;
}

export function newWupMemo(): WupMemo {
  return { depth: new Map(), ancestors: new Map() };
}

function depthOf(wn: Wordnet, id: string, m: WupMemo): number {
  const hit = m.depth.get(id);
  if (hit !== undefined) return hit;
  const parents = hypernymsOf(wn.synsets.get(id)!);
  const d = 1 + (parents.length ? Math.max(...parents.map((p) => depthOf(wn, p, m))) : 0);
  m.depth.set(id, d);
  return d;
}

function ancestorsOf(wn: Wordnet, id: string, m: WupMemo): Set<string> {
  const hit = m.ancestors.get(id);
  if (hit) return hit;
  const out = new Set<string>([id]);
  for (const p of hypernymsOf(wn.synsets.get(id)!)) for (const a of ancestorsOf(wn, p, m)) out.add(a);
  m.ancestors.set(id, out);
  return out;
}

/** Wu–Palmer similarity of two synsets (see the module comment). */
export function wuPalmer(wn: Wordnet, a: string, b: string, m: WupMemo = newWupMemo()): number {
  if (a === b) return 1;
  const B = ancestorsOf(wn, b, m);
  let lcs = 0;
  for (const x of ancestorsOf(wn, a, m)) if (B.has(x)) lcs = Math.max(lcs, depthOf(wn, x, m));
  return lcs === 0 ? 0 : (2 * lcs) / (depthOf(wn, a, m) + depthOf(wn, b, m));
}

/** A synset's document text as the sets write it (title + definition), to find a candidate's sense. */
function docText(wn: Wordnet, id: string): string {
  return documentText(synsetDoc(wn.synsets.get(id)!));
}

/**
 * Distillation examples from the supervised triples: each query with `candidates` documents (its positive,
 * its hard negatives, then random training senses to fill up) and the teacher's score of each.
 */
export function wordnetDistillation(wn: Wordnet, sets: WordnetSets, o: { candidates: number; seed: number }): DistillationExample[] {
  const byText = new Map<string, string>();
  for (const id of sets.trainSynsets) byText.set(docText(wn, id), id);
  const pool = [...sets.trainSynsets].sort();
  const rand = mulberry32(o.seed);
  const memo = newWupMemo();
  const out: DistillationExample[] = [];
  for (const ex of sets.supervised) {
    const source = byText.get(ex.positive);
    if (!source) continue; // a positive that is not a training sense's text: no teacher score
    const ids = [source, ...ex.negatives.map((t) => byText.get(t)).filter((x): x is string => x !== undefined)];
    while (ids.length < o.candidates) {
      const r = pool[Math.floor(rand() * pool.length)];
      if (!ids.includes(r)) ids.push(r);
    }
    const chosen = [ids[0], ...shuffleInPlace(ids.slice(1), rand)].slice(0, o.candidates);
    out.push({ query: ex.query, documents: chosen.map((id) => docText(wn, id)), scores: chosen.map((id) => wuPalmer(wn, source, id, memo)) });
  }
  return out;
}

/** The teacher's ranking of an evaluation split's whole corpus for each query (to compare it with students). */
export function teacherRun(wn: Wordnet, queries: Array<Query & { synset: string }>, corpusIds: string[], k = 100): Run {
  const memo = newWupMemo();
  const run: Run = new Map();
  for (const q of queries) {
    const scored = corpusIds.map((id) => [id, wuPalmer(wn, q.synset, id, memo)] as const).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
    run.set(q.id, new Map(scored.slice(0, k)));
  }
  return run;
}

/**
 * The supervised triples with exactly `n` negatives each: the sets' own hard negatives (other senses of
 * the query's words, co-hyponyms) first, then random training senses for queries that have fewer.
 */
export function padNegatives(wn: Wordnet, sets: WordnetSets, n: number, seed: number): TripletExample[] {
  const pool = [...sets.trainSynsets].sort();
  const rand = mulberry32(seed);
  return sets.supervised.map((ex) => {
    const negatives = ex.negatives.slice(0, n);
    while (negatives.length < n) {
      const t = docText(wn, pool[Math.floor(rand() * pool.length)]);
      if (t !== ex.positive && !negatives.includes(t)) negatives.push(t);
    }
    return { query: ex.query, positive: ex.positive, negatives };
  });
}
