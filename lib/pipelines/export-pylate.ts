/**
 * The paper's pipelines on PyTorch's distributed engine: from the same phase specs as `reproduce`
 * (lib/pipelines/plan.ts, at a preset's scale — Table 1's by default), one PyLate /
 * sentence-transformers training script per phase, a `launch.sh` with the `torchrun` commands in order,
 * a README for the data each script expects, and a manifest.
 *
 *   await exportPylate({ pipeline: 'c', out: 'export/c' });
 *
 * Every setting comes from the PhaseSpec: prompts, query/document lengths (with "+Length"), temperature
 * (PyLate's `temperature`, sentence-transformers' `scale = 1 / temperature`), the global batch split over
 * nodes × GPUs with GradCache's mini-batch per device, embeddings gathered across devices, accumulation,
 * single-source (proportional) batches, learning rate and warm-up, the step count (or one epoch at the
 * paper's scale), and the parent phase's final model as the starting checkpoint.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { readJsonFile } from '../util/json';
import { checkOutput, writeOutputDir } from '../util/output';
import { buildPlan, MAIN_SETTING, PIPELINES, type Ablation, type PipelineName } from './plan';
import { orderPhases, phaseExpansionTokens, phaseKey, phaseLengths, type PhaseSpec } from './phase';
import { attnImplementationFor, type ExpansionTokens } from '../tokenize/colbert-config';
import { COLBERT_ZERO_PROMPTS } from '../paper/prompts';
import { factNotes, paperLearningRateSweep, presetNamed, presetScale, withFacts, LEARNING_RATE_SOURCES, PAPER_FACTS, type FactChoices, type PaperPhase } from './presets';
import { phaseScript } from './pylate-scripts';

const EXPORT_FORMAT = 'colbert-zero-pylate-export';

/** The Python packages of the scripts: pylate and sentence-transformers at the versions they were checked with. */
const REQUIREMENTS = [
  '# The exported scripts\' packages: pip install -r requirements.txt',
  'pylate==1.6.0',
  'sentence-transformers==5.3.0',
  'transformers',
  'torch',
  'datasets',
  '',
].join('\n');
const EXPORT_VERSION = 1;

/** The paper's starting checkpoint: ModernBERT-base's own MLM pre-training is not redone at Table 1's scale. */
const PAPER_BACKBONE = 'answerdotai/ModernBERT-base';

/** Table 1's caption: unsupervised on 8 nodes, supervised and KD on 1 node (4 GPUs per node). */
const PAPER_NODES: Record<PhaseSpec['objective'], number> = { mlm: 1, unsupervised: 8, supervised: 1, distillation: 1 };

/** The data each objective reads, as its manifest id (the paper's datasets) and its JSONL line. */
export const EXPORT_DATA: Record<PhaseSpec['objective'], { id: string; manifest: string | null; layout: string; folder: string }> = {
  mlm: { id: '(any text; the paper starts from answerdotai/ModernBERT-base instead)', manifest: null, layout: '{"text": str}', folder: 'mlm' },
  unsupervised: { id: 'nomic-ai/nomic-embed-unsupervised-data', manifest: 'nomic-embed-unsupervised-data', layout: '{"query": str, "document": str}', folder: 'unsupervised' },
  supervised: { id: 'nomic-ai/nomic-embed-supervised', manifest: 'nomic-embed-supervised', layout: '{"query": str, "positive": str, "negatives": [str, ...]}', folder: 'supervised' },
  distillation: { id: 'lightonai/ms-marco-en-bge-gemma', manifest: 'ms-marco-en-bge-gemma', layout: '{"query": str, "documents": [str, ...], "scores": [num, ...]}', folder: 'distillation' },
};

/**
 * How often PyLate's released ColBERT-Zero scripts evaluate on NanoBEIR (eval_steps: unsupervised 500,
 * supervised 1500, distillation int(1500 × 16 / 128) = 187); the paper chose learning rate and temperature on it.
 */
const RELEASED_EVAL_STEPS: Record<PhaseSpec['objective'], number | null> = { mlm: null, unsupervised: 500, supervised: 1500, distillation: 187 };

const PAPER_PHASE: Record<PhaseSpec['objective'], PaperPhase | null> = { mlm: null, unsupervised: 'unsupervised', supervised: 'supervised', distillation: 'kd' };

/**
 * The dense checkpoints Nomic released, which the paper used instead of training those phases: the Hub id
 * and the colbert-zero manifest (data-manifests/) whose `data fetch` puts a copy in the data cache.
 */
const NOMIC_DENSE: Record<string, { hub: string; manifest: string }> = {
  'unsupervised-dense': { hub: 'nomic-ai/modernbert-embed-base-unsupervised', manifest: 'modernbert-embed-base-unsupervised' },
  'supervised-dense': { hub: 'nomic-ai/modernbert-embed-base', manifest: 'modernbert-embed-base' },
};

