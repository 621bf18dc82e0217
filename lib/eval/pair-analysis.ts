/**
 * Late interaction on real text, one pair at a time: what each query token matched in the document and
 * how much it added (`explainPair`), the same pairs scored by any encoder (`scorePairs`: MaxSim for a
 * ColBERT model, the dot product of the pooled vectors for a dense one), pairs to contrast from a BEIR set
 * (`contrastPairs`, `judgedPairs`), and where the score comes from across many pairs (`maxSimByRole`:
 * the share of the summed maxima owed to prompt, [MASK] expansion, marker, special and real query tokens,
 * and which document tokens the prompt and [MASK] tokens pick).
 *
 *   const e = await explainPair(model, 'what is late interaction', 'ColBERT scores token by token');
 *   e.queryTokens[i].token, e.picks[i].documentToken, e.picks[i].max, e.score
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BeirDataset } from '../data/beir';
import { documentText } from '../data/beir';
import type { Doc } from '../data/types';
import type { ColbertModel } from '../models/colbert';
import type { Encoder } from '../models/encoder';
import { colbertScoresPairwise } from '../scores/maxsim';
import { dotScoresPairwise } from '../scores/dense';
import { explainMaxSim, type MaxSimExplanation } from '../scores/explain';
import type { TokenKind, TokenView } from '../tokenize/colbert';
import { UserError } from '../util/errors';
import { mulberry32 } from '../util/rng';

/** A query and a document text. */
export interface TextPair {
  query: string;
  document: string;
}

/** MaxSim of one pair with the tokens behind each row and column (`ColbertTokenizer.explain`). */
export interface PairExplanation extends MaxSimExplanation, TextPair {
  queryTokens: TokenView[];
  documentTokens: TokenView[];
}

/**
 * Encodes the pair with the model (its tokenizer: markers, prompts, expansion, skiplist) and writes MaxSim
 * out (`explainMaxSim`); the score equals `colbertScores` on the same encodings.
 */
export async function explainPair(model: ColbertModel, query: string, document: string): Promise<PairExplanation> {
  const [e] = await explainPairs(model, [{ query, document }]);
  return e;
}

/** `explainPair` for many pairs (each text encoded alone, so no padding enters a pair). */
export async function explainPairs(model: ColbertModel, pairs: TextPair[]): Promise<PairExplanation[]> {
  const out: PairExplanation[] = [];
  for (const p of pairs) {
    const q = await model.encode([p.query], 'query');
    const d = await model.encode([p.document], 'document');
    try {
      const qv = (q.embeddings.arraySync() as number[][][])[0];
      const dv = (d.embeddings.arraySync() as number[][][])[0];
      const qm = (q.mask!.arraySync() as number[][])[0];
      const dm = (d.mask!.arraySync() as number[][])[0];
      const queryTokens = model.tokenizer.explain(p.query, 'query');
      const documentTokens = model.tokenizer.explain(p.document, 'document');
      if (queryTokens.length !== qv.length || documentTokens.length !== dv.length) {
        throw new UserError(`explainPairs: the tokenizer gives ${queryTokens.length}/${documentTokens.length} positions, the model encoded ${qv.length}/${dv.length}`);
      }
      out.push({ ...p, ...explainMaxSim(qv, dv, qm, dm), queryTokens, documentTokens });
    } finally {
      tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!].filter(Boolean));
    }
  }
  return out;
}

/**
 * The score each encoder gives each pair: MaxSim for a ColBERT model ("compare token evidence"), the dot
 * product of the two pooled vectors for a dense one ("compress, then compare"; cosine when the model
 * normalizes, as sentence-transformers' Normalize does).
 */
export async function scorePairs(encoder: Encoder, pairs: TextPair[]): Promise<number[]> {
  const out: number[] = [];
  for (const p of pairs) {
    const q = await encoder.encode([p.query], 'query');
    const d = await encoder.encode([p.document], 'document');
    try {
      const s = tf.tidy(() =>
        encoder.kind === 'colbert'
          ? colbertScoresPairwise(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask)
          : dotScoresPairwise(q.embeddings as tf.Tensor2D, d.embeddings as tf.Tensor2D),
      );
      out.push(s.dataSync()[0]);
      s.dispose();
    } finally {
      tf.dispose([q.embeddings, q.mask, d.embeddings, d.mask].filter((t): t is tf.Tensor => t !== undefined));
    }
  }
  return out;
}

