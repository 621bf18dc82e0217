/**
 * Reverse-mode differentiation of ONNX graphs. `DiffGraph` wraps the GraphBuilder: each operator is a
 * method that adds its ONNX node(s), knows its output shape (symbolic dimensions stay names) and, when
 * one of its inputs depends on a differentiable graph input, records its vector-Jacobian product — itself
 * written as ONNX operators. `gradients(seeds, wrt)` then walks the record backwards and adds the
 * backward nodes to the same graph, so one forward written once yields:
 *   - the inference graph (forward only, weights as initialisers),
 *   - GradCache's first pass (forward only, weights as inputs),
 *   - the backward pass (forward + VJP from a given output gradient),
 *   - a whole training step (forward + loss + VJP from the scalar loss).
 *
 * Conventions follow the tfjs gradients the tests compare with: Max(a, b) sends the gradient to `a` where
 * a ≥ b; a max over an axis sends it to the first maximal element ('first', as argMax and torch.max do)
 * or to every tied element ('all', as tf.max's gradient does).
 */
import { BOOL, FLOAT, GraphBuilder, INT64, type Dim } from './onnx-graph';

export type ElemType = 'float' | 'int64' | 'bool';
const ONNX_TYPE: Record<ElemType, number> = { float: FLOAT, int64: INT64, bool: BOOL };

/** A value of the graph: its name, shape (numbers or symbolic names) and element type. */
export interface Sym {
  readonly name: string;
  readonly dims: readonly Dim[];
  readonly type: ElemType;
}

/** Gradients of an operator's inputs from its outputs' gradients (null: no gradient reaches it). */
export type Vjp = (dys: Array<Sym | null>, need: boolean[]) => Array<Sym | null>;

export interface Entry {
  inputs: Sym[];
  outputs: Sym[];
  vjp: Vjp;
}

export type Attrs = Parameters<GraphBuilder['op']>[2];

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** numpy broadcasting of two shapes; two different symbolic dimensions are a programming error. */
function broadcastDims(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  return range(n).map((i) => {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === 1) return y;
    if (y === 1 || x === y) return x;
    if (typeof x === 'number' && typeof y === 'number') throw new Error(`broadcast: [${a}] and [${b}] do not broadcast`);
    if (typeof x === 'string' && typeof y === 'string') throw new Error(`broadcast: symbolic ${x} vs ${y} in [${a}] and [${b}]`);
    return typeof x === 'number' ? x : y;
  });
}

export class DiffGraph {
  readonly builder = new GraphBuilder();
  private readonly tape: Entry[] = [];
  /** Values that depend on a differentiable input (only those get gradients). */
  private readonly live = new Set<string>();
  private readonly constants = new Map<string, Sym>();
  private recording = true;
  /** During backprop: the sparse inputs' row gradients collected by gather. */
  private sparseRows = new Map<string, Array<{ indices: Sym; values: Sym }>>();

  // ---- values ----------------------------------------------------------------------------------------

  input(name: string, type: ElemType, dims: Dim[], opts: { differentiable?: boolean } = {}): Sym {
    this.builder.input(name, ONNX_TYPE[type], dims);
    if (opts.differentiable) {
      if (type !== 'float') throw new Error(`${name}: only float inputs are differentiable`);
      this.live.add(name);
    }
    return { name, dims, type };
  }

  output(v: Sym, name: string): void {
    this.builder.output(v.name, name, ONNX_TYPE[v.type], [...v.dims]);
  }

  /** A float32 initialiser (a constant: never differentiated). */
  floats(name: string, dims: number[], data: Float32Array | number[]): Sym {
    return { name: this.builder.floats(name, dims, data), dims, type: 'float' };
  }

  ints(name: string, dims: number[], data: number[]): Sym {
    return { name: this.builder.ints(name, dims, data), dims, type: 'int64' };
  }

  /** A float scalar constant, shared by every use of the same value. */
  scalar(v: number): Sym {
    const key = `f${v}`;
    let s = this.constants.get(key);
    if (!s) this.constants.set(key, (s = this.floats('c', [], [v])));
    return s;
  }

  /** An int64 vector constant, shared by every use of the same values. */
  intVec(vs: number[]): Sym {
    const key = `i${vs.join(',')}`;
    let s = this.constants.get(key);
    if (!s) this.constants.set(key, (s = this.ints('ci', [vs.length], vs)));
    return s;
  }

