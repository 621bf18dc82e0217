/**
 * ONNX Runtime sessions of a training step (./graphs.ts) over one flat weight array: every run feeds the
 * current weights as views of that array (nothing is rebuilt when they change), and gradients come back
 * as one flat array in the same order. Sessions are created on first use, with this process's intra-op
 * threads (all cores, or `threads`) and execution provider (CPU, or CUDA on device `deviceId`).
 */
import type * as Ort from 'onnxruntime-node';
import { createSession, int64Tensor, loadOrt, type OrtProvider } from '../../backend/ort';
import { UserError } from '../../util/errors';
import { trainingDropoutMasks } from '../../models/modernbert';
import type { TokenizedBatch } from '../../tokenize/types';
import { backwardGraph, encodeGraph, lossGraph, mlmGraphBytes, objectiveGraph, scoresGraph, stepGraph, type OrtModelSpec, type OrtObjective } from './graphs';

export interface OrtTrainerOptions {
  threads?: number;
  provider?: OrtProvider;
  /** GPU index for the CUDA provider (a device's rank). */
  deviceId?: number;
}

/** Inputs of the objective: InfoNCE's temperature and layout, or distillation's teacher scores. */
export type ObjectiveValues =
  | { kind: 'infonce'; temperature: number; logTemperature?: number; queryOffset: number; docsPerQuery: number; normalizer: number }
  | { kind: 'kd'; teacher: Float32Array; normalizer: number };

/** Texts of one encoder pass: tokens, and the dropout seed of these rows (training). */
export interface TextRows {
  tokens: TokenizedBatch;
  seed: number;
}

/** Embeddings of rows ([n, tokens, dim] ColBERT with the scoring mask, or [n, dim] dense). */
export interface Embeddings {
  data: Float32Array;
  dims: number[];
  mask?: Int32Array;
}

function embeddingFeeds(q: Embeddings, d: Embeddings): Record<string, Ort.Tensor> {
  const ort = loadOrt();
  const feeds: Record<string, Ort.Tensor> = {
    query_embeddings: new ort.Tensor('float32', q.data, q.dims),
    document_embeddings: new ort.Tensor('float32', d.data, d.dims),
  };
  if (q.mask) feeds.query_scoring_mask = new ort.Tensor('float32', Float32Array.from(q.mask), q.dims.slice(0, 2));
  if (d.mask) feeds.document_scoring_mask = new ort.Tensor('float32', Float32Array.from(d.mask), d.dims.slice(0, 2));
  return feeds;
}

export interface LossResult {
  loss: number;
  queryGrad: Float32Array;
  documentGrad: Float32Array;
  logTemperatureGrad?: number;
}

export class OrtTrainer {
  private readonly sessions = new Map<string, Promise<Ort.InferenceSession>>();
  private readonly sizes: number[];
  readonly modelSize: number;

  /** `params` holds the model's weights first (then any extra parameters, which this class never reads). */
  constructor(
    readonly spec: OrtModelSpec,
    private readonly params: Float32Array,
    private readonly opts: OrtTrainerOptions = {},
  ) {
    this.sizes = spec.params.map((p) => p.shape.reduce((a, b) => a * b, 1));
    this.modelSize = this.sizes.reduce((a, b) => a + b, 0);
    if (params.length < this.modelSize) throw new Error(`OrtTrainer: ${params.length} parameters for a model of ${this.modelSize}`);
  }

  private session(key: string, build: () => Uint8Array): Promise<Ort.InferenceSession> {
    let s = this.sessions.get(key);
    if (!s) {
      const o = this.opts;
      s = createSession(build(), `training graph "${key}"`, { threads: o.threads, provider: o.provider, deviceId: o.deviceId, denormalAsZero: true, memoryPattern: false });
      this.sessions.set(key, s);
    }
    return s;
  }

  private weightFeeds(feeds: Record<string, Ort.Tensor>): Record<string, Ort.Tensor> {
    const ort = loadOrt();
    let o = 0;
    this.spec.params.forEach((p, i) => {
      feeds[`w${i}`] = new ort.Tensor('float32', this.params.subarray(o, o + this.sizes[i]), p.shape);
      o += this.sizes[i];
    });
    return feeds;
  }