export interface ExportOptions {
  pipeline: PipelineName;
  /** (c)'s prompt / length switches (Tables 3–5); default: the main setting. Pipeline c only. */
  ablation?: Ablation;
  /** Preset whose scale the scripts take (default: paper, Table 1). */
  preset?: string;
  facts?: FactChoices;
  /** GPUs per node (default 4, as in the paper). */
  devicesPerNode?: number;
  out: string;
  /** Replace a previous export in `out` (recognised by its manifest); a user's other files stay. */
  overwrite?: boolean;
  seed?: number;
  /**
   * ColBERT phases' expansion tokens (default: the paper's, "zeroed"): the scripts pin
   * attn_implementation "flash_attention_2" (needs flash-attn and a CUDA GPU) for "zeroed", "eager" for
   * "scored" (runs anywhere, CPU included), and record the setting in the saved model.
   */
  expansionTokens?: ExpansionTokens;
}

export interface ExportedPhase {
  file: string;
  id: string;
  key: string;
  objective: PhaseSpec['objective'];
  setting: PhaseSpec['setting'];
  /** The phase this one starts from (its file), or null for the first phase. */
  parent: string | null;
  defaultInit: string;
  nodes: number;
  devicesPerNode: number;
  perDeviceBatch: number;
  settings: Record<string, unknown>;
}

export interface ExportManifest {
  format: typeof EXPORT_FORMAT;
  version: number;
  pipeline: PipelineName;
  description: string;
  ablation: Ablation;
  preset: string;
  notes: string[];
  devicesPerNode: number;
  phases: ExportedPhase[];
  files: string[];
}

/** `u1-p1l1-p0l0`: unsupervised prompts; supervised prompts and +Length; KD prompts and +Length. */
export function parseAblation(text: string): Ablation {
  const m = /^u([01])-p([01])l([01])-p([01])l([01])$/.exec(text.trim());
  if (!m) throw new UserError(`--ablation ${text}: expected uP-pPlL-pPlL with 0/1 digits (unsupervised prompts; supervised prompts, +Length; KD prompts, +Length), e.g. u1-p1l1-p1l1`);
  const b = (i: number) => m[i] === '1';
  return { unsupervisedPrompts: b(1), supervisedPrompts: b(2), supervisedLength: b(3), kdPrompts: b(4), kdLength: b(5) };
}

function formatAblation(a: Ablation): string {
  const b = (x: boolean) => (x ? '1' : '0');
  return `u${b(a.unsupervisedPrompts)}-p${b(a.supervisedPrompts)}l${b(a.supervisedLength)}-p${b(a.kdPrompts)}l${b(a.kdLength)}`;
}

function fileName(index: number, id: string): string {
  return `${String(index + 1).padStart(2, '0')}-${id.replace(/[^A-Za-z0-9_.-]+/g, '_')}.py`;
}

