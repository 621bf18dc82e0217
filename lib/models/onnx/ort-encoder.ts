/**
 * The `Encoder` of a model folder on ONNX Runtime: the library's own tokenization (lib/tokenize, the
 * same ids as the tfjs models), the folder's `model.onnx` (built and cached by ./export when missing or
 * stale), and the same batching as the tfjs models (longest texts first, results in input order,
 * positions outside the scoring mask zero). The graph computes every position (eager attention); a model
 * with `expansion_tokens: "zeroed"` has its unattended positions zeroed in `forward`, as the tfjs model
 * does, and its tokenizer leaves them out of the scoring mask — so the setting (and an override of it)
 * needs no other graph.
 *
 *   const enc = await OrtEncoder.open('path/to/model');          // threads: all cores
 *   const q = await enc.encode(['what is late interaction?'], 'query');
 *   enc.dispose();
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';
import { initBackend } from '../../backend/index';
import { UserError } from '../../util/errors';
import { DenseTokenizer, TextTokenizer, unattendedZeroed, type ColbertTokenizer, type ColbertTokenizerConfig } from '../../tokenize/index';
import { encodeBatched, type EncodeOptions } from '../batched-encode';
import { ColbertModel, type ColbertLoadOptions } from '../colbert';
import { DenseModel } from '../dense';
import type { Encoder } from '../encoder';
import type { Encoded, HeadKind } from '../../scores/encoded';
import type { Role, TokenizedBatch } from '../../tokenize/types';
import { ensureOnnx, onnxFromModel, type OnnxExportOptions } from './export';
import { ModelFolder } from '../model-folder';
import { createSession, int64Tensor, type OrtSessionOptions } from '../../backend/ort';

export interface OrtEncoderOptions extends OrtSessionOptions {
  /** Head for a plain ModernBERT folder (as loadTfjsModel's fallback). */
  fallback?: HeadKind;
  /** PyLate settings (tokenization overrides; projection size and seed for a plain folder). */
  colbert?: ColbertLoadOptions;
  /** Sentence-transformers settings of a dense folder (as loadTfjsModel's). */
  dense?: { maxSeqLength?: number };
}

export class OrtEncoder implements Encoder {
  readonly engine = 'ort' as const;

  private constructor(
    readonly kind: HeadKind,
    readonly dim: number,
    private readonly vocabSize: number,
    private readonly session: Ort.InferenceSession,
    private readonly tokenizeFn: (texts: string[], role: Role) => TokenizedBatch,
    /** True when this load built (and cached) model.onnx. */
    readonly built: boolean,
    /** The ColBERT settings (expansion_tokens decides what unattended positions give); null for dense. */
    private readonly colbertConfig: ColbertTokenizerConfig | null = null,
  ) {}

  /** Opens a model folder; builds model.onnx beside it first when it is missing or stale. */
  static async open(source: string | ModelFolder, opts: OrtEncoderOptions = {}): Promise<OrtEncoder> {
    await initBackend();
    const folder = ModelFolder.of(source);
    const dir = folder.dir;
    const exportOpts: OnnxExportOptions = { fallback: opts.fallback, colbert: opts.colbert && { embeddingSize: opts.colbert.embeddingSize, seed: opts.colbert.seed } };
    const { model, record, built } = await ensureOnnx(folder, exportOpts);
    let tokenize: (texts: string[], role: Role) => TokenizedBatch;
    let colbertConfig: ColbertTokenizerConfig | null = null;
    if (record.kind === 'colbert') {
      const t: ColbertTokenizer = ColbertModel.tokenizerFromDir(folder, { overrides: opts.colbert?.overrides });
      colbertConfig = t.config;
      tokenize = (texts, role) => t.tokenize(texts, role);
    } else {
      const s = DenseModel.settingsFromDir(folder);
      const t = new DenseTokenizer(TextTokenizer.fromDir(dir), { maxSeqLength: opts.dense?.maxSeqLength ?? s.maxSeqLength, prompts: s.prompts, defaultPromptName: s.defaultPromptName, lowercase: s.lowercase });
      tokenize = (texts, role) => t.tokenize(texts, role);
    }
    const session = await createSession(model, typeof model === 'string' ? model : `${dir} (model.onnx in memory)`, opts);
    return new OrtEncoder(record.kind, record.dim, record.vocabSize, session, tokenize, built, colbertConfig);
  }

  /**
   * The current weights of a tfjs model on ONNX Runtime (graph built in memory, nothing written), with the
   * model's own tokenizer: for evaluation during training.
   */
  static async fromModel(model: ColbertModel | DenseModel, opts: OrtSessionOptions = {}): Promise<OrtEncoder> {
    const { bytes, record } = onnxFromModel(model, 'model in memory');
    const session = await createSession(bytes, 'model in memory', opts);
    return new OrtEncoder(record.kind, record.dim, record.vocabSize, session, (t, r) => model.tokenize(t, r), true, model.kind === 'colbert' ? model.tokenizer.config : null);
  }

  tokenize(texts: string[], role: Role): TokenizedBatch {
    return this.tokenizeFn(texts, role);
  }

  /** Raw graph output for one padded batch: [n, length, dim] (ColBERT, every position computed) or [n, dim] (dense). */
  async run(batch: TokenizedBatch): Promise<Float32Array> {
    for (const id of batch.inputIds) {
      if (id < 0 || id >= this.vocabSize) throw new UserError(`token id ${id} is outside the model's vocabulary (vocab_size ${this.vocabSize})`);
    }
    const dims = [batch.n, batch.length];
    const out = await this.session.run({ input_ids: int64Tensor(batch.inputIds, dims), attention_mask: int64Tensor(batch.attentionMask, dims) });
    return out.embeddings.data as Float32Array;
  }

  /** One batch as tensors (the tfjs models' `forward` output, without gradients). */
  async forward(batch: TokenizedBatch): Promise<Encoded> {
    const data = await this.run(batch);
    if (this.kind === 'dense') return { kind: 'dense', embeddings: tf.tensor2d(data, [batch.n, this.dim]) };
    const keep = this.colbertConfig && unattendedZeroed(this.colbertConfig, batch);
    if (keep) keep.forEach((k, t) => k || data.fill(0, t * this.dim, (t + 1) * this.dim));
    return {
      kind: 'colbert',
      embeddings: tf.tensor3d(data, [batch.n, batch.length, this.dim]),
      mask: tf.tensor2d(Float32Array.from(batch.scoringMask), [batch.n, batch.length]),
    };
  }

  encode(texts: string[], role: Role, opts: EncodeOptions = {}): Promise<Encoded> {
    return encodeBatched(this.kind, this.dim, texts, role, (t, r) => this.tokenize(t, r), (b) => this.forward(b), opts);
  }

  dispose(): void {
    void this.session.release();
  }
}
