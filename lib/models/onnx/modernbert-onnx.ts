/**
 * ModernBERT with a ColBERT or dense head as one ONNX graph, built from the model's config and its
 * weights in transformers' layout — the same computation as lib/models/modernbert.ts (eager attention),
 * written as ONNX operators:
 *
 *   inputs  input_ids [batch, sequence] int64, attention_mask [batch, sequence] int64 (1 = attended)
 *   Gather(tok_embeddings) → LayerNorm
 *   N × [ x += Wo · attention(rope(Wqkv · attn_norm(x)))          (layer 0: no attn_norm)
 *         x += Wo · (act(input) ⊙ gate), [input | gate] = Wi · mlp_norm(x) ]
 *   final LayerNorm
 *   head  colbert: hidden · projection → per-token x / max(‖x‖, 1e-12)       → embeddings [batch, sequence, dim]
 *         dense:   mean over attended tokens (count ≥ 1e-9) or [CLS] (→ normalise) → embeddings [batch, dim]
 *         hidden:  the last hidden state                                   → hidden [batch, sequence, hidden]
 *
 * Batch and sequence length are dynamic. Attention is additive-masked with float32's lowest value, as
 * transformers' eager path: a key is allowed when it is not padding and, on sliding layers, when
 * |i − j| ≤ local_attention / 2. Rotary tables are precomputed in float32 exactly as lib/models/layers.ts
 * does (up to max_position_embeddings rows) and sliced to the sequence length.
 */
import { UserError } from '../../util/errors';
import type { ModernBertConfig } from '../config';
import { parameterSpecs, type RawTensor } from '../modernbert';
import { ropeTables } from '../layers';
import { GraphBuilder, FLOAT, INT64 } from '../../backend/onnx-graph';

const F32_MIN = -3.4028234663852886e38;

export type OnnxHead =
  | { kind: 'colbert'; /** PyLate's linear.weight, [dim, hidden]. */ projection: RawTensor }
  | { kind: 'dense'; pooling: 'mean' | 'cls'; normalize: boolean }
  | { kind: 'hidden' };

/** The version of the graph layout; a cached model.onnx from another version is rebuilt. */
export const GRAPH_VERSION = 'cz-modernbert-onnx/1';

function transpose(t: RawTensor): Float32Array {
  const [rows, cols] = t.shape;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = t.data[r * cols + c];
  return out;
}

/**
 * The serialised ONNX model. `get` returns a backbone tensor by transformers name (without `model.`);
 * `where` names the source in errors. The MLM head, when present, is not part of the graph.
 */
