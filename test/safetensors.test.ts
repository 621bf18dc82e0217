/**
 * safetensors IO: round trips, float16/bfloat16 bit patterns, a golden file written by Python
 * `safetensors`, a TS-written file that Python read back (test/fixtures/safetensors/, made by
 * test/reference/make_tokenize_fixtures.py), corrupt files, and sharded checkpoints.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  bfloat16BitsToFloat32, float32ToBfloat16Bits, readCheckpointTensors,
  readSafetensors, readSafetensorsHeader, readShardIndex, serializeSafetensors, writeSafetensors, writeShardedSafetensors,
  type TensorInput,
} from '../lib/models/safetensors';
import { UserError } from '../lib/index';
import { decodeF16, encodeF16 } from '../lib/util/f16';
import { patternTensors, sampleTensors, SAMPLE_METADATA } from './reference/ts_writers';
import { tmpDir } from './helpers/tmp';

const tmp = tmpDir('st');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const FIX = path.join(__dirname, 'fixtures', 'safetensors');

/** JSON numbers from the fixture; non-finite values are stored as strings ("inf", "-inf", "nan"). */
const num = (v: number | string) => (typeof v === 'number' ? v : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : NaN);

test('round trip: F32, F16, BF16, I32, I64, empty and scalar tensors, metadata', () => {
  const file = path.join(tmp, 'rt.safetensors');
  const tensors: Record<string, TensorInput> = {
    a: { shape: [2, 3], data: Float32Array.from([1, -2, 0.5, 3.25, -0, 1e-7]) },
    h: { shape: [3], dtype: 'F16', data: Float32Array.from([1, -2, 0.5]) },
    b: { shape: [2], dtype: 'BF16', data: Float32Array.from([1, -2]) },
    i: { shape: [2], data: Int32Array.from([7, -7]) },
    l: { shape: [2], data: BigInt64Array.from([2n ** 40n, -1n]) },
    e: { shape: [0], data: new Float32Array(0) },
    s: { shape: [], data: Float32Array.from([2.5]) },
  };
  writeSafetensors(file, tensors, { metadata: { format: 'pt' } });
  const { tensors: back, metadata } = readSafetensors(file);
  assert.deepEqual(metadata, { format: 'pt' });
  assert.deepEqual([...back.keys()].sort(), Object.keys(tensors).sort());
  for (const [k, t] of Object.entries(tensors)) {
    const r = back.get(k)!;
    assert.deepEqual(r.shape, t.shape, k);
    assert.deepEqual(Array.from(r.data as ArrayLike<number>), Array.from(t.data as ArrayLike<number>), k);
  }
  assert.deepEqual([back.get('h')!.dtype, back.get('b')!.dtype, back.get('i')!.dtype, back.get('l')!.dtype], ['F16', 'BF16', 'I32', 'I64']);
  // Header is padded to 8 bytes, so the data section is aligned.
  const n = Number(fs.readFileSync(file).readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  // A subset can be read alone; asking for a missing tensor names it.
  assert.deepEqual([...readSafetensors(file, { names: ['i'] }).tensors.keys()], ['i']);
  assert.throws(() => readSafetensors(file, { names: ['zzz'] }), /rt\.safetensors: no tensor "zzz"/);
});

test('float16 decoding of known bit patterns', () => {
  const bits = [0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x2e66];
  const want = [1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125, 0.0999755859375];
  assert.deepEqual(Array.from(decodeF16(Uint16Array.from(bits))), want);
  assert.ok(Number.isNaN(decodeF16(Uint16Array.from([0x7e00]))[0]));
});

test('bfloat16 decoding of known bit patterns', () => {
  const bits = [0x3f80, 0xc000, 0x7f80, 0xff80, 0x3eab, 0x0001, 0x7f7f];
  const want = [1, -2, Infinity, -Infinity, 0.333984375, 2 ** -133, 3.3895313892515355e38];
  assert.deepEqual(Array.from(bfloat16BitsToFloat32(Uint16Array.from(bits))), want);
});

test('float32 → float16 rounds to nearest even, saturates to Inf, keeps subnormals and NaN', () => {
  const x = Float32Array.from([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65519, 65520, -1e9, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 2 ** -14 - 2 ** -25, NaN, -0]);
  const want = [0x3c00, 0x3c02, 0x7bff, 0x7bff, 0x7c00, 0xfc00, 0x0001, 0x0000, 0x0001, 0x0400, 0x7e00, 0x8000];
  assert.deepEqual(Array.from(encodeF16(x)), want);
});

test('float32 → bfloat16 rounds to nearest even', () => {
  const x = Float32Array.from([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 / 3, -2.5, Infinity]);
  assert.deepEqual(Array.from(float32ToBfloat16Bits(x)), [0x3f80, 0x3f82, 0x3eab, 0xc020, 0x7f80]);
});

test('golden file written by Python safetensors reads to the expected values', () => {
  const golden = JSON.parse(fs.readFileSync(path.join(FIX, 'golden.json'), 'utf8'));
  const { tensors, metadata } = readSafetensors(path.join(FIX, 'golden.safetensors'));
  assert.deepEqual(metadata, golden.metadata);
  const dtypeName: Record<string, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', I64: 'int64', I32: 'int32' };
  assert.equal(tensors.size, Object.keys(golden.tensors).length);
  for (const [name, want] of Object.entries<any>(golden.tensors)) {
    const t = tensors.get(name)!;
    assert.ok(t, name);
    assert.equal(dtypeName[t.dtype], want.dtype, name);
    assert.deepEqual(t.shape, want.shape, name);
    const got = Array.from(t.data as ArrayLike<number | bigint>, (v) => (want.dtype.startsWith('int') ? String(v) : v));
    const exp = want.values.map((v: number | string) => (want.dtype.startsWith('int') ? String(v) : num(v)));
    assert.deepEqual(got, exp, name);
    if (want.bits) assert.deepEqual(Array.from(want.dtype === 'float16' ? encodeF16(t.data as Float32Array) : float32ToBfloat16Bits(t.data as Float32Array)), want.bits, `${name} bits`);
  }
});

test('a file written here is byte-identical to the one Python read back, with the values Python saw', () => {
  const check = JSON.parse(fs.readFileSync(path.join(FIX, 'ts_written_check.json'), 'utf8'));
  const bytes = serializeSafetensors(sampleTensors(), { metadata: SAMPLE_METADATA });
  assert.equal(bytes.byteLength, check.bytes);
  assert.equal(crypto.createHash('sha256').update(bytes).digest('hex'), check.sha256);
  assert.deepEqual(check.metadata, SAMPLE_METADATA);
  const file = path.join(tmp, 'sample.safetensors');
  fs.writeFileSync(file, bytes);
  const { tensors } = readSafetensors(file);
  for (const [name, py] of Object.entries<any>(check.tensors)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, py.shape, name);
    const got = Array.from(t.data as ArrayLike<number | bigint>, (v) => (py.dtype.startsWith('int') ? String(v) : v));
    const exp = py.values.map((v: number | string) => (py.dtype.startsWith('int') ? String(v) : num(v)));
    assert.deepEqual(got, exp, name);
    if ('torch_rounding_equal' in py) assert.equal(py.torch_rounding_equal, true, `${name}: float16/bfloat16 rounding equals torch's`);
  }
});

