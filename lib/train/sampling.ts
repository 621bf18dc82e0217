/**
 * Which examples form each global batch. Modes:
 *   proportional  every batch from ONE source (prevents shortcut learning across sources); sources come
 *                 in random order with each source's share of batches ∝ its size — per epoch each source
 *                 is shuffled and cut into full batches, and the batch list of all sources is shuffled,
 *                 so a batch's source is drawn with probability ∝ (size / batch size).
 *   round-robin   sources take turns, one full batch each, until the smallest is used up.
 *   shuffled      all sources pooled and shuffled; batches mix sources.
 * Duplicates: with `avoidDuplicates`, no text (query, positive, negative) appears twice in a batch;
 * an example that would repeat a text waits for the next batch of the same source/pool.
 * Incomplete last batches are dropped. A batch is a pure function of (seed, step): resuming needs only
 * the step number.
 */
import { mulberry32, seedFor, shuffleInPlace, permutation } from '../util/rng';

export type Mixing = 'proportional' | 'round-robin' | 'shuffled';

export interface BatchRef {
  /** Source of each example (all equal unless mixing is "shuffled"). */
  source: number;
  items: Array<{ source: number; index: number }>;
}

export interface SamplerOptions {
  sizes: number[];
  batchSize: number;
  mixing: Mixing;
  seed: number;
  /** Texts of example `index` of `source`, for duplicate avoidance. */
  textsOf?: (source: number, index: number) => string[];
}

type Item = { source: number; index: number };

/** Cuts items into full batches, deferring items whose texts already occur in the current batch. */
function cut(items: Item[], batchSize: number, textsOf?: (source: number, index: number) => string[]): Item[][] {
  const out: Item[][] = [];
  let carry: Item[] = []; // items deferred from earlier batches go first
  let p = 0;
  for (;;) {
    const batch: Item[] = [];
    const seen = new Set<string>();
    const next: Item[] = [];
    const tryAdd = (it: Item): boolean => {
      const texts = textsOf ? textsOf(it.source, it.index) : [];
      if (texts.some((t) => seen.has(t)) || new Set(texts).size < texts.length) return false;
      texts.forEach((t) => seen.add(t));
      batch.push(it);
      return true;
    };
    for (const it of carry) if (batch.length >= batchSize || !tryAdd(it)) next.push(it);
    while (batch.length < batchSize && p < items.length) {
      const it = items[p++];
      if (!tryAdd(it)) next.push(it);
    }
    if (batch.length < batchSize) break;
    out.push(batch);
    carry = next;
  }
  return out;
}

export class BatchSampler {
  private readonly epochs: BatchRef[][] = [];

  constructor(private readonly o: SamplerOptions) {
    if (o.sizes.length === 0) throw new Error('sampler: no data sources');
    if (this.epochPlan(0).length === 0) throw new Error(`sampler: no full batch of ${o.batchSize} can be formed (source sizes ${o.sizes.join(', ')})`);
  }

  /** Batches of epoch e (computed once, deterministic in seed and e). */
  epochPlan(e: number): BatchRef[] {
    while (this.epochs.length <= e) this.epochs.push(this.plan(this.epochs.length));
    return this.epochs[e];
  }

  /** Batch number `step` (0-based) of the run, across epochs. */
  batchAt(step: number): BatchRef {
    let e = 0;
    let s = step;
    while (s >= this.epochPlan(e).length) s -= this.epochPlan(e).length, e++;
    return this.epochPlan(e)[s];
  }

  /** Steps in the first `epochs` epochs. */
  stepsIn(epochs: number): number {
    let n = 0;
    for (let e = 0; e < epochs; e++) n += this.epochPlan(e).length;
    return n;
  }

  private plan(e: number): BatchRef[] {
    const { sizes, batchSize, mixing, seed, textsOf } = this.o;
    const perSource = sizes.map((size, src) =>
      cut(
        permutation(size, mulberry32(seedFor(seed, e, src, 1))).map((index) => ({ source: src, index })),
        batchSize,
        textsOf,
      ),
    );
    if (mixing === 'shuffled') {
      const pool = shuffleInPlace(sizes.flatMap((size, src) => Array.from({ length: size }, (_, index) => ({ source: src, index }))), mulberry32(seedFor(seed, e, 2)));
      return cut(pool, batchSize, textsOf).map((items) => ({ source: -1, items }));
    }
    if (mixing === 'round-robin') {
      const rounds = Math.min(...perSource.map((b) => b.length));
      const out: BatchRef[] = [];
      for (let r = 0; r < rounds; r++) perSource.forEach((b, src) => out.push({ source: src, items: b[r] }));
      return out;
    }
    const order = perSource.flatMap((b, src) => b.map((_, k) => [src, k] as const));
    shuffleInPlace(order, mulberry32(seedFor(seed, e, 3)));
    return order.map(([src, k]) => ({ source: src, items: perSource[src][k] }));
  }
}

/**
 * How many examples of each source the first `steps` batches hold, [step][source]: one non-zero count
 * per row with "proportional" or "round-robin" mixing (single-source batches), several with "shuffled".
 */
export function batchSourceMix(o: SamplerOptions, steps: number): number[][] {
  const sampler = new BatchSampler(o);
  return Array.from({ length: steps }, (_, s) => {
    const counts = new Array<number>(o.sizes.length).fill(0);
    for (const it of sampler.batchAt(s).items) counts[it.source]++;
    return counts;
  });
}
