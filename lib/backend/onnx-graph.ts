/**
 * A small builder for ONNX graphs on top of `onnx-proto` (the ONNX protobuf schema compiled for
 * JavaScript): named values, nodes with typed attributes, float32 / int64 initialisers, and the model's
 * serialisation. Every node gets a unique name and output; the builder knows nothing about ModernBERT.
 */
import { onnx } from 'onnx-proto';

const OPSET = 17;
const IR_VERSION = 8;

export type Attr = number | number[] | string | { float: number } | { floats: number[] } | { tensor: onnx.ITensorProto };

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  if ('floats' in v) return { name, type: T.FLOATS, floats: v.floats };
  return { name, type: T.TENSOR, t: v.tensor };
}

/** One dimension of a graph input/output: a fixed size or a symbolic name (dynamic). */
export type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export const FLOAT = onnx.TensorProto.DataType.FLOAT;
export const INT64 = onnx.TensorProto.DataType.INT64;
export const BOOL = onnx.TensorProto.DataType.BOOL;

export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  private fresh(hint: string): string {
    let name = hint;
    while (this.names.has(name)) name = `${hint}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  input(name: string, elemType: number, dims: Dim[]): string {
    this.names.add(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(value: string, name: string, elemType: number, dims: Dim[]): void {
    this.op('Identity', [value], {}, name);
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initialiser (copied as little-endian raw bytes). */
  floats(name: string, dims: number[], data: Float32Array | number[]): string {
    const arr = data instanceof Float32Array ? data : Float32Array.from(data);
    if (arr.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`GraphBuilder: ${name} has ${arr.length} values for shape [${dims}]`);
    const n = this.fresh(name);
    this.initializers.push({ name: n, dataType: FLOAT, dims, rawData: new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength) });
    return n;
  }

  /** An int64 initialiser. */
  ints(name: string, dims: number[], data: number[]): string {
    const n = this.fresh(name);
    const raw = new BigInt64Array(data.map((v) => BigInt(v)));
    this.initializers.push({ name: n, dataType: INT64, dims, rawData: new Uint8Array(raw.buffer) });
    return n;
  }

  /** A scalar float constant. */
  scalar(name: string, v: number): string {
    return this.floats(name, [], [v]);
  }

  /** Adds a node; returns its first output (more outputs with `outputs`). */
  op(type: string, inputs: string[], attrs: Record<string, Attr> = {}, outName?: string): string {
    return this.opMulti(type, inputs, 1, attrs, outName)[0];
  }

  opMulti(type: string, inputs: string[], count: number, attrs: Record<string, Attr> = {}, outName?: string): string[] {
    const base = outName ?? `${type.toLowerCase()}`;
    const outs = Array.from({ length: count }, (_, i) => (outName && count === 1 ? (this.names.add(outName), outName) : this.fresh(`${base}${count > 1 ? `_${i}` : ''}`)));
    this.nodes.push({
      opType: type,
      name: this.fresh(`n_${base}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** The serialised ModelProto. */
  serialize(meta: { producer: string; version: string; doc?: string; properties?: Record<string, string> }): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: meta.producer,
      producerVersion: meta.version,
      docString: meta.doc ?? '',
      graph: { name: 'main', node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
      metadataProps: Object.entries(meta.properties ?? {}).map(([key, value]) => ({ key, value })),
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}
