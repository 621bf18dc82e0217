/**
 * What a model scores on training data, to see what an objective asks of it: the in-batch score matrix
 * of a contrastive batch, each query's scores over its distillation candidates, and how a model ranks
 * mined hard negatives against the positive (the margins, and the InfoNCE loss with and without them).
 * Scores are those the losses use (lib/losses/embedding-scores: MaxSim for ColBERT, cosine for dense).
 */
import type { Encoder } from '../models/encoder';
import { groupScores, pairwiseScores } from '../losses/embedding-scores';
import { infoNCEByHand } from '../losses/explain';

async function encodeBoth(encoder: Encoder, queries: string[], documents: string[]) {
  const q = await encoder.encode(queries, 'query');
  const d = await encoder.encode(documents, 'document');
  const free = () => [q, d].forEach((e) => (e.embeddings.dispose(), e.mask?.dispose()));
  return { q, d, free };
}

/** Every query against every document, [queries][documents], as the contrastive loss scores them. */
export async function scoreMatrix(encoder: Encoder, queries: string[], documents: string[]): Promise<number[][]> {
  const { q, d, free } = await encodeBoth(encoder, queries, documents);
  const s = pairwiseScores(q, d);
  const out = s.arraySync() as number[][];
  s.dispose();
  free();
  return out;
}

/** Each query against its own candidates (the first `candidates` of each), [queries][candidates], as distillation scores them. */
export async function candidateScores(encoder: Encoder, examples: ReadonlyArray<{ query: string; documents: string[] }>, candidates?: number): Promise<number[][]> {
  const n = candidates ?? Math.min(...examples.map((e) => e.documents.length));
  for (const e of examples) if (e.documents.length < n) throw new Error(`candidateScores: query "${e.query.slice(0, 40)}" has ${e.documents.length} documents, ${n} needed`);
  const { q, d, free } = await encodeBoth(encoder, examples.map((e) => e.query), examples.flatMap((e) => e.documents.slice(0, n)));
  const s = groupScores(q, d, n);
  const out = s.arraySync() as number[][];
  s.dispose();
  free();
  return out;
}

export interface HardNegativeRow {
  query: string;
  positive: number;
  /** The highest-scoring of the query's hard negatives, and their mean. */
  bestHardNegative: number;
  meanHardNegative: number;
  /** Mean score of the other queries' positives in the same batch (the unsupervised phase's negatives). */
  meanInBatchNegative: number;
  /** positive − best hard negative: negative when a hard negative outranks the positive. */
  margin: number;
}

export interface HardNegativeReport {
  rows: HardNegativeRow[];
  meanPositive: number;
  meanHardNegative: number;
  meanInBatchNegative: number;
  /** Mean of positive − best hard negative, and of positive − best in-batch negative. */
  meanMarginHard: number;
  meanMarginInBatch: number;
  /** Fraction of queries where some hard negative (resp. in-batch negative) scores at least the positive. */
  hardOutranksPositive: number;
  inBatchOutranksPositive: number;
  /** InfoNCE (mean over all queries, batch by batch) with in-batch negatives only, and with the hard negatives added. */
  lossInBatch: number;
  lossWithHardNegatives: number;
}

/**
 * Scores a model on supervised triplets, `batchSize` at a time (the in-batch negatives of a query are the
 * other positives of its batch; a last smaller batch counts too): per query the positive, its first
 * `negatives` hard negatives and the in-batch negatives, and the InfoNCE loss at `temperature` over the
 * batch's positives alone vs over positives and hard negatives (the supervised phase's loss).
 */
export async function hardNegativeReport(
  encoder: Encoder,
  examples: ReadonlyArray<{ query: string; positive: string; negatives: string[] }>,
  o: { negatives: number; temperature: number; batchSize: number },
): Promise<HardNegativeReport> {
  const k = o.negatives;
  const n = 1 + k;
  const rows: HardNegativeRow[] = [];
  let lossIn = 0;
  let lossHard = 0;
  let inBatchOut = 0;
  let marginIn = 0;
  for (let s = 0; s < examples.length; s += o.batchSize) {
    const batch = examples.slice(s, s + o.batchSize);
    for (const e of batch) if (e.negatives.length < k) throw new Error(`hardNegativeReport: query "${e.query.slice(0, 40)}" has ${e.negatives.length} negatives, ${k} needed`);
    const S = await scoreMatrix(encoder, batch.map((e) => e.query), batch.flatMap((e) => [e.positive, ...e.negatives.slice(0, k)]));
    const positivesOnly = S.map((r) => batch.map((_, m) => r[m * n]));
    lossIn += infoNCEByHand(positivesOnly, { temperature: o.temperature }).perQuery.reduce((a, b) => a + b, 0);
    lossHard += infoNCEByHand(S, { temperature: o.temperature, docsPerQuery: n }).perQuery.reduce((a, b) => a + b, 0);
    batch.forEach((e, i) => {
      const pos = S[i][i * n];
      const hard = S[i].slice(i * n + 1, i * n + n);
      const others = positivesOnly[i].filter((_, m) => m !== i);
      const best = hard.length ? Math.max(...hard) : -Infinity;
      const bestIn = others.length ? Math.max(...others) : -Infinity;
      if (bestIn >= pos) inBatchOut++;
      marginIn += pos - bestIn;
      rows.push({
        query: e.query,
        positive: pos,
        bestHardNegative: best,
        meanHardNegative: hard.reduce((a, b) => a + b, 0) / Math.max(1, hard.length),
        meanInBatchNegative: others.reduce((a, b) => a + b, 0) / Math.max(1, others.length),
        margin: pos - best,
      });
    });
  }
  const N = Math.max(1, rows.length);
  const mean = (f: (r: HardNegativeRow) => number) => rows.reduce((a, r) => a + f(r), 0) / N;
  return {
    rows,
    meanPositive: mean((r) => r.positive),
    meanHardNegative: mean((r) => r.meanHardNegative),
    meanInBatchNegative: mean((r) => r.meanInBatchNegative),
    meanMarginHard: mean((r) => r.margin),
    meanMarginInBatch: marginIn / N,
    hardOutranksPositive: rows.filter((r) => r.margin <= 0).length / N,
    inBatchOutranksPositive: inBatchOut / N,
    lossInBatch: lossIn / N,
    lossWithHardNegatives: lossHard / N,
  };
}