  isLive(v: Sym): boolean {
    return this.live.has(v.name);
  }

  // ---- the record ------------------------------------------------------------------------------------

  /**
   * Adds a node with `outs` outputs of the given shapes; records `vjp` when an input is live. A node
   * without a VJP on a live float path is refused: its gradient would silently be missing.
   */
  private node(type: string, inputs: Sym[], attrs: Attrs, outs: Array<{ dims: readonly Dim[]; type: ElemType }>, vjp?: Vjp): Sym[] {
    const names = this.builder.opMulti(type, inputs.map((i) => i.name), outs.length, attrs);
    const outputs = outs.map((o, i) => ({ name: names[i], dims: o.dims, type: o.type }));
    const liveIn = this.recording && inputs.some((i) => this.live.has(i.name));
    if (liveIn && outputs.some((o) => o.type === 'float')) {
      if (!vjp) throw new Error(`DiffGraph: ${type} has no gradient, but one of its inputs needs one`);
      outputs.forEach((o) => o.type === 'float' && this.live.add(o.name));
      this.tape.push({ inputs, outputs, vjp });
    }
    return outputs;
  }

  private one(type: string, inputs: Sym[], attrs: Attrs, dims: readonly Dim[], type_: ElemType, vjp?: Vjp): Sym {
    return this.node(type, inputs, attrs, [{ dims, type: type_ }], vjp)[0];
  }

  /** An operator that is never differentiated (shapes, masks, comparisons, casts, constants). */
  raw(type: string, inputs: Sym[], attrs: Attrs, dims: readonly Dim[], type_: ElemType): Sym {
    return this.one(type, inputs, attrs, dims, type_);
  }

  /**
   * An operator made of several nodes with a hand-written VJP (where it is clearly faster than the derived
   * one, e.g. MaxSim's sparse gradient; its tests compare the two). `forward` adds the nodes unrecorded.
   */
  custom(inputs: Sym[], forward: () => Sym[], vjp: Vjp): Sym[] {
    const was = this.recording;
    this.recording = false;
    let outputs: Sym[];
    try {
      outputs = forward();
    } finally {
      this.recording = was;
    }
    if (was && inputs.some((i) => this.live.has(i.name))) {
      outputs.forEach((o) => o.type === 'float' && this.live.add(o.name));
      this.tape.push({ inputs, outputs, vjp });
    }
    return outputs;
  }

  /**
   * Gradients of Σ seeds[i].value ⊙ seeds[i].grad with respect to `wrt` (zeros where nothing reaches).
   * A scalar loss passes its gradient as the constant 1.
   */
  gradients(seeds: Array<{ value: Sym; grad: Sym }>, wrt: Sym[]): Sym[] {
    return this.backprop(seeds, wrt, []).dense.map((d, i) => d ?? this.zerosLike(wrt[i]));
  }

  /**
   * The same, with the gradient of each `sparse` input that is looked up by `gather` returned as rows:
   * (indices [m], values [m, ...]) per lookup, for the caller to add up — an embedding table's gradient
   * touches only the rows of the batch's tokens, and a scatter-add of repeated ids inside ONNX Runtime is
   * either racy (ScatterND runs its updates on several threads) or slow (ScatterElements). `dense` holds what
   * other uses contribute (null when nothing else does).
   */
  backprop(seeds: Array<{ value: Sym; grad: Sym }>, wrt: Sym[], sparse: Sym[]): { dense: Array<Sym | null>; rows: Map<string, Array<{ indices: Sym; values: Sym }>> } {
    const grads = new Map<string, Sym>();
    const add = (v: Sym, g: Sym) => {
      const prev = grads.get(v.name);
      grads.set(v.name, prev ? this.add(prev, g) : g);
    };
    this.recording = false;
    this.sparseRows = new Map(sparse.map((x) => [x.name, []]));
    try {
      for (const s of seeds) add(s.value, s.grad);
      for (let e = this.tape.length - 1; e >= 0; e--) {
        const entry = this.tape[e];
        const dys = entry.outputs.map((o) => grads.get(o.name) ?? null);
        if (dys.every((d) => d === null)) continue;
        const need = entry.inputs.map((i) => this.live.has(i.name));
        const dxs = entry.vjp(dys, need);
        entry.inputs.forEach((inp, i) => {
          const d = dxs[i];
          if (need[i] && d) add(inp, d);
        });
      }
      return { dense: wrt.map((w) => grads.get(w.name) ?? null), rows: this.sparseRows };
    } finally {
      this.recording = true;
      this.sparseRows = new Map();
    }
  }

