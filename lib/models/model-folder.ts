/**
 * A model folder, inspected once: its layout (modules, head, weight files), config.json, the
 * sentence-transformers settings and its fingerprint. Everything that opens a model (`loadEncoder` on
 * either engine, the ONNX cache, the tokenizers, `fromPretrained`) takes one, so a search reads the folder
 * once instead of once per step.
 *
 *   const folder = ModelFolder.open('path/to/model');
 *   folder.kind;                       // 'colbert' | 'dense' | 'transformer'
 *   folder.fingerprint();              // what an index records; computed on first use
 *   const enc = await loadEncoder(folder, { engine: 'ort' });
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import type { EncoderShape } from '../util/limits';
import { backboneConfigFromJson } from './backbone-io';
import {
  checkModelDir, CONFIG_FILE, layoutOf, readModelConfig, readModules, readSentenceBertConfig, readSentenceTransformersConfig,
  type CheckpointLayout, type SentenceBertConfig,
} from './checkpoint-files';
import type { ModernBertConfig } from './config';

export class ModelFolder {
  private fingerprintMemo: string | undefined;
  private backboneMemo: ModernBertConfig | undefined;

  private constructor(
    readonly dir: string,
    readonly layout: CheckpointLayout,
    /** config.json (the transformer's Hugging Face config), as read. */
    readonly config: Record<string, unknown>,
    /** sentence_bert_config.json; null when absent. */
    readonly sentenceBert: SentenceBertConfig | null,
    /** config_sentence_transformers.json (prompts, PyLate's ColBERT settings); null when absent. */
    readonly sentenceTransformers: Record<string, unknown> | null,
  ) {}

  /** Reads a folder's layout and settings; errors name what is missing or malformed. */
  static open(dir: string): ModelFolder {
    checkModelDir(dir);
    const st = readSentenceTransformersConfig(dir);
    const layout = layoutOf(dir, readModules(dir), st);
    return new ModelFolder(dir, layout, readModelConfig(dir), readSentenceBertConfig(dir), st);
  }

  /** `source` itself when already open, else the folder opened. */
  static of(source: string | ModelFolder): ModelFolder {
    return source instanceof ModelFolder ? source : ModelFolder.open(source);
  }

  get kind(): CheckpointLayout['kind'] {
    return this.layout.kind;
  }

  /** config.json checked as a ModernBERT backbone (parsed once). */
  backboneConfig(): ModernBertConfig {
    return (this.backboneMemo ??= backboneConfigFromJson(this.config, path.join(this.dir, CONFIG_FILE)));
  }

  /** Fails unless the folder has a tokenizer.json. */
  requireTokenizer(): void {
    if (!this.layout.hasTokenizer) throw new UserError(`${this.dir}: no tokenizer.json`);
  }

  /**
   * The folder's identity (see `folderFingerprint`), computed on first use and kept: open the folder again
   * after its files change.
   */
  fingerprint(): string {
    return (this.fingerprintMemo ??= folderFingerprint(this.dir));
  }

  /** What an encoding worker's memory depends on (util/limits' encodeWorkerBytes); a bad config.json is an error. */
  encoderShape(): EncoderShape {
    const c = this.backboneConfig();
    return { weightBytes: this.weightBytes(), maxSeqLength: this.sentenceBert?.max_seq_length ?? 512, hidden: c.hiddenSize, heads: c.numHeads, intermediate: c.intermediateSize };
  }

  /** Bytes of the weight files (the transformer's and its modules'). */
  weightBytes(): number {
    let total = 0;
    const visit = (d: string, depth: number) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (e.isDirectory() && depth < 1) visit(p, depth + 1);
        else if (e.isFile() && (e.name.endsWith('.safetensors') || e.name.endsWith('.bin'))) total += fs.statSync(p).size;
      }
    };
    visit(this.dir, 0);
    return total;
  }
}

/**
 * A model folder's identity: sha256 over every file that shapes its outputs (weights, configs, tokenizer;
 * not caches such as an exported ONNX graph, whose record is named `model.onnx.meta`, not `.json`), with
 * their relative paths. Two folders with the same weights and tokenization settings have the same
 * fingerprint wherever they are. Indexes record it; the ONNX cache is keyed on it.
 */
export function folderFingerprint(dir: string): string {
  checkModelDir(dir);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && /\.(json|safetensors|txt|model)$/.test(e.name)) files.push(p);
    }
  };
  walk(dir);
  const h = createHash('sha256');
  for (const f of files.sort()) {
    h.update(path.relative(dir, f).split(path.sep).join('/') + '\0');
    h.update(fs.readFileSync(f));
    h.update('\0');
  }
  return h.digest('hex');
}