/** Writes a file from a header object and a data length, for building corrupt cases. */
function rawFile(name: string, header: unknown, dataBytes: number, headerLenOverride?: bigint): string {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(headerLenOverride ?? BigInt(json.length));
  const file = path.join(tmp, name);
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return file;
}

test('corrupt or truncated files give one clear error naming the file and tensor', () => {
  const good = path.join(tmp, 'good.safetensors');
  writeSafetensors(good, { w: { shape: [4], data: new Float32Array(4) } });
  const full = fs.readFileSync(good);
  const cut = path.join(tmp, 'cut.safetensors');
  fs.writeFileSync(cut, full.subarray(0, full.length - 3));
  const cases: [string, RegExp][] = [
    [cut, /cut\.safetensors: tensor "w": data ends at byte 16 but the data section has 13 bytes \(file truncated\?\)/],
    [rawFile('hugelen.safetensors', {}, 0, 1000n), /hugelen\.safetensors: header length 1000 exceeds the file size/],
    [rawFile('bytes.safetensors', { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /bytes\.safetensors: tensor "w": 8 bytes for F32 shape \[3\] \(needs 12\)/],
    [rawFile('gap.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), /gap\.safetensors: tensor "b": data starts at byte 8, expected 4 \(gap\)/],
    [rawFile('overlap.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /overlap/],
    [rawFile('extra.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /extra\.safetensors: tensors cover 4 bytes but the data section has 8 bytes/],
    [rawFile('dtype.safetensors', { a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, 1), /dtype\.safetensors: tensor "a": unsupported dtype "F8_E4M3"/],
    [rawFile('shape.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /tensor "a": shape must be/],
    [rawFile('meta.safetensors', { __metadata__: { n: 1 } }, 0), /meta\.safetensors: __metadata__ "n" must be a string/],
  ];
  for (const [file, re] of cases) {
    assert.throws(() => readSafetensors(file), (e: unknown) => e instanceof UserError && re.test(e.message), file);
  }
  const short = path.join(tmp, 'short.safetensors');
  fs.writeFileSync(short, Buffer.from([1, 2, 3]));
  assert.throws(() => readSafetensorsHeader(short), /short\.safetensors: 3 bytes is too short/);
  const badJson = path.join(tmp, 'badjson.safetensors');
  fs.writeFileSync(badJson, Buffer.concat([Buffer.from([2, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{x')]));
  assert.throws(() => readSafetensors(badJson), /badjson\.safetensors: header is not valid JSON/);
  assert.throws(() => readSafetensors(path.join(tmp, 'missing.safetensors')), /missing\.safetensors: not found/);
  assert.throws(() => writeSafetensors(path.join(tmp, 'w.safetensors'), { w: { shape: [3], data: new Float32Array(2) } }), /tensor "w": 2 values for shape \[3\]/);
});

test('sharded write splits by size with an index; reading the folder gives every tensor back', () => {
  const dir = path.join(tmp, 'sharded');
  const tensors: Record<string, TensorInput> = {};
  for (let i = 0; i < 5; i++) tensors[`layer.${i}.weight`] = { shape: [10], data: Float32Array.from({ length: 10 }, (_, j) => i * 10 + j) };
  const files = writeShardedSafetensors(dir, tensors, { maxShardBytes: 100 }); // 40 bytes each → 2 per shard
  assert.deepEqual(files, ['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json']);
  const index = readShardIndex(path.join(dir, 'model.safetensors.index.json'));
  assert.equal(index.metadata.total_size, 200);
  assert.equal(index.weight_map['layer.4.weight'], 'model-00003-of-00003.safetensors');
  const back = readCheckpointTensors(dir).tensors;
  assert.equal(back.size, 5);
  for (const [k, t] of Object.entries(tensors)) assert.deepEqual(Array.from(back.get(k)!.data as Float32Array), Array.from(t.data as Float32Array), k);

  // Saving again small enough for one file replaces the shards.
  assert.deepEqual(writeShardedSafetensors(dir, tensors), ['model.safetensors']);
  assert.deepEqual(fs.readdirSync(dir), ['model.safetensors']);
  assert.equal(readCheckpointTensors(dir).tensors.size, 5);
});

test('a shard index that disagrees with its shards is an error naming both', () => {
  const dir = path.join(tmp, 'badindex');
  writeShardedSafetensors(dir, { a: { shape: [8], data: new Float32Array(8) }, b: { shape: [8], data: new Float32Array(8) } }, { maxShardBytes: 40 });
  const idxFile = path.join(dir, 'model.safetensors.index.json');
  const idx = JSON.parse(fs.readFileSync(idxFile, 'utf8'));
  idx.weight_map.b = 'model-00001-of-00002.safetensors';
  fs.writeFileSync(idxFile, JSON.stringify(idx));
  assert.throws(() => readCheckpointTensors(dir), /no tensor "b"/);
  idx.weight_map.b = '../elsewhere.safetensors';
  fs.writeFileSync(idxFile, JSON.stringify(idx));
  assert.throws(() => readCheckpointTensors(dir), /weight_map "b" must name a shard file in the same folder/);
  assert.throws(() => readCheckpointTensors(path.join(tmp, 'nothing-here')), /no model\.safetensors or model\.safetensors\.index\.json/);
});

test('sharded checkpoints written here are what transformers loaded (same split, index and values)', () => {
  const check = JSON.parse(fs.readFileSync(path.join(FIX, 'ts_sharded_check.json'), 'utf8'));
  assert.equal(check.max_abs_diff, 0);
  assert.equal(check.loaded_parameters, Object.keys(check.shapes).length);
  const dir = path.join(tmp, 'hf-sharded');
  const tensors = patternTensors(check.shapes);
  assert.deepEqual(writeShardedSafetensors(dir, tensors, { maxShardBytes: check.maxShardBytes }), check.files);
  const index = readShardIndex(path.join(dir, 'model.safetensors.index.json'));
  assert.deepEqual(index.weight_map, check.weight_map);
  assert.equal(index.metadata.total_size, check.total_size);
});
