/**
 * The ONNX graphs of a training step, all from the one ModernBERT graph (lib/models/onnx/modernbert-onnx),
 * the scores (lib/scores/graph) and losses (lib/losses/graph), differentiated by lib/backend/onnx-autodiff.
 * Weights are graph inputs `w<i>` (the model's variables in order, this project's layout), so one session
 * serves every step; gradients come out as `grad<i>`.
 *
 *   encode    weights, ids, mask (, dropout masks)                    → embeddings           GradCache pass 1
 *   backward  weights, ids, mask, embeddings_grad (, dropout masks)   → grad<i>              GradCache pass 3
 *   loss      query/document embeddings and masks, objective inputs   → loss, their grads    GradCache pass 2
 *   step      weights, query and document ids/masks, objective inputs → loss, grad<i>        one graph, no replay
 *   mlm       weights, ids (masked), mask, positions, targets, scale  → loss, grad<i>        the MLM phase
 * and, for pass 2 of large contrastive ColBERT batches, the loss split at the scores (MaxSim in blocks of
 * queries × documents, so the token similarities stay bounded):
 *   scores    query/document embeddings and masks                     → scores [queries, documents]
 *   scores-backward  the same and scores_grad                         → grad_query, grad_document
 *   objective scores, objective inputs                                → loss, grad_scores (, grad_log_temperature)
 *
 * Objective inputs: InfoNCE — temperature (or log_temperature when learnable, whose gradient is
 * grad_log_temperature), query_offset, docs_per_query, normalizer; distillation — teacher [queries, k],
 * normalizer. Scoring masks (ColBERT) are float inputs query_scoring_mask / document_scoring_mask.
 */
import { DiffGraph, type Sym } from '../../backend/onnx-autodiff';
import type { ModernBertConfig } from '../../models/config';
import { colbertHead, denseHead, mlmLogits, modernBertHidden, textInputs, type DropoutSites } from '../../models/onnx/modernbert-onnx';
import { cosineGroups, cosineMatrix, maxSimGroups, maxSimMatrix } from '../../scores/graph';
import { distillationGraph, infoNCEGraph, mlmGraph } from '../../losses/graph';

export type OrtHead = { kind: 'colbert'; dim: number } | { kind: 'dense'; pooling: 'mean' | 'cls'; normalize: boolean } | { kind: 'mlm' };

/** What a training graph is built from: the architecture, the head, the weights in variable order. */
export interface OrtModelSpec {
  config: ModernBertConfig;
  head: OrtHead;
  /** Transformers names (`colbert.projection` for ColBERT's) and shapes in this project's layout. */
  params: Array<{ name: string; shape: number[] }>;
  /** Dropout sites with a rate above 0 (their masks are inputs `<prefix>dropout:<site>`). */
  dropoutSites: string[];
}

export type OrtObjective = { kind: 'infonce'; learnableTemperature: boolean } | { kind: 'kd'; normalizeStudent: boolean; candidates: number };

const META = { producer: 'colbert-zero-workbook', version: 'cz-train-graph/1' };

/** The weight whose gradient comes out as rows (one per token looked up): the token embeddings. */
const EMBEDDINGS = 'embeddings.tok_embeddings.weight';

/**
 * Back-propagates `seeds` to the weights and outputs `grad<i>` for each weight (absent when only rows
 * reach it), plus `grad<i>_ids<j>` / `grad<i>_rows<j>` for the token embeddings' rows of lookup j, which
 * the trainer adds into the table's gradient (see DiffGraph.backprop).
 */
function outputWeightGradients(g: DiffGraph, seeds: Array<{ value: Sym; grad: Sym }>, spec: OrtModelSpec, w: { byName: Map<string, Sym>; list: Sym[] }, extra: Sym[] = []): Sym[] {
  const table = w.byName.get(EMBEDDINGS);
  const { dense, rows } = g.backprop(seeds, [...w.list, ...extra], table ? [table] : []);
  w.list.forEach((x, i) => {
    const d = dense[i];
    const parts = rows.get(x.name) ?? [];
    if (d) g.output(d, `grad${i}`);
    else if (!parts.length) g.output(g.zerosLike(x), `grad${i}`);
    parts.forEach((p, j) => {
      g.output(p.indices, `grad${i}_ids${j}`);
      g.output(p.values, `grad${i}_rows${j}`);
    });
  });
  return extra.map((x, i) => dense[w.list.length + i] ?? g.zerosLike(x));
}

