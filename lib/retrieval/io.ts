/**
 * An index on disk is a directory, written atomically (writeDirAtomic):
 *   manifest.json    format, version, kind, dim, dtype, counts, file names, sha256 of each binary file
 *   ids.json         document ids in internal order
 *   lengths.u32      tokens per document, uint32 little-endian
 *   vectors.f32|f16  all vectors, row-major, float32 or binary16 little-endian
 * Loading checks everything the manifest claims and names the file and what is wrong.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';
import { DenseIndex, MultiVectorIndex, VectorIndex, type IndexKind, type StorageDtype } from './index-store';

export const INDEX_FORMAT = 'colbert-zero-index';
const INDEX_VERSION = 1;

interface IndexManifest {
  format: typeof INDEX_FORMAT;
  version: number;
  kind: IndexKind;
  dim: number;
  dtype: StorageDtype;
  documents: number;
  tokens: number;
  files: { ids: string; lengths: string; vectors: string };
  sha256: { lengths: string; vectors: string };
  /** The model the vectors came from (sha256 fingerprint of its folder), when known. */
  model?: { fingerprint: string };
}

const LE = os.endianness() === 'LE';

/** The bytes of a typed array in little-endian order (a swapped copy on big-endian hosts). */
function leBytes(a: Uint32Array | Float32Array | Uint16Array): Buffer {
  const view = Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  if (LE) return view;
  const copy = Buffer.from(view);
  return a.BYTES_PER_ELEMENT === 2 ? copy.swap16() : copy.swap32();
}

