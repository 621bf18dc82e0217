/**
 * Presets of the main job (`colbert-zero reproduce --preset NAME`): how big a model, how many steps, which
 * data, which seeds and which parts of the grid. Every preset runs the same pipelines (lib/pipelines/
 * plan.ts); only the scale changes.
 *
 *   smoke  about half a minute: the synthetic world (lib/data/synthetic.ts), a tiny model — CI and quick checks
 *   demo   the default: WordNet-derived data, a tiny model, one seed
 *   study  the small-scale grid (ablations) over several seeds: resumable; its dry run measures the cost first
 *   paper  Table 1's settings on the real data: validated and printed as a plan here (dry run)
 *
 * Three facts where the paper's text and its released script differ are options, recorded in every result:
 * the unsupervised temperature (Table 1: 0.2; PyLate's ColBERT-Zero script: 0.02), the "+Length"
 * amount (the text: both prompts are 7 tokens, +7; the ModernBERT tokenizer gives 4 tokens for
 * "search_query: " and for "search_document: ") — both default to the paper's text — and the paper
 * preset's learning rates (Table 1 gives only a sweep range per phase; the default is the value of PyLate's
 * released script, the geometric middle of the range an option).
 */
import { UserError } from '../util/errors';
import { trainingSettings } from '../paper/training';
import { PROMPT_EXTRA_LENGTH } from '../paper/prompts';
import type { Objective, PhaseHyper } from './phase';
import type { PipelineName, PlanScale } from './plan';

export type PresetName = 'smoke' | 'demo' | 'study' | 'paper';
export type DataSource = 'synthetic' | 'wordnet' | 'paper';

export interface Preset {
  name: PresetName;
  description: string;
  data: DataSource;
  scale: PlanScale;
  seeds: number[];
  pipelines: PipelineName[];
  /** Run the ablation grid of (a), (b) and (c): none, the paper's rows (Table 4), or every combination. */
  ablations: 'none' | 'paper-rows' | 'full';
  /** Trains nothing: validates and prints the plan (for where the data and accelerators are). */
  dryRun: boolean;
  /** Evaluate each phase on the validation set when it ends (its eval.jsonl). */
  validateEachPhase: boolean;
}

/** The options where the paper's text and its released script differ. */
export interface FactChoices {
  /** Unsupervised contrastive temperature: Table 1 (0.2) or PyLate's script (0.02). */
  unsupervisedTemperature: 'paper' | 'script';
  /** The "+Length" amount: the paper's 7, or the prompts' measured 4 tokens (ModernBERT tokenizer). */
  promptLength: 'paper' | 'tokenizer';
  /**
   * The paper preset's learning rates: PyLate's released scripts' (default) or the geometric middle of
   * Table 1's sweep range per phase. Other presets keep their own.
   */
  learningRates?: LearningRateChoice;
}

export type LearningRateChoice = 'script' | 'sweep-middle';
export type PaperPhase = 'unsupervised' | 'supervised' | 'kd';

/**
 * The learning rate of each phase in PyLate's released script (lightonai/pylate,
 * examples/train/ColBERT-zero/{unsupervised,supervised,distillation}.py: the default of --lr). Table 1
 * prints only the range each was swept in (10 values, chosen on NanoBEIR).
 */
const RELEASED_LEARNING_RATES: Record<PaperPhase, number> = { unsupervised: 3e-4, supervised: 8e-6, kd: 4e-6 };

/** Where a paper-preset learning rate comes from, for the notes and the exported scripts. */
export const LEARNING_RATE_SOURCES: Record<LearningRateChoice, string> = {
  script: "PyLate's released script",
  'sweep-middle': "the geometric middle of Table 1's sweep range",
};

/** The 10 values Table 1 sweeps a phase's learning rate over (log-spaced in its range, high to low). */
export function paperLearningRateSweep(phase: PaperPhase): number[] {
  const s = trainingSettings().find((x) => x.phase === phase)!;
  const [hi, lo] = s.lrRange;
  return Array.from({ length: s.lrValues }, (_, i) => Math.exp(Math.log(hi) + ((Math.log(lo) - Math.log(hi)) * i) / (s.lrValues - 1)));
}

/** The paper preset's learning rate of a phase under a choice. */
function paperLearningRate(phase: PaperPhase, choice: LearningRateChoice = 'script'): number {
  if (choice === 'script') return RELEASED_LEARNING_RATES[phase];
  const [hi, lo] = trainingSettings().find((x) => x.phase === phase)!.lrRange;
  return Math.sqrt(hi * lo);
}

export const PAPER_FACTS: FactChoices = { unsupervisedTemperature: 'paper', promptLength: 'paper' };
const TEMPERATURES = { paper: 0.2, script: 0.02 } as const;
const PROMPT_LENGTHS = { paper: PROMPT_EXTRA_LENGTH, tokenizer: 4 } as const;
/** Hard negatives per query of the paper preset: the cap of PyLate's released supervised script. */
const PAPER_SUPERVISED_NEGATIVES = 10;

