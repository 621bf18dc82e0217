/**
 * ModernBERT with a ColBERT, dense or masked-LM head as ONNX operators — the same computation as
 * lib/models/modernbert.ts (eager attention), written once on the differentiable graph builder
 * (lib/backend/onnx-autodiff), so the same code gives the inference graph and, with the weights as graph
 * inputs, every graph a training step needs:
 *
 *   inputs  input_ids [batch, sequence] int64, attention_mask [batch, sequence] int64 (1 = attended)
 *   Gather(tok_embeddings) → LayerNorm → dropout
 *   N × [ x += dropout(Wo · attention(rope(Wqkv · attn_norm(x))))          (layer 0: no attn_norm)
 *         x += Wo · dropout(act(input) ⊙ gate), [input | gate] = Wi · mlp_norm(x) ]
 *   final LayerNorm
 *   head  colbert: hidden · projection → per-token x / max(‖x‖, 1e-12)       → embeddings [batch, sequence, dim]
 *         dense:   mean over attended tokens (count ≥ 1e-9) or [CLS] (→ normalise) → embeddings [batch, dim]
 *         hidden:  the last hidden state                                   → hidden [batch, sequence, hidden]
 *
 * Weights are in this project's layout (Linear weights [in, out], as the tfjs models hold them), named as
 * transformers names them without `model.`. Batch and sequence length are dynamic. Attention is
 * additive-masked with float32's lowest value, as transformers' eager path: a key is allowed when it is not
 * padding and, on sliding layers, when |i − j| ≤ local_attention / 2. Rotary tables are precomputed in
 * float32 exactly as lib/models/layers.ts does (up to max_position_embeddings rows), sliced to the length.
 * Dropout multiplies by keep-masks the caller feeds in (`DropoutSites`), so a replay uses the same masks.
 */
import { UserError } from '../../util/errors';
import type { ModernBertConfig } from '../config';
import { parameterSpecs, type RawTensor } from '../modernbert';
import { ropeTables } from '../layers';
import { DiffGraph, type Sym } from '../../backend/onnx-autodiff';

const F32_MIN = -3.4028234663852886e38;

export type OnnxHead =
  | { kind: 'colbert'; /** PyLate's linear.weight, [dim, hidden]. */ projection: RawTensor }
  | { kind: 'dense'; pooling: 'mean' | 'cls'; normalize: boolean }
  | { kind: 'hidden' };

/** The version of the graph layout; a cached model.onnx from another version is rebuilt. */
export const GRAPH_VERSION = 'cz-modernbert-onnx/2';

/** A weight by transformers name (Linear weights [in, out]); undefined for an absent optional tensor. */
export type WeightSource = (name: string) => Sym | undefined;

/**
 * Dropout sites of the forward pass, in the order tfjs's SeededDropout draws them: `embeddings`, then per
 * layer `layers.i.attn.probs`, `layers.i.attn.out`, `layers.i.mlp`. Returns x times the site's keep-mask,
 * or x itself where the site has no dropout.
 */
export type DropoutSites = (site: string, x: Sym) => Sym;

/** Each parameter's shape in this project's layout ([in, out] for Linear weights). */
export function layoutShape(spec: { shape: number[]; linear: boolean }): number[] {
  return spec.linear ? [spec.shape[1], spec.shape[0]] : spec.shape;
}

/** Input ids and attention mask [batch, sequence] (int64); `prefix` names a second text input of one graph. */
export function textInputs(g: DiffGraph, prefix = ''): { ids: Sym; mask: Sym } {
  const dims = prefix ? [`${prefix}batch`, `${prefix}sequence`] : ['batch', 'sequence'];
  return { ids: g.input(`${prefix}input_ids`, 'int64', dims), mask: g.input(`${prefix}attention_mask`, 'int64', dims) };
}

/** Activation functions as transformers' ACT2FN defines them (`gelu` is the erf form). */
function activation(g: DiffGraph, x: Sym, kind: ModernBertConfig['hiddenActivation']): Sym {
  switch (kind) {
    case 'gelu':
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.erf(g.mul(x, g.scalar(Math.SQRT1_2))), g.scalar(1)));
    case 'gelu_new':
    case 'gelu_pytorch_tanh': {
      const cube = g.mul(g.mul(x, x), x);
      const inner = g.mul(g.add(x, g.mul(cube, g.scalar(0.044715))), g.scalar(Math.sqrt(2 / Math.PI)));
      return g.mul(g.mul(x, g.scalar(0.5)), g.add(g.tanh(inner), g.scalar(1)));
    }
    case 'relu':
      return g.relu(x);
    case 'silu':
      return g.mul(x, g.sigmoid(x));
  }
}

