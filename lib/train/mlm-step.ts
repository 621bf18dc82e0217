/**
 * One masked-LM micro-batch on one device. Masking is drawn once for the global micro-batch (every rank
 * draws the same), each rank encodes its rows in mini-batches and back-propagates its share of the loss
 * (sum of token cross-entropies / global number of masked tokens), so shares add up to the global mean.
 * The per-token loss needs no GradCache: mini-batches are plain gradient accumulation, and exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../util/errors';
import type { TrainConfig } from './config';
import type { Transport } from './devices/transport';
import { accumulate, variableGradsAligned } from './gradcache';
import { maskTokens, mlmLoss } from '../losses/mlm';
import { seedFor } from '../util/rng';
import type { ShardResult } from './step';
import type { Example, MlmExample } from '../data/training';
import type { TrainModel } from './model-factory';
import { chunks } from './rows';
import { MaskedLmModel } from '../models/masked-lm';

export async function mlmShardStep(masking: TrainConfig['mlm'], model: TrainModel, examples: Example[], t: Transport, opts: { miniBatch: number; stepSeed: number }): Promise<ShardResult> {
  if (!(model instanceof MaskedLmModel)) throw new UserError('phase "mlm" needs a ModernBERT model with its masked-LM head');
  const tok = model.tokenize((examples as MlmExample[]).map((e) => e.text));
  const L = tok.length;
  const masked = maskTokens(tok.inputIds, tok.attentionMask, {
    maskId: model.text.maskId!,
    vocabSize: model.text.size,
    specialIds: model.specialIds,
    probability: masking.probability,
    replaceAll: masking.replaceAll,
    seed: seedFor(opts.stepSeed, 7),
  });
  const total = Math.max(1, masked.positions.length);
  const per = tok.n / t.world;
  const r0 = t.rank * per;
  let grads: tf.Tensor[] | null = null;
  let share = 0;
  for (const [s, e] of chunks(r0, r0 + per, opts.miniBatch)) {
    const pos: number[] = [];
    const targets: number[] = [];
    for (let i = s * L; i < e * L; i++) if (masked.labels[i] >= 0) pos.push(i - s * L), targets.push(masked.labels[i]);
    if (pos.length === 0) continue;
    const weight = pos.length / total;
    const r = variableGradsAligned(() => {
      const h = model.hidden(
        { n: e - s, length: L, inputIds: masked.inputIds.subarray(s * L, e * L), attentionMask: tok.attentionMask.subarray(s * L, e * L), scoringMask: tok.scoringMask.subarray(s * L, e * L) },
        { training: true, seed: seedFor(opts.stepSeed, 3, s) },
      );
      const sel = tf.gather(h.reshape([(e - s) * L, h.shape[2]]), tf.tensor1d(pos, 'int32')) as tf.Tensor2D;
      return tf.mul(mlmLoss(model.backbone.mlmLogits(sel), Int32Array.from(targets)), weight) as tf.Scalar;
    }, model.trainableVariables);
    share += r.value;
    grads = accumulate(grads, r.grads);
  }
  const loss = t.world === 1 ? share : (await t.allReduceSum(Float32Array.of(share)))[0];
  return { loss, grads: grads ?? model.trainableVariables.map((v) => tf.zerosLike(v)), extraGrads: [] };
}
