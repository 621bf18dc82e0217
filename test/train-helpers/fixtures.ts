/** Tiny training data and configs for the engine's tests (written into a temporary directory). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseTrainConfig, resolvePaths, type TrainConfig } from '../../lib/train/config';

const WORDS = 'apple river stone cloud green orange tiger maple violet copper silver lemon harbor canyon meadow falcon ember frost glacier willow'.split(' ');

function phrase(i: number, n: number, salt: number): string {
  return Array.from({ length: n }, (_, k) => WORDS[(i * 7 + k * 3 + salt * 11 + ((i * k) % 5)) % WORDS.length]).join(' ') + ` t${i}`;
}

export { tmpDir } from '../helpers/tmp';

/** Writes `n` examples of the phase's JSONL format; returns the file. */
export function writeData(dir: string, phase: TrainConfig['phase'], n: number, name = `${phase}.jsonl`): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const q = phrase(i, 3, 1);
    const pos = phrase(i, 5, 2);
    if (phase === 'unsupervised') lines.push(JSON.stringify({ query: q, document: pos }));
    else if (phase === 'supervised') lines.push(JSON.stringify({ query: q, positive: pos, negatives: [phrase(i, 4, 3), phrase(i, 6, 4)] }));
    else if (phase === 'distillation') lines.push(JSON.stringify({ query: q, documents: [pos, phrase(i, 4, 3), phrase(i, 6, 4)], scores: [5, 1 + (i % 3), -2] }));
    else lines.push(JSON.stringify({ text: `${q} ${pos}` }));
  }
  const file = path.join(dir, name);
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

export const TINY_MODULE = path.join(__dirname, 'tiny-encoder.ts');

/** A valid config for the tiny test encoder; `over` replaces top-level keys. */
export function tinyConfig(dir: string, over: Record<string, unknown> = {}): TrainConfig {
  const phase = (over.phase as TrainConfig['phase']) ?? 'supervised';
  const raw = {
    model: { type: 'module', module: TINY_MODULE, options: { dropout: 0.1, seed: 2 } },
    head: 'colbert',
    phase,
    data: { sources: [writeData(dir, phase, 24)] },
    batchSize: 4,
    miniBatch: 2,
    negatives: 1,
    candidates: 3,
    temperature: { value: 0.05, learnable: true },
    optimizer: { lr: 0.05, warmupSteps: 2, clipNorm: 1.0, weightDecay: 0.01 },
    steps: 6,
    seed: 13,
    output: path.join(dir, 'out'),
    checkpointEvery: 2,
    ...over,
  };
  return resolvePaths(parseTrainConfig(raw, 'test config'), dir);
}