/** The phases of one pipeline's chain, ordered, with their settings and scripts (nothing written). */
export function planPylateExport(o: Omit<ExportOptions, 'out' | 'overwrite'>): { manifest: Omit<ExportManifest, 'files'>; files: Map<string, string> } {
  if (!(o.pipeline in PIPELINES)) throw new UserError(`unknown pipeline "${o.pipeline}" (a, b or c)`);
  const preset = presetNamed(o.preset ?? 'paper');
  const facts = o.facts ?? PAPER_FACTS;
  const devices = o.devicesPerNode ?? 4;
  if (!Number.isInteger(devices) || devices < 1) throw new UserError(`--devices-per-node ${devices}: expected a positive integer`);
  const paperScale = preset.name === 'paper';
  const ablation = o.ablation ?? MAIN_SETTING;
  const scale = withFacts(presetScale(preset, facts), facts);
  // Table 4's rows of every pipeline: (a) varies the KD switches, (b) and (c) the fine-tuning ones too
  // (buildPlan refuses the switches a pipeline does not train).
  const plan = buildPlan(scale, { mlm: [], unsupervised: [], supervised: [], distillation: [] }, { seed: o.seed ?? preset.seeds[0], pipelines: [o.pipeline], ablations: o.ablation ? [{ pipeline: o.pipeline, ablation }] : [] });
  const byId = new Map(plan.phases.map((p) => [p.id, p]));
  // The pipeline's last model: the KD phase of the ablation's switches (the main setting's without one).
  const final = plan.finals.filter((f) => f.pipeline === o.pipeline && byId.get(f.phase)?.objective === 'distillation' && JSON.stringify(f.ablation) === JSON.stringify(ablation)).pop();
  if (!final) throw new Error(`pipeline ${o.pipeline}: no final model in the plan`);
  // The final's chain of ancestors, parent first.
  const chain: PhaseSpec[] = [];
  for (let p: PhaseSpec | undefined = byId.get(final.phase); p; p = 'parent' in p.init ? byId.get(p.init.parent) : undefined) chain.unshift(p);
  const ordered = orderPhases(chain).filter((p) => !(paperScale && p.objective === 'mlm'));

  const keys = new Map<string, string>();
  const sums = new Map<string, string>();
  if (o.expansionTokens) for (const p of chain) p.expansionTokens = o.expansionTokens;
  for (const p of orderPhases(chain)) keys.set(p.id, phaseKey({ ...p, data: [] }, 'parent' in p.init ? (keys.get(p.init.parent) ?? null) : null, sums));

  const files = new Map<string, string>();
  const phases: ExportedPhase[] = [];
  const fileOf = new Map<string, string>();
  for (const [i, spec] of ordered.entries()) {
    const file = fileName(i, spec.id);
    fileOf.set(spec.id, file);
    const parentId = 'parent' in spec.init ? spec.init.parent : null;
    const parentFile = parentId ? (fileOf.get(parentId) ?? null) : null;
    const release = paperScale && parentId && NOMIC_DENSE[parentId] && !NOMIC_DENSE[spec.id] ? NOMIC_DENSE[parentId] : null;
    const parentFinal = parentFile ? `$RUNS/${parentFile.replace(/\.py$/, '')}/final` : null;
    const defaultInit = release
      ? `$CZ_DATA_DIR/${release.manifest} (Nomic's released ${release.hub}, as the paper; with TRAIN_DENSE=1: ${parentFinal})`
      : (parentFinal ?? (paperScale ? PAPER_BACKBONE : '$INIT_01 (a ModernBERT masked-LM folder: colbert-zero init-model --head mlm)'));
    const nodes = paperScale ? PAPER_NODES[spec.objective] : 1;
    const world = nodes * devices;
    const h = spec.hyper;
    if (h.batchSize % world !== 0) throw new UserError(`phase ${spec.id}: batch size ${h.batchSize} does not split over ${nodes} node(s) × ${devices} GPU(s); choose --devices-per-node so it divides`);
    const perDevice = h.batchSize / world;
    const lengths = phaseLengths(spec);
    const contrastive = spec.objective === 'unsupervised' || spec.objective === 'supervised';
    const settings: Record<string, unknown> = {
      id: spec.id,
      description: `${spec.id}: ${spec.objective} phase, ${spec.setting} setting, of pipeline (${o.pipeline}) ${PIPELINES[o.pipeline]}; preset ${preset.name}`,
      objective: spec.objective,
      setting: spec.objective === 'mlm' ? 'mlm' : spec.setting,
      key: keys.get(spec.id),
      dataset: EXPORT_DATA[spec.objective].id,
      dataLayout: EXPORT_DATA[spec.objective].layout,
      defaultInit,
      prompts: spec.objective !== 'mlm' && spec.prompts ? { ...COLBERT_ZERO_PROMPTS } : null,
      extraLength: spec.extraLength,
      queryLength: lengths.queryLength,
      documentLength: lengths.documentLength,
      dim: spec.dim,
      ...expansionSettings(spec),
      temperature: contrastive ? (h.temperature ?? 1) : null,
      batchSize: h.batchSize,
      nodes,
      devicesPerNode: devices,
      perDeviceBatch: perDevice,
      miniBatch: contrastive && h.miniBatch ? Math.min(h.miniBatch, perDevice) : null,
      gatherAcrossDevices: contrastive,
      accumulationSteps: h.accumulationSteps ?? 1,
      negatives: spec.objective === 'supervised' ? (h.negatives ?? 1) : null,
      candidates: spec.objective === 'distillation' ? (h.candidates ?? 32) : null,
      normalizeScores: true,
      maskProbability: 0.3,
      avoidDuplicates: contrastive,
      singleSourceBatches: true,
      lr: h.lr,
      lrSource: paperScale && PAPER_PHASE[spec.objective] ? LEARNING_RATE_SOURCES[facts.learningRates ?? 'script'] : `the ${preset.name} preset's`,
      // Table 1's 10 values for the phase (log-spaced, high to low): the sweep the paper ran, one run each with --lr.
      lrSweep: paperScale && PAPER_PHASE[spec.objective] ? paperLearningRateSweep(PAPER_PHASE[spec.objective]!).map((x) => Number(x.toPrecision(3))) : null,
      evalSteps: paperScale ? RELEASED_EVAL_STEPS[spec.objective] : null,
      warmupSteps: h.warmupSteps ?? 0,
      weightDecay: 0.01,
      maxGradNorm: 1,
      steps: paperScale ? null : h.steps,
      seed: spec.seed,
    };
    const header = [
      `${file}: ${settings.description}.`,
      `Written by colbert-zero export-pylate from the phase's settings (PHASE below); run it through launch.sh or`,
      `  torchrun --nnodes ${nodes} --nproc_per_node ${devices} ${file} --data FILE.jsonl ... --init CHECKPOINT --output RUN_DIR`,
      `Global batch ${h.batchSize} = ${nodes} node(s) x ${devices} GPU(s) x ${perDevice} per device${settings.miniBatch ? `, GradCache mini-batch ${settings.miniBatch}` : ''}.`,
    ];
    files.set(file, phaseScript({ header, settings, objective: spec.objective, setting: spec.setting }));
    phases.push({ file, id: spec.id, key: keys.get(spec.id)!, objective: spec.objective, setting: spec.setting, parent: parentFile, defaultInit, nodes, devicesPerNode: devices, perDeviceBatch: perDevice, settings });
  }
  const notes = factNotes(facts, preset.name);
  if (paperScale) {
    notes.push(`the scripts run one epoch per phase (Section 2); --lr sets another learning rate (each script's PHASE lists Table 1's 10 values for its phase as lrSweep)`);
    notes.push(`the ColBERT and dense phases evaluate on NanoBEIR every ${[...new Set(phases.map((p) => p.settings.evalSteps).filter((x) => x))].join(' / ')} steps as PyLate's released scripts do (the paper chose learning rate and temperature on it; --eval-steps 0 turns it off)`);
  }
  const manifest = { format: EXPORT_FORMAT, version: EXPORT_VERSION, pipeline: o.pipeline, description: PIPELINES[o.pipeline], ablation, preset: preset.name, notes, devicesPerNode: devices, phases } as const;
  files.set('launch.sh', launchScript(manifest.phases, paperScale));
  files.set('README.md', readme({ ...manifest, phases }, paperScale));
  files.set('requirements.txt', REQUIREMENTS);
  return { manifest: { ...manifest, phases }, files };
}