  serialize(meta: Parameters<GraphBuilder['serialize']>[0]): Uint8Array {
    return this.builder.serialize(meta);
  }

  // ---- helpers (never differentiated) ----------------------------------------------------------------

  shape(x: Sym): Sym {
    return this.raw('Shape', [x], {}, [x.dims.length], 'int64');
  }

  zerosLike(x: Sym): Sym {
    return this.zerosOfShape(this.shape(x), x.dims);
  }

  private zerosOfShape(shape: Sym, dims: readonly Dim[]): Sym {
    return this.raw('ConstantOfShape', [shape], { value: { tensor: { dataType: FLOAT, dims: [1], floatData: [0] } } }, dims, 'float');
  }

  /**
   * x's runtime shape for a VJP. Taken now, in the forward pass, when x is on a differentiable path: the
   * backward then keeps the small shape vector alive instead of x itself (a Shape node in the backward
   * would hold every reshaped activation until the end of the run).
   */
  private shapeForBackward(x: Sym): () => Sym {
    if (!this.recording || !this.live.has(x.name)) return () => this.shape(x);
    const shape = this.shape(x);
    return () => shape;
  }

  cast(x: Sym, to: ElemType): Sym {
    return this.raw('Cast', [x], { to: ONNX_TYPE[to] }, x.dims, to);
  }

  compare(type: 'Equal' | 'Greater' | 'GreaterOrEqual' | 'Less' | 'LessOrEqual', a: Sym, b: Sym): Sym {
    return this.raw(type, [a, b], {}, broadcastDims(a.dims, b.dims), 'bool');
  }

  /** Sums a broadcast gradient back to the shape `dims` of the input it came from. */
  private sumTo(g: Sym, dims: readonly Dim[]): Sym {
    let out = g;
    const lead = g.dims.length - dims.length;
    if (lead > 0) out = this.reduceSum(out, range(lead), false);
    const axes = dims.map((d, i) => (d === 1 && out.dims[i] !== 1 ? i : -1)).filter((i) => i >= 0);
    return axes.length ? this.reduceSum(out, axes, true) : out;
  }

  // ---- element-wise ----------------------------------------------------------------------------------

  private binary(type: string, a: Sym, b: Sym, vjp: (dy: Sym, y: Sym) => [Sym | null, Sym | null]): Sym {
    const dims = broadcastDims(a.dims, b.dims);
    let y: Sym;
    const v: Vjp = ([dy], need) => {
      const [da, db] = vjp(dy!, y);
      return [need[0] && da ? this.sumTo(da, a.dims) : null, need[1] && db ? this.sumTo(db, b.dims) : null];
    };
    y = this.one(type, [a, b], {}, dims, 'float', v);
    return y;
  }

  add(a: Sym, b: Sym): Sym {
    return this.binary('Add', a, b, (dy) => [dy, dy]);
  }

  sub(a: Sym, b: Sym): Sym {
    return this.binary('Sub', a, b, (dy) => [dy, this.neg(dy)]);
  }

  mul(a: Sym, b: Sym): Sym {
    return this.binary('Mul', a, b, (dy) => [this.isLive(a) ? this.mul(dy, b) : null, this.isLive(b) ? this.mul(dy, a) : null]);
  }

  div(a: Sym, b: Sym): Sym {
    // d a = dy / b;  d b = −dy · y / b
    return this.binary('Div', a, b, (dy, y) => [this.isLive(a) ? this.div(dy, b) : null, this.isLive(b) ? this.neg(this.div(this.mul(dy, y), b)) : null]);
  }

  /** Element-wise max; the gradient goes to `a` where a ≥ b, else to `b` (tf.maximum's rule). */
  max(a: Sym, b: Sym): Sym {
    return this.binary('Max', a, b, (dy) => {
      const takeA = this.compare('GreaterOrEqual', a, b);
      const zero = this.scalar(0);
      return [this.where(takeA, dy, zero), this.where(takeA, zero, dy)];
    });
  }

