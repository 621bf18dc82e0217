/**
 * One place decides which TensorFlow.js backend computes.
 *
 * Default order: tfjs-node-gpu, tfjs-node, then wasm (always installed). `CZ_BACKEND=wasm|node|node-gpu|cpu`
 * forces one; a forced backend that cannot load is an error, never a silent fallback, because a
 * researcher comparing timings must know what ran. tfjs-wasm is single-threaded in Node, so
 * parallelism comes from worker threads (see lib/train), not from this module.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers neither gradients (training needs them) nor method chaining (`t.square()`);
// the `@tensorflow/tfjs` bundle registers both on the same tfjs-core, as plain CommonJS, so this works
// under tsx, plain Node and tslab alike (tfjs-core's own ESM files for them do not load in plain Node).
import '@tensorflow/tfjs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { registerWasmKernels } from './kernels';

export type BackendName = 'wasm' | 'node' | 'node-gpu' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['wasm', 'node', 'node-gpu', 'cpu'];

export interface BackendInfo {
  /** The name used by this project and by CZ_BACKEND. */
  name: BackendName;
  /** The name tfjs knows the backend by (`tf.getBackend()`). */
  tfName: string;
  /** How it was chosen. */
  chosenBy: 'argument' | 'CZ_BACKEND' | 'default';
}

let active: BackendInfo | null = null;

const TF_NAMES: Record<BackendName, string> = { wasm: 'wasm', cpu: 'cpu', node: 'tensorflow', 'node-gpu': 'tensorflow' };

async function load(name: BackendName): Promise<void> {
  switch (name) {
    case 'cpu':
      // The cpu backend greets Node users with a banner on first use; PROD only silences tfjs warnings.
      tf.env().set('PROD', true);
      require('@tensorflow/tfjs-backend-cpu');
      break;
    case 'wasm': {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
      // Point at the .wasm files shipped in the package so loading never depends on the working directory.
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(dist + path.sep);
      registerWasmKernels();
      break;
    }
    case 'node':
      require('@tensorflow/tfjs-node');
      break;
    case 'node-gpu':
      require('@tensorflow/tfjs-node-gpu');
      break;
  }
  const ok = await tf.setBackend(TF_NAMES[name]);
  if (!ok) throw new Error(`tf.setBackend('${TF_NAMES[name]}') returned false`);
  await tf.ready();
}

function parseName(value: string, source: string): BackendName {
  if ((BACKEND_NAMES as readonly string[]).includes(value)) return value as BackendName;
  throw new UserError(`${source}=${value} is not a backend; use one of ${BACKEND_NAMES.join(', ')}`);
}

/**
 * Loads and activates a backend. Idempotent: a second call with no request returns the active one.
 * Must run before any tensor is created (importing the wasm backend makes it top priority).
 */
export async function initBackend(requested?: BackendName): Promise<BackendInfo> {
  const env = process.env.CZ_BACKEND?.trim();
  const want: BackendName | undefined = requested ?? (env ? parseName(env, 'CZ_BACKEND') : undefined);
  if (active && (want === undefined || want === active.name)) return active;
  if (want) {
    try {
      await load(want);
    } catch (e) {
      const hint =
        want === 'node' || want === 'node-gpu'
          ? ` (install @tensorflow/tfjs-${want} on a machine that can download libtensorflow, or use CZ_BACKEND=wasm)`
          : '';
      throw new UserError(`backend '${want}' could not be loaded: ${(e as Error).message.split('\n')[0]}${hint}`);
    }
    active = { name: want, tfName: tf.getBackend(), chosenBy: requested ? 'argument' : 'CZ_BACKEND' };
    return active;
  }
  for (const name of ['node-gpu', 'node'] as const) {
    try {
      await load(name);
      active = { name, tfName: tf.getBackend(), chosenBy: 'default' };
      return active;
    } catch {
      // optional dependency absent or unusable: try the next one
    }
  }
  await load('wasm');
  active = { name: 'wasm', tfName: tf.getBackend(), chosenBy: 'default' };
  return active;
}

/** The active backend, or null before `initBackend`. */
export function activeBackend(): BackendInfo | null {
  return active;
}

/** True when the fast paths for tfjs-wasm's slow kernels should be used. */
export function needsWasmFastPaths(): boolean {
  return tf.getBackend() === 'wasm';
}