/** A ColBERT phase's expansion-token setting and the attention implementation that gives it in PyLate (none for dense and MLM phases). */
function expansionSettings(spec: PhaseSpec): Record<string, string> {
  const e = phaseExpansionTokens(spec);
  return e ? { expansionTokens: e, attnImplementation: attnImplementationFor(e) } : {};
}

/**
 * At the paper's scale, pipelines (a) and (b) start from Nomic's released dense checkpoint as the paper did:
 * the dense phases are skipped unless TRAIN_DENSE=1, and the phase after them starts from the release's
 * copy in the colbert-zero data cache. The index of that phase and the release, or null.
 */
function releaseStart(phases: ExportedPhase[], paperScale: boolean): { index: number; release: { hub: string; manifest: string } } | null {
  const dense = phases.filter((p) => NOMIC_DENSE[p.id]);
  if (!paperScale || dense.length === 0) return null;
  const last = phases.indexOf(dense[dense.length - 1]);
  if (last + 1 >= phases.length) return null;
  return { index: last + 1, release: NOMIC_DENSE[dense[dense.length - 1].id] };
}

function launchScript(phases: ExportedPhase[], paperScale: boolean): string {
  const start = releaseStart(phases, paperScale);
  const nn = (i: number) => String(i + 1).padStart(2, '0');
  const releaseBlock = start
    ? [
        '',
        `# The paper did not train the dense phase(s) of this pipeline: it started phase ${nn(start.index)} from Nomic's released`,
        `# ${start.release.hub}. By default phase ${nn(start.index)} starts from the copy that \`colbert-zero data fetch ${start.release.manifest}\``,
        '# puts in the colbert-zero data cache (CZ_DATA_DIR, default $XDG_CACHE_HOME/colbert-zero or ~/.cache/colbert-zero);',
        `# TRAIN_DENSE=1 trains the dense phase(s) here and starts phase ${nn(start.index)} from their model; INIT_${nn(start.index)} names another start.`,
        'TRAIN_DENSE="${TRAIN_DENSE:-0}"',
        'CZ_DATA_DIR="${CZ_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/colbert-zero}"',
        `RELEASE_${nn(start.index)}=""`,
        `if [ -z "\${INIT_${nn(start.index)}:-}" ] && [ "$TRAIN_DENSE" != 1 ]; then INIT_${nn(start.index)}="$CZ_DATA_DIR/${start.release.manifest}"; RELEASE_${nn(start.index)}=${start.release.manifest}; fi`,
      ]
    : [];
  const lines = [
    '#!/usr/bin/env bash',
    '# Trains the exported phases in order with torchrun (written by colbert-zero export-pylate; see README.md).',
    '#   DATA=/path/to/data ./launch.sh            every phase (a phase whose RUNS/<phase>/final exists is skipped)',
    '#   DATA=... ./launch.sh 02 03                 only those phases (numbers or file names)',
    '# Environment: DATA (folder with mlm/, unsupervised/, supervised/, distillation/ of JSONL files),',
    '#   RUNS (default ./runs), GPUS_PER_NODE, NODE_RANK, MASTER_ADDR, MASTER_PORT (multi-node phases: run the',
    '#   same command on every node with its NODE_RANK; a one-node phase without MASTER_PORT uses torchrun',
    '#   --standalone, which takes a free port itself), PYTHON (default python3), INIT_NN (the starting',
    '#   checkpoint of phase NN instead of its parent\'s final model), EXTRA_ARGS (added to every script)' + (start ? ',' : '.'),
    ...(start ? ['#   TRAIN_DENSE=1 (train the dense phases instead of starting from Nomic\'s release, below), CZ_DATA_DIR.'] : []),
    'set -euo pipefail',
    'HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
    'DATA="${DATA:?set DATA to the folder holding the JSONL training files (see README.md)}"',
    'RUNS="${RUNS:-$PWD/runs}"',
    `GPUS_PER_NODE="\${GPUS_PER_NODE:-${phases[0]?.devicesPerNode ?? 4}}"`,
    'NODE_RANK="${NODE_RANK:-0}"',
    'MASTER_ADDR="${MASTER_ADDR:-127.0.0.1}"',
    'MASTER_PORT="${MASTER_PORT:-}"',
    'PYTHON="${PYTHON:-python3}"',
    'read -r -a EXTRA <<< "${EXTRA_ARGS:-}"',
    'ONLY=("$@")',
    ...releaseBlock,
    '',
    'selected() {',
    '  [ ${#ONLY[@]} -eq 0 ] && return 0',
    '  local want',
    '  for want in "${ONLY[@]}"; do',
    '    case "$1" in "$want"|"$want"-*|"$want".py) return 0 ;; esac',
    '  done',
    '  return 1',
    '}',
    '',
    '# phase NAME NODES FOLDER INIT [dense | RELEASE]: a dense phase is trained only with TRAIN_DENSE=1; RELEASE: INIT is',
    '# the copy of that manifest in the colbert-zero data cache',
    'phase() {',
    '  local name="$1" nodes="$2" folder="$3" init="$4" release="${5:-}"',
    '  selected "$name" || return 0',
    '  if [ "$release" = dense ] && [ "${TRAIN_DENSE:-0}" != 1 ]; then echo "$name: not trained: the paper started from Nomic\'s released dense checkpoint (TRAIN_DENSE=1 trains it)" >&2; return 0; fi',
    '  if [ -d "$RUNS/$name/final" ]; then echo "$name: $RUNS/$name/final exists, skipped" >&2; return 0; fi',
    '  if [ -n "$release" ] && [ "$release" != dense ] && [ ! -f "$init/config.json" ]; then echo "$name: starts from Nomic\'s released $release as the paper did, but $init holds no copy: run colbert-zero data fetch $release (or data import $release PATH), set CZ_DATA_DIR to the data cache that has it, INIT_${name%%-*} to a copy, or TRAIN_DENSE=1 to train the dense phases" >&2; exit 1; fi',
    '  if [ -z "$init" ]; then echo "$name: set INIT_${name%%-*} to the starting checkpoint (a ModernBERT masked-LM folder: colbert-zero init-model --config tiny --head mlm --out DIR)" >&2; exit 1; fi',
    '  shopt -s nullglob',
    '  local files=("$DATA/$folder"/*.jsonl)',
    '  shopt -u nullglob',
    '  if [ ${#files[@]} -eq 0 ]; then echo "$name: no JSONL files in $DATA/$folder" >&2; exit 1; fi',
    '  local rdzv=(--node_rank "$NODE_RANK" --master_addr "$MASTER_ADDR" --master_port "${MASTER_PORT:-29500}")',
    '  if [ "$nodes" = 1 ] && [ -z "$MASTER_PORT" ]; then rdzv=(--standalone); fi',
    '  echo "$name: torchrun on $nodes node(s) x $GPUS_PER_NODE GPU(s), from $init" >&2',
    '  "$PYTHON" -m torch.distributed.run --nnodes "$nodes" --nproc_per_node "$GPUS_PER_NODE" "${rdzv[@]}" \\',
    '    "$HERE/$name.py" --data "${files[@]}" --init "$init" --output "$RUNS/$name" "${EXTRA[@]}"',
    '}',
    '',
  ];
  for (const [i, p] of phases.entries()) {
    const name = p.file.replace(/\.py$/, '');
    const nn = String(i + 1).padStart(2, '0');
    const init = p.parent ? `$RUNS/${p.parent.replace(/\.py$/, '')}/final` : paperScale ? PAPER_BACKBONE : '';
    const initExpr = `"\${INIT_${nn}:-${init}}"`;
    const role = start && NOMIC_DENSE[p.id] ? ' dense' : start && i === start.index ? ` "$RELEASE_${nn}"` : '';
    lines.push(`phase ${name} ${p.nodes} ${EXPORT_DATA[p.objective].folder} ${initExpr}${role}`);
  }
  return lines.join('\n') + '\n';
}