  /** cond ? a : b (cond is never differentiated). */
  where(cond: Sym, a: Sym, b: Sym): Sym {
    const dims = broadcastDims(cond.dims, broadcastDims(a.dims, b.dims));
    return this.one('Where', [cond, a, b], {}, dims, 'float', ([dy], need) => {
      const zero = this.scalar(0);
      return [null, need[1] ? this.sumTo(this.where(cond, dy!, zero), a.dims) : null, need[2] ? this.sumTo(this.where(cond, zero, dy!), b.dims) : null];
    });
  }

  private unary(type: string, x: Sym, vjp: (dy: Sym, y: Sym) => Sym, attrs: Attrs = {}): Sym {
    let y: Sym;
    y = this.one(type, [x], attrs, x.dims, 'float', ([dy]) => [vjp(dy!, y)]);
    return y;
  }

  neg(x: Sym): Sym {
    return this.unary('Neg', x, (dy) => this.neg(dy));
  }

  sqrt(x: Sym): Sym {
    return this.unary('Sqrt', x, (dy, y) => this.div(this.mul(dy, this.scalar(0.5)), y));
  }

  exp(x: Sym): Sym {
    return this.unary('Exp', x, (dy, y) => this.mul(dy, y));
  }

  log(x: Sym): Sym {
    return this.unary('Log', x, (dy) => this.div(dy, x));
  }

  erf(x: Sym): Sym {
    // d erf(x) = 2/√π · exp(−x²)
    return this.unary('Erf', x, (dy) => this.mul(dy, this.mul(this.exp(this.neg(this.mul(x, x))), this.scalar(2 / Math.sqrt(Math.PI)))));
  }

  tanh(x: Sym): Sym {
    return this.unary('Tanh', x, (dy, y) => this.mul(dy, this.sub(this.scalar(1), this.mul(y, y))));
  }

  sigmoid(x: Sym): Sym {
    return this.unary('Sigmoid', x, (dy, y) => this.mul(dy, this.mul(y, this.sub(this.scalar(1), y))));
  }

  relu(x: Sym): Sym {
    return this.unary('Relu', x, (dy) => this.where(this.compare('Greater', x, this.scalar(0)), dy, this.scalar(0)));
  }

  // ---- reductions ------------------------------------------------------------------------------------

  private reducedDims(x: Sym, axes: number[], keepdims: boolean): Dim[] {
    const ax = new Set(axes.map((a) => (a < 0 ? a + x.dims.length : a)));
    return x.dims.flatMap((d, i) => (ax.has(i) ? (keepdims ? [1] : []) : [d]));
  }

  /** The gradient of a reduction, brought back to x's shape (dy is unsqueezed where keepdims was off). */
  private expandBack(dy: Sym, x: Sym, xShape: () => Sym, axes: number[], keepdims: boolean): Sym {
    const kept = keepdims ? dy : this.unsqueeze(dy, axes.map((a) => (a < 0 ? a + x.dims.length : a)).sort((p, q) => p - q));
    return this.raw('Expand', [kept, xShape()], {}, x.dims, 'float');
  }

  reduceSum(x: Sym, axes: number[], keepdims: boolean): Sym {
    const sx = this.shapeForBackward(x);
    return this.one('ReduceSum', [x, this.intVec(axes)], { keepdims: keepdims ? 1 : 0 }, this.reducedDims(x, axes, keepdims), 'float', ([dy]) => [this.expandBack(dy!, x, sx, axes, keepdims), null]);
  }

  /** Mean over axes of fixed size. */
  reduceMean(x: Sym, axes: number[], keepdims: boolean): Sym {
    const count = axes.reduce((n, a) => {
      const d = x.dims[a < 0 ? a + x.dims.length : a];
      if (typeof d !== 'number') throw new Error(`reduceMean: axis ${a} of [${x.dims}] has no fixed size`);
      return n * d;
    }, 1);
    const sx = this.shapeForBackward(x);
    return this.one('ReduceMean', [x], { axes, keepdims: keepdims ? 1 : 0 }, this.reducedDims(x, axes, keepdims), 'float', ([dy]) => [
      this.mul(this.expandBack(dy!, x, sx, axes, keepdims), this.scalar(1 / count)),
    ]);
  }