function weights(g: DiffGraph, spec: OrtModelSpec, differentiable: boolean): { byName: Map<string, Sym>; list: Sym[] } {
  const list = spec.params.map((p, i) => g.input(`w${i}`, 'float', p.shape, { differentiable }));
  return { byName: new Map(spec.params.map((p, i) => [p.name, list[i]])), list };
}

/** The dims of a dropout site's mask for a batch [B, L]. */
function siteDims(c: ModernBertConfig, site: string, B: string, L: string): string[] | number[] | Array<string | number> {
  if (site.endsWith('attn.probs')) return [B, c.numHeads, L, L];
  if (site.endsWith('.mlp')) return [B, L, c.intermediateSize];
  return [B, L, c.hiddenSize];
}

/** One encoder pass over the text inputs named by `prefix`: its embeddings (or hidden states for mlm). */
function encoder(g: DiffGraph, spec: OrtModelSpec, w: Map<string, Sym>, prefix: string): { out: Sym; ids: Sym; mask: Sym } {
  const { ids, mask } = textInputs(g, prefix);
  const [B, L] = ids.dims as [string, string];
  const masks = new Map(spec.dropoutSites.map((s) => [s, g.input(`${prefix}dropout:${s}`, 'float', siteDims(spec.config, s, B, L))]));
  const dropout: DropoutSites = (site, x) => {
    const m = masks.get(site);
    return m ? g.mul(x, m) : x;
  };
  const hidden = modernBertHidden(g, spec.config, (n) => w.get(n), ids, mask, dropout);
  const h = spec.head;
  if (h.kind === 'colbert') return { out: colbertHead(g, hidden, w.get('colbert.projection')!), ids, mask };
  if (h.kind === 'dense') return { out: denseHead(g, hidden, mask, h.pooling, h.normalize), ids, mask };
  return { out: hidden, ids, mask };
}

export function encodeGraph(spec: OrtModelSpec): Uint8Array {
  const g = new DiffGraph();
  const w = weights(g, spec, false);
  g.output(encoder(g, spec, w.byName, '').out, 'embeddings');
  return g.serialize(META);
}

export function backwardGraph(spec: OrtModelSpec): Uint8Array {
  const g = new DiffGraph();
  const w = weights(g, spec, true);
  const { out } = encoder(g, spec, w.byName, '');
  const seed = g.input('embeddings_grad', 'float', [...out.dims]);
  outputWeightGradients(g, [{ value: out, grad: seed }], spec, w);
  return g.serialize(META);
}

interface ObjectiveInputs {
  temperature?: Sym;
  logTemperature?: Sym;
}

/** The loss over query and document embeddings (ColBERT: with their scoring masks). */
function objectiveLoss(g: DiffGraph, head: OrtHead, obj: OrtObjective, q: Sym, qMask: Sym | null, d: Sym, dMask: Sym | null): { loss: Sym; extra: ObjectiveInputs } {
  const normalizer = g.input('normalizer', 'float', []);
  if (obj.kind === 'kd') {
    const teacher = g.input('teacher', 'float', [q.dims[0], obj.candidates]);
    const scores = head.kind === 'colbert' ? maxSimGroups(g, q, qMask!, d, dMask!, obj.candidates) : cosineGroups(g, q, d, obj.candidates);
    return { loss: distillationGraph(g, scores, teacher, normalizer, { normalizeStudent: obj.normalizeStudent }), extra: {} };
  }
  const extra: ObjectiveInputs = {};
  let tau: Sym;
  if (obj.learnableTemperature) tau = g.exp((extra.logTemperature = g.input('log_temperature', 'float', [], { differentiable: true })));
  else tau = extra.temperature = g.input('temperature', 'float', []);
  const scores = head.kind === 'colbert' ? maxSimMatrix(g, q, qMask!, d, dMask!) : cosineMatrix(g, q, d);
  const loss = infoNCEGraph(g, scores, tau, g.input('query_offset', 'int64', []), g.input('docs_per_query', 'int64', []), normalizer);
  return { loss, extra };
}

/** InfoNCE on a score matrix [queries, documents] (the objective of a blocked pass 2). */
export function objectiveGraph(obj: OrtObjective & { kind: 'infonce' }): Uint8Array {
  const g = new DiffGraph();
  const scores = g.input('scores', 'float', ['queries', 'documents'], { differentiable: true });
  const logT = obj.learnableTemperature ? g.input('log_temperature', 'float', [], { differentiable: true }) : null;
  const tau = logT ? g.exp(logT) : g.input('temperature', 'float', []);
  const loss = infoNCEGraph(g, scores, tau, g.input('query_offset', 'int64', []), g.input('docs_per_query', 'int64', []), g.input('normalizer', 'float', []));
  const grads = g.gradients([{ value: loss, grad: g.scalar(1) }], logT ? [scores, logT] : [scores]);
  g.output(loss, 'loss');
  g.output(grads[0], 'grad_scores');
  if (logT) g.output(grads[1], 'grad_log_temperature');
  return g.serialize(META);
}

