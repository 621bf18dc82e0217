import * as fs from 'node:fs';
import { UserError } from './errors';

/** Reads a JSON file; a missing file or bad JSON is a UserError naming the file. */
export function readJsonFile<T = Record<string, unknown>>(file: string): T {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new UserError(`${file}: invalid JSON (${(e as Error).message})`);
  }
}