/**
 * GeGLU with the exact GELU: gelu(input) ⊙ gate, its gradient written by hand so that the backward keeps only
 * `input` and `gate` (the derived one keeps five [tokens, intermediate] values of the GELU's chain per
 * layer: 2 GB at ModernBERT-base's size and batch 32 × 180 tokens):
 *   d input = dy ⊙ gate ⊙ (Φ(x) + x·φ(x)),  d gate = dy ⊙ x·Φ(x),  Φ(x) = ½(1 + erf(x/√2)), φ(x) = exp(−x²/2)/√(2π).
 * `derived: true` builds the plain composition (tests compare the two).
 */
export function geglu(g: DiffGraph, input: Sym, gate: Sym, opts: { derived?: boolean } = {}): Sym {
  if (opts.derived || (!g.isLive(input) && !g.isLive(gate))) return g.mul(activation(g, input, 'gelu'), gate);
  const cdf = (x: Sym) => g.mul(g.add(g.erf(g.mul(x, g.scalar(Math.SQRT1_2))), g.scalar(1)), g.scalar(0.5));
  const [y] = g.custom(
    [input, gate],
    () => [g.mul(g.mul(input, cdf(input)), gate)],
    ([dy], need) => {
      const phi = cdf(input);
      const dIn = need[0] ? g.mul(g.mul(dy!, gate), g.add(phi, g.mul(input, g.mul(g.exp(g.mul(g.mul(input, input), g.scalar(-0.5))), g.scalar(1 / Math.sqrt(2 * Math.PI)))))) : null;
      const dGate = need[1] ? g.mul(dy!, g.mul(input, phi)) : null;
      return [dIn, dGate];
    },
  );
  return y;
}

/** x / max(‖x‖₂, 1e-12) along the last axis (torch's F.normalize). */
function l2Normalize(g: DiffGraph, y: Sym): Sym {
  return g.div(y, g.max(g.sqrt(g.reduceSum(g.mul(y, y), [-1], true)), g.scalar(1e-12)));
}

