/**
 * colbert-zero-workbook: the public API, what notebooks, the CLI and users import.
 *
 *   import { initBackend, loadEncoder, colbertScores, indexCorpus, searchQueries, evaluate } from './lib/index';
 *
 * Grouped in the order of the work: set up → load and encode → score → index and search → data → evaluate
 * → train → the paper's settings → report. Everything else stays importable by path (`lib/<folder>/<file>`) for
 * tests and for readers who want the machinery; README ("Library layout") maps the folders.
 */

// ── Set up: the compute backend (wasm everywhere; tfjs-node where installed) ──
export { initBackend, activeBackend, BACKEND_NAMES, type BackendName } from './backend/select';
export { UserError } from './util/errors';
export { sharedDataPath } from './util/shared-data';

// ── Load and encode: ModernBERT with a ColBERT (multi-vector) or dense (single-vector) head ──
export { loadEncoder, type LoadEncoderOptions, type EngineEncoder } from './models/engine';
export { modelFingerprint } from './models/load';
export { ModelFolder } from './models/model-folder';
export { describeEncoder, type EncoderDescription } from './models/describe';
export { ColbertModel, type ColbertLoadOptions } from './models/colbert';
export { DenseModel } from './models/dense';
export { MaskedLmModel } from './models/masked-lm';
export { ModernBert } from './models/modernbert';
export { presetConfig, type ModernBertConfig } from './models/config';
export { ParallelEncoder } from './models/parallel-encode';
export type { Encoder, TrainableEncoder } from './models/encoder';
export { resolveEngine, type Engine } from './backend/engine';
export { OrtEncoder } from './models/onnx/ort-encoder';
export { exportOnnx, ensureOnnx } from './models/onnx/export';
export type { Encoded, HeadKind } from './scores/encoded';

// ── Tokenize: markers, prompts, [MASK] expansion, skiplist (PyLate / sentence-transformers) ──
export { TextTokenizer } from './tokenize/text-tokenizer';
export { ColbertTokenizer } from './tokenize/colbert';
export { DenseTokenizer } from './tokenize/dense';
export { defaultColbertConfig, withColbertOverrides, type ColbertTokenizerConfig } from './tokenize/colbert-config';
export type { Role, TokenizedBatch } from './tokenize/types';
export type { TokenView, TokenKind } from './tokenize/colbert';

// ── Score: MaxSim (late interaction) and dense similarities, differentiable ──
export { colbertScores, colbertScoresPairwise, colbertKdScores } from './scores/maxsim';
export { dotScores, dotScoresPairwise, cosineScores, cosineScoresPairwise } from './scores/dense';

// ── Explain: MaxSim written out on real text, pairs scored by any encoder, where scores come from ──
export { explainMaxSim, type MaxSimExplanation, type MaxSimPick } from './scores/explain';
export { explainPair, explainPairs, scorePairs, judgedPairs, unjudgedPairs, contrastPairs, maxSimByRole, marginByRole, type TextPair, type PairExplanation, type ContrastPair, type RoleAttribution } from './eval/pair-analysis';

// ── Index and search: exact indexes, the retrieval trip corpus → index → run ──
export { indexCorpus, searchQueries, encodeTexts } from './retrieval/corpus';
export { MultiVectorIndex, DenseIndex, type Hit, type StorageDtype } from './retrieval/index-store';
export { saveIndex, loadIndex } from './retrieval/io';

// ── Data: BEIR folders, TREC runs and qrels, training files ──
export type { Doc, Query, Qrels, Run } from './data/types';
export { loadBeir, readCorpus, readQueries, documentText } from './data/beir';
export { readTrecRun, readTrecQrels, writeTrecRun } from './data/trec';
export { readTrainingFile, type Example, type Phase } from './data/training';
export { sampleBeir, type BeirSample } from './data/sample';
export { localBeirSets, type LocalBeirSet } from './data/local';
export { listManifests, type ManifestRow } from './data/manifests/list';

// ── Evaluate: trec_eval-exact measures, and NanoBEIR-style evaluation of an encoder ──
export { evaluate, formatTrecEval, type EvalOptions } from './eval/trec/evaluate';
export { evaluateRetrieval, formatRetrievalReport, DEFAULT_RETRIEVAL_MEASURES, type RetrievalReport } from './eval/evaluator';
export { evaluateBm25, type Bm25DatasetReport } from './eval/bm25-eval';
export { spearman, kendallTau, perQueryRankCorrelation, type RankCorrelationReport } from './eval/correlation';
export { scoreMatrix, candidateScores, hardNegativeReport, type HardNegativeReport } from './eval/objectives';

