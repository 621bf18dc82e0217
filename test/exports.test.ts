/**
 * Every export of lib/ means something: another file (lib, bin, bench, notebooks, test) imports it, or
 * lib/index.ts (the public API) exports it. A name only its own file uses is not exported; a name only tests
 * use is listed below with the tests that use it (an internal tested on purpose), and the list is checked
 * both ways so it cannot rot. A name has one owner: outside a folder's index.ts, no lib file passes on
 * another lib file's export. The reader is test/helpers/exports.ts (a parse, no type check).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyseExports, signatureTypes, PUBLIC_USER, type ExportUse } from './helpers/exports';

/** Exports only tests use, by file: name → the tests that use it. */
const TEST_ONLY: Record<string, Record<string, string[]>> = {
  'lib/backend/matmul.ts': {
    batchMatMul: ['test/backend.test.ts'],
  },
  'lib/backend/ort-gemm.ts': {
    gemmAvailable: ['test/onnx-gemm.test.ts'],
  },
  'lib/cli/main.ts': {
    main: ['test/eval-cli.test.ts', 'test/model-folder.test.ts'],
  },
  'lib/data/convert.ts': {
    sourceOf: ['test/data-convert.test.ts'],
  },
  'lib/data/index.ts': {
    forEachLine: ['test/data-readers.test.ts'],
  },
  'lib/data/manifests/load.ts': {
    MANIFESTS_DIR: ['test/data-manifests.test.ts'],
    parseManifest: ['test/data-fetch.test.ts'],
    loadManifest: ['test/data-manifests.test.ts'],
  },
  'lib/data/store.ts': {
    globToRegExp: ['test/data-manifests.test.ts'],
  },
  'lib/data/wordnet-sets.ts': {
    textKey: ['test/wordnet.test.ts'],
    makeWordnetSets: ['test/wordnet.test.ts'],
  },
  'lib/data/wordnet-teacher.ts': {
    newWupMemo: ['test/wordnet-teacher.test.ts'],
    wuPalmer: ['test/wordnet-teacher.test.ts'],
  },
  'lib/data/wordnet.ts': {
    splitGloss: ['test/wordnet.test.ts'],
    parseDataLine: ['test/wordnet.test.ts'],
    readDataFile: ['test/wordnet.test.ts'],
    parseIndexLine: ['test/wordnet.test.ts'],
    wordnetCounts: ['test/wordnet.test.ts'],
  },
  'lib/eval/correlation.ts': {
    averageRanks: ['test/correlation.test.ts'],
  },
  'lib/eval/index.ts': {
    planMeasures: ['test/eval-metrics.test.ts'],
    splitMeasureList: ['test/eval-metrics.test.ts'],
    formatFixed: ['test/eval-metrics.test.ts'],
  },
  'lib/figures/display.ts': {
    htmlTable: ['test/notebooks.test.ts'],
  },
  'lib/figures/render.ts': {
    FIGURE_SIZE: ['test/render-size.test.ts'],
    pngSize: ['test/render-size.test.ts'],
  },
  'lib/losses/contrastive.ts': {
    infoNCEFromScores: ['test/losses-explain.test.ts', 'test/losses-graph.test.ts', 'test/losses.test.ts'],
  },
  'lib/losses/distillation.ts': {
    distillationFromScores: ['test/losses-explain.test.ts', 'test/losses-graph.test.ts', 'test/losses.test.ts'],
  },
  'lib/losses/index.ts': {
    groupScores: ['test/losses-graph.test.ts', 'test/losses.test.ts'],
  },
  'lib/losses/mlm.ts': {
    IGNORE_INDEX: ['test/losses.test.ts'],
  },
  'lib/models/attention.ts': {
    attentionDropoutScale: ['test/modernbert-attention.test.ts'],
  },
  'lib/models/backbone-io.ts': {
    readBackboneConfig: ['test/onnx-parity.test.ts'],
  },
  'lib/models/checkpoint-files.ts': {
    inspectCheckpoint: ['test/safetensors-layout.test.ts'],
  },
  'lib/models/onnx/export.ts': {
    ONNX_FILE: ['test/onnx-engine.test.ts'],
    freshOnnx: ['test/model-folder.test.ts', 'test/onnx-engine.test.ts'],
  },
  'lib/models/onnx/modernbert-onnx.ts': {
    geglu: ['test/onnx-autodiff.test.ts'],
  },
  'lib/models/safetensors.ts': {
    readSafetensorsHeader: ['test/safetensors.test.ts', 'test/safety-cli.test.ts', 'test/train-mlm.test.ts'],
    bfloat16BitsToFloat32: ['test/safetensors.test.ts'],
    float32ToBfloat16Bits: ['test/safetensors.test.ts'],
    serializeSafetensors: ['test/safetensors.test.ts'],
    readShardIndex: ['test/safetensors.test.ts'],
  },
  'lib/paper/tables.ts': {
    clearPaperCache: ['test/paper-tables.test.ts'],
  },
  'lib/pipelines/export-pylate.ts': {
    planPylateExport: ['test/data-convert.test.ts', 'test/export-pylate.test.ts'],
  },
  'lib/pipelines/pylate-scripts.ts': {
    PYLATE_DIR: ['test/pylate-scripts.test.ts'],
    PYLATE_FILES: ['test/pylate-scripts.test.ts'],
  },
  'lib/pipelines/plan-evaluation.ts': {
    evaluationLoadOptions: ['test/pipelines.test.ts'],
  },
  'lib/report/report.ts': {
    reportOf: ['test/report-results.test.ts'],
    formatReport: ['test/report-results.test.ts'],
  },
  'lib/pipelines/presets.ts': {
    paperScale: ['test/pipelines.test.ts'],
  },
  'lib/report/phases.ts': {
    readPhaseRecords: ['test/report-compare.test.ts'],
    phaseChain: ['test/report-compare.test.ts'],
  },
  'lib/report/results.ts': {
    parseResult: ['test/report-results.test.ts'],
    datasetResult: ['test/report-results.test.ts'],
    meanOverDatasets: ['test/report-results.test.ts'],
  },
  'lib/report/significance.ts': {
    regularizedIncompleteBeta: ['test/report-significance.test.ts'],
    studentTCdf: ['test/report-significance.test.ts'],
    stratifiedTTest: ['test/report-significance.test.ts'],
    stratifiedRandomizationTest: ['test/report-significance.test.ts'],
  },
  'lib/report/tables.ts': {
    percentDelta: ['test/report-tables.test.ts'],
  },
  'lib/retrieval/bm25.ts': {
    lexicalTokens: ['test/bm25.test.ts'],
  },
  'lib/retrieval/index.ts': {
    searchWorkerCount: ['test/retrieval.test.ts'],
  },
  'lib/retrieval/search-pool.ts': {
    searchWorkerCount: ['test/retrieval.test.ts'],
  },
  'lib/retrieval/topk.ts': {
    topK: ['test/retrieval.test.ts'],
  },
  'lib/tokenize/colbert-config.ts': {
    toColbertConfigJson: ['test/tokenize.test.ts'],
    readColbertConfig: ['test/safetensors-layout.test.ts', 'test/tokenize.test.ts'],
  },
  'lib/tokenize/tiny.ts': {
    TINY_MIN_VOCAB: ['test/tokenize.test.ts'],
    buildTinyTokenizer: ['test/reference/ts_writers.ts', 'test/tokenize.test.ts'],
  },
  'lib/train/gradcache.ts': {
    embedNoGraph: ['test/gradcache.test.ts'],
    lossAndEmbeddingGrads: ['test/gradcache.test.ts'],
  },
  'lib/train/ort/engine.ts': {
    ortSpecOf: ['test/train-ort.test.ts'],
  },
  'lib/train/run.ts': {
    NonFiniteLossError: ['test/safety-nonfinite.test.ts', 'test/train-run.test.ts'],
  },
  'lib/train/tasks.ts': {
    contrastiveTask: ['test/gradcache.test.ts', 'test/safety-cli.test.ts'],
    distillationTask: ['test/gradcache.test.ts', 'test/safety-cli.test.ts'],
    contrastiveObjective: ['test/gradcache.test.ts'],
    distillationObjective: ['test/gradcache.test.ts'],
  },
  'lib/util/env.ts': {
    ENV_VARS: ['test/safety-helpers.test.ts'],
  },
  'lib/util/f16.ts': {
    halfFromFloat: ['test/f16.test.ts'],
    floatFromHalf: ['test/f16.test.ts'],
    f16Table: ['test/f16.test.ts'],
  },
  'lib/util/limits.ts': {
    ENCODE_WORKER_BASE_BYTES: ['test/safety-limits.test.ts'],
    memoryBudget: ['test/safety-limits.test.ts'],
  },
  'lib/util/output.ts': {
    OUTPUT_MARKER: ['test/data-convert.test.ts', 'test/safety-helpers.test.ts'],
    readMarker: ['test/safety-helpers.test.ts'],
  },
  'lib/util/shared-data.ts': {
    sharedDataLocation: ['test/helpers/shared.ts'],
  },
};