/** A judged query with its best-graded document (the first such in the qrels' order). */
export interface JudgedPair extends TextPair {
  queryId: string;
  documentId: string;
  grade: number;
}

/** Each judged query of a BEIR set with its most relevant document, in the set's query order (`limit` first). */
export function judgedPairs(set: BeirDataset, limit = Infinity): JudgedPair[] {
  const docs = new Map(set.corpus.map((d) => [d.id, d]));
  const out: JudgedPair[] = [];
  for (const q of set.queries) {
    if (out.length >= limit) break;
    let best: [string, number] | null = null;
    for (const [id, g] of set.qrels.get(q.id) ?? []) if (g > 0 && docs.has(id) && (best === null || g > best[1])) best = [id, g];
    if (best) out.push({ queryId: q.id, query: q.text, documentId: best[0], document: documentText(docs.get(best[0])!), grade: best[1] });
  }
  return out;
}

/** Lowercased word set of a text (letters and digits). */
function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);
}

export interface ContrastPair extends TextPair {
  kind: 'relevant' | 'non-relevant' | 'shares words';
  documentId: string | null;
  /** Words the document shares with the query. */
  shared: string[];
  /** How the document was chosen, in words. */
  note: string;
}

/**
 * Three documents for one query, to contrast scorers on: its most relevant document; a judged-irrelevant
 * (unjudged) document sharing no word with it; and a distractor that shares words with it — the unjudged
 * document sharing the most words, or, where no document shares any (the synthetic world, whose queries
 * and documents use disjoint words), that irrelevant document with `distractorWords` of the query's words
 * appended (marked as constructed in `note`). Deterministic: ties go to corpus order.
 */
export function contrastPairs(set: BeirDataset, queryId: string, o: { distractorWords?: number } = {}): ContrastPair[] {
  const query = set.queries.find((q) => q.id === queryId);
  if (!query) throw new UserError(`contrastPairs: no judged query "${queryId}"`);
  const [rel] = judgedPairs({ ...set, queries: [query] });
  if (!rel) throw new UserError(`contrastPairs: query "${queryId}" has no relevant document in the corpus`);
  const judged = set.qrels.get(queryId) ?? new Map<string, number>();
  const qWords = words(query.text);
  const overlap = (d: Doc) => [...words(documentText(d))].filter((w) => qWords.has(w));
  const unjudged = set.corpus.filter((d) => !((judged.get(d.id) ?? 0) > 0));
  const other = unjudged.find((d) => overlap(d).length === 0);
  if (!other) throw new UserError(`contrastPairs: every unjudged document shares a word with query "${queryId}"`);
  let best: Doc | null = null;
  let bestShared: string[] = [];
  for (const d of unjudged) {
    const s = overlap(d);
    if (s.length > bestShared.length) [best, bestShared] = [d, s];
  }
  const pairs: ContrastPair[] = [
    { kind: 'relevant', query: query.text, document: rel.document, documentId: rel.documentId, shared: overlap(set.corpus.find((d) => d.id === rel.documentId)!), note: `judged relevant (grade ${rel.grade})` },
    { kind: 'non-relevant', query: query.text, document: documentText(other), documentId: other.id, shared: [], note: 'not judged relevant, no word in common' },
  ];
  if (best) {
    pairs.push({ kind: 'shares words', query: query.text, document: documentText(best), documentId: best.id, shared: bestShared, note: `not judged relevant; the corpus document sharing the most words (${bestShared.length})` });
  } else {
    const add = [...qWords].slice(0, o.distractorWords ?? 2);
    pairs.push({ kind: 'shares words', query: query.text, document: `${documentText(other)} ${add.join(' ')}`, documentId: null, shared: add, note: `constructed: no corpus document shares a word with the query, so the non-relevant document with ${add.length} of the query's words appended` });
  }
  return pairs;
}