function hyper(h: Record<Objective, Omit<PhaseHyper, 'queryLength' | 'documentLength'> & Partial<PhaseHyper>>, q: number, d: number): Record<Objective, PhaseHyper> {
  const out = {} as Record<Objective, PhaseHyper>;
  for (const [k, v] of Object.entries(h) as Array<[Objective, Partial<PhaseHyper>]>) out[k] = { ...v, queryLength: v.queryLength ?? q, documentLength: v.documentLength ?? d } as PhaseHyper;
  return out;
}

export const PRESETS: Record<PresetName, Preset> = {
  smoke: {
    name: 'smoke',
    description: 'about half a minute on 2 cores: the synthetic world, a tiny ModernBERT (2 layers, hidden 64), 20 steps per phase, one seed',
    data: 'synthetic',
    scale: {
      backbone: { preset: 'tiny', vocabSize: 4096 },
      dim: 32,
      hyper: hyper(
        {
          mlm: { batchSize: 32, miniBatch: 16, steps: 20, lr: 1e-3, warmupSteps: 2 },
          unsupervised: { batchSize: 64, miniBatch: 32, steps: 20, lr: 3e-4, warmupSteps: 2, temperature: TEMPERATURES.paper },
          supervised: { batchSize: 16, miniBatch: 16, steps: 20, lr: 2e-4, warmupSteps: 2, temperature: 0.05, negatives: 3 },
          distillation: { batchSize: 16, steps: 20, lr: 3e-4, warmupSteps: 2, candidates: 8, accumulationSteps: 2 },
        },
        16,
        32,
      ),
    },
    seeds: [0],
    pipelines: ['a', 'b', 'c'],
    ablations: 'none',
    dryRun: false,
    validateEachPhase: true,
  },
  demo: {
    name: 'demo',
    description: 'the default main job: WordNet-derived data (offline), a tiny ModernBERT (2 layers, hidden 64), 100 steps per phase, one seed',
    data: 'wordnet',
    scale: {
      backbone: { preset: 'tiny', vocabSize: 8192 },
      dim: 64,
      hyper: hyper(
        {
          mlm: { batchSize: 32, steps: 100, lr: 1e-3, warmupSteps: 10 },
          unsupervised: { batchSize: 64, steps: 100, lr: 5e-4, warmupSteps: 10, temperature: TEMPERATURES.paper },
          // Table 1's supervised temperature. Measured on this demo (seed 0): 0.2 gave (c) 30.75, (b) 21.91, (a) 14.31
          // against 28.14, 21.83, 15.01 with 0.05 (the README's "What the demo gave" lists both).
          supervised: { batchSize: 16, steps: 100, lr: 3e-4, warmupSteps: 10, temperature: 0.2, negatives: 3 },
          distillation: { batchSize: 16, steps: 100, lr: 3e-4, warmupSteps: 10, candidates: 8, accumulationSteps: 2 },
        },
        32,
        64,
      ),
    },
    seeds: [0],
    pipelines: ['a', 'b', 'c'],
    ablations: 'none',
    dryRun: false,
    validateEachPhase: false,
  },
  study: {
    name: 'study',
    description: 'the small-scale grid: demo-sized models, the paper\'s ablation rows, 3 seeds (hours; resumable, nothing trained twice)',
    data: 'wordnet',
    scale: undefined as unknown as PlanScale, // filled below from demo
    seeds: [0, 1, 2],
    pipelines: ['a', 'b', 'c'],
    ablations: 'paper-rows',
    dryRun: false,
    validateEachPhase: false,
  },
  paper: {
    name: 'paper',
    description: "Table 1's settings on the real data (ModernBERT-base; the Nomic mixtures, ms-marco-en-bge-gemma, BEIR), the learning rates of PyLate's released scripts: printed as a plan with the data it needs and GPU-hours per phase",
    data: 'paper',
    scale: undefined as unknown as PlanScale, // from Table 1, below
    seeds: [0],
    pipelines: ['a', 'b', 'c'],
    ablations: 'paper-rows',
    dryRun: true,
    validateEachPhase: false,
  },
};
PRESETS.study.scale = PRESETS.demo.scale;
PRESETS.paper.scale = paperScale();

/**
 * Table 1 as a scale (results/paper/table-1.json through lib/paper/training.ts): batch sizes (KD: 64 × 2
 * accumulation), temperatures, lengths (Table 1's include the 7 prompt tokens: the base lengths here are
 * 7 less, "+Length" adds them back). Learning rates: PyLate's released script's by default (3e-4, 8e-6,
 * 4e-6), or the geometric middle of each of Table 1's sweep ranges. Supervised hard negatives: PyLate's
 * released script keeps min(10, the fewest in the split) per split — 10 here, the training data readers
 * lower it per source (its loop writes columns negative_0 … negative_10, so a split whose lines all have
 * more than 10 gets 11; 10 is the script's stated min(…, 10)). Distillation candidates: 32, PyLate's
 * KDProcessing default (n_ways), which the paper does not state. One epoch of each dataset is a step count
 * only the data knows; the plan shows 1 step per phase.
 */