  private textFeeds(feeds: Record<string, Ort.Tensor>, rows: TextRows, prefix: string, scoring = false): void {
    const b = rows.tokens;
    const vocab = this.spec.config.vocabSize;
    for (const id of b.inputIds) if (id < 0 || id >= vocab) throw new UserError(`token id ${id} is outside the model's vocabulary (vocab_size ${vocab})`);
    const dims = [b.n, b.length];
    feeds[`${prefix}input_ids`] = int64Tensor(b.inputIds, dims);
    feeds[`${prefix}attention_mask`] = int64Tensor(b.attentionMask, dims);
    if (scoring) feeds[`${prefix.replace(/_$/, '')}_scoring_mask`] = new (loadOrt().Tensor)('float32', Float32Array.from(b.scoringMask), dims);
    if (this.spec.dropoutSites.length) {
      const ort = loadOrt();
      for (const [site, m] of trainingDropoutMasks(this.spec.config, b.n, b.length, rows.seed)) feeds[`${prefix}dropout:${site}`] = new ort.Tensor('float32', m.data, m.dims);
    }
  }

  private objectiveFeeds(feeds: Record<string, Ort.Tensor>, v: ObjectiveValues, queries: number): void {
    const ort = loadOrt();
    feeds.normalizer = new ort.Tensor('float32', Float32Array.of(v.normalizer), []);
    if (v.kind === 'kd') {
      feeds.teacher = new ort.Tensor('float32', v.teacher, [queries, v.teacher.length / queries]);
      return;
    }
    if (v.logTemperature !== undefined) feeds.log_temperature = new ort.Tensor('float32', Float32Array.of(v.logTemperature), []);
    else feeds.temperature = new ort.Tensor('float32', Float32Array.of(v.temperature), []);
    feeds.query_offset = new ort.Tensor('int64', BigInt64Array.of(BigInt(v.queryOffset)), []);
    feeds.docs_per_query = new ort.Tensor('int64', BigInt64Array.of(BigInt(v.docsPerQuery)), []);
  }

  /**
   * Adds the run's gradients into `acc` (flat, model parameters first): each `grad<i>`, and the rows of each
   * embedding lookup (`grad<i>_rows<j>` at the token ids `grad<i>_ids<j>`), in order (deterministic).
   */
  private addGrads(out: Ort.InferenceSession.ReturnType, acc: Float32Array): void {
    let o = 0;
    this.sizes.forEach((size, i) => {
      const g = out[`grad${i}`]?.data as Float32Array | undefined;
      if (g) for (let j = 0; j < size; j++) acc[o + j] += g[j];
      for (let j = 0; out[`grad${i}_ids${j}`]; j++) {
        const ids = out[`grad${i}_ids${j}`].data as BigInt64Array;
        const rows = out[`grad${i}_rows${j}`].data as Float32Array;
        const width = rows.length / Math.max(1, ids.length);
        for (let r = 0; r < ids.length; r++) {
          const at = o + Number(ids[r]) * width;
          for (let c = 0; c < width; c++) acc[at + c] += rows[r * width + c];
        }
      }
      o += size;
    });
  }

  /** GradCache pass 1: embeddings of the rows (training forward: dropout on), no gradient kept. */
  async encode(rows: TextRows): Promise<Float32Array> {
    const s = await this.session('encode', () => encodeGraph(this.spec));
    const feeds = this.weightFeeds({});
    this.textFeeds(feeds, rows, '');
    return (await s.run(feeds)).embeddings.data as Float32Array;
  }

  /** GradCache pass 3: adds ∇θ Σ(embeddings ⊙ embeddingGrad) of the rows into `acc`. */
  async backward(rows: TextRows, embeddingGrad: Float32Array, embeddingDims: number[], acc: Float32Array): Promise<void> {
    const s = await this.session('backward', () => backwardGraph(this.spec));
    const feeds = this.weightFeeds({});
    this.textFeeds(feeds, rows, '');
    feeds.embeddings_grad = new (loadOrt().Tensor)('float32', embeddingGrad, embeddingDims);
    this.addGrads(await s.run(feeds), acc);
  }

