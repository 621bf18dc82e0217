/**
 * Training data files: JSON lines, one example per line, one format per phase.
 *   unsupervised  {"query": str, "document": str}                       (pairs; in-batch negatives only)
 *   supervised    {"query": str, "positive": str, "negatives": [str]}   (mined hard negatives)
 *   distillation  {"query": str, "documents": [str], "scores": [num]}   (teacher scores, same length)
 *   mlm           {"text": str}                                         (raw text for masked-LM pre-training)
 * Extra keys are errors (they usually mean the wrong file for the phase). Errors name file and line.
 */
import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { readTextFile } from '../util/fs-errors';

/** One training example per phase (the JSON line, typed). */
export interface PairExample {
  query: string;
  document: string;
}
export interface TripletExample {
  query: string;
  positive: string;
  negatives: string[];
}
export interface DistillationExample {
  query: string;
  documents: string[];
  scores: number[];
}
export interface MlmExample {
  text: string;
}
export type Example = PairExample | TripletExample | DistillationExample | MlmExample;

export type Phase = 'unsupervised' | 'supervised' | 'distillation' | 'mlm';

const FIELDS: Record<Phase, Record<string, 'string' | 'strings' | 'numbers'>> = {
  unsupervised: { query: 'string', document: 'string' },
  supervised: { query: 'string', positive: 'string', negatives: 'strings' },
  distillation: { query: 'string', documents: 'strings', scores: 'numbers' },
  mlm: { text: 'string' },
};

function check(value: unknown, kind: 'string' | 'strings' | 'numbers'): boolean {
  if (kind === 'string') return typeof value === 'string';
  if (!Array.isArray(value)) return false;
  return kind === 'strings' ? value.every((x) => typeof x === 'string') : value.every((x) => typeof x === 'number' && Number.isFinite(x));
}

const ORIGIN = Symbol('origin');

/** `file:line` of an example read by readTrainingFile (undefined for examples made in code). */
export function originOf(ex: Example): string | undefined {
  return (ex as unknown as Record<symbol, string | undefined>)[ORIGIN];
}

/** Parses one JSONL file of `phase` examples; throws UserError naming `file:line` on the first bad line. */
export function readTrainingFile(file: string, phase: Phase): Example[] {
  if (!fs.existsSync(file)) throw new UserError(`${file}: training data file not found`);
  const fields = FIELDS[phase];
  const out: Example[] = [];
  const lines = readTextFile(file, 'a JSONL training file').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file}:${i + 1}`;
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${where}: not valid JSON (${(e as Error).message})`);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new UserError(`${where}: expected a JSON object`);
    for (const [k, kind] of Object.entries(fields)) {
      if (!(k in obj)) throw new UserError(`${where}: missing key "${k}" (${phase} format: ${Object.keys(fields).join(', ')})`);
      if (!check(obj[k], kind)) throw new UserError(`${where}: key "${k}" must be ${kind === 'string' ? 'a string' : kind === 'strings' ? 'an array of strings' : 'an array of finite numbers'}`);
    }
    for (const k of Object.keys(obj)) if (!(k in fields)) throw new UserError(`${where}: unknown key "${k}" for the ${phase} format (${Object.keys(fields).join(', ')})`);
    if (phase === 'distillation' && (obj.documents as unknown[]).length !== (obj.scores as unknown[]).length) {
      throw new UserError(`${where}: "documents" has ${(obj.documents as unknown[]).length} entries but "scores" has ${(obj.scores as unknown[]).length}`);
    }
    // Where the example came from, for errors found later (batches): hidden from JSON and deepEqual.
    Object.defineProperty(obj, ORIGIN, { value: where, enumerable: false });
    out.push(obj as unknown as Example);
  });
  if (out.length === 0) throw new UserError(`${file}: no examples`);
  return out;
}

/** The texts of an example that must not repeat inside one batch (they would be false in-batch negatives). */
export function textsOf(ex: Example): string[] {
  if ('text' in ex) return [];
  if ('document' in ex) return [ex.query, ex.document];
  if ('positive' in ex) return [ex.query, ex.positive, ...ex.negatives];
  return [ex.query];
}
