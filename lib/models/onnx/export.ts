/**
 * `model.onnx` beside a checkpoint: built from the folder's config and weights (read through the same
 * loaders as the tfjs models, so every layout the library reads exports), written atomically, with a
 * small `model.onnx.meta` (JSON) recording what it was built from — a sha256 over the graph layout version,
 * the head options and the folder's fingerprint (`ModelFolder.fingerprint`, the one indexes record).
 * `ensureOnnx` rebuilds when that record is missing or differs (weights retrained, config or tokenizer
 * edited, a new graph layout, a record of an older rule), and otherwise reuses the file.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../backend/index';
import { writeFileAtomic, writeJsonAtomic } from '../../util/atomic';
import type { ColbertLoadOptions, ColbertModel } from '../colbert';
import type { DenseModel } from '../dense';
import type { HeadKind } from '../../scores/encoded';
import { loadTfjsModel } from '../load';
import { ModelFolder } from '../model-folder';
import type { RawTensor } from '../modernbert';
import { buildModernBertOnnx, GRAPH_VERSION, type OnnxHead } from './modernbert-onnx';
import { readJsonFile } from '../../util/json';

export const ONNX_FILE = 'model.onnx';
/** The record of what model.onnx was built from (JSON; not named .json so the folder's fingerprint, which hashes its .json files, does not depend on the export). */
export const ONNX_RECORD_FILE = 'model.onnx.meta';

export interface OnnxExportOptions {
  /** Head for a plain ModernBERT folder (as loadTfjsModel's fallback). */
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

/**
 * What a graph is built from: sha256 over the graph layout version, the head options of a plain ModernBERT
 * folder (whose head they decide) and the folder's fingerprint.
 */
function sourceFingerprint(source: string | ModelFolder, opts: OnnxExportOptions = {}): string {
  const folder = ModelFolder.of(source);
  const head = folder.kind === 'transformer' ? { fallback: opts.fallback ?? null, embeddingSize: opts.colbert?.embeddingSize ?? null, seed: opts.colbert?.seed ?? null } : null;
  return createHash('sha256').update(`${GRAPH_VERSION}\n${JSON.stringify(head)}\n${folder.fingerprint()}`).digest('hex');
}

/** Builds the ONNX model of a folder in memory. */
async function buildOnnxFromDir(source: string | ModelFolder, opts: OnnxExportOptions = {}): Promise<{ bytes: Uint8Array; record: Omit<OnnxRecord, 'source'> }> {
  await initBackend();
  const folder = ModelFolder.of(source);
  const model = await loadTfjsModel(folder, { fallback: opts.fallback, colbert: opts.colbert });
  try {
    return onnxFromModel(model, folder.dir);
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
export async function exportOnnx(source: string | ModelFolder, opts: OnnxExportOptions = {}): Promise<{ file: string; record: OnnxRecord }> {
  const folder = ModelFolder.of(source);
  const { bytes, record } = await buildOnnxFromDir(folder, opts);
  const file = path.join(folder.dir, ONNX_FILE);
  const full: OnnxRecord = { ...record, source: sourceFingerprint(folder, opts) };
  writeFileAtomic(file, bytes);
  writeJsonAtomic(path.join(folder.dir, ONNX_RECORD_FILE), full);
  return { file, record: full };
}

/** The folder's record when model.onnx is present and was built from exactly the current files. */
export function freshOnnx(source: string | ModelFolder, opts: OnnxExportOptions = {}): OnnxRecord | null {
  const folder = ModelFolder.of(source);
  const file = path.join(folder.dir, ONNX_FILE);
  const recFile = path.join(folder.dir, ONNX_RECORD_FILE);
  if (!fs.existsSync(file) || !fs.existsSync(recFile)) return null;
  let rec: OnnxRecord;
  try {
    rec = readJsonFile<OnnxRecord>(recFile);
  } catch {
    return null;
  }
  if (rec.graph !== GRAPH_VERSION || rec.source !== sourceFingerprint(folder, opts)) return null;
  return rec;
}

/**
 * model.onnx for a folder: the cached one when fresh, else built and written beside the checkpoint. A
 * folder that cannot be written to gets the model in memory (`bytes`), rebuilt on every load.
 */
export async function ensureOnnx(source: string | ModelFolder, opts: OnnxExportOptions = {}): Promise<{ model: string | Uint8Array; record: OnnxRecord; built: boolean }> {
  const folder = ModelFolder.of(source);
  const rec = freshOnnx(folder, opts);
  if (rec) return { model: path.join(folder.dir, ONNX_FILE), record: rec, built: false };
  try {
    fs.accessSync(folder.dir, fs.constants.W_OK);
  } catch {
    const { bytes, record } = await buildOnnxFromDir(folder, opts);
    return { model: bytes, record: { ...record, source: sourceFingerprint(folder, opts) }, built: true };
  }
  const { file, record } = await exportOnnx(folder, opts);
  return { model: file, record, built: true };
}
