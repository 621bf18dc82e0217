/**
 * A small deterministic TrainableEncoder for testing the training engine apart from ModernBERT:
 * hashed word ids → embedding table → seeded dropout → one linear layer; ColBERT head: per-token
 * L2-normalised vectors; dense head: masked mean pool then L2 norm. Weights come from a seed.
 * Loadable by workers through the run config: { type: 'module', module: <this file>, options }.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { workerData } from 'node:worker_threads';
import { matMul } from '../../lib/backend/matmul';
import type { Encoded, HeadKind } from '../../lib/scores/encoded';
import type { Role, TokenizedBatch } from '../../lib/tokenize/types';
import type { TrainableEncoder } from '../../lib/models/encoder';
import { seededFloats } from '../helpers/tensors';

export interface TinyOptions {
  kind: HeadKind;
  vocab?: number;
  hidden?: number;
  dim?: number;
  queryLength?: number;
  documentLength?: number;
  dropout?: number;
  seed?: number;
  /** Fault injection for device tests: on worker `rank`, throw or exit at forward call `afterForwards`. */
  die?: { rank: number; afterForwards: number; how: 'throw' | 'exit' };
}

function floats(n: number, seed: number, scale: number): Float32Array {
  return seededFloats(n, seed).map((x) => x * scale);
}

function hashWord(w: string, vocab: number): number {
  let h = 2166136261;
  for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 16777619);
  return 2 + ((h >>> 0) % (vocab - 2)); // 0 = pad, 1 = [CLS]
}

let instances = 0;

export class TinyEncoder implements TrainableEncoder {
  readonly kind: HeadKind;
  readonly dim: number;
  readonly trainableVariables: tf.Variable[];
  private readonly o: Required<Omit<TinyOptions, 'die'>> & Pick<TinyOptions, 'die'>;
  private forwards = 0;

  constructor(opts: TinyOptions) {
    this.o = { vocab: 64, hidden: 16, dim: 8, queryLength: 6, documentLength: 10, dropout: 0, seed: 1, ...opts };
    this.kind = opts.kind;
    this.dim = this.o.dim;
    const { vocab, hidden, dim, seed } = this.o;
    const id = `tiny${++instances}`; // tfjs variable names are global and must be unique
    // tidy disposes the initial tensors; variables survive it.
    this.trainableVariables = tf.tidy(() => [
      tf.variable(tf.tensor2d(floats(vocab * hidden, seed, 1), [vocab, hidden]), true, `${id}.embeddings`),
      tf.variable(tf.tensor2d(floats(hidden * dim, seed + 1, 0.5), [hidden, dim]), true, `${id}.linear.weight`),
      tf.variable(tf.tensor1d(floats(dim, seed + 2, 0.1)), true, `${id}.linear.bias`),
    ]);
  }

  tokenize(texts: string[], role: Role): TokenizedBatch {
    const length = role === 'query' ? this.o.queryLength : this.o.documentLength;
    const n = texts.length;
    const inputIds = new Int32Array(n * length);
    const attentionMask = new Int32Array(n * length);
    texts.forEach((t, i) => {
      const words = [1, ...t.toLowerCase().split(/\s+/).filter(Boolean).map((w) => hashWord(w, this.o.vocab))].slice(0, length);
      words.forEach((id, j) => {
        inputIds[i * length + j] = id;
        attentionMask[i * length + j] = 1;
      });
    });
    return { n, length, inputIds, attentionMask, scoringMask: Int32Array.from(attentionMask) };
  }

  forward(batch: TokenizedBatch, opts: { training: boolean; seed?: number }): Encoded {
    const die = this.o.die;
    const rank = (workerData as { rank?: number } | null)?.rank ?? (process.env.CZ_DEVICE_RANK !== undefined ? Number(process.env.CZ_DEVICE_RANK) : undefined);
    if (die && rank === die.rank && ++this.forwards >= die.afterForwards) {
      if (die.how === 'exit') process.exit(3);
      throw new Error(`injected failure after ${this.forwards} forward passes`);
    }
    const { n, length } = batch;
    const [emb, w, b] = this.trainableVariables;
    const { hidden, dim, dropout } = this.o;
    const out = tf.tidy(() => {
      let x = tf.gather(emb, tf.tensor1d(batch.inputIds, 'int32')) as tf.Tensor2D; // [n·L, hidden]
      if (opts.training && dropout > 0) {
        const r = floats(n * length * hidden, opts.seed ?? 0, 1);
        const keep = new Float32Array(r.length);
        for (let i = 0; i < r.length; i++) keep[i] = (r[i] + 1) / 2 >= dropout ? 1 / (1 - dropout) : 0;
        x = tf.mul(x, tf.tensor2d(keep, [n * length, hidden]));
      }
      const y = tf.add(matMul(x, w as tf.Tensor2D), b).reshape([n, length, dim]);
      const mask = tf.tensor2d(batch.scoringMask, [n, length], 'int32').toFloat();
      if (this.kind === 'colbert') {
        const normed = tf.div(y, tf.sqrt(tf.add(tf.sum(tf.square(y), 2, true), 1e-12)));
        return { embeddings: normed, mask };
      }
      const att = tf.tensor2d(batch.attentionMask, [n, length], 'int32').toFloat().reshape([n, length, 1]);
      const pooled = tf.div(tf.sum(tf.mul(y, att), 1), tf.sum(att, 1));
      return { embeddings: tf.div(pooled, tf.sqrt(tf.add(tf.sum(tf.square(pooled), 1, true), 1e-12))) };
    });
    return this.kind === 'colbert'
      ? { kind: 'colbert', embeddings: out.embeddings, mask: (out as { mask: tf.Tensor2D }).mask }
      : { kind: 'dense', embeddings: out.embeddings };
  }

  async encode(texts: string[], role: Role): Promise<Encoded> {
    return this.forward(this.tokenize(texts, role), { training: false });
  }

  dispose(): void {
    this.trainableVariables.forEach((v) => v.dispose());
  }

  /** Writes the weights as JSON (the tiny model's own "layout"). */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    const names = ['embeddings', 'linear.weight', 'linear.bias'];
    const weights = Object.fromEntries(this.trainableVariables.map((v, i) => [names[i], Array.from(v.dataSync())]));
    fs.writeFileSync(path.join(dir, 'tiny-weights.json'), JSON.stringify({ options: this.o, weights }));
  }
}

/** The factory the run config names (`export: 'createEncoder'`). */
export function createEncoder(options: TinyOptions): TinyEncoder {
  return new TinyEncoder(options);
}