export function paperScale(learningRates: LearningRateChoice = 'script'): PlanScale {
  const t = new Map(trainingSettings().map((s) => [s.phase, s]));
  const get = (p: PaperPhase) => t.get(p)!;
  const lr = (p: PaperPhase) => paperLearningRate(p, learningRates);
  const base = (p: 'unsupervised' | 'supervised' | 'kd') => ({ queryLength: get(p).queryLength - PROMPT_EXTRA_LENGTH, documentLength: get(p).documentLength - PROMPT_EXTRA_LENGTH });
  const kd = get('kd');
  return {
    backbone: { preset: 'base' },
    dim: 128,
    hyper: {
      // ModernBERT-base's own MLM pre-training is not redone: the paper starts from the released model.
      mlm: { batchSize: 4096, steps: 1, lr: 8e-4, queryLength: 32, documentLength: 1024 },
      // lr: PyLate's released script (unsupervised.py 3e-4, supervised.py 8e-6, distillation.py 4e-6), or
      // --learning-rates sweep-middle: the geometric middle of Table 1's range (paperLearningRateSweep: its 10 values).
      unsupervised: { batchSize: get('unsupervised').batchSize, miniBatch: 256, steps: 1, lr: lr('unsupervised'), temperature: get('unsupervised').temperature!, ...base('unsupervised') },
      supervised: { batchSize: get('supervised').batchSize, miniBatch: 64, steps: 1, lr: lr('supervised'), temperature: get('supervised').temperature!, negatives: PAPER_SUPERVISED_NEGATIVES, ...base('supervised') },
      distillation: { batchSize: kd.batchSize / kd.gradientAccumulation, accumulationSteps: kd.gradientAccumulation, steps: 1, lr: lr('kd'), candidates: 32, ...base('kd') },
    },
  };
}

/** A preset's scale before the fact choices: the paper preset's with its learning-rate choice. */
export function presetScale(preset: Preset, facts: FactChoices): PlanScale {
  return preset.name === 'paper' && (facts.learningRates ?? 'script') !== 'script' ? paperScale(facts.learningRates) : preset.scale;
}

/** Table 1's GPU-hours of a phase's objective (MLM: none, the paper starts from ModernBERT-base). */
export function paperGpuHours(objective: Objective): { hours: number; gpus: number; gpu: string } | null {
  const name = objective === 'distillation' ? 'kd' : objective;
  if (name === 'mlm') return null;
  const s = trainingSettings().find((x) => x.phase === name)!;
  return { hours: s.gpuHours, gpus: s.gpus, gpu: s.gpu };
}

export function presetNamed(name: string): Preset {
  if (!(name in PRESETS)) throw new UserError(`unknown preset "${name}" (${Object.keys(PRESETS).join(', ')})`);
  return PRESETS[name as PresetName];
}

/** The scale with the fact choices applied (unsupervised temperature, "+Length" amount). */
export function withFacts(scale: PlanScale, facts: FactChoices): PlanScale {
  const unsup = { ...scale.hyper.unsupervised, temperature: TEMPERATURES[facts.unsupervisedTemperature] };
  return { ...scale, hyper: { ...scale.hyper, unsupervised: unsup }, lengthExtra: PROMPT_LENGTHS[facts.promptLength] };
}

/** The lines every result of a run records about those choices (the learning rates: the paper preset's). */
export function factNotes(facts: FactChoices, preset?: PresetName): string[] {
  const lrs = facts.learningRates ?? 'script';
  const lrNote =
    preset === 'paper'
      ? [
          `learning rates ${(['unsupervised', 'supervised', 'kd'] as const).map((p) => `${p} ${paperLearningRate(p, lrs).toExponential(2)}`).join(', ')} (${LEARNING_RATE_SOURCES[lrs]}; ${lrs === 'script' ? "Table 1 gives only the range each was swept in, 10 values chosen on NanoBEIR" : "PyLate's released scripts use 3e-4, 8e-6 and 4e-6"})`,
        ]
      : [];
  return [
    `unsupervised temperature ${TEMPERATURES[facts.unsupervisedTemperature]} (${facts.unsupervisedTemperature === 'paper' ? "Table 1's value; PyLate's released ColBERT-Zero script uses 0.02" : "PyLate's released ColBERT-Zero script; Table 1 says 0.2"})`,
    `"+Length" adds ${PROMPT_LENGTHS[facts.promptLength]} tokens (${facts.promptLength === 'paper' ? 'the paper says both prompts are 7 tokens; the ModernBERT tokenizer gives 4 for "search_query: " and "search_document: "' : 'the prompts\' length with the ModernBERT tokenizer; the paper says 7'})`,
    ...lrNote,
  ];
}
