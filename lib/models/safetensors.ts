/**
 * safetensors files: read and write, single and sharded.
 *
 * Format: 8-byte little-endian header length N, N bytes of JSON header
 *   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}},
 * then the raw little-endian tensor bytes; offsets are relative to the end of the header, and the
 * tensors tile the data section exactly (no gaps, no overlaps).
 *
 * Reading converts F32/F16/BF16/F64 to Float32Array, I32/I16/I8/U8/BOOL to Int32Array and keeps I64
 * as BigInt64Array (`dtype` tells what was on disk). Writing takes Float32Array (written as F32, or F16
 * / BF16 on request), Int32Array (I32) or BigInt64Array (I64). Every inconsistency is a `UserError`
 * naming the file and the tensor.
 *
 *   const { tensors, metadata } = readSafetensors('model.safetensors');
 *   tensors.get('linear.weight')  // { dtype: 'F32', shape: [128, 768], data: Float32Array }
 *   writeSafetensors('out.safetensors', { 'linear.weight': { shape: [2, 2], data } }, { metadata: { format: 'pt' } });
 *   readCheckpointTensors(dir)    // model.safetensors or model.safetensors.index.json + shards
 *   writeShardedSafetensors(dir, tensors, { maxShardBytes: 2e9 })
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { makeDirs, openForReading } from '../util/fs-errors';
import { decodeF16, encodeF16 } from '../util/f16';

export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';
const ITEM_SIZE: Record<SafetensorsDtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

export type TensorArray = Float32Array | Int32Array | BigInt64Array;

/** A tensor as read from a file: `dtype` is the on-disk type, `data` the converted values (row-major). */
export interface NamedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: TensorArray;
}

/** A tensor to write. `dtype` defaults from the array type (Float32Array → the writer's float dtype). */
export interface TensorInput {
  shape: number[];
  data: TensorArray;
  dtype?: SafetensorsDtype;
}

export interface SafetensorsContents {
  tensors: Map<string, NamedTensor>;
  metadata: Record<string, string>;
}