export function buildModernBertOnnx(config: ModernBertConfig, get: (name: string) => RawTensor | undefined, head: OnnxHead, where: string): Uint8Array {
  const c = config;
  const g = new GraphBuilder();
  const H = c.hiddenSize;
  const d = c.headDim;
  if (d % 2 !== 0) throw new UserError(`${where}: head dimension ${d} is odd; rotary embeddings need an even one`);

  const specs = new Map(parameterSpecs(c).filter((s) => !s.head).map((s) => [s.name, s]));
  const tensor = (name: string): RawTensor => {
    const t = get(name);
    const s = specs.get(name);
    if (!t) throw new UserError(`${where}: missing tensor "${name}"`);
    if (s && (t.shape.length !== s.shape.length || t.shape.some((v, i) => v !== s.shape[i]))) {
      throw new UserError(`${where}: tensor "${name}" has shape [${t.shape}], config.json implies [${s.shape}]`);
    }
    return t;
  };
  const optional = (name: string): RawTensor | undefined => (specs.has(name) ? tensor(name) : undefined);
  /**
   * x · Wᵀ (+ b) with W in PyTorch's [out, in] layout; `rows` picks output features [from, to) (the q, k, v
   * parts of Wqkv, the input and gate halves of Wi: separate products instead of a Split of one, which
   * ONNX Runtime executes as a strided copy).
   */
  const linear = (x: string, prefix: string, rows?: [number, number]): string => {
    const full = tensor(`${prefix}.weight`);
    const [r0, r1] = rows ?? [0, full.shape[0]];
    const w: RawTensor = { shape: [r1 - r0, full.shape[1]], data: full.data.subarray(r0 * full.shape[1], r1 * full.shape[1]) };
    let y = g.op('MatMul', [x, g.floats(`${prefix}.weight_t`, [w.shape[1], w.shape[0]], transpose(w))]);
    const b = optional(`${prefix}.bias`);
    if (b) y = g.op('Add', [y, g.floats(`${prefix}.bias`, [r1 - r0], b.data.subarray(r0, r1))]);
    return y;
  };
  const norm = (x: string, prefix: string): string => {
    const w = tensor(`${prefix}.weight`);
    const b = optional(`${prefix}.bias`);
    const ins = [x, g.floats(`${prefix}.weight`, w.shape, w.data)];
    if (b) ins.push(g.floats(`${prefix}.bias`, b.shape, b.data));
    return g.op('LayerNormalization', ins, { axis: -1, epsilon: { float: c.normEps } });
  };
  const activation = (x: string, kind: ModernBertConfig['hiddenActivation']): string => {
    switch (kind) {
      case 'gelu': {
        const erf = g.op('Erf', [g.op('Mul', [x, g.scalar('inv_sqrt2', Math.SQRT1_2)])]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar('half', 0.5)]), g.op('Add', [erf, g.scalar('one', 1)])]);
      }
      case 'gelu_new':
      case 'gelu_pytorch_tanh': {
        const cube = g.op('Mul', [g.op('Mul', [x, x]), x]);
        const inner = g.op('Mul', [g.op('Add', [x, g.op('Mul', [cube, g.scalar('c044715', 0.044715)])]), g.scalar('sqrt_2_pi', Math.sqrt(2 / Math.PI))]);
        return g.op('Mul', [g.op('Mul', [x, g.scalar('half', 0.5)]), g.op('Add', [g.op('Tanh', [inner]), g.scalar('one', 1)])]);
      }
      case 'relu':
        return g.op('Relu', [x]);
      case 'silu':
        return g.op('Mul', [x, g.op('Sigmoid', [x])]);
    }
  };

  const ids = g.input('input_ids', INT64, ['batch', 'sequence']);
  const attn = g.input('attention_mask', INT64, ['batch', 'sequence']);
  const zero = g.ints('zero', [1], [0]);
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.ints('one_idx', [1], [1])]); // [1] int64
  const minusOne = g.ints('minus_one', [1], [-1]);

  // Masks: additive biases [batch, 1, 1, L] (global) and [batch, 1, L, L] (sliding).
  const keyOk = g.op('Unsqueeze', [g.op('Cast', [attn], { to: 9 }), g.ints('axes_1_2', [2], [1, 2])]);
  const zeroF = g.scalar('zero_f', 0);
  const minF = g.scalar('f32_min', F32_MIN);
  const globalBias = g.op('Where', [keyOk, zeroF, minF]);
  let slidingBias: string | undefined;
  if (c.layerTypes.includes('sliding_attention')) {
    const pos = g.op('Range', [g.ints('r0', [], [0]), g.op('Squeeze', [seqLen, zero]), g.ints('r1', [], [1])]);
    const diff = g.op('Abs', [g.op('Sub', [g.op('Unsqueeze', [pos, g.ints('ax1', [1], [1])]), g.op('Unsqueeze', [pos, zero])])]);
    const inWindow = g.op('LessOrEqual', [diff, g.ints('window', [], [Math.floor(c.localAttention / 2)])]);
    slidingBias = g.op('Where', [g.op('And', [keyOk, inWindow]), zeroF, minF]);
  }

  // Rotary tables sliced to the sequence length, [L, d] (broadcast over batch and heads).
  const rope = new Map<number, { cos: string; sin: string }>();
  const ropeFor = (theta: number) => {
    let r = rope.get(theta);
    if (!r) {
      const t = ropeTables(c.maxPositionEmbeddings, d, theta);
      const slice = (name: string, data: Float32Array) => g.op('Slice', [g.floats(name, [c.maxPositionEmbeddings, d], data), zero, seqLen, zero]);
      r = { cos: slice(`rope_cos_${theta}`, t.cos), sin: slice(`rope_sin_${theta}`, t.sin) };
      rope.set(theta, r);
    }
    return r;
  };
  // rotate_half(x) = [-x2, x1] as x·R with R a signed permutation [d, d]: exact (one nonzero term per
  // output), and a small product instead of Split + Neg + Concat.
  const rot = new Float32Array(d * d);
  for (let j = 0; j < d / 2; j++) {
    rot[(j + d / 2) * d + j] = -1; // out[j] = -x[j + d/2]
    rot[j * d + j + d / 2] = 1; // out[j + d/2] = x[j]
  }
  const rotation = g.floats('rope_rotate_half', [d, d], rot);
  const applyRope = (x: string, r: { cos: string; sin: string }): string => g.op('Add', [g.op('Mul', [x, r.cos]), g.op('Mul', [g.op('MatMul', [x, rotation]), r.sin])]);

  const headShape = g.ints('head_shape', [4], [0, 0, c.numHeads, d]);
  const ctxShape = g.ints('ctx_shape', [3], [0, 0, H]);
  const scale = g.scalar('attn_scale', 1 / Math.sqrt(d));

  let x = norm(g.op('Gather', [g.floats('embeddings.tok_embeddings.weight', tensor('embeddings.tok_embeddings.weight').shape, tensor('embeddings.tok_embeddings.weight').data), ids]), 'embeddings.norm');
  for (let i = 0; i < c.numLayers; i++) {
    const global = c.layerTypes[i] === 'full_attention';
    const h = i === 0 ? x : norm(x, `layers.${i}.attn_norm`);
    // q, k, v: [B, L, H] → [B, heads, L, d]
    const heads = (part: number) => g.op('Transpose', [g.op('Reshape', [linear(h, `layers.${i}.attn.Wqkv`, [part * H, (part + 1) * H]), headShape])], { perm: [0, 2, 1, 3] });
    const r = ropeFor(global ? c.globalRopeTheta : c.localRopeTheta);
    const q = applyRope(heads(0), r);
    const k = applyRope(heads(1), r);
    const v = heads(2);
    const scores = g.op('Add', [g.op('MatMul', [g.op('Mul', [q, scale]), g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), global ? globalBias : slidingBias!]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const ctx = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }), ctxShape]);
    x = g.op('Add', [x, linear(ctx, `layers.${i}.attn.Wo`)]);
    const hm = norm(x, `layers.${i}.mlp_norm`);
    const input = linear(hm, `layers.${i}.mlp.Wi`, [0, c.intermediateSize]);
    const gate = linear(hm, `layers.${i}.mlp.Wi`, [c.intermediateSize, 2 * c.intermediateSize]);
    x = g.op('Add', [x, linear(g.op('Mul', [activation(input, c.hiddenActivation), gate]), `layers.${i}.mlp.Wo`)]);
  }
  const hidden = norm(x, 'final_norm');

  const l2normalize = (y: string): string => {
    const n = g.op('Sqrt', [g.op('ReduceSum', [g.op('Mul', [y, y]), minusOne], { keepdims: 1 })]);
    return g.op('Div', [y, g.op('Max', [n, g.scalar('norm_eps', 1e-12)])]);
  };
  if (head.kind === 'hidden') {
    g.output(hidden, 'hidden', FLOAT, ['batch', 'sequence', H]);
  } else if (head.kind === 'colbert') {
    const p = head.projection;
    if (p.shape.length !== 2 || p.shape[1] !== H) throw new UserError(`${where}: ColBERT projection has shape [${p.shape}], expected [dim, ${H}]`);
    const y = g.op('MatMul', [hidden, g.floats('colbert.projection_t', [H, p.shape[0]], transpose(p))]);
    g.output(l2normalize(y), 'embeddings', FLOAT, ['batch', 'sequence', p.shape[0]]);
  } else {
    let pooled: string;
    if (head.pooling === 'cls') {
      pooled = g.op('Gather', [hidden, g.ints('cls_idx', [], [0])], { axis: 1 });
    } else {
      const m = g.op('Unsqueeze', [g.op('Cast', [attn], { to: FLOAT }), g.ints('ax2', [1], [2])]);
      const axis1 = g.ints('axis1', [1], [1]);
      const sum = g.op('ReduceSum', [g.op('Mul', [hidden, m]), axis1], { keepdims: 0 });
      const count = g.op('Max', [g.op('ReduceSum', [m, axis1], { keepdims: 0 }), g.scalar('count_eps', 1e-9)]);
      pooled = g.op('Div', [sum, count]);
    }
    g.output(head.normalize ? l2normalize(pooled) : pooled, 'embeddings', FLOAT, ['batch', H]);
  }
  return g.serialize({ producer: 'colbert-zero-workbook', version: GRAPH_VERSION, doc: `ModernBERT (${c.numLayers} layers, hidden ${H}) with a ${head.kind} head` });
}