/** The query-side groups `maxSimByRole` splits a score into. */
export type QueryTokenGroup = Exclude<TokenKind, 'padding'>;
const QUERY_TOKEN_GROUPS: readonly QueryTokenGroup[] = ['text', 'prompt', 'expansion', 'marker', 'special'];

export interface RoleShareRow {
  group: QueryTokenGroup;
  /** Mean number of scored query tokens of this group per query. */
  tokens: number;
  /** Mean Σ of their maxima per query. */
  meanSum: number;
  /** Share of the score (Σ of the group's maxima / score), over queries: mean, sample sd, min, max. */
  meanShare: number;
  sdShare: number;
  minShare: number;
  maxShare: number;
}

export interface RoleMatchRow {
  group: QueryTokenGroup;
  /** Scored query tokens of this group that picked a document token, over all pairs. */
  picks: number;
  /** Fraction of those picks landing on a document token that a real query word (group 'text') also picked. */
  sameAsTextPick: number;
  /** Fraction landing on a document token whose string is one of the query's own text tokens. */
  queryWordToken: number;
  /** The most frequent document tokens picked, with counts. */
  top: Array<{ token: string; count: number }>;
}

export interface RoleAttribution {
  pairs: number;
  /** Per pair: the score and each group's Σ of maxima. */
  perPair: Array<{ query: string; score: number; sums: Record<QueryTokenGroup, number>; tokens: Record<QueryTokenGroup, number> }>;
  shares: RoleShareRow[];
  matches: RoleMatchRow[];
}

function zeros(): Record<QueryTokenGroup, number> {
  return { text: 0, prompt: 0, expansion: 0, marker: 0, special: 0 };
}

/**
 * Where MaxSim scores come from, by query token kind, over explained pairs: per pair the Σ of each group's
 * maxima (they add up to the score), their shares of the score with mean / sd / range over pairs (pairs
 * scoring 0 are left out of the shares), and for each group the document tokens it picks — the most
 * frequent, and how often a pick is also a real query word's pick or a token spelled like a query word.
 * Shares can be negative or above 1 where maxima are negative.
 */
export function maxSimByRole(explained: PairExplanation[], o: { top?: number } = {}): RoleAttribution {
  const top = o.top ?? 8;
  const perPair: RoleAttribution['perPair'] = [];
  const counts = new Map<QueryTokenGroup, Map<string, number>>(QUERY_TOKEN_GROUPS.map((g) => [g, new Map()]));
  const picks = zeros();
  const sameAsText = zeros();
  const queryWord = zeros();
  for (const e of explained) {
    const sums = zeros();
    const tokens = zeros();
    const textPicks = new Set<number>();
    const textWords = new Set<string>();
    e.picks.forEach((p, i) => {
      if (e.queryTokens[i].kind !== 'text') return;
      textWords.add(e.queryTokens[i].token);
      if (p.scored && p.documentToken !== null) textPicks.add(p.documentToken);
    });
    e.picks.forEach((p, i) => {
      const kind = e.queryTokens[i].kind;
      if (!p.scored || kind === 'padding') return;
      const g = kind as QueryTokenGroup;
      sums[g] += p.contribution;
      tokens[g] += 1;
      if (p.documentToken === null) return;
      const tok = e.documentTokens[p.documentToken].token;
      picks[g] += 1;
      if (textPicks.has(p.documentToken)) sameAsText[g] += 1;
      if (textWords.has(tok)) queryWord[g] += 1;
      const c = counts.get(g)!;
      c.set(tok, (c.get(tok) ?? 0) + 1);
    });
    perPair.push({ query: e.query, score: e.score, sums, tokens });
  }
  const shares: RoleShareRow[] = QUERY_TOKEN_GROUPS.map((g) => {
    const s = perPair.filter((p) => p.score !== 0).map((p) => p.sums[g] / p.score);
    const n = s.length;
    const mean = n ? s.reduce((a, b) => a + b, 0) / n : NaN;
    const sd = n > 1 ? Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
    const avg = (f: (p: (typeof perPair)[number]) => number) => (perPair.length ? perPair.reduce((a, p) => a + f(p), 0) / perPair.length : NaN);
    return { group: g, tokens: avg((p) => p.tokens[g]), meanSum: avg((p) => p.sums[g]), meanShare: mean, sdShare: sd, minShare: n ? Math.min(...s) : NaN, maxShare: n ? Math.max(...s) : NaN };
  });
  const matches: RoleMatchRow[] = QUERY_TOKEN_GROUPS.map((g) => ({
    group: g,
    picks: picks[g],
    sameAsTextPick: picks[g] ? sameAsText[g] / picks[g] : NaN,
    queryWordToken: picks[g] ? queryWord[g] / picks[g] : NaN,
    top: [...counts.get(g)!.entries()]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, top)
      .map(([token, count]) => ({ token, count })),
  }));
  return { pairs: explained.length, perPair, shares, matches };
}

