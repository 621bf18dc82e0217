import * as fs from 'node:fs';
import { UserError } from '../util/errors';
import { fsProblem, openForReading } from '../util/fs-errors';
import { readBeirQrels } from './beir';
import { readTrecQrels } from './trec';
import type { Qrels } from './types';

/**
 * Reads judgments in either format, told apart by the first line that is not blank or a comment:
 * BEIR's TSV has 3 tab-separated columns (`query-id corpus-id score`), TREC qrels 4 (`qid iter docid rel`).
 */
export function readQrelsFile(file: string): Qrels {
  let head: string;
  try {
    const fd = openForReading(file, 'a qrels file');
    const buf = Buffer.alloc(4096);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    fs.closeSync(fd);
    head = buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(fsProblem(file, e, 'a qrels file'));
  }
  const first = head.split('\n').find((l) => l.trim() !== '' && !l.trimStart().startsWith('#')) ?? '';
  const beir = first.split('\t').length === 3 && first.trim().split(/\s+/).length <= 3;
  return beir ? readBeirQrels(file).qrels : readTrecQrels(file);
}
