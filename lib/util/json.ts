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
