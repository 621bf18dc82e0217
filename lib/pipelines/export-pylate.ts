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
import { factNotes, presetNamed, withFacts, PAPER_FACTS, type FactChoices } from './presets';
import { phaseScript } from './pylate-scripts';

export const EXPORT_FORMAT = 'colbert-zero-pylate-export';
export const EXPORT_VERSION = 1;

/** The paper's starting checkpoint: ModernBERT-base's own MLM pre-training is not redone at Table 1's scale. */
export const PAPER_BACKBONE = 'answerdotai/ModernBERT-base';

/** Table 1's caption: unsupervised on 8 nodes, supervised and KD on 1 node (4 GPUs per node). */
export const PAPER_NODES: Record<PhaseSpec['objective'], number> = { mlm: 1, unsupervised: 8, supervised: 1, distillation: 1 };

/** The data each objective reads, as its manifest id (the paper's datasets) and its JSONL line. */
export const EXPORT_DATA: Record<PhaseSpec['objective'], { id: string; manifest: string | null; layout: string; folder: string }> = {
  mlm: { id: '(any text; the paper starts from answerdotai/ModernBERT-base instead)', manifest: null, layout: '{"text": str}', folder: 'mlm' },
  unsupervised: { id: 'nomic-ai/nomic-embed-unsupervised-data', manifest: 'nomic-embed-unsupervised-data', layout: '{"query": str, "document": str}', folder: 'unsupervised' },
  supervised: { id: 'nomic-ai/nomic-embed-supervised', manifest: 'nomic-embed-supervised', layout: '{"query": str, "positive": str, "negatives": [str, ...]}', folder: 'supervised' },
  distillation: { id: 'lightonai/ms-marco-en-bge-gemma', manifest: 'ms-marco-en-bge-gemma', layout: '{"query": str, "documents": [str, ...], "scores": [num, ...]}', folder: 'distillation' },
};

