/**
 * `model.onnx` beside a checkpoint: built from the folder's config and weights (read through the same
 * loaders as the tfjs models, so every layout the library reads exports), written atomically, with a
 * small `model.onnx.meta` (JSON) recording what it was built from — the graph layout version, the head, and a
 * sha256 over the folder's config and weight files. `ensureOnnx` rebuilds when that record is missing
 * or differs (weights retrained, config edited, a new graph layout), and otherwise reuses the file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend/index';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic';
import { UserError } from '../../util/errors';
import { inspectCheckpoint } from '../checkpoint-files';
import type { ColbertLoadOptions, ColbertModel } from '../colbert';
import type { DenseModel } from '../dense';
import type { HeadKind } from '../../scores/encoded';
import { loadEncoder } from '../load';
import type { RawTensor } from '../modernbert';
import { buildModernBertOnnx, GRAPH_VERSION, type OnnxHead } from './modernbert-onnx';

export const ONNX_FILE = 'model.onnx';
/** The record of what model.onnx was built from (JSON; not named .json so model fingerprints, which hash a folder's .json files, do not depend on the export). */
export const ONNX_RECORD_FILE = 'model.onnx.meta';

export interface OnnxExportOptions {
  /** Head for a plain ModernBERT folder (as loadEncoder's fallback). */
  fallback?: HeadKind;
  /** Projection size and seed when a plain folder gets a new ColBERT projection. */
  colbert?: Pick<ColbertLoadOptions, 'embeddingSize' | 'seed'>;
}

/** What model.onnx.meta records. */
export interface OnnxRecord {
  graph: string;
  source: string;
  kind: HeadKind;
  dim: number;
  vocabSize: number;
}

/** Files whose content defines the graph: weights, config.json files, modules.json, shard indexes. */
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string, depth: number) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory() && depth < 1 && !e.name.startsWith('.')) visit(r, depth + 1);
      else if (e.isFile() && (/\.safetensors$/.test(e.name) || /\.index\.json$/.test(e.name) || e.name === 'config.json' || e.name === 'modules.json')) out.push(r);
    }
  };
  visit('', 0);
  return out.sort();
}

/**
 * sha256 over the graph layout version, every source file (name and bytes) and, for a plain ModernBERT
 * folder (whose head the options decide), the head options.
 */
export function sourceFingerprint(dir: string, opts: OnnxExportOptions = {}): string {
  const h = createHash('sha256');
  const head = inspectCheckpoint(dir).kind === 'transformer' ? { fallback: opts.fallback ?? null, embeddingSize: opts.colbert?.embeddingSize ?? null, seed: opts.colbert?.seed ?? null } : null;
  h.update(`${GRAPH_VERSION}\n${JSON.stringify(head)}\n`);
  for (const f of sourceFiles(dir)) {
    h.update(`${f}\n`);
    h.update(fs.readFileSync(path.join(dir, f)));
  }
  return h.digest('hex');
}

/** Builds the ONNX model of a folder in memory. */
export async function buildOnnxFromDir(dir: string, opts: OnnxExportOptions = {}): Promise<{ bytes: Uint8Array; record: Omit<OnnxRecord, 'source'> }> {
  await initBackend();
  const model = await loadEncoder(dir, { fallback: opts.fallback, colbert: opts.colbert });
  try {
    return onnxFromModel(model, dir);
  } finally {
    model.dispose();
  }
}

/** The ONNX model of a tfjs model's current weights (e.g. during training); `where` names it in errors. */
export function onnxFromModel(model: ColbertModel | DenseModel, where: string): { bytes: Uint8Array; record: Omit<OnnxRecord, 'source'> } {
  const state = model.backbone.stateDict('', false);
  try {
    const get = (name: string): RawTensor | undefined => {
      const t = state.get(name);
      return t ? { shape: t.shape, data: t.dataSync() as Float32Array } : undefined;
    };
    let head: OnnxHead;
    if (model.kind === 'colbert') {
      const p = tf.tidy(() => model.projection.transpose());
      head = { kind: 'colbert', projection: { shape: p.shape, data: p.dataSync() as Float32Array } };
      p.dispose();
    } else {
      head = { kind: 'dense', pooling: model.settings.pooling, normalize: model.settings.normalize };
    }
    const bytes = buildModernBertOnnx(model.backbone.config, get, head, where);
    return { bytes, record: { graph: GRAPH_VERSION, kind: model.kind, dim: model.dim, vocabSize: model.backbone.config.vocabSize } };
  } finally {
    state.forEach((t) => t.dispose());
  }
}

/** Writes `model.onnx` (and its record) into the checkpoint folder, atomically; returns the file. */
export async function exportOnnx(dir: string, opts: OnnxExportOptions = {}): Promise<{ file: string; record: OnnxRecord }> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: not a model folder`);
  const source = sourceFingerprint(dir, opts);
  const { bytes, record } = await buildOnnxFromDir(dir, opts);
  const file = path.join(dir, ONNX_FILE);
  const full: OnnxRecord = { ...record, source };
  writeFileAtomic(file, bytes);
  writeJsonAtomic(path.join(dir, ONNX_RECORD_FILE), full);
  return { file, record: full };
}

/** The folder's record when model.onnx is present and was built from exactly the current files. */
export function freshOnnx(dir: string, opts: OnnxExportOptions = {}): OnnxRecord | null {
  const file = path.join(dir, ONNX_FILE);
  const recFile = path.join(dir, ONNX_RECORD_FILE);
  if (!fs.existsSync(file) || !fs.existsSync(recFile)) return null;
  let rec: OnnxRecord;
  try {
    rec = JSON.parse(fs.readFileSync(recFile, 'utf8')) as OnnxRecord;
  } catch {
    return null;
  }
  if (rec.graph !== GRAPH_VERSION || rec.source !== sourceFingerprint(dir, opts)) return null;
  return rec;
}

/**
 * model.onnx for a folder: the cached one when fresh, else built and written beside the checkpoint. A
 * folder that cannot be written to gets the model in memory (`bytes`), rebuilt on every load.
 */
export async function ensureOnnx(dir: string, opts: OnnxExportOptions = {}): Promise<{ model: string | Uint8Array; record: OnnxRecord; built: boolean }> {
  inspectCheckpoint(dir);
  const rec = freshOnnx(dir, opts);
  if (rec) return { model: path.join(dir, ONNX_FILE), record: rec, built: false };
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    const { bytes, record } = await buildOnnxFromDir(dir, opts);
    return { model: bytes, record: { ...record, source: sourceFingerprint(dir, opts) }, built: true };
  }
  const { file, record } = await exportOnnx(dir, opts);
  return { model: file, record, built: true };
}