function readme(m: Omit<ExportManifest, 'files'>, paperScale: boolean): string {
  const row = (p: ExportedPhase) => {
    const s = p.settings;
    const prompts = s.prompts ? 'on' : 'off';
    const temp = s.temperature === null ? 'n.a.' : String(s.temperature);
    return `| \`${p.file}\` | ${p.objective} | ${p.setting} | ${p.parent ? `\`${p.parent}\`` : p.defaultInit} | ${s.batchSize} (${p.nodes}×${p.devicesPerNode}×${p.perDeviceBatch}${s.miniBatch ? `, mini ${s.miniBatch}` : ''}${(s.accumulationSteps as number) > 1 ? `, accumulation ${s.accumulationSteps}: ${(s.batchSize as number) * (s.accumulationSteps as number)} per update` : ''}) | ${temp} | ${s.queryLength}/${s.documentLength} | ${prompts} | ${(s.lr as number).toExponential(2)} | ${s.steps ?? '1 epoch'} |`;
  };
  const objectives = [...new Set(m.phases.map((p) => p.objective))];
  const nomic = m.phases.filter((p) => NOMIC_DENSE[p.id]);
  return [
    `# Pipeline (${m.pipeline}): ${m.description} — PyLate / sentence-transformers export`,
    '',
    `Preset \`${m.preset}\`, ablation \`${formatAblation(m.ablation)}\` (unsupervised prompts; supervised prompts, +Length; KD prompts, +Length), ${m.devicesPerNode} GPU(s) per node.`,
    'Written by `colbert-zero export-pylate`; `manifest.json` lists every phase with its settings and key.',
    '',
    ...m.notes.map((n) => `- ${n}`),
    '',
    '| script | objective | setting | starts from | global batch (nodes×GPUs×per device) | temperature | query/doc length | prompts | lr | steps |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...m.phases.map(row),
    '',
    'Contrastive phases gather every device\'s embeddings, so each query meets the whole global batch; every',
    'batch comes from one data file (sources drawn in proportion to their size, the same source on every',
    'device: `split_batches`); GradCache (`CachedContrastive` / `CachedMultipleNegativesRankingLoss`) encodes',
    'mini-batches so the per-device batch is not bounded by memory. Distillation splits its batch over devices',
    'and accumulates gradients.',
    '',
    '## Environment',
    '',
    'torch, transformers, sentence-transformers and pylate (written against torch 2.10, transformers 5.3,',
    'sentence-transformers 5.3, pylate 1.6), and `datasets`: `pip install -r requirements.txt` (pylate and',
    'sentence-transformers pinned to the versions the scripts were checked with).',
    '',
    '## Learning rates and NanoBEIR',
    '',
    paperScale
      ? "Each phase's learning rate is that of PyLate's released ColBERT-Zero script for the phase (3e-4 unsupervised, 8e-6 supervised, 4e-6 distillation), unless the export was asked for the middle of Table 1's range (`--learning-rates sweep-middle`). Table 1 gives only the range each was swept in: each script's `PHASE` lists the 10 values as `lrSweep`; `--lr` runs one of them. Like PyLate's released scripts, the ColBERT and dense phases evaluate on NanoBEIR during training (PyLate's `NanoBEIREvaluator`, sentence-transformers' for a dense phase, with the phase's prompts when it has them), every `evalSteps` steps (`--eval-steps N`, 0 turns it off; it downloads the 13 NanoBEIR sets): the paper chose learning rate and temperature on it."
      : "Each phase's learning rate is the preset's (`--lr` sets another). `--eval-steps N` evaluates on NanoBEIR every N steps as PyLate's released scripts do (PyLate's `NanoBEIREvaluator`, sentence-transformers' for a dense phase; it downloads the 13 NanoBEIR sets); off by default below the paper's scale.",
    '',
    ...attentionNotes(m.phases),
    '',
    '## Data',
    '',
    'Each script takes its training files as `--data FILE ...` (JSONL, one example per line, the layout of',
    "colbert-zero's training files, so the small-scale data of `colbert-zero reproduce` works as it is). Each",
    'file is one source. `launch.sh` passes every `*.jsonl` under `$DATA/<folder>`:',
    '',
    '| folder | line | the paper\'s data (Hub id; colbert-zero manifest) |',
    '|---|---|---|',
    ...objectives.map((o) => `| \`${EXPORT_DATA[o].folder}/\` | \`${EXPORT_DATA[o].layout}\` | ${EXPORT_DATA[o].manifest ? `\`${EXPORT_DATA[o].id}\`; \`${EXPORT_DATA[o].manifest}\`` : EXPORT_DATA[o].id} |`),
    '',
    '`colbert-zero data fetch ID` (or `data import ID PATH` for a copy you have) puts the paper\'s datasets in',
    'colbert-zero\'s data cache as the Hub ships them (parquet); `colbert-zero data convert ID --out $DATA/<folder>`',
    'writes the JSONL files the scripts read: one file per split of `nomic-ai/nomic-embed-unsupervised-data` as',
    '`{"query", "document"}`, one per split of `nomic-ai/nomic-embed-supervised` as `{"query", "positive", "negatives"}`',
    '(its `document` column is the positive, `negative` the list), and `lightonai/ms-marco-en-bge-gemma` with its query',
    'and document ids resolved to texts as `{"query", "documents", "scores"}`:',
    '',
    '```sh',
    ...objectives.filter((o) => EXPORT_DATA[o].manifest).map((o) => `colbert-zero data convert ${EXPORT_DATA[o].manifest} --out "$DATA/${EXPORT_DATA[o].folder}"`),
    '```',
    '',
    'As in PyLate\'s released supervised script, each supervised file keeps min(its fewest negatives on a line,',
    'the phase\'s `negatives`) negatives per line, the first ones. Distillation lines keep the first `candidates`',
    '(PyLate\'s `n_ways`); a line with fewer stops the script, naming it (`data convert` prints the fewest of each).',
    '',
    '## Run',
    '',
    '```sh',
    'DATA=/path/to/data RUNS=/path/to/runs ./launch.sh',
    '```',
    '',
    paperScale
      ? `The first phase${nomic.length ? ' (with `TRAIN_DENSE=1`, below)' : ''} starts from \`${PAPER_BACKBONE}\`. Multi-node phases run \`./launch.sh NN\` on every node with \`NODE_RANK\`, \`MASTER_ADDR\` and \`MASTER_PORT\` set, and \`RUNS\` on a file system every node sees.`
      : 'The first phase (masked LM) starts from `INIT_01`, a ModernBERT masked-LM folder such as `colbert-zero init-model --config tiny --head mlm --out DIR` writes.',
    ...(nomic.length ? ['', nomicNote(m.phases, nomic, paperScale)] : []),
    '',
    'Each phase writes trainer checkpoints under `$RUNS/<phase>/` and its final model to `$RUNS/<phase>/final`',
    '(PyLate or sentence-transformers layout, with `colbert-zero-phase.json` recording the settings); the next',
    'phase starts from it. `EXTRA_ARGS="--max-steps 2"` makes a quick check of the whole chain.',
    '',
    '## Back to colbert-zero',
    '',
    'The final folders load here as they are (`loadEncoder(dir)`, or `--model DIR` on the command line); no',
    'import is needed. `colbert-zero data fetch` / `data import` are for the released checkpoints to compare',
    'with (`colbert-zero`, `colbert-zero-supervised`, `colbert-zero-unsupervised`, `modernbert-embed-base`, ...)',
    'and for the evaluation sets (`beir-scifact`, `nanobeir-scifact`, ...):',
    '',
    '```sh',
    'colbert-zero index  --model runs/NN-phase/final --corpus path/to/beir/scifact --out scifact.idx',
    'colbert-zero search --model runs/NN-phase/final --index scifact.idx --queries path/to/beir/scifact --k 100 --out scifact.run',
    'colbert-zero eval-run --qrels path/to/beir/scifact/qrels/test.tsv --run scifact.run --metrics ndcg_cut.10',
    '```',
    '',
  ].join('\n');
}

