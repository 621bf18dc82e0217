/**
 * Small synthetic training data, generated deterministically, for example runs and smoke checks (never
 * for results). A "world" of concepts grouped in topics. Every concept has TWO surface words: one that
 * queries use and one that documents use (as "car" in a question and "automobile" in an answer), so
 * exact token matching finds nothing between a query and a document: retrieval is possible only once a
 * model has learnt which query word goes with which document word — the evaluation set measures learning,
 * not lexical overlap (a lexical scorer and an untrained model sit near chance on it).
 *   unsupervised  a query of 3 concepts (query words) ↔ a document containing them (document words)
 *   supervised    + hard negatives: documents of other topics sharing one of the query's concepts
 *   distillation  candidates scored by a teacher that counts shared concepts
 *   mlm           texts mixing both words of a topic's concepts
 * Two sources of different sizes exercise size-proportional single-source batching; `writeSyntheticBeir`
 * makes a matching evaluation set (its own documents and queries, never a training text).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32, shuffleInPlace } from '../util/rng';
import { makeDirs } from '../util/fs-errors';
import type { Phase } from './training';

// Common English words (all whole pieces of BERT's vocabulary, so tiny tokenizers keep them).
const WORDS = (
  'water river stone cloud green light music paper garden market train street window winter summer ' +
  'forest ocean island mountain valley desert city village school doctor science history energy power ' +
  'money bank price trade food bread fruit apple coffee milk sugar salt fire heat cold snow rain storm ' +
  'wind star moon sun earth planet space ship car road bridge tower house door room table chair bed book ' +
  'letter story song dance film game team player ball goal match field horse dog cat bird fish tree ' +
  'flower leaf root seed farm army war peace law court judge police crime church king queen prince ' +
  'castle gold silver iron steel glass wood oil gas metal machine engine computer phone radio network ' +
  'data code language word voice sound color blue red black white brown health disease blood heart ' +
  'brain body hand eye face hair skin bone muscle child mother father family friend teacher student'
).split(' ');

export interface SyntheticOptions {
  /** Draws of the examples. */
  seed: number;
  /** The topics (which words belong together); the same for every source and the evaluation set. */
  worldSeed?: number;
  topics?: number;
  wordsPerTopic?: number;
}

interface World {
  /** Concepts of each topic, as indices into `queryWord` / `documentWord`. */
  topics: number[][];
  queryWord: string[];
  documentWord: string[];
  rand: () => number;
}

function world(o: SyntheticOptions): World {
  const words = shuffleInPlace(WORDS.slice(), mulberry32(o.worldSeed ?? 1));
  const concepts = Math.floor(words.length / 2);
  const rand = mulberry32(o.seed);
  const k = o.topics ?? 10;
  const per = o.wordsPerTopic ?? Math.floor(concepts / k);
  return {
    topics: Array.from({ length: k }, (_, t) => Array.from({ length: per }, (_, c) => t * per + c)),
    queryWord: words.slice(0, concepts),
    documentWord: words.slice(concepts, 2 * concepts),
    rand,
  };
}

function pick<T>(xs: T[], n: number, rand: () => number): T[] {
  return shuffleInPlace(xs.slice(), rand).slice(0, n);
}

/** `n` examples of `phase`, one JSON object per element. */
export function syntheticExamples(phase: Phase, n: number, o: SyntheticOptions & { negatives?: number; candidates?: number }): object[] {
  const w = world(o);
  const r = w.rand;
  const asQuery = (cs: number[]) => cs.map((c) => w.queryWord[c]).join(' ');
  const asDocument = (cs: number[]) => shuffleInPlace(cs.map((c) => w.documentWord[c]), r).join(' ');
  const out: object[] = [];
  for (let i = 0; i < n; i++) {
    const t = Math.floor(r() * w.topics.length);
    const qc = pick(w.topics[t], 3, r);
    const query = asQuery(qc);
    const rest = w.topics[t].filter((c) => !qc.includes(c));
    const posConcepts = [...qc, ...pick(rest, 3, r)];
    const positive = asDocument(posConcepts);
    const negativeConcepts = (j: number) => {
      const other = (t + 1 + Math.floor(r() * (w.topics.length - 1))) % w.topics.length;
      return [qc[j % 3], ...pick(w.topics[other], 5, r)];
    };
    if (phase === 'unsupervised') out.push({ query, document: positive });
    else if (phase === 'supervised') out.push({ query, positive, negatives: Array.from({ length: o.negatives ?? 3 }, (_, j) => asDocument(negativeConcepts(j))) });
    else if (phase === 'distillation') {
      const cands = [posConcepts, ...Array.from({ length: (o.candidates ?? 8) - 1 }, (_, j) => negativeConcepts(j))];
      out.push({ query, documents: cands.map(asDocument), scores: cands.map((cs) => cs.filter((c) => qc.includes(c)).length + cs.filter((c) => w.topics[t].includes(c)).length / 10) });
    } else {
      const cs = pick(w.topics[t], 6, r);
      out.push({ text: shuffleInPlace([...cs.map((c) => w.queryWord[c]), ...cs.map((c) => w.documentWord[c])], r).join(' ') });
    }
  }
  return out;
}

/**
 * A small BEIR folder from the same world (corpus.jsonl, queries.jsonl, qrels/test.tsv): documents of 5
 * concepts of one topic (document words), queries of 4 concepts of one document (query words); every
 * document holding all four of a query's concepts is relevant. No query shares a word with any document,
 * and no evaluation text is a training text (training queries have 3 concepts, documents 6).
 */
export function writeSyntheticBeir(dir: string, o: SyntheticOptions & { documents?: number; queries?: number }): string {
  const w = world(o);
  const r = w.rand;
  const docs = Array.from({ length: o.documents ?? 240 }, (_, i) => pick(w.topics[i % w.topics.length], 5, r));
  const queries = Array.from({ length: o.queries ?? 60 }, () => pick(docs[Math.floor(r() * docs.length)], 4, r));
  const relevant = (q: number[]) => docs.flatMap((d, i) => (q.every((c) => d.includes(c)) ? [i] : []));
  makeDirs(path.join(dir, 'qrels'), 'BEIR folder', dir);
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), docs.map((d, i) => JSON.stringify({ _id: `d${i}`, title: '', text: d.map((c) => w.documentWord[c]).join(' ') })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), queries.map((q, i) => JSON.stringify({ _id: `q${i}`, text: q.map((c) => w.queryWord[c]).join(' ') })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + queries.flatMap((q, i) => relevant(q).map((d) => `q${i}\td${d}\t1`)).join('\n') + '\n');
  return dir;
}

/** Writes two sources (sizes n and n/2) of `phase` into `dir`; returns their paths. */
export function writeSyntheticSources(dir: string, phase: Phase, n: number, o: SyntheticOptions & { negatives?: number; candidates?: number }): string[] {
  makeDirs(dir, 'training data');
  return [
    { name: `${phase}-a.jsonl`, n, seed: o.seed },
    { name: `${phase}-b.jsonl`, n: Math.floor(n / 2), seed: o.seed + 1 },
  ].map((s) => {
    const file = path.join(dir, s.name);
    fs.writeFileSync(file, syntheticExamples(phase, s.n, { ...o, seed: s.seed }).map((e) => JSON.stringify(e)).join('\n') + '\n');
    return file;
  });
}