/** The last hidden state [batch, sequence, hidden] of ModernBERT. */
export function modernBertHidden(g: DiffGraph, c: ModernBertConfig, w: WeightSource, ids: Sym, attn: Sym, dropout: DropoutSites = (_, x) => x): Sym {
  const H = c.hiddenSize;
  const d = c.headDim;
  const [B, L] = ids.dims;
  const need = (name: string): Sym => {
    const t = w(name);
    if (!t) throw new Error(`ModernBERT graph: no weight "${name}"`);
    return t;
  };
  const linear = (x: Sym, prefix: string): Sym => {
    const y = g.matmul(x, need(`${prefix}.weight`));
    const b = w(`${prefix}.bias`);
    return b ? g.add(y, b) : y;
  };
  const norm = (x: Sym, prefix: string): Sym => g.layerNorm(x, need(`${prefix}.weight`), w(`${prefix}.bias`), c.normEps);

  // Masks: additive biases [batch, 1, 1, L] (global) and [batch, 1, L, L] (sliding); never differentiated.
  const seqLen = g.raw('Gather', [g.shape(ids), g.intVec([1])], { axis: 0 }, [1], 'int64');
  const keyOk = g.raw('Unsqueeze', [g.cast(attn, 'bool'), g.intVec([1, 2])], {}, [B, 1, 1, L], 'bool');
  const zeroF = g.scalar(0);
  const minF = g.scalar(F32_MIN);
  const globalBias = g.raw('Where', [keyOk, zeroF, minF], {}, keyOk.dims, 'float');
  let slidingBias: Sym | undefined;
  if (c.layerTypes.includes('sliding_attention')) {
    const len = g.raw('Squeeze', [seqLen, g.intVec([0])], {}, [], 'int64');
    const pos = g.raw('Range', [g.ints('r0', [], [0]), len, g.ints('r1', [], [1])], {}, [L], 'int64');
    const rows = g.raw('Unsqueeze', [pos, g.intVec([1])], {}, [L, 1], 'int64');
    const cols = g.raw('Unsqueeze', [pos, g.intVec([0])], {}, [1, L], 'int64');
    const dist = g.raw('Abs', [g.raw('Sub', [rows, cols], {}, [L, L], 'int64')], {}, [L, L], 'int64');
    const inWindow = g.raw('LessOrEqual', [dist, g.ints('window', [], [Math.floor(c.localAttention / 2)])], {}, dist.dims, 'bool');
    const allowed = g.raw('And', [keyOk, inWindow], {}, [B, 1, L, L], 'bool');
    slidingBias = g.raw('Where', [allowed, zeroF, minF], {}, allowed.dims, 'float');
  }

  // Rotary tables sliced to the sequence length, [L, d] (broadcast over batch and heads).
  const rope = new Map<number, { cos: Sym; sin: Sym }>();
  const ropeFor = (theta: number) => {
    let r = rope.get(theta);
    if (!r) {
      const t = ropeTables(c.maxPositionEmbeddings, d, theta);
      const slice = (name: string, data: Float32Array) =>
        g.raw('Slice', [g.floats(name, [c.maxPositionEmbeddings, d], data), g.intVec([0]), seqLen, g.intVec([0])], {}, [L, d], 'float');
      r = { cos: slice(`rope_cos_${theta}`, t.cos), sin: slice(`rope_sin_${theta}`, t.sin) };
      rope.set(theta, r);
    }
    return r;
  };
  // rotate_half(x) = [-x2, x1] as x·R with R a signed permutation [d, d]: exact (one nonzero term per output).
  const rot = new Float32Array(d * d);
  for (let j = 0; j < d / 2; j++) {
    rot[(j + d / 2) * d + j] = -1; // out[j] = -x[j + d/2]
    rot[j * d + j + d / 2] = 1; // out[j + d/2] = x[j]
  }
  const rotation = g.floats('rope_rotate_half', [d, d], rot);
  const applyRope = (x: Sym, r: { cos: Sym; sin: Sym }): Sym => g.add(g.mul(x, r.cos), g.mul(g.matmul(x, rotation), r.sin));
  const scale = g.scalar(1 / Math.sqrt(d));
  // [B, L, H] ↔ [B, heads, L, d]
  const toHeads = (x: Sym) => g.transpose(g.reshape(x, [0, 0, c.numHeads, d], [B, L, c.numHeads, d]), [0, 2, 1, 3]);
  const fromHeads = (x: Sym) => g.reshape(g.transpose(x, [0, 2, 1, 3]), [0, 0, H], [B, L, H]);

  let x = dropout('embeddings', norm(g.gather(need('embeddings.tok_embeddings.weight'), ids), 'embeddings.norm'));
  for (let i = 0; i < c.numLayers; i++) {
    const global = c.layerTypes[i] === 'full_attention';
    const h = i === 0 ? x : norm(x, `layers.${i}.attn_norm`);
    // Wqkv's q, k and v column blocks as three products (no strided split of the activations).
    const [wq, wk, wv] = g.split(need(`layers.${i}.attn.Wqkv.weight`), 1, [H, H, H]);
    const bqkv = w(`layers.${i}.attn.Wqkv.bias`);
    const [bq, bk, bv] = bqkv ? g.split(bqkv, 0, [H, H, H]) : [undefined, undefined, undefined];
    const project = (wt: Sym, b?: Sym) => toHeads(b ? g.add(g.matmul(h, wt), b) : g.matmul(h, wt));
    const r = ropeFor(global ? c.globalRopeTheta : c.localRopeTheta);
    const q = applyRope(project(wq, bq), r);
    const k = applyRope(project(wk, bk), r);
    const v = project(wv, bv);
    const scores = g.add(g.matmul(g.mul(q, scale), g.transposeLast(k)), global ? globalBias : slidingBias!);
    const probs = dropout(`layers.${i}.attn.probs`, g.softmax(scores));
    x = g.add(x, dropout(`layers.${i}.attn.out`, linear(fromHeads(g.matmul(probs, v)), `layers.${i}.attn.Wo`)));
    const hm = norm(x, `layers.${i}.mlp_norm`);
    const [wi, wg] = g.split(need(`layers.${i}.mlp.Wi.weight`), 1, [c.intermediateSize, c.intermediateSize]);
    const bi = w(`layers.${i}.mlp.Wi.bias`);
    const [bIn, bGate] = bi ? g.split(bi, 0, [c.intermediateSize, c.intermediateSize]) : [undefined, undefined];
    const input = bIn ? g.add(g.matmul(hm, wi), bIn) : g.matmul(hm, wi);
    const gate = bGate ? g.add(g.matmul(hm, wg), bGate) : g.matmul(hm, wg);
    const gated = c.hiddenActivation === 'gelu' ? geglu(g, input, gate) : g.mul(activation(g, input, c.hiddenActivation), gate);
    x = g.add(x, linear(dropout(`layers.${i}.mlp`, gated), `layers.${i}.mlp.Wo`));
  }
  return norm(x, 'final_norm');
}

/** ColBERT: every token projected (projection [hidden, dim]) and L2-normalised → [batch, sequence, dim]. */
export function colbertHead(g: DiffGraph, hidden: Sym, projection: Sym): Sym {
  return l2Normalize(g, g.matmul(hidden, projection));
}

