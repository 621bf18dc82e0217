/**
 * The environment variables the project reads, each checked like an option: a bad value is one line
 * naming the variable and what it takes (the CLI checks them all before any work and exits 2), never
 * silently ignored. An empty value counts as unset.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from './errors';

interface EnvSpec {
  /** What the variable takes, for the message. */
  takes: string;
  /** Null when the value is acceptable, else what is wrong with it (default: "takes ..."). */
  check: (v: string) => string | null;
}

const oneOf = (...values: string[]) => (v: string) => (values.includes(v) ? null : '');
const positiveInteger = (v: string) => (/^\d+$/.test(v) && Number.isSafeInteger(Number(v)) && Number(v) >= 1 ? null : '');
const folderIfPresent = (v: string) => (fs.existsSync(v) && !fs.statSync(v).isDirectory() ? 'is a file, not a folder' : null);
const existingFolder = (v: string) => (!fs.existsSync(v) ? 'no such folder' : folderIfPresent(v));
const existingFile = (v: string) => (!fs.existsSync(v) ? 'no such file' : fs.statSync(v).isDirectory() ? 'is a folder, not a program' : null);
const httpUrl = (v: string) => (/^https?:\/\/[^\s/]+/.test(v) ? null : '');

export const ENV_VARS = {
  CZ_THREADS: { takes: 'a positive integer (threads)', check: positiveInteger },
  CZ_PROGRESS: { takes: '0 (no progress bars) or 1 (always)', check: oneOf('0', '1') },
  CZ_DEBUG: { takes: '0 or 1 (1: stack traces with errors)', check: oneOf('0', '1') },
  CZ_ENGINE: { takes: 'ort or tfjs', check: oneOf('ort', 'tfjs') },
  // The names of lib/backend/select.ts's BACKEND_NAMES (a lower tier cannot import them; a test compares).
  CZ_BACKEND: { takes: 'wasm, node, node-gpu or cpu', check: oneOf('wasm', 'node', 'node-gpu', 'cpu') },
  CZ_ORT_PROVIDER: { takes: 'cpu or cuda', check: oneOf('cpu', 'cuda') },
  // A path prefix: ONNX Runtime writes each session's per-operator profile (JSON) there.
  CZ_ORT_PROFILE: { takes: 'a path prefix for ONNX Runtime profiles', check: (v) => existingFolder(path.dirname(path.resolve(v))) },
  CZ_DATA_DIR: { takes: 'a folder (the data cache)', check: folderIfPresent },
  CZ_MANIFESTS_DIR: { takes: 'an existing folder of data manifests', check: existingFolder },
  CZ_HUB_URL: { takes: 'an http:// or https:// URL', check: httpUrl },
  CZ_CHROMIUM: { takes: 'the path of a Chromium executable', check: existingFile },
} satisfies Record<string, EnvSpec>;

export type EnvName = keyof typeof ENV_VARS;

/** The variable's value (trimmed; undefined when unset or empty), or a UsageError saying what it takes. */
export function envValue(name: EnvName): string | undefined {
  const raw = process.env[name];
  const v = raw?.trim();
  if (!v) return undefined;
  const spec: EnvSpec = ENV_VARS[name];
  const wrong = spec.check(v);
  if (wrong !== null) throw new UsageError(`${name}=${raw}: ${wrong || `takes ${spec.takes}`}`);
  return v;
}

/** Checks every variable the project reads; the first bad one is a UsageError. */
export function checkEnvironment(): void {
  for (const name of Object.keys(ENV_VARS) as EnvName[]) envValue(name);
}
