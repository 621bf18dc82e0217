/**
 * What a plan's training will take on this machine, measured before it starts: one optimizer step of each
 * kind of phase (objective, head, batch shape, lengths, model size) is timed on the engine the run would
 * use — in memory, nothing written — and each phase's estimate is its steps times that. The texts come from
 * the preset's prepared training files when they are in the results folder (then the padded lengths are
 * the real ones), else from texts as long as each phase allows (then the estimate is an upper bound).
 * Evaluation, checkpoints and data preparation are not included.
 */
import * as fs from 'node:fs';
import { initBackend } from '../backend/select';
import { parseTrainConfig, type TrainConfig } from '../train/config';
import { chooseEngine, createEngine } from '../train/engine';
import { LocalTransport } from '../train/devices/transport';
import { applyUpdate, createOptimiser, loadData, stepGradients } from '../train/run';
import { syntheticExamples } from '../data/synthetic';
import type { Example } from '../data/training';
import { phaseLengths, phaseTrainConfig, type PhaseSpec } from './phase';
import type { Plan } from './plan';

export interface PhaseEstimate {
  id: string;
  /** Seconds per optimizer step, measured on one step after a warm-up step. */
  secondsPerStep: number;
  seconds: number;
  /** Texts of the phase's own training files (true) or texts filling its lengths (false: an upper bound). */
  realTexts: boolean;
}

export interface TrainingEstimate {
  engine: string;
  phases: PhaseEstimate[];
  /** Every distinct phase of the plans once (a phase shared by plans is trained once). */
  seconds: number;
  /** How long measuring took. */
  measuredIn: number;
}

/** The phase at the root of `p`'s chain of parents (its init is a preset: the architecture every descendant shares). */
function rootOf(p: PhaseSpec, byId: Map<string, PhaseSpec>): PhaseSpec {
  let q = p;
  while ('parent' in q.init) q = byId.get(q.init.parent)!;
  return q;
}

/** A config of the phase's shape on a random model of its root's architecture (no parent model needed). */
function measuringConfig(p: PhaseSpec, root: PhaseSpec): TrainConfig {
  const init = root.init as Extract<PhaseSpec['init'], { preset: string }>;
  // A tokenizer folder that does not exist yet (built with the data) costs the same as the built-in one.
  const tokenizer = init.tokenizer && fs.existsSync(init.tokenizer) ? init.tokenizer : undefined;
  const spec: PhaseSpec = { ...p, data: p.data.length ? p.data : ['(not prepared yet)'], init: { preset: init.preset, initSeed: init.initSeed, vocabSize: init.vocabSize, ...(tokenizer ? { tokenizer } : {}) } };
  const base = phaseTrainConfig(spec, { output: 'estimate' });
  return parseTrainConfig({ ...base, eval: undefined, checkpointEvery: 1_000_000 }, `phase ${p.id}`);
}

/** Examples as long as the phase's lengths allow (words repeated), in the phase's format. */
function longExamples(config: TrainConfig, n: number): Example[] {
  const m = config.model as { queryLength: number; documentLength: number };
  const fill = (s: string, tokens: number) => {
    const words = s.split(' ');
    return Array.from({ length: tokens }, (_, i) => words[i % words.length]).join(' ');
  };
  return (syntheticExamples(config.phase, n, { seed: 5, negatives: config.negatives, candidates: config.candidates }) as Array<Record<string, unknown>>).map((e) => {
    const out: Record<string, unknown> = { ...e };
    for (const [k, v] of Object.entries(e)) {
      if (k === 'query') out[k] = fill(v as string, m.queryLength);
      else if (typeof v === 'string') out[k] = fill(v, m.documentLength);
      else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = (v as string[]).map((x) => fill(x, m.documentLength));
    }
    return out as unknown as Example;
  });
}

/** Measures each kind of phase of `plans` once; see the module comment. */
export async function estimateTraining(plans: Plan[], o: { engine?: string; log?: (line: string) => void } = {}): Promise<TrainingEstimate> {
  await initBackend();
  const started = Date.now();
  const phases = new Map<string, PhaseSpec>();
  for (const plan of plans) for (const p of plan.phases) phases.set(p.id + JSON.stringify(p.seed), p);
  const byId = new Map(plans.flatMap((pl) => pl.phases).map((p) => [p.id, p]));
  const measured = new Map<string, { secondsPerStep: number; realTexts: boolean }>();
  const out: PhaseEstimate[] = [];
  let engineName = '';
  for (const p of phases.values()) {
    const root = rootOf(p, byId);
    const { queryLength, documentLength } = phaseLengths(p);
    const kind = JSON.stringify([p.objective, p.setting, p.hyper.batchSize, p.hyper.miniBatch, p.hyper.accumulationSteps, p.hyper.negatives, p.hyper.candidates, queryLength, documentLength, p.prompts, root.init, p.dim]);
    let m = measured.get(kind);
    if (!m) {
      const config = measuringConfig(p, root);
      const engine = chooseEngine(config, o.engine);
      engineName = engine;
      const realTexts = p.data.length > 0 && p.data.every((f) => fs.existsSync(f));
      const batches: Example[][] = [];
      if (realTexts) {
        const { sources, sampler } = loadData(config);
        for (const step of [0, 1, 2]) batches.push(sampler.batchAt(step).items.map((it) => sources[it.source][it.index]));
      } else {
        const pool = longExamples(config, config.batchSize * 3);
        for (const step of [0, 1, 2]) batches.push(pool.slice(step * config.batchSize, (step + 1) * config.batchSize));
      }
      const t = new LocalTransport();
      const e = await createEngine(config, t, engine);
      try {
        // The training loop's own update (threads included), at a rate that leaves the weights as they are.
        const still: TrainConfig = { ...config, optimizer: { ...config.optimizer, lr: 1e-12, schedule: 'constant' } };
        const optimiser = createOptimiser(still, e, batches.length);
        let seconds = 0;
        try {
          for (const [step, batch] of batches.entries()) {
            const t0 = Date.now();
            const r = await stepGradients(still, e, batch, t, step, optimiser.gradBuffer);
            await applyUpdate(still, e, optimiser, r.grads, step);
            if (step > 0) seconds += (Date.now() - t0) / 1000; // step 0 warms up (graphs, sessions)
          }
        } finally {
          await optimiser.threads.dispose();
        }
        m = { secondsPerStep: seconds / (batches.length - 1), realTexts };
      } finally {
        await e.dispose();
      }
      measured.set(kind, m);
      o.log?.(`  measured ${p.objective} ${p.setting} (batch ${p.hyper.batchSize * (p.hyper.accumulationSteps ?? 1)}, q/d ${queryLength}/${documentLength}${m.realTexts ? '' : ', texts filling the lengths'}): ${m.secondsPerStep.toFixed(2)} s per step on ${engine}`);
    }
    out.push({ id: p.id, secondsPerStep: m.secondsPerStep, seconds: m.secondsPerStep * p.hyper.steps, realTexts: m.realTexts });
  }
  return { engine: engineName, phases: out, seconds: out.reduce((a, x) => a + x.seconds, 0), measuredIn: (Date.now() - started) / 1000 };
}