/** MaxSim of query embeddings against document embeddings (ColBERT), and with `backward` its gradients from scores_grad. */
export function scoresGraph(dim: number, backward: boolean): Uint8Array {
  const g = new DiffGraph();
  const q = g.input('query_embeddings', 'float', ['queries', 'query_length', dim], { differentiable: backward });
  const d = g.input('document_embeddings', 'float', ['documents', 'document_length', dim], { differentiable: backward });
  const scores = maxSimMatrix(g, q, g.input('query_scoring_mask', 'float', ['queries', 'query_length']), d, g.input('document_scoring_mask', 'float', ['documents', 'document_length']));
  if (!backward) {
    g.output(scores, 'scores');
    return g.serialize(META);
  }
  const [dq, dd] = g.gradients([{ value: scores, grad: g.input('scores_grad', 'float', ['queries', 'documents']) }], [q, d]);
  g.output(dq, 'grad_query');
  g.output(dd, 'grad_document');
  return g.serialize(META);
}

function scoringMask(g: DiffGraph, head: OrtHead, role: 'query' | 'document', like: Sym): Sym | null {
  return head.kind === 'colbert' ? g.input(`${role}_scoring_mask`, 'float', [like.dims[0], like.dims[1]]) : null;
}

export function lossGraph(head: OrtHead, obj: OrtObjective): Uint8Array {
  if (head.kind === 'mlm') throw new Error('lossGraph: the MLM phase has its own graph');
  const g = new DiffGraph();
  const colbert = head.kind === 'colbert';
  const q = g.input('query_embeddings', 'float', colbert ? ['queries', 'query_length', head.dim] : ['queries', 'dim'], { differentiable: true });
  const d = g.input('document_embeddings', 'float', colbert ? ['documents', 'document_length', head.dim] : ['documents', 'dim'], { differentiable: true });
  const { loss, extra } = objectiveLoss(g, head, obj, q, scoringMask(g, head, 'query', q), d, scoringMask(g, head, 'document', d));
  const wrt = [q, d, ...(extra.logTemperature ? [extra.logTemperature] : [])];
  const grads = g.gradients([{ value: loss, grad: g.scalar(1) }], wrt);
  g.output(loss, 'loss');
  g.output(grads[0], 'grad_query');
  g.output(grads[1], 'grad_document');
  if (extra.logTemperature) g.output(grads[2], 'grad_log_temperature');
  return g.serialize(META);
}

export function stepGraph(spec: OrtModelSpec, obj: OrtObjective): Uint8Array {
  if (spec.head.kind === 'mlm') throw new Error('stepGraph: the MLM phase has its own graph');
  const g = new DiffGraph();
  const w = weights(g, spec, true);
  const q = encoder(g, spec, w.byName, 'query_');
  const d = encoder(g, spec, w.byName, 'document_');
  const { loss, extra } = objectiveLoss(g, spec.head, obj, q.out, scoringMask(g, spec.head, 'query', q.ids), d.out, scoringMask(g, spec.head, 'document', d.ids));
  const [logT] = outputWeightGradients(g, [{ value: loss, grad: g.scalar(1) }], spec, w, extra.logTemperature ? [extra.logTemperature] : []);
  g.output(loss, 'loss');
  if (logT) g.output(logT, 'grad_log_temperature');
  return g.serialize(META);
}

export function mlmGraphBytes(spec: OrtModelSpec): Uint8Array {
  if (spec.head.kind !== 'mlm') throw new Error('mlmGraphBytes: needs the MLM head');
  const g = new DiffGraph();
  const w = weights(g, spec, true);
  const { out: hidden } = encoder(g, spec, w.byName, '');
  const H = spec.config.hiddenSize;
  const positions = g.input('positions', 'int64', ['masked']);
  const rows = g.gather(g.reshape(hidden, [-1, H], ['tokens', H]), positions, { unique: true });
  const logits = mlmLogits(g, spec.config, (n) => w.byName.get(n), rows);
  const loss = mlmGraph(g, logits, g.input('targets', 'int64', ['masked']), g.input('scale', 'float', []));
  outputWeightGradients(g, [{ value: loss, grad: g.scalar(1) }], spec, w);
  g.output(loss, 'loss');
  return g.serialize(META);
}