/**
 * The README's lines on attention (flash-attn): the ColBERT scripts pin `attn_implementation`, since it
 * decides what a query's unattended [MASK] expansion tokens give (paper footnote 3).
 */
function attentionNotes(phases: ExportedPhase[]): string[] {
  const used = [...new Set(phases.map((p) => p.settings.expansionTokens as ExpansionTokens | undefined).filter((e): e is ExpansionTokens => !!e))];
  if (!used.length) return [];
  const lines = [
    'The ColBERT scripts pin the attention implementation, because it decides what a query\'s [MASK] expansion',
    'tokens (not attended: `attend_to_expansion_tokens` false) give, and record the setting in the saved model',
    '(`expansion_tokens` in config_sentence_transformers.json, which colbert-zero reads):',
    '',
  ];
  if (used.includes('zeroed')) {
    lines.push(
      '- `expansion_tokens: "zeroed"` (the paper\'s models): `attn_implementation="flash_attention_2"`. Requires',
      '  **flash-attn** (`pip install flash-attn --no-build-isolation`), a CUDA GPU and bf16 (`--precision auto`',
      '  or `bf16`). ModernBERT\'s Flash Attention path in transformers 4.x (4.48 to 4.57) unpads the batch and',
      '  pads the output with zeros, so the expansion tokens embed to zero vectors and add nothing to MaxSim,',
      '  as in the paper; transformers 5 pads each attention output back instead, so those positions are no',
      '  longer zero (the scripts warn). For the paper\'s behaviour use transformers 4.x with flash-attn.',
    );
  }
  if (used.includes('scored')) {
    lines.push('- `expansion_tokens: "scored"` (ColBERT\'s query expansion): `attn_implementation="eager"`; flash-attn is not used (nor needed).');
  }
  lines.push('', '`export-pylate --expansion-tokens scored` writes eager scripts (which run without a GPU).');
  return lines;
}