  /** Max (or min) over one axis; `ties`: the gradient goes to the first maximal element, or to all of them. */
  reduceMax(x: Sym, axis: number, keepdims: boolean, ties: 'first' | 'all', kind: 'max' | 'min' = 'max'): Sym {
    const ax = axis < 0 ? axis + x.dims.length : axis;
    const sx = this.shapeForBackward(x);
    let y: Sym;
    y = this.one(kind === 'max' ? 'ReduceMax' : 'ReduceMin', [x], { axes: [ax], keepdims: keepdims ? 1 : 0 }, this.reducedDims(x, [ax], keepdims), 'float', ([dy]) => {
      if (ties === 'all') {
        const spread = this.expandBack(dy!, x, sx, [ax], keepdims);
        const yk = keepdims ? y : this.unsqueeze(y, [ax]);
        return [this.where(this.compare('Equal', x, yk), spread, this.scalar(0))];
      }
      // The whole gradient to the first winner: scattered into zeros (no dense one-hot, no expanded dy).
      const idx = this.raw(kind === 'max' ? 'ArgMax' : 'ArgMin', [x], { axis: ax, keepdims: 1, select_last_index: 0 }, this.reducedDims(x, [ax], true), 'int64');
      const dyKept = keepdims ? dy! : this.unsqueeze(dy!, [ax]);
      return [this.raw('ScatterElements', [this.zerosOfShape(sx(), x.dims), idx, dyKept], { axis: ax }, x.dims, 'float')];
    });
    return y;
  }

  // ---- products and layout --------------------------------------------------------------------------

  /** Swaps the last two axes. */
  transposeLast(x: Sym): Sym {
    const r = x.dims.length;
    return this.transpose(x, [...range(r - 2), r - 1, r - 2]);
  }

  matmul(a: Sym, b: Sym): Sym {
    if (a.dims.length < 2 || b.dims.length < 2) throw new Error(`matmul: [${a.dims}] · [${b.dims}] needs rank ≥ 2`);
    const [m, k] = a.dims.slice(-2);
    const [k2, n] = b.dims.slice(-2);
    if (typeof k === 'number' && typeof k2 === 'number' && k !== k2) throw new Error(`matmul: [${a.dims}] · [${b.dims}]`);
    const batch = broadcastDims(a.dims.slice(0, -2), b.dims.slice(0, -2));
    return this.one('MatMul', [a, b], {}, [...batch, m, n], 'float', ([dy], need) => {
      const da = need[0] ? this.sumTo(this.matmul(dy!, this.transposeLast(b)), a.dims) : null;
      let db: Sym | null = null;
      if (need[1]) {
        if (b.dims.length === 2 && a.dims.length > 2) {
          // A weight shared by every row: one [K, rows]·[rows, N] product instead of a batch of them.
          if (typeof k !== 'number' || typeof n !== 'number') throw new Error('matmul: a shared weight needs fixed dimensions');
          const a2 = this.reshape(a, [-1, k], ['rows', k]);
          const d2 = this.reshape(dy!, [-1, n], ['rows', n]);
          db = this.gemm(a2, d2, { transA: true });
        } else {
          db = this.sumTo(this.matmul(this.transposeLast(a), dy!), b.dims);
        }
      }
      return [da, db];
    });
  }

  /** op(a)·op(b) for 2-D a, b (ONNX Gemm without bias). */
  gemm(a: Sym, b: Sym, t: { transA?: boolean; transB?: boolean } = {}): Sym {
    const [m, ka] = t.transA ? [a.dims[1], a.dims[0]] : [a.dims[0], a.dims[1]];
    const [, n] = t.transB ? [b.dims[1], b.dims[0]] : [b.dims[0], b.dims[1]];
    void ka;
    return this.one('Gemm', [a, b], { transA: t.transA ? 1 : 0, transB: t.transB ? 1 : 0 }, [m, n], 'float', ([dy], need) => {
      // y = op(a)·op(b):  d op(a) = dy·op(b)ᵀ,  d op(b) = op(a)ᵀ·dy
      const da = need[0] ? (t.transA ? this.gemm(b, dy!, { transA: !!t.transB, transB: true }) : this.gemm(dy!, b, { transB: !t.transB })) : null;
      const db = need[1] ? (t.transB ? this.gemm(dy!, a, { transA: true, transB: !!t.transA }) : this.gemm(a, dy!, { transA: !t.transA })) : null;
      return [da, db];
    });
  }