// ── Losses: the three phases' objectives over embeddings ──
export { contrastiveLoss } from './losses/contrastive';
export { distillationLoss } from './losses/distillation';
export { infoNCEByHand, distillationByHand, minMaxNormalize, type InfoNCEWalkthrough, type DistillationWalkthrough } from './losses/explain';
export { mlmLoss, maskTokens } from './losses/mlm';

// ── Train: one config for every phase; GradCache; several devices ──
export { train } from './train/launch';
export { latestCheckpoint } from './train/checkpoint';
export { loadTrainConfig, parseTrainConfig, type TrainConfig } from './train/config';
export { exampleConfig, EXAMPLES } from './train/examples';
export { gradCacheStep, plainStep } from './train/gradcache';
export { gradcheck, type GradcheckReport } from './train/gradcheck';
export { stepMemory, type StepMemory } from './train/memory';
export { batchSourceMix } from './train/sampling';
export { sweepRuns } from './train/sweep';
export type { RunSummary, LogRecord, EvalRecord } from './train/run';

// ── The paper's settings: ColBERT-Zero's prompts and lengths ──
export { COLBERT_ZERO_PROMPTS, PROMPT_EXTRA_LENGTH, COLBERT_ZERO_LENGTHS, colbertZeroOverrides, promptTokens } from './paper/prompts';

// ── Pipelines: the paper's phases, pipelines (a) (b) (c), ablations and the main job; a pipeline as PyLate / torchrun scripts ──
export { reproduce, formatPlan, presetTestSets, type ReproduceSummary } from './pipelines/reproduce';
export { buildPlan, ablationGrid, phaseUse, PIPELINES, MAIN_SETTING, type Plan, type Ablation, type PhaseUse } from './pipelines/plan';
export { runPlan } from './pipelines/plan-runner';
export { finalModels, modelDirOf, phaseModels, findPhaseModel, type FinalModel, type PhaseModel } from './pipelines/phase-models';
export { PRESETS, presetNamed, type Preset } from './pipelines/presets';
export { phaseTrainConfig, type PhaseSpec } from './pipelines/phase';
export { exportPylate, type ExportOptions } from './pipelines/export-pylate';

// ── Report: result files, paired significance tests, tables in the paper's shapes, the paper's claims ──
export { writeResult, readResults, type EvaluationResult } from './report/results';
export { pairedTTest, randomizationTest, correct, differenceInterval, type DifferenceInterval } from './report/significance';
export { groupSettings, mainTable, ablationTable, ablationSummary, seedTable, defaultBaseline } from './report/tables';
export { evaluateClaims, PAPER_CLAIMS, type Claim } from './report/claims';
export { buildReport, buildReportFigures } from './report/report';
export { pipelineRunCosts, trainedModelDir, type PipelineRunCost } from './report/phases';
export { pipelinesBesidePaper, pipelinesFigure, runCostPoints, checkpointBesidePaper, checkpointFigure, differencesFromBaseline, differencesFigure, type DifferencesFromBaseline } from './report/compare';
export { mainTableFigure, ablationDeltaFigure } from './report/report-figures';

// ── Figures and notebook display: plotly figures, static PNG and HTML tables in notebooks, HTML/PNG files ──
export { barChart, lineChart, histogramChart, ecdfChart, dotPlot, heatmap, figureProblems, type Figure } from './figures/figures';
export { md, mdText, proseNumberProblems, type ProseNumberProblem } from './figures/prose';
export { show, showTable, showMarkdown, aq, type Row } from './figures/display';
export { writeFigures, renderPngs, figureHtml, findChromium, closeRenderer } from './figures/render';

// ── The paper's tables: Tables 1–5 as transcribed under results/paper/, their checks and figures ──
export { printedRows, table2Figure, table3Figure, table4DeltaFigure, table5Figure, paperCostFigure, costFigure, paperCostPoints } from './paper/figures';
export { paperTable, beirRows, ablationRows, deltaRows, type BeirRow } from './paper/tables';
export { trainingSettings, pipelineCosts } from './paper/training';
export { promptAlignment, averageChecks, table5Checks, sameModelMismatches } from './paper/checks';
export { paperClaims, evaluatePaperClaim } from './paper/claims';