export interface HeaderEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, HeaderEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** Largest header accepted (the reference implementation's limit is 100 MB). */
const MAX_HEADER = 100_000_000;

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function checkLittleEndian(): void {
  if (os.endianness() !== 'LE') throw new UserError('safetensors IO needs a little-endian machine');
}

/** Parses and validates a header; `fileSize` is the whole file's size. */
function parseSafetensorsHeader(headerBytes: Uint8Array, fileSize: number, where: string): SafetensorsHeader {
  let json: any;
  try {
    json = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString('utf8'));
  } catch (e) {
    throw new UserError(`${where}: header is not valid JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`${where}: header is not a JSON object`);
  const dataStart = 8 + headerBytes.byteLength;
  const dataSize = fileSize - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, HeaderEntry>();
  for (const [name, v] of Object.entries<any>(json)) {
    if (name === '__metadata__') {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${where}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new UserError(`${where}: __metadata__ "${k}" must be a string`);
        metadata[k] = s;
      }
      continue;
    }
    const bad = (msg: string) => new UserError(`${where}: tensor "${name}": ${msg}`);
    if (!v || typeof v !== 'object') throw bad('entry is not an object');
    if (!(v.dtype in ITEM_SIZE)) throw bad(`unsupported dtype ${JSON.stringify(v.dtype)}`);
    if (!Array.isArray(v.shape) || !v.shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) throw bad('shape must be a list of non-negative integers');
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o: unknown) => Number.isInteger(o) && (o as number) >= 0) || off[0] > off[1]) {
      throw bad(`data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    const want = numel(v.shape) * ITEM_SIZE[v.dtype as SafetensorsDtype];
    if (off[1] - off[0] !== want) throw bad(`${off[1] - off[0]} bytes for ${v.dtype} shape [${v.shape}] (needs ${want})`);
    if (off[1] > dataSize) throw bad(`data ends at byte ${off[1]} but the data section has ${dataSize} bytes (file truncated?)`);
    entries.set(name, { dtype: v.dtype, shape: v.shape, begin: off[0], end: off[1] });
  }
  // The tensors must tile the data section: sorted by offset, each starts where the previous ended.
  const sorted = [...entries.entries()].sort((a, b) => a[1].begin - b[1].begin || a[1].end - b[1].end);
  let pos = 0;
  for (const [name, e] of sorted) {
    if (e.begin !== pos) {
      throw new UserError(`${where}: tensor "${name}": data starts at byte ${e.begin}, expected ${pos} (${e.begin > pos ? 'gap' : 'overlap'})`);
    }
    pos = e.end;
  }
  if (pos !== dataSize) throw new UserError(`${where}: tensors cover ${pos} bytes but the data section has ${dataSize} bytes`);
  return { entries, metadata, dataStart };
}

/** Reads and validates only the header of a file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openOrThrow(file);
  try {
    return readHeaderFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

function openOrThrow(file: string): number {
  return openForReading(file, 'a .safetensors file');
}

function readExact(fd: number, length: number, position: number, file: string, what: string): Uint8Array {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) throw new UserError(`${file}: unexpected end of file reading ${what}`);
    got += n;
  }
  return buf;
}

function readHeaderFd(fd: number, file: string): SafetensorsHeader {
  const size = fs.fstatSync(fd).size;
  if (size < 8) throw new UserError(`${file}: ${size} bytes is too short for a safetensors file`);
  const lenBytes = readExact(fd, 8, 0, file, 'the header length');
  const n = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER)) throw new UserError(`${file}: header length ${n} is implausible (not a safetensors file?)`);
  if (8n + n > BigInt(size)) throw new UserError(`${file}: header length ${n} exceeds the file size ${size} (truncated?)`);
  const header = readExact(fd, Number(n), 8, file, 'the header');
  return parseSafetensorsHeader(header, size, file);
}

/** Converts raw little-endian bytes (own, aligned buffer) of `dtype` to the in-memory array. */
function decodeTensorBytes(bytes: Uint8Array, dtype: SafetensorsDtype): TensorArray {
  checkLittleEndian();
  // Copy into a fresh, aligned buffer unless it already is one.
  const own = bytes.byteOffset % 8 === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  const buf = own.buffer as ArrayBuffer;
  switch (dtype) {
    case 'F32':
      return new Float32Array(buf, 0, own.byteLength / 4);
    case 'F64':
      return Float32Array.from(new Float64Array(buf, 0, own.byteLength / 8));
    case 'F16':
      return decodeF16(new Uint16Array(buf, 0, own.byteLength / 2));
    case 'BF16':
      return bfloat16BitsToFloat32(new Uint16Array(buf, 0, own.byteLength / 2));
    case 'I64':
      return new BigInt64Array(buf, 0, own.byteLength / 8);
    case 'I32':
      return new Int32Array(buf, 0, own.byteLength / 4);
    case 'I16':
      return Int32Array.from(new Int16Array(buf, 0, own.byteLength / 2));
    case 'I8':
      return Int32Array.from(new Int8Array(buf, 0, own.byteLength));
    case 'U8':
    case 'BOOL':
      return Int32Array.from(own);
  }
}

/**
 * Reads a safetensors file. `names` restricts reading to those tensors (each must exist); tensors are
 * read one at a time, so memory stays near the size of the converted result.
 */
export function readSafetensors(file: string, opts: { names?: string[] } = {}): SafetensorsContents {
  const fd = openOrThrow(file);
  try {
    const header = readHeaderFd(fd, file);
    const wanted = opts.names ?? [...header.entries.keys()];
    const tensors = new Map<string, NamedTensor>();
    for (const name of wanted) {
      const e = header.entries.get(name);
      if (!e) throw new UserError(`${file}: no tensor "${name}"`);
      const bytes = readExact(fd, e.end - e.begin, header.dataStart + e.begin, file, `tensor "${name}"`);
      tensors.set(name, { dtype: e.dtype, shape: [...e.shape], data: decodeTensorBytes(bytes, e.dtype) });
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

// ---------- bfloat16 (float16 is lib/util/f16) ----------

/** bfloat16 → float32: the 16 bits are the float32's upper half. */
export function bfloat16BitsToFloat32(h: Uint16Array): Float32Array {
  const u = new Uint32Array(h.length);
  for (let i = 0; i < h.length; i++) u[i] = h[i] << 16;
  return new Float32Array(u.buffer);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16, round to nearest even (as torch); NaN kept quiet. */
export function float32ToBfloat16Bits(x: Float32Array): Uint16Array {
  const out = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f32[0] = x[i];
    const b = u32[0];
    if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) {
      out[i] = (b >>> 16) | 0x40;
      continue;
    }
    out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return out;
}

// ---------- writing ----------

export interface WriteOptions {
  metadata?: Record<string, string>;
  /** Dtype for Float32Array tensors without their own `dtype` (default F32). */
  floatDtype?: 'F32' | 'F16' | 'BF16';
}

function encodeTensor(name: string, t: TensorInput, floatDtype: 'F32' | 'F16' | 'BF16'): { dtype: SafetensorsDtype; bytes: Uint8Array } {
  const n = numel(t.shape);
  if (!t.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new UserError(`tensor "${name}": bad shape [${t.shape}]`);
  if (t.data.length !== n) throw new UserError(`tensor "${name}": ${t.data.length} values for shape [${t.shape}] (needs ${n})`);
  const view = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (t.data instanceof Float32Array) {
    const dtype = t.dtype ?? floatDtype;
    if (dtype === 'F32') return { dtype, bytes: view(t.data) };
    if (dtype === 'F16') return { dtype, bytes: view(encodeF16(t.data)) };
    if (dtype === 'BF16') return { dtype, bytes: view(float32ToBfloat16Bits(t.data)) };
    throw new UserError(`tensor "${name}": cannot write Float32Array as ${dtype}`);
  }
  if (t.data instanceof Int32Array) {
    const dtype = t.dtype ?? 'I32';
    if (dtype === 'I32') return { dtype, bytes: view(t.data) };
    if (dtype === 'I64') return { dtype, bytes: view(BigInt64Array.from(t.data, (v) => BigInt(v))) };
    throw new UserError(`tensor "${name}": cannot write Int32Array as ${dtype}`);
  }
  if (t.data instanceof BigInt64Array) {
    if ((t.dtype ?? 'I64') !== 'I64') throw new UserError(`tensor "${name}": cannot write BigInt64Array as ${t.dtype}`);
    return { dtype: 'I64', bytes: view(t.data) };
  }
  throw new UserError(`tensor "${name}": data must be Float32Array, Int32Array or BigInt64Array`);
}

function entriesOf(tensors: Record<string, TensorInput> | Map<string, TensorInput>): [string, TensorInput][] {
  return tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
}

/** The bytes of a safetensors file (tensors in name order; header padded with spaces to 8 bytes). */
export function serializeSafetensors(tensors: Record<string, TensorInput> | Map<string, TensorInput>, opts: WriteOptions = {}): Uint8Array {
  checkLittleEndian();
  const list = entriesOf(tensors).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (opts.metadata && Object.keys(opts.metadata).length) {
    for (const [k, v] of Object.entries(opts.metadata)) if (typeof v !== 'string') throw new UserError(`safetensors metadata "${k}" must be a string`);
    header.__metadata__ = opts.metadata;
  }
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of list) {
    if (name === '__metadata__') throw new UserError('a tensor cannot be named "__metadata__"');
    const { dtype, bytes } = encodeTensor(name, t, opts.floatDtype ?? 'F32');
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes.byteLength] };
    parts.push(bytes);
    offset += bytes.byteLength;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let pos = 8 + json.length;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.byteLength;
  }
  return out;
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(file: string, tensors: Record<string, TensorInput> | Map<string, TensorInput>, opts: WriteOptions = {}): void {
  writeFileAtomic(file, serializeSafetensors(tensors, opts));
}

// ---------- sharded checkpoints ----------

export const SAFETENSORS_FILE = 'model.safetensors';
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json';

export interface ShardIndex {
  metadata: { total_size?: number; [k: string]: unknown };
  weight_map: Record<string, string>;
}

export function readShardIndex(indexFile: string): ShardIndex {
  let json: any;
  try {
    json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (e) {
    throw new UserError(`${indexFile}: cannot read JSON (${(e as Error).message})`);
  }
  const wm = json?.weight_map;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw new UserError(`${indexFile}: no "weight_map" object`);
  for (const [k, v] of Object.entries(wm)) {
    if (typeof v !== 'string' || v.includes('/') || v.includes('\\') || v.startsWith('.')) {
      throw new UserError(`${indexFile}: weight_map "${k}" must name a shard file in the same folder, got ${JSON.stringify(v)}`);
    }
  }
  return { metadata: json.metadata ?? {}, weight_map: wm };
}

/** Reads every tensor of a sharded checkpoint from its index file; checks the index against the shards. */
function readShardedSafetensors(indexFile: string): SafetensorsContents {
  const index = readShardIndex(indexFile);
  const dir = path.dirname(indexFile);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(index.weight_map)) byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  const tensors = new Map<string, NamedTensor>();
  const metadata: Record<string, string> = {};
  for (const [shard, names] of [...byShard.entries()].sort()) {
    const file = path.join(dir, shard);
    const header = readSafetensorsHeader(file);
    for (const n of header.entries.keys()) {
      if (index.weight_map[n] !== shard) throw new UserError(`${file}: tensor "${n}" is not mapped to this shard in ${indexFile}`);
    }
    const part = readSafetensors(file, { names });
    for (const [n, t] of part.tensors) tensors.set(n, t);
    Object.assign(metadata, part.metadata);
  }
  return { tensors, metadata };
}

/** Reads `model.safetensors`, or the sharded checkpoint of `model.safetensors.index.json`, from a folder. */
export function readCheckpointTensors(dir: string): SafetensorsContents {
  const single = path.join(dir, SAFETENSORS_FILE);
  const index = path.join(dir, SAFETENSORS_INDEX_FILE);
  if (fs.existsSync(single)) return readSafetensors(single);
  if (fs.existsSync(index)) return readShardedSafetensors(index);
  throw new UserError(`${dir}: no ${SAFETENSORS_FILE} or ${SAFETENSORS_INDEX_FILE}`);
}

/**
 * Writes tensors as Hugging Face does: one `model.safetensors` when they fit in `maxShardBytes`, else
 * `model-0000i-of-0000n.safetensors` shards (tensors in name order, a new shard when the next tensor
 * would overflow; a tensor larger than the limit gets a shard of its own) plus the index file. Stale
 * weight files from an earlier save in `dir` are removed. Returns the file names written.
 */
export function writeShardedSafetensors(
  dir: string,
  tensors: Record<string, TensorInput> | Map<string, TensorInput>,
  opts: WriteOptions & { maxShardBytes?: number } = {},
): string[] {
  const max = opts.maxShardBytes ?? 5 * 1024 ** 3;
  const floatDtype = opts.floatDtype ?? 'F32';
  const list = entriesOf(tensors).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const sizeOf = ([, t]: [string, TensorInput]) => {
    const dt = t.dtype ?? (t.data instanceof Float32Array ? floatDtype : t.data instanceof Int32Array ? 'I32' : 'I64');
    return numel(t.shape) * ITEM_SIZE[dt];
  };
  const shards: [string, TensorInput][][] = [];
  let cur: [string, TensorInput][] = [];
  let curBytes = 0;
  let total = 0;
  for (const e of list) {
    const s = sizeOf(e);
    total += s;
    if (cur.length && curBytes + s > max) {
      shards.push(cur);
      cur = [];
      curBytes = 0;
    }
    cur.push(e);
    curBytes += s;
  }
  if (cur.length || !shards.length) shards.push(cur);
  makeDirs(dir, 'model folder');
  for (const f of fs.readdirSync(dir)) {
    if (f === SAFETENSORS_FILE || f === SAFETENSORS_INDEX_FILE || /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)) fs.rmSync(path.join(dir, f));
  }
  const metaOpts = { metadata: opts.metadata ?? { format: 'pt' }, floatDtype };
  if (shards.length === 1) {
    writeSafetensors(path.join(dir, SAFETENSORS_FILE), new Map(shards[0]), metaOpts);
    return [SAFETENSORS_FILE];
  }
  const n = shards.length;
  const pad5 = (i: number) => String(i).padStart(5, '0');
  const weight_map: Record<string, string> = {};
  const names: string[] = [];
  shards.forEach((shard, i) => {
    const name = `model-${pad5(i + 1)}-of-${pad5(n)}.safetensors`;
    writeSafetensors(path.join(dir, name), new Map(shard), metaOpts);
    for (const [t] of shard) weight_map[t] = name;
    names.push(name);
  });
  writeJsonAtomic(path.join(dir, SAFETENSORS_INDEX_FILE), { metadata: { total_size: total }, weight_map });
  return [...names, SAFETENSORS_INDEX_FILE];
}