const uses = analyseExports();
// A type an export's signature names is part of that export: a caller (a notebook cell's variable above all)
// must be able to name it, so it stays exported even when no other file imports it.
const signatures = signatureTypes();
for (const t of signatures.filter((x) => x.exported)) uses.find((u) => u.file === t.file && u.name === t.name)?.users.add(`${t.file} (signature)`);
const where = (u: ExportUse): string => `${u.file}:${u.line} ${u.name}`;
const testOnly = (u: ExportUse): boolean => u.users.size > 0 && [...u.users].every((f) => f.startsWith('test/'));

test('a type an export\'s signature names is exported (tslab cannot declare a cell variable whose type it cannot name)', () => {
  assert.ok(signatures.length > 50, `the reader found ${signatures.length} signature types`);
  assert.deepEqual(signatures.filter((t) => !t.exported).map((t) => `${t.file}:${t.line} ${t.name}`), [], 'export these types');
});

test('every lib export is used by another file', () => {
  assert.ok(uses.length > 300, `the reader found ${uses.length} exports`);
  assert.deepEqual(uses.filter((u) => u.users.size === 0).map(where), [], 'exports nothing else uses: drop `export` (or the code)');
});

test('exports only tests use are the listed ones, used by the tests listed', () => {
  const unlisted = uses.filter((u) => testOnly(u) && !TEST_ONLY[u.file]?.[u.name]);
  assert.deepEqual(unlisted.map((u) => `${where(u)} (${[...u.users].join(', ')})`), [], 'exports only tests use: list them in TEST_ONLY, or test through the public API');
  const byKey = new Map(uses.map((u) => [`${u.file}#${u.name}`, u]));
  const stale: string[] = [];
  for (const [file, names] of Object.entries(TEST_ONLY)) {
    for (const [name, tests] of Object.entries(names)) {
      const u = byKey.get(`${file}#${name}`);
      if (!u) stale.push(`${file} ${name}: not exported`);
      else if (!testOnly(u)) stale.push(`${where(u)}: used by ${u.users.size ? [...u.users].filter((f) => !f.startsWith('test/')).join(', ') : 'nothing'}`);
      else for (const t of tests) if (!u.users.has(t)) stale.push(`${where(u)}: not used by ${t}`);
    }
  }
  assert.deepEqual(stale, [], 'TEST_ONLY entries that no longer hold');
});

test('a name has one owner: no lib file re-exports another lib file\'s name, barrels aside', () => {
  const relays = uses.filter((u) => u.from?.startsWith('lib/') && !u.file.endsWith('/index.ts'));
  assert.deepEqual(relays.map((u) => `${where(u)} (from ${u.from})`), [], 'import these from their owner');
  assert.ok(uses.some((u) => u.users.has(PUBLIC_USER)), 'lib/index.ts\'s names count as used');
});
