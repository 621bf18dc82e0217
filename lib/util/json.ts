import { UserError } from './errors';
import { readTextFile } from './fs-errors';

/** Reads a JSON file; a missing file or bad JSON is a UserError naming the file. */
export function readJsonFile<T = Record<string, unknown>>(file: string): T {
  const text = readTextFile(file, 'a JSON file');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${file}: invalid JSON (${(e as Error).message})`);
  }
}

/** A JSON text with object keys sorted (and undefined members left out), so equal values hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