/** Nomic's released dense checkpoints: launch.sh's default at the paper's scale, or how to start from them. */
function nomicNote(phases: ExportedPhase[], nomic: ExportedPhase[], paperScale: boolean): string {
  const last = phases.indexOf(nomic[nomic.length - 1]);
  const nn = (i: number) => String(i + 1).padStart(2, '0');
  const rest = phases.slice(last + 1).map((_, j) => nn(last + 1 + j));
  const release = NOMIC_DENSE[nomic[nomic.length - 1].id];
  const released = nomic.map((p) => `\`${NOMIC_DENSE[p.id].hub}\` (for \`${p.file}\`)`).join(' and ');
  if (!paperScale) {
    return `The paper did not train the dense phases: it started from Nomic's released ${released}. To do the same, skip those phases and start the next one from the release: \`INIT_${rest[0]}=${release.hub} DATA=... ./launch.sh ${rest.join(' ')}\`.`;
  }
  return [
    `The paper did not train the dense phases: it started from Nomic's released ${released}, and so does \`launch.sh\`:`,
    `it skips ${nomic.map((p) => `\`${p.file}\``).join(' and ')} and starts phase ${rest[0]} from \`${release.hub}\` as \`colbert-zero data fetch ${release.manifest}\``,
    `(or \`data import ${release.manifest} PATH\` for a copy you have) puts it in the colbert-zero data cache: \`$CZ_DATA_DIR/${release.manifest}\`,`,
    'where `CZ_DATA_DIR` defaults to `$XDG_CACHE_HOME/colbert-zero` or `~/.cache/colbert-zero`, as for colbert-zero itself:',
    '',
    '```sh',
    `colbert-zero data fetch ${release.manifest}`,
    'DATA=/path/to/data ./launch.sh',
    '```',
    '',
    `\`TRAIN_DENSE=1 ./launch.sh\` trains the dense phases here instead (phase ${rest[0]} then starts from their model); \`INIT_${rest[0]}=DIR\` starts phase ${rest[0]} from another copy.`,
  ].join('\n');
}