/** A typed array from little-endian bytes (always a fresh, aligned copy; on a SharedArrayBuffer when `shared`). */
function fromLe<T extends Uint32Array | Float32Array | Uint16Array>(buf: Buffer, Ctor: { new (b: ArrayBufferLike): T; BYTES_PER_ELEMENT: number }, shared = false): T {
  const out = new Ctor(shared ? new SharedArrayBuffer(buf.length) : new ArrayBuffer(buf.length));
  const bytes = Buffer.from(out.buffer as ArrayBuffer, 0, buf.length);
  buf.copy(bytes);
  if (!LE) void (Ctor.BYTES_PER_ELEMENT === 2 ? bytes.swap16() : bytes.swap32());
  return out;
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** Writes the index to `dir` (replacing any previous one only once the new one is complete). */
export async function saveIndex(index: VectorIndex, dir: string): Promise<void> {
  await writeDirAtomic(dir, (tmp) => writeIndexFiles(index, tmp));
}

/** The index's files into the (new, empty) folder `dir`: what saveIndex and the `index` command write. */
export function writeIndexFiles(index: VectorIndex, dir: string): void {
  const { ids, lengths, store } = index.parts();
  const lengthBytes = leBytes(lengths);
  const vectorBytes = leBytes(store);
  const manifest: IndexManifest = {
    format: INDEX_FORMAT,
    version: INDEX_VERSION,
    kind: index.kind,
    dim: index.dim,
    dtype: index.dtype,
    documents: index.size,
    tokens: index.totalTokens,
    files: { ids: 'ids.json', lengths: 'lengths.u32', vectors: index.dtype === 'float16' ? 'vectors.f16' : 'vectors.f32' },
    sha256: { lengths: sha256(lengthBytes), vectors: sha256(vectorBytes) },
    ...(index.modelFingerprint ? { model: { fingerprint: index.modelFingerprint } } : {}),
  };
  fs.writeFileSync(path.join(dir, manifest.files.ids), JSON.stringify(ids));
  fs.writeFileSync(path.join(dir, manifest.files.lengths), lengthBytes);
  fs.writeFileSync(path.join(dir, manifest.files.vectors), vectorBytes);
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

export interface LoadExpectations {
  kind?: IndexKind;
  dim?: number;
  /** The searching model's fingerprint: an index built with another model is refused (unless `force`). */
  modelFingerprint?: string;
  force?: boolean;
}

/** Reads an index directory written by saveIndex; `expect` rejects an index built for another model. */
export function loadIndex(dir: string, expect: LoadExpectations = {}): MultiVectorIndex | DenseIndex {
  const where = (f: string) => path.join(dir, f);
  const fail = (file: string, msg: string): never => {
    throw new UserError(`index ${where(file)}: ${msg}`);
  };
  if (!fs.existsSync(where('manifest.json'))) fail('manifest.json', 'missing (not an index directory?)');
  let m: IndexManifest;
  try {
    m = JSON.parse(fs.readFileSync(where('manifest.json'), 'utf8'));
  } catch (e) {
    return fail('manifest.json', `not valid JSON (${(e as Error).message})`);
  }
  if (m.format !== INDEX_FORMAT) fail('manifest.json', `format is '${m.format}', expected '${INDEX_FORMAT}'`);
  if (m.version !== INDEX_VERSION) fail('manifest.json', `version ${m.version} is not supported (this library reads ${INDEX_VERSION})`);
  if (m.kind !== 'multivector' && m.kind !== 'dense') fail('manifest.json', `kind '${m.kind}' is unknown`);
  if (m.dtype !== 'float32' && m.dtype !== 'float16') fail('manifest.json', `dtype '${m.dtype}' is unknown`);
  for (const key of ['dim', 'documents', 'tokens'] as const) {
    if (!Number.isInteger(m[key]) || m[key] < 0) fail('manifest.json', `${key} must be a non-negative integer, got ${m[key]}`);
  }
  if (expect.kind && m.kind !== expect.kind) fail('manifest.json', `is a ${m.kind} index, expected ${expect.kind}`);
  if (expect.dim !== undefined && m.dim !== expect.dim) fail('manifest.json', `has dim ${m.dim}, the model produces ${expect.dim}`);
  if (m.model !== undefined && (typeof m.model !== 'object' || typeof m.model.fingerprint !== 'string')) fail('manifest.json', 'model.fingerprint must be a string');
  if (expect.modelFingerprint && !expect.force) {
    if (!m.model) fail('manifest.json', 'records no model, so it cannot be checked against this one (rebuild it, or force the search)');
    else if (m.model.fingerprint !== expect.modelFingerprint) fail('manifest.json', `was built with another model (fingerprint ${m.model.fingerprint.slice(0, 12)}…, this model's is ${expect.modelFingerprint.slice(0, 12)}…); search with the model it was built with, or force the search`);
  }

  const read = (file: string): Buffer => {
    if (!fs.existsSync(where(file))) fail(file, 'missing');
    return fs.readFileSync(where(file));
  };
  let ids: unknown;
  try {
    ids = JSON.parse(read(m.files.ids).toString('utf8'));
  } catch (e) {
    if (e instanceof UserError) throw e;
    return fail(m.files.ids, `not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) fail(m.files.ids, 'must be a JSON array of strings');
  if ((ids as string[]).length !== m.documents) fail(m.files.ids, `has ${(ids as string[]).length} ids, manifest says ${m.documents}`);

  const lb = read(m.files.lengths);
  if (lb.length !== 4 * m.documents) fail(m.files.lengths, `has ${lb.length} bytes, expected ${4 * m.documents} (${m.documents} documents)`);
  if (sha256(lb) !== m.sha256.lengths) fail(m.files.lengths, 'checksum mismatch (corrupt or replaced file)');
  const lengths = fromLe(lb, Uint32Array);
  let tokens = 0;
  for (const l of lengths) tokens += l;
  if (tokens !== m.tokens) fail(m.files.lengths, `lengths add up to ${tokens} tokens, manifest says ${m.tokens}`);
  if (m.kind === 'dense' && lengths.some((l) => l !== 1)) fail(m.files.lengths, 'a dense index has exactly one vector per document');

  const vb = read(m.files.vectors);
  const width = m.dtype === 'float16' ? 2 : 4;
  if (vb.length !== m.tokens * m.dim * width) fail(m.files.vectors, `has ${vb.length} bytes, expected ${m.tokens * m.dim * width} (${m.tokens} tokens × ${m.dim} dims × ${width})`);
  if (sha256(vb) !== m.sha256.vectors) fail(m.files.vectors, 'checksum mismatch (corrupt or replaced file)');
  // On shared memory, so search worker threads read the vectors in place.
  const store = m.dtype === 'float16' ? fromLe(vb, Uint16Array, true) : fromLe(vb, Float32Array, true);

  const index = m.kind === 'dense' ? new DenseIndex({ dim: m.dim, dtype: m.dtype, capacityTokens: 1 }) : new MultiVectorIndex({ dim: m.dim, dtype: m.dtype, capacityTokens: 1 });
  index.modelFingerprint = m.model?.fingerprint;
  try {
    index.restore(ids as string[], lengths, store);
  } catch (e) {
    return fail(m.files.ids, (e as Error).message);
  }
  return index;
}