/** Dense: mean over attended tokens (count ≥ 1e-9) or the first token, optionally normalised → [batch, hidden]. */
export function denseHead(g: DiffGraph, hidden: Sym, attn: Sym, pooling: 'mean' | 'cls', normalize: boolean): Sym {
  let pooled: Sym;
  if (pooling === 'cls') {
    // hidden ⊙ [position = 0] summed over positions: the first token, exactly, with a plain gradient.
    const len = g.raw('Squeeze', [g.raw('Gather', [g.shape(hidden), g.intVec([1])], { axis: 0 }, [1], 'int64'), g.intVec([0])], {}, [], 'int64');
    const L = hidden.dims[1];
    const pos = g.raw('Range', [g.ints('r0', [], [0]), len, g.ints('r1', [], [1])], {}, [L], 'int64');
    const first = g.cast(g.raw('Unsqueeze', [g.raw('Equal', [pos, g.ints('zero', [], [0])], {}, [L], 'bool'), g.intVec([0, 2])], {}, [1, L, 1], 'bool'), 'float');
    pooled = g.reduceSum(g.mul(hidden, first), [1], false);
  } else {
    const m = g.raw('Unsqueeze', [g.cast(attn, 'float'), g.intVec([2])], {}, [...attn.dims, 1], 'float');
    const count = g.max(g.reduceSum(m, [1], false), g.scalar(1e-9));
    pooled = g.div(g.reduceSum(g.mul(hidden, m), [1], false), count);
  }
  return normalize ? l2Normalize(g, pooled) : pooled;
}

/**
 * Masked-LM logits [rows, vocab] for hidden states [rows, hidden]: head.dense → activation → head.norm →
 * decoder (tied to the token embeddings unless the config unties them) + decoder.bias.
 */
export function mlmLogits(g: DiffGraph, c: ModernBertConfig, w: WeightSource, hidden: Sym): Sym {
  const need = (name: string): Sym => {
    const t = w(name);
    if (!t) throw new Error(`ModernBERT graph: no weight "${name}"`);
    return t;
  };
  let h = g.matmul(hidden, need('head.dense.weight'));
  const hb = w('head.dense.bias');
  if (hb) h = g.add(h, hb);
  h = g.layerNorm(activation(g, h, c.classifierActivation), need('head.norm.weight'), w('head.norm.bias'), c.normEps);
  const decoder = c.tieWordEmbeddings ? need('embeddings.tok_embeddings.weight') : need('decoder.weight');
  const logits = g.gemm(h, decoder, { transB: true });
  const bias = w('decoder.bias');
  return bias ? g.add(logits, bias) : logits;
}

function transpose(t: RawTensor): Float32Array {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return out;
}

/**
 * The serialised inference model. `get` returns a backbone tensor in transformers' layout by name (without
 * `model.`); `where` names the source in errors. The MLM head, when present, is not part of the graph.
 */
export function buildModernBertOnnx(config: ModernBertConfig, get: (name: string) => RawTensor | undefined, head: OnnxHead, where: string): Uint8Array {
  const c = config;
  if (c.headDim % 2 !== 0) throw new UserError(`${where}: head dimension ${c.headDim} is odd; rotary embeddings need an even one`);
  const g = new DiffGraph();
  const specs = new Map(parameterSpecs(c).filter((s) => !s.head).map((s) => [s.name, s]));
  const consts = new Map<string, Sym>();
  const weights: WeightSource = (name) => {
    const s = specs.get(name);
    if (!s) return undefined;
    let v = consts.get(name);
    if (!v) {
      const t = get(name);
      if (!t) throw new UserError(`${where}: missing tensor "${name}"`);
      if (t.shape.length !== s.shape.length || t.shape.some((v2, i) => v2 !== s.shape[i])) {
        throw new UserError(`${where}: tensor "${name}" has shape [${t.shape}], config.json implies [${s.shape}]`);
      }
      v = g.floats(name, layoutShape(s), s.linear ? transpose(t) : t.data);
      consts.set(name, v);
    }
    return v;
  };
  // Fail on a missing or misshapen tensor before building anything (one message naming it).
  for (const name of specs.keys()) weights(name);
  const { ids, mask } = textInputs(g);
  const hidden = modernBertHidden(g, c, weights, ids, mask);
  const H = c.hiddenSize;
  if (head.kind === 'hidden') {
    g.output(hidden, 'hidden');
  } else if (head.kind === 'colbert') {
    const p = head.projection;
    if (p.shape.length !== 2 || p.shape[1] !== H) throw new UserError(`${where}: ColBERT projection has shape [${p.shape}], expected [dim, ${H}]`);
    g.output(colbertHead(g, hidden, g.floats('colbert.projection', [H, p.shape[0]], transpose(p))), 'embeddings');
  } else {
    g.output(denseHead(g, hidden, mask, head.pooling, head.normalize), 'embeddings');
  }
  return g.serialize({ producer: 'colbert-zero-workbook', version: GRAPH_VERSION, doc: `ModernBERT (${c.numLayers} layers, hidden ${H}) with a ${head.kind} head` });
}