/** A previous export: its manifest.json, which lists the files it wrote. */
function isPreviousExport(dir: string): ExportManifest | null {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) return null;
  try {
    const m = readJsonFile(file) as Partial<ExportManifest>;
    return m && m.format === EXPORT_FORMAT && Array.isArray(m.files) ? (m as ExportManifest) : null;
  } catch {
    return null;
  }
}

export interface ExportSummary {
  out: string;
  files: string[];
  manifest: ExportManifest;
}

/**
 * Writes the export into `o.out` (lib/util/output.ts): a new or empty folder, or with `overwrite` a
 * previous export, of which only its own files are replaced or removed; a file of the user's stays, and
 * one where the new export would write is an error.
 */
export async function exportPylate(o: ExportOptions): Promise<ExportSummary> {
  const { manifest: m, files } = planPylateExport(o);
  checkOutput(o.out, { command: COMMAND, kind: 'dir', overwrite: o.overwrite, isOurs: (d) => isPreviousExport(d) !== null });
  const manifest: ExportManifest = { ...m, files: [...files.keys(), 'manifest.json'] };
  await writeOutputDir(
    o.out,
    COMMAND,
    (tmp) => {
      for (const [name, text] of files) {
        fs.writeFileSync(path.join(tmp, name), text);
        if (name.endsWith('.sh') || name.endsWith('.py')) fs.chmodSync(path.join(tmp, name), 0o755);
      }
      fs.writeFileSync(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    },
    { record: { file: 'manifest.json', files: (d) => isPreviousExport(d)?.files ?? null } },
  );
  return { out: path.resolve(o.out), files: manifest.files, manifest };
}

const COMMAND = 'export-pylate';