  /** Reshape with ONNX's shape spec (0 copies, −1 infers), `dims` the resulting shape for the record. */
  reshape(x: Sym, spec: number[], dims: Dim[]): Sym {
    const sx = this.shapeForBackward(x);
    return this.one('Reshape', [x, this.intVec(spec)], {}, dims, x.type, ([dy]) => [this.raw('Reshape', [dy!, sx()], {}, x.dims, 'float'), null]);
  }

  /** Reshape to a runtime shape (an int64 vector, e.g. from `dimsVector`), `dims` the result for the record. */
  reshapeTo(x: Sym, shape: Sym, dims: Dim[]): Sym {
    const sx = this.shapeForBackward(x);
    return this.one('Reshape', [x, shape], {}, dims, x.type, ([dy]) => [this.raw('Reshape', [dy!, sx()], {}, x.dims, 'float'), null]);
  }

  /** An int64 shape vector from fixed sizes and runtime sizes of other values ({ of, axis }). */
  dimsVector(parts: Array<number | { of: Sym; axis: number }>): Sym {
    const pieces = parts.map((p) => (typeof p === 'number' ? this.intVec([p]) : this.raw('Gather', [this.shape(p.of), this.intVec([p.axis])], { axis: 0 }, [1], 'int64')));
    return pieces.length === 1 ? pieces[0] : this.raw('Concat', pieces, { axis: 0 }, [parts.length], 'int64');
  }

  transpose(x: Sym, perm: number[]): Sym {
    const inverse = range(perm.length).map((i) => perm.indexOf(i));
    return this.one('Transpose', [x], { perm }, perm.map((p) => x.dims[p]), x.type, ([dy]) => [this.transpose(dy!, inverse)]);
  }

  unsqueeze(x: Sym, axes: number[]): Sym {
    const dims: Dim[] = [...x.dims];
    for (const a of [...axes].sort((p, q) => p - q)) dims.splice(a, 0, 1);
    return this.one('Unsqueeze', [x, this.intVec(axes)], {}, dims, x.type, ([dy]) => [this.squeeze(dy!, axes), null]);
  }

  squeeze(x: Sym, axes: number[]): Sym {
    const drop = new Set(axes);
    return this.one('Squeeze', [x, this.intVec(axes)], {}, x.dims.filter((_, i) => !drop.has(i)), x.type, ([dy]) => [this.unsqueeze(dy!, axes), null]);
  }

  /** Splits `axis` (of fixed size) into parts of `sizes`; the gradient concatenates the parts' gradients. */
  split(x: Sym, axis: number, sizes: number[]): Sym[] {
    const ax = axis < 0 ? axis + x.dims.length : axis;
    const outs = sizes.map((s) => ({ dims: x.dims.map((d, i) => (i === ax ? s : d)), type: x.type }));
    const parts = this.node('Split', [x, this.intVec(sizes)], { axis: ax }, outs, (dys) => [
      this.concat(dys.map((d, i) => d ?? this.zerosLike(parts[i])), ax),
      null,
    ]);
    return parts;
  }

  concat(xs: Sym[], axis: number): Sym {
    const ax = axis < 0 ? axis + xs[0].dims.length : axis;
    const total = xs.reduce<Dim>((n, x) => (typeof n === 'number' && typeof x.dims[ax] === 'number' ? n + (x.dims[ax] as number) : 'concat'), 0);
    const dims = xs[0].dims.map((d, i) => (i === ax ? total : d));
    return this.one('Concat', xs, { axis: ax }, dims, xs[0].type, ([dy]) => {
      const sizes = xs.map((x) => x.dims[ax]);
      if (sizes.some((s) => typeof s !== 'number')) throw new Error('concat: the gradient needs fixed sizes along the axis');
      return this.split(dy!, ax, sizes as number[]);
    });
  }

