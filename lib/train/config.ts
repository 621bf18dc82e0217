/**
 * A training run is ONE JSON file, the same shape for every phase. Unknown keys are errors naming
 * their path (a typo must never silently fall back to a default). See `exampleConfig` in
 * lib/train/examples.ts for complete, runnable configs of every phase.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';
import { readTextFile } from '../util/fs-errors';

const ModuleModel = z.strictObject({
  /** A module exporting a factory that returns a TrainableEncoder (path relative to the config file). */
  type: z.literal('module'),
  module: z.string(),
  export: z.string().default('createEncoder'),
  options: z.record(z.string(), z.unknown()).default({}),
});

const ModernBertModel = z.strictObject({
  type: z.literal('modernbert'),
  /** A checkpoint directory (HF / sentence-transformers / PyLate layout), relative to the config file ... */
  from: z.string().optional(),
  /** ... or a preset architecture ("tiny", "small", "base") with random weights drawn from `initSeed`. */
  preset: z.string().optional(),
  initSeed: z.number().int().default(1),
  /** Preset only: vocabulary size of the built-in tiny WordPiece tokenizer and the embedding table (≥ 1999). */
  vocabSize: z.number().int().min(1999).optional(),
  /** Preset only: embedding, attention and MLP dropout (ModernBERT's presets have 0). */
  dropout: z.number().min(0).lt(1).optional(),
  /** Tokenizer directory (tokenizer.json) when `from` has none. */
  tokenizer: z.string().optional(),
  /** Output dimension of the ColBERT projection (ignored for dense). */
  dim: z.number().int().positive().default(128),
  queryLength: z.number().int().positive().default(32),
  documentLength: z.number().int().positive().default(180),
  /**
   * Prompts prepended to queries and documents (sentence-transformers' `prompts`), stored with the model.
   * Absent: a loaded model keeps its own, a new one has none. `{ "query": "", "document": "" }` removes them.
   */
  prompts: z.strictObject({ query: z.string(), document: z.string() }).optional(),
  /**
   * ColBERT: what a query's unattended [MASK] expansion tokens give (config_sentence_transformers.json's
   * `expansion_tokens`, stored with the model): "scored" (eager attention, ColBERT's query expansion) or
   * "zeroed" (Flash Attention's zeros, the paper's models: they add nothing). Absent: a loaded model keeps
   * its own (a folder without the key: "scored"), a new one is "scored". The paper's phases write "zeroed".
   */
  expansionTokens: z.enum(['scored', 'zeroed']).optional(),
});

const TrainConfigSchema = z.strictObject({
  model: z.discriminatedUnion('type', [ModuleModel, ModernBertModel]),
  head: z.enum(['dense', 'colbert']),
  phase: z.enum(['unsupervised', 'supervised', 'distillation', 'mlm']),
  data: z.strictObject({
    /** JSONL files, one data source each (paths relative to the config file). */
    sources: z.array(z.string()).min(1),
    mixing: z.enum(['proportional', 'round-robin', 'shuffled']).default('proportional'),
    avoidDuplicates: z.boolean().default(true),
  }),
  /** Global batch (all devices, one optimizer step before accumulation). */
  batchSize: z.number().int().positive(),
  /** Rows encoded at once by GradCache (per device). Unset: every row of the device's share at once (no caching). */
  miniBatch: z.number().int().positive().optional(),
  /** Optimizer step every this many batches (gradients averaged). The paper's KD phase uses 2. */
  accumulationSteps: z.number().int().positive().default(1),
  devices: z.number().int().positive().default(1),
  /** The engine that computes the steps: ort (ONNX Runtime) or tfjs; default --engine, else CZ_ENGINE, else ort where it loads. */
  engine: z.enum(['ort', 'tfjs']).optional(),
  /** How devices talk: worker threads with shared memory, or one process each (e.g. one per GPU) over IPC. */
  deviceTransport: z.enum(['threads', 'processes']).default('threads'),
  /**
   * Supervised: hard negatives per query, at most: each source uses min(its fewest negatives on a line, this),
   * as PyLate's released supervised script does (with 10).
   */
  negatives: z.number().int().nonnegative().default(1),
  /**
   * Distillation: candidates per query: longer lines keep their first ones, a shorter line is an error. 32 is
   * PyLate's default (KDProcessing's n_ways), which the released ColBERT-Zero script uses; the paper does not state it.
   */
  candidates: z.number().int().positive().default(32),
  /** Distillation: PyLate's per-query min–max normalisation of student scores. */
  normalizeStudentScores: z.boolean().default(true),
  temperature: z
    .strictObject({ value: z.number().positive(), learnable: z.boolean().default(false) })
    .default({ value: 0.02, learnable: false }),
  mlm: z
    .strictObject({ probability: z.number().gt(0).lt(1).default(0.3), replaceAll: z.boolean().default(false) })
    .default({ probability: 0.3, replaceAll: false }),
  optimizer: z.strictObject({
    lr: z.number().positive(),
    weightDecay: z.number().nonnegative().default(0.01),
    betas: z.tuple([z.number(), z.number()]).default([0.9, 0.999]),
    eps: z.number().positive().default(1e-8),
    clipNorm: z.number().positive().optional(),
    schedule: z.enum(['linear', 'constant']).default('linear'),
    warmupSteps: z.number().int().nonnegative().default(0),
  }),
  /** Length of the run: optimizer steps, or epochs over the data (exactly one of them). */
  steps: z.number().int().positive().optional(),
  epochs: z.number().int().positive().optional(),
  seed: z.number().int().default(0),
  /** Output directory (relative to the config file): log.jsonl, checkpoints/, model/. */
  output: z.string(),
  checkpointEvery: z.number().int().positive().default(100),
  keepCheckpoints: z.number().int().positive().default(2),
  logEvery: z.number().int().positive().default(1),
  /** Retrieval evaluation (NanoBEIR-style, lib/eval) on BEIR folders; results go to eval.jsonl. */
  eval: z
    .strictObject({
      datasets: z.array(z.strictObject({ dir: z.string(), split: z.string().default('test'), name: z.string().optional() })).min(1),
      /** Evaluate every this many steps (always after the last step). */
      every: z.number().int().positive().optional(),
      k: z.number().int().positive().default(100),
      measures: z.array(z.string()).optional(),
    })
    .optional(),
});