  /** GradCache pass 2: the loss over embeddings and its gradient with respect to them. */
  async loss(obj: OrtObjective, q: Embeddings, d: Embeddings, v: ObjectiveValues): Promise<LossResult> {
    const s = await this.session(`loss:${JSON.stringify(obj)}`, () => lossGraph(this.spec.head, obj));
    const feeds = embeddingFeeds(q, d);
    this.objectiveFeeds(feeds, v, q.dims[0]);
    const out = await s.run(feeds);
    return {
      loss: (out.loss.data as Float32Array)[0],
      queryGrad: out.grad_query.data as Float32Array,
      documentGrad: out.grad_document.data as Float32Array,
      logTemperatureGrad: out.grad_log_temperature ? (out.grad_log_temperature.data as Float32Array)[0] : undefined,
    };
  }

  /** ColBERT embeddings (with scoring masks) → MaxSim scores [queries, documents]. */
  async scores(q: Embeddings, d: Embeddings): Promise<Float32Array> {
    const s = await this.session('scores', () => scoresGraph(q.dims[2], false));
    return (await s.run(embeddingFeeds(q, d))).scores.data as Float32Array;
  }

  /** The gradients of Σ scores ⊙ scoresGrad with respect to both embeddings. */
  async scoresBackward(q: Embeddings, d: Embeddings, scoresGrad: Float32Array): Promise<{ queryGrad: Float32Array; documentGrad: Float32Array }> {
    const s = await this.session('scores-backward', () => scoresGraph(q.dims[2], true));
    const feeds = embeddingFeeds(q, d);
    feeds.scores_grad = new (loadOrt().Tensor)('float32', scoresGrad, [q.dims[0], d.dims[0]]);
    const out = await s.run(feeds);
    return { queryGrad: out.grad_query.data as Float32Array, documentGrad: out.grad_document.data as Float32Array };
  }

  /** InfoNCE on a score matrix: the loss, its gradient with respect to the scores, and log τ's. */
  async objective(obj: OrtObjective & { kind: 'infonce' }, scores: Float32Array, queries: number, v: ObjectiveValues): Promise<{ loss: number; scoresGrad: Float32Array; logTemperatureGrad?: number }> {
    const s = await this.session(`objective:${JSON.stringify(obj)}`, () => objectiveGraph(obj));
    const feeds: Record<string, Ort.Tensor> = { scores: new (loadOrt().Tensor)('float32', scores, [queries, scores.length / queries]) };
    this.objectiveFeeds(feeds, v, queries);
    const out = await s.run(feeds);
    return { loss: (out.loss.data as Float32Array)[0], scoresGrad: out.grad_scores.data as Float32Array, logTemperatureGrad: out.grad_log_temperature ? (out.grad_log_temperature.data as Float32Array)[0] : undefined };
  }

  /** One graph over queries and documents: the loss, its gradient added into `acc`, and log τ's gradient. */
  async step(obj: OrtObjective, queries: TextRows, documents: TextRows, v: ObjectiveValues, acc: Float32Array): Promise<{ loss: number; logTemperatureGrad?: number }> {
    const s = await this.session(`step:${JSON.stringify(obj)}`, () => stepGraph(this.spec, obj));
    const feeds = this.weightFeeds({});
    const colbert = this.spec.head.kind === 'colbert';
    this.textFeeds(feeds, queries, 'query_', colbert);
    this.textFeeds(feeds, documents, 'document_', colbert);
    this.objectiveFeeds(feeds, v, queries.tokens.n);
    const out = await s.run(feeds);
    this.addGrads(out, acc);
    return { loss: (out.loss.data as Float32Array)[0], logTemperatureGrad: out.grad_log_temperature ? (out.grad_log_temperature.data as Float32Array)[0] : undefined };
  }

  /** The masked-LM loss of the rows (positions and targets within them) times `scale`, gradient added into `acc`. */
  async mlm(rows: TextRows, positions: number[], targets: number[], scale: number, acc: Float32Array): Promise<number> {
    const s = await this.session('mlm', () => mlmGraphBytes(this.spec));
    const ort = loadOrt();
    const feeds = this.weightFeeds({});
    this.textFeeds(feeds, rows, '');
    feeds.positions = new ort.Tensor('int64', BigInt64Array.from(positions.map(BigInt)), [positions.length]);
    feeds.targets = new ort.Tensor('int64', BigInt64Array.from(targets.map(BigInt)), [targets.length]);
    feeds.scale = new ort.Tensor('float32', Float32Array.of(scale), []);
    const out = await s.run(feeds);
    this.addGrads(out, acc);
    return (out.loss.data as Float32Array)[0];
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of all) await (await s).release();
  }
}