  /**
   * data[indices] along axis 0 (an embedding lookup). The gradient adds rows into `data`'s: as rows for the
   * caller when `data` is a sparse input of backprop; with ScatterND when the indices are `unique` (no two
   * updates meet); else with ScatterElements' deterministic add.
   */
  gather(data: Sym, indices: Sym, opts: { unique?: boolean } = {}): Sym {
    return this.one('Gather', [data, indices], { axis: 0 }, [...indices.dims, ...data.dims.slice(1)], data.type, ([dy], need) => {
      if (!need[0]) return [null, null];
      const rest = data.dims.slice(1);
      const flatIdx = this.reshape(indices, [-1], ['rows']);
      if (rest.some((d) => typeof d !== 'number')) throw new Error(`gather: the gradient needs the rows of [${data.dims}] to have fixed sizes`);
      const flatDy = this.reshape(dy!, [-1, ...(rest as number[])], ['rows', ...rest]);
      const collected = this.sparseRows.get(data.name);
      if (collected) {
        collected.push({ indices: flatIdx, values: flatDy });
        return [null, null];
      }
      if (opts.unique) {
        return [this.raw('ScatterND', [this.zerosLike(data), this.unsqueeze(flatIdx, [1]), flatDy], {}, data.dims, 'float'), null];
      }
      const idx = this.raw('Expand', [this.unsqueeze(flatIdx, [1]), this.shape(flatDy)], {}, flatDy.dims, 'int64');
      return [this.raw('ScatterElements', [this.zerosLike(data), idx, flatDy], { axis: 0, reduction: 'add' }, data.dims, 'float'), null];
    });
  }

  /** x[i, idx[i, j]] along `axis` (ONNX GatherElements); the gradient scatters back. */
  gatherElements(x: Sym, idx: Sym, axis: number): Sym {
    const sx = this.shapeForBackward(x);
    return this.one('GatherElements', [x, idx], { axis }, idx.dims, 'float', ([dy]) => [
      this.raw('ScatterElements', [this.zerosOfShape(sx(), x.dims), idx, dy!], { axis, reduction: 'add' }, x.dims, 'float'),
      null,
    ]);
  }

  // ---- normalisation and softmax ---------------------------------------------------------------------

  /** softmax over the last axis. */
  softmax(x: Sym): Sym {
    let y: Sym;
    y = this.one('Softmax', [x], { axis: -1 }, x.dims, 'float', ([dy]) => [this.mul(y, this.sub(dy!, this.reduceSum(this.mul(dy!, y), [-1], true)))]);
    return y;
  }

  /** log-softmax over the last axis. */
  logSoftmax(x: Sym): Sym {
    let y: Sym;
    y = this.one('LogSoftmax', [x], { axis: -1 }, x.dims, 'float', ([dy]) => [this.sub(dy!, this.mul(this.exp(y), this.reduceSum(dy!, [-1], true)))]);
    return y;
  }

  /**
   * LayerNorm over the last axis (of fixed size) with weight and optional bias (torch.nn.LayerNorm). With
   * x̂ = (x − μ)·r, r = 1/√(σ² + eps), g = dy ⊙ w:  dx = r·(g − mean(g) − x̂·mean(g ⊙ x̂)), dw = Σ dy ⊙ x̂, db = Σ dy.
   */
  layerNorm(x: Sym, w: Sym, b: Sym | undefined, eps: number): Sym {
    const r = x.dims.length;
    const stat = [...x.dims.slice(0, -1), 1];
    const outs = this.node(
      'LayerNormalization',
      b ? [x, w, b] : [x, w],
      { axis: -1, epsilon: { float: eps } },
      [{ dims: x.dims, type: 'float' }, { dims: stat, type: 'float' }, { dims: stat, type: 'float' }],
      ([dy], need) => {
        const [, mean, inv] = outs;
        const xhat = this.mul(this.sub(x, mean), inv);
        const lead = range(r - 1);
        const dx = need[0]
          ? (() => {
              const g = this.mul(dy!, w);
              const inner = this.sub(this.sub(g, this.reduceMean(g, [-1], true)), this.mul(xhat, this.reduceMean(this.mul(g, xhat), [-1], true)));
              return this.mul(inner, inv);
            })()
          : null;
        const dw = need[1] ? this.reduceSum(this.mul(dy!, xhat), lead, false) : null;
        const db = b && need[2] ? this.reduceSum(dy!, lead, false) : null;
        return [dx, dw, db];
      },
    );
    return outs[0];
  }
}
