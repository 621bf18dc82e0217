/**
 * Small synthetic training data, generated deterministically, for example runs and smoke checks (never
 * for results). A "world" of topics, each with its own words; a query is a few words of one topic, its
 * positive a longer text of the same topic sharing some of the query's words, hard negatives texts of
 * other topics that share one query word (so lexical overlap alone does not solve the task), teacher
 * scores the overlap with the query's topic. Two sources of different sizes exercise size-proportional
 * single-source batching; `writeSyntheticBeir` makes a matching evaluation set.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mulberry32, shuffleInPlace } from '../util/rng';
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
  topics: string[][];
  rand: () => number;
}

function world(o: SyntheticOptions): World {
  const words = shuffleInPlace(WORDS.slice(), mulberry32(o.worldSeed ?? 1));
  const rand = mulberry32(o.seed);
  const k = o.topics ?? 12;
  const per = o.wordsPerTopic ?? Math.floor(words.length / k);
  return { topics: Array.from({ length: k }, (_, t) => words.slice(t * per, (t + 1) * per)), rand };
}

function pick<T>(xs: T[], n: number, rand: () => number): T[] {
  return shuffleInPlace(xs.slice(), rand).slice(0, n);
}

/** `n` examples of `phase`, one JSON object per element. */
export function syntheticExamples(phase: Phase, n: number, o: SyntheticOptions & { negatives?: number; candidates?: number }): object[] {
  const w = world(o);
  const r = w.rand;
  const out: object[] = [];
  for (let i = 0; i < n; i++) {
    const t = Math.floor(r() * w.topics.length);
    const qWords = pick(w.topics[t], 3, r);
    const query = qWords.join(' ');
    const positive = [...qWords.slice(0, 2), ...pick(w.topics[t], 6, r)].join(' ');
    const negative = (j: number) => {
      const other = (t + 1 + Math.floor(r() * (w.topics.length - 1))) % w.topics.length;
      return [qWords[j % 3], ...pick(w.topics[other], 7, r)].join(' ');
    };
    if (phase === 'unsupervised') out.push({ query, document: positive });
    else if (phase === 'supervised') out.push({ query, positive, negatives: Array.from({ length: o.negatives ?? 3 }, (_, j) => negative(j)) });
    else if (phase === 'distillation') {
      const docs = [positive, ...Array.from({ length: (o.candidates ?? 8) - 1 }, (_, j) => negative(j))];
      const topicSet = new Set(w.topics[t]);
      const scores = docs.map((d) => d.split(' ').filter((x) => topicSet.has(x)).length + (d === positive ? 2 : 0));
      out.push({ query, documents: docs, scores });
    } else out.push({ text: [...pick(w.topics[t], 10, r), ...pick(w.topics[t], 10, r)].join(' ') });
  }
  return out;
}

/**
 * A small BEIR folder from the same world (corpus.jsonl, queries.jsonl, qrels/test.tsv): documents of
 * 10 topic words, queries of 3 words of one document, which is their one relevant document. Other
 * documents of the topic share some words, so ranking needs more than the topic.
 */
export function writeSyntheticBeir(dir: string, o: SyntheticOptions & { documents?: number; queries?: number }): string {
  const w = world(o);
  const r = w.rand;
  const docs = Array.from({ length: o.documents ?? 240 }, (_, i) => pick(w.topics[i % w.topics.length], 10, r));
  const queries = Array.from({ length: o.queries ?? 60 }, () => {
    const j = Math.floor(r() * docs.length);
    return { j, text: pick(docs[j], 3, r).join(' ') };
  });
  fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'corpus.jsonl'), docs.map((d, i) => JSON.stringify({ _id: `d${i}`, title: '', text: d.join(' ') })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'queries.jsonl'), queries.map((q, i) => JSON.stringify({ _id: `q${i}`, text: q.text })).join('\n') + '\n');
  fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\n' + queries.map((q, i) => `q${i}\td${q.j}\t1`).join('\n') + '\n');
  return dir;
}

/** Writes two sources (sizes n and n/2) of `phase` into `dir`; returns their paths. */
export function writeSyntheticSources(dir: string, phase: Phase, n: number, o: SyntheticOptions & { negatives?: number; candidates?: number }): string[] {
  fs.mkdirSync(dir, { recursive: true });
  return [
    { name: `${phase}-a.jsonl`, n, seed: o.seed },
    { name: `${phase}-b.jsonl`, n: Math.floor(n / 2), seed: o.seed + 1 },
  ].map((s) => {
    const file = path.join(dir, s.name);
    fs.writeFileSync(file, syntheticExamples(phase, s.n, { ...o, seed: s.seed }).map((e) => JSON.stringify(e)).join('\n') + '\n');
    return file;
  });
}