/**
 * Each judged query (the first `limit`) with one document not judged relevant to it, drawn with a seeded
 * generator (a different document per query): the other side of `judgedPairs` for contrasts.
 */
export function unjudgedPairs(set: BeirDataset, limit = Infinity, seed = 0): JudgedPair[] {
  const rand = mulberry32(seed);
  const out: JudgedPair[] = [];
  const n = set.corpus.length;
  for (const q of set.queries) {
    if (out.length >= limit) break;
    const judged = set.qrels.get(q.id) ?? new Map<string, number>();
    const start = Math.floor(rand() * n);
    for (let k = 0; k < n; k++) {
      const d = set.corpus[(start + k) % n];
      if ((judged.get(d.id) ?? 0) > 0) continue;
      out.push({ queryId: q.id, query: q.text, documentId: d.id, document: documentText(d), grade: judged.get(d.id) ?? 0 });
      break;
    }
  }
  return out;
}

export interface MarginRow {
  group: QueryTokenGroup;
  /** Mean Σ of the group's maxima against the relevant documents, and against the other ones. */
  relevant: number;
  other: number;
  /** relevant − other: what the group adds to the score margin that ranks the relevant document first. */
  margin: number;
  /** margin / the mean total margin (the groups' shares add up to 1). */
  shareOfMargin: number;
  /** Fraction of queries where the group's Σ is higher for the relevant document. */
  higherForRelevant: number;
}

/**
 * Which query tokens separate a relevant document from another one: pair i of `relevant` and of `other`
 * share their query; per token group, the mean Σ of maxima against each, their difference (the group's part
 * of the score margin) and how often it favours the relevant document. A group that adds the same to every
 * document (a constant floor) has margin 0, however large its share of the score.
 */
export function marginByRole(relevant: PairExplanation[], other: PairExplanation[]): { pairs: number; meanMargin: number; rows: MarginRow[] } {
  if (relevant.length !== other.length) throw new UserError(`marginByRole: ${relevant.length} relevant pairs but ${other.length} others`);
  relevant.forEach((r, i) => {
    if (r.query !== other[i].query) throw new UserError(`marginByRole: pair ${i} has two different queries ("${r.query}" / "${other[i].query}")`);
  });
  const a = maxSimByRole(relevant).perPair;
  const b = maxSimByRole(other).perPair;
  const n = a.length;
  const mean = (f: (i: number) => number) => (n ? Array.from({ length: n }, (_, i) => f(i)).reduce((x, y) => x + y, 0) / n : NaN);
  const meanMargin = mean((i) => a[i].score - b[i].score);
  const rows = QUERY_TOKEN_GROUPS.map((g) => {
    const rel = mean((i) => a[i].sums[g]);
    const oth = mean((i) => b[i].sums[g]);
    return { group: g, relevant: rel, other: oth, margin: rel - oth, shareOfMargin: (rel - oth) / meanMargin, higherForRelevant: mean((i) => (a[i].sums[g] > b[i].sums[g] ? 1 : 0)) };
  });
  return { pairs: n, meanMargin, rows };
}