/** The dense checkpoints Nomic released, which the paper used instead of training those phases. */
const NOMIC_DENSE: Record<string, string> = {
  'unsupervised-dense': 'nomic-ai/modernbert-embed-base-unsupervised',
  'supervised-dense': 'nomic-ai/modernbert-embed-base',
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

export function formatAblation(a: Ablation): string {
  const b = (x: boolean) => (x ? '1' : '0');
  return `u${b(a.unsupervisedPrompts)}-p${b(a.supervisedPrompts)}l${b(a.supervisedLength)}-p${b(a.kdPrompts)}l${b(a.kdLength)}`;
}

function fileName(index: number, id: string): string {
  return `${String(index + 1).padStart(2, '0')}-${id.replace(/[^A-Za-z0-9_.-]+/g, '_')}.py`;
}

/** The phases of one pipeline's chain, ordered, with their settings and scripts (nothing written). */
export function planPylateExport(o: Omit<ExportOptions, 'out' | 'overwrite'>): { manifest: Omit<ExportManifest, 'files'>; files: Map<string, string> } {
  if (!(o.pipeline in PIPELINES)) throw new UserError(`unknown pipeline "${o.pipeline}" (a, b or c)`);
  if (o.ablation && o.pipeline !== 'c') throw new UserError('--ablation applies to pipeline c (the ablations of Tables 3–5 are variants of ColBERT-Zero)');
  const preset = presetNamed(o.preset ?? 'paper');
  const facts = o.facts ?? PAPER_FACTS;
  const devices = o.devicesPerNode ?? 4;
  if (!Number.isInteger(devices) || devices < 1) throw new UserError(`--devices-per-node ${devices}: expected a positive integer`);
  const paperScale = preset.name === 'paper';
  const ablation = o.ablation ?? MAIN_SETTING;
  const scale = withFacts(preset.scale, facts);
  const plan = buildPlan(scale, { mlm: [], unsupervised: [], supervised: [], distillation: [] }, { seed: o.seed ?? preset.seeds[0], pipelines: [o.pipeline], ablations: o.ablation ? [ablation] : [] });
  const byId = new Map(plan.phases.map((p) => [p.id, p]));
  // The pipeline's last model: its KD phase (with an ablation, the ablation's KD phase, added last).
  const final = plan.finals.filter((f) => f.pipeline === o.pipeline).pop();
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
    const defaultInit = parentFile ? `$RUNS/${parentFile.replace(/\.py$/, '')}/final` : paperScale ? PAPER_BACKBONE : '$INIT_01 (a ModernBERT masked-LM folder: colbert-zero init-model --head mlm)';
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
  const notes = factNotes(facts);
  if (paperScale) notes.push(`the scripts run one epoch per phase (Section 2); each learning rate is the paper preset's point in Table 1's sweep range for the phase (--lr sets another)`);
  const manifest = { format: EXPORT_FORMAT, version: EXPORT_VERSION, pipeline: o.pipeline, description: PIPELINES[o.pipeline], ablation, preset: preset.name, notes, devicesPerNode: devices, phases } as const;
  files.set('launch.sh', launchScript(manifest.phases, paperScale));
  files.set('README.md', readme({ ...manifest, phases }, paperScale));
  return { manifest: { ...manifest, phases }, files };
}

/** A ColBERT phase's expansion-token setting and the attention implementation that gives it in PyLate (none for dense and MLM phases). */
function expansionSettings(spec: PhaseSpec): Record<string, string> {
  const e = phaseExpansionTokens(spec);
  return e ? { expansionTokens: e, attnImplementation: attnImplementationFor(e) } : {};
}

function launchScript(phases: ExportedPhase[], paperScale: boolean): string {
  const lines = [
    '#!/usr/bin/env bash',
    '# Trains the exported phases in order with torchrun (written by colbert-zero export-pylate; see README.md).',
    '#   DATA=/path/to/data ./launch.sh            every phase (a phase whose RUNS/<phase>/final exists is skipped)',
    '#   DATA=... ./launch.sh 02 03                 only those phases (numbers or file names)',
    '# Environment: DATA (folder with mlm/, unsupervised/, supervised/, distillation/ of JSONL files),',
    '#   RUNS (default ./runs), GPUS_PER_NODE, NODE_RANK, MASTER_ADDR, MASTER_PORT (multi-node phases: run the',
    '#   same command on every node with its NODE_RANK; a one-node phase without MASTER_PORT uses torchrun',
    '#   --standalone, which takes a free port itself), PYTHON (default python3), INIT_NN (the starting',
    '#   checkpoint of phase NN instead of its parent\'s final model), EXTRA_ARGS (added to every script).',
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
    '# phase NAME NODES FOLDER INIT',
    'phase() {',
    '  local name="$1" nodes="$2" folder="$3" init="$4"',
    '  selected "$name" || return 0',
    '  if [ -d "$RUNS/$name/final" ]; then echo "$name: $RUNS/$name/final exists, skipped" >&2; return 0; fi',
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
    lines.push(`phase ${name} ${p.nodes} ${EXPORT_DATA[p.objective].folder} ${initExpr}`);
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
    'sentence-transformers 5.3, pylate 1.6), and `datasets`.',
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
    'Supervised lines need at least the phase\'s number of negatives, and distillation lines its number of',
    'candidates (`data convert` prints the fewest of each); the first ones are used.',
    '',
    '## Run',
    '',
    '```sh',
    'DATA=/path/to/data RUNS=/path/to/runs ./launch.sh',
    '```',
    '',
    paperScale
      ? `The first phase starts from \`${PAPER_BACKBONE}\`. Multi-node phases run \`./launch.sh NN\` on every node with \`NODE_RANK\`, \`MASTER_ADDR\` and \`MASTER_PORT\` set, and \`RUNS\` on a file system every node sees.`
      : 'The first phase (masked LM) starts from `INIT_01`, a ModernBERT masked-LM folder such as `colbert-zero init-model --config tiny --head mlm --out DIR` writes.',
    ...(nomic.length ? ['', nomicNote(m.phases, nomic)] : []),
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

/** How to start from Nomic's released dense checkpoints instead of training the dense phases. */
function nomicNote(phases: ExportedPhase[], nomic: ExportedPhase[]): string {
  const last = phases.indexOf(nomic[nomic.length - 1]);
  const nn = (i: number) => String(i + 1).padStart(2, '0');
  const rest = phases.slice(last + 1).map((_, j) => nn(last + 1 + j));
  const released = nomic.map((p) => `\`${NOMIC_DENSE[p.id]}\` (for \`${p.file}\`)`).join(' and ');
  return `The paper did not train the dense phases: it started from Nomic's released ${released}. To do the same, skip those phases and start the next one from the release: \`INIT_${rest[0]}=${NOMIC_DENSE[nomic[nomic.length - 1].id]} DATA=... ./launch.sh ${rest.join(' ')}\`.`;
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