export type TrainConfig = z.infer<typeof TrainConfigSchema>;

/**
 * GradCache's mini-batch in texts. Unset means no caching: the queries and all their documents (hard
 * negatives, KD candidates) in one pass, which on one device is one graph; the per-device batch would
 * split the documents of a batch with negatives into chunks and cache them for nothing.
 */
export function miniBatchOf(config: TrainConfig): number {
  return config.miniBatch ?? Number.MAX_SAFE_INTEGER;
}

/** Validates a parsed config; `where` names the file in error messages. Relative paths stay relative. */
export function parseTrainConfig(raw: unknown, where = 'config'): TrainConfig {
  const r = TrainConfigSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const at = issue.path.join('.');
    if (issue.code === 'unrecognized_keys') {
      const keys = (issue as { keys: string[] }).keys.map((k) => (at ? `${at}.${k}` : k));
      throw new UserError(`${where}: unknown key ${keys.map((k) => `"${k}"`).join(', ')}`);
    }
    throw new UserError(`${where}: ${at ? `"${at}": ` : ''}${issue.message}`);
  }
  const c = r.data;
  const fail = (msg: string) => {
    throw new UserError(`${where}: ${msg}`);
  };
  if ((c.steps === undefined) === (c.epochs === undefined)) fail('give exactly one of "steps" and "epochs"');
  if (c.batchSize % (c.devices * c.accumulationSteps) !== 0) fail(`"batchSize" ${c.batchSize} must be divisible by devices × accumulationSteps (${c.devices * c.accumulationSteps})`);
  if (c.phase === 'mlm' && c.model.type !== 'modernbert') fail('phase "mlm" needs model.type "modernbert" (it trains the masked-LM head)');
  if (c.model.type === 'modernbert' && !c.model.from === !c.model.preset) fail('model: give exactly one of "from" and "preset"');
  return c;
}

/** Reads and validates a config file; relative paths in it are resolved against its directory. */
export function loadTrainConfig(file: string): TrainConfig {
  if (!fs.existsSync(file)) throw new UserError(`${file}: config file not found`);
  const text = readTextFile(file, 'a JSON run config');
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  return resolvePaths(parseTrainConfig(raw, file), path.dirname(path.resolve(file)));
}

/** Makes every path in the config absolute against `base`. */
export function resolvePaths(c: TrainConfig, base: string): TrainConfig {
  const abs = (p: string) => path.resolve(base, p);
  const model =
    c.model.type === 'module'
      ? { ...c.model, module: abs(c.model.module) }
      : { ...c.model, from: c.model.from && abs(c.model.from), tokenizer: c.model.tokenizer && abs(c.model.tokenizer) };
  const ev = c.eval && { ...c.eval, datasets: c.eval.datasets.map((d) => ({ ...d, dir: abs(d.dir) })) };
  return { ...c, model, data: { ...c.data, sources: c.data.sources.map(abs) }, output: abs(c.output), ...(ev ? { eval: ev } : {}) };
}
