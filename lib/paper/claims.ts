/**
 * The claims of the paper's text as data (`results/paper/claims.json`) and the small language they are
 * written in: each claim quotes numbers and states checks, both expressions over printed cells, and its
 * verdict is recomputed from the tables.
 *
 *   paperClaims()          the text's claims as committed, with their recorded recomputations
 *   evaluatePaperClaim(c)  recomputes one claim's checks and verdict from the tables
 */
import * as path from 'node:path';
import { z } from 'zod';
import { UserError } from '../util/errors';
import { cellValue, clean, decimalsOf, readValidated, PAPER_DIR, type CellRef } from './tables';

const CellRefSchema: z.ZodType<CellRef> = z.strictObject({
  table: z.number().int().min(1).max(5),
  row: z.string(),
  column: z.string(),
  part: z.enum(['delta', 'value']).optional(),
});

/** An arithmetic expression over cells. */
type Expr =
  | { cell: CellRef }
  | { const: number }
  | { add: Expr[] }
  | { sub: [Expr, Expr] }
  | { div: [Expr, Expr] }
  | { max: Expr[] }
  | { min: Expr[] };
const ExprSchema: z.ZodType<Expr> = z.lazy(() =>
  z.union([
    z.strictObject({ cell: CellRefSchema }),
    z.strictObject({ const: z.number() }),
    z.strictObject({ add: z.array(ExprSchema).min(1) }),
    z.strictObject({ sub: z.tuple([ExprSchema, ExprSchema]) }),
    z.strictObject({ div: z.tuple([ExprSchema, ExprSchema]) }),
    z.strictObject({ max: z.array(ExprSchema).min(1) }),
    z.strictObject({ min: z.array(ExprSchema).min(1) }),
  ]),
) as z.ZodType<Expr>;

const TestSchema = z.union([
  z.strictObject({ op: z.enum(['>', '<', '>=', '<=']), value: z.number() }),
  z.strictObject({ op: z.literal('≈'), value: z.number(), tolerance: z.number().nonnegative() }),
  z.strictObject({ op: z.literal('between'), low: z.number(), high: z.number() }),
]);
type ClaimTest = z.infer<typeof TestSchema>;

const CheckSchema = z.strictObject({
  label: z.string().min(1),
  expr: ExprSchema,
  test: TestSchema,
  recomputed: z.number().optional(),
  pass: z.boolean().optional(),
});
/** A number the sentence quotes, to be found in the tables (equal within the quoted precision). */
const QuotedSchema = z.strictObject({
  quoted: z.string().regex(/^\d+(\.\d+)?$/),
  expr: ExprSchema,
  recomputed: z.number().optional(),
  pass: z.boolean().optional(),
});
export type PaperVerdict = 'supported' | 'partly supported' | 'contradicted';
const ClaimSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  claim: z.string().min(1),
  source: z.strictObject({ document: z.enum(['paper', 'poster', 'summary']), where: z.string(), sentence: z.string().min(1) }),
  quotes: z.array(QuotedSchema).default([]),
  checks: z.array(CheckSchema).min(1),
  note: z.string().optional(),
  verdict: z.enum(['supported', 'partly supported', 'contradicted']).optional(),
});
export type PaperClaim = z.infer<typeof ClaimSchema>;
const ClaimsFileSchema = z.strictObject({ description: z.string(), claims: z.array(ClaimSchema).min(1) });

/** Evaluates an expression over the tables. */
function evalExpr(e: Expr, dir = PAPER_DIR): number {
  if ('cell' in e) return cellValue(e.cell, dir);
  if ('const' in e) return e.const;
  if ('add' in e) return e.add.reduce((s, x) => s + evalExpr(x, dir), 0);
  if ('sub' in e) return evalExpr(e.sub[0], dir) - evalExpr(e.sub[1], dir);
  if ('div' in e) return evalExpr(e.div[0], dir) / evalExpr(e.div[1], dir);
  if ('max' in e) return Math.max(...e.max.map((x) => evalExpr(x, dir)));
  return Math.min(...e.min.map((x) => evalExpr(x, dir)));
}

function passes(value: number, test: ClaimTest): boolean {
  const v = clean(value);
  switch (test.op) {
    case '>':
      return v > test.value;
    case '<':
      return v < test.value;
    case '>=':
      return v >= test.value;
    case '<=':
      return v <= test.value;
    case '≈':
      return Math.abs(v - test.value) <= test.tolerance + 1e-9;
    case 'between':
      return v >= test.low && v <= test.high;
  }
}

/** Recomputes a claim from the tables: each quoted number and each check, and the verdict. */
export function evaluatePaperClaim(c: PaperClaim, dir = PAPER_DIR): PaperClaim & { verdict: PaperVerdict } {
  const quotes = c.quotes.map((q) => {
    const v = clean(evalExpr(q.expr, dir));
    const half = 0.5 * 10 ** -decimalsOf(q.quoted);
    return { ...q, recomputed: v, pass: Math.abs(v - Number(q.quoted)) <= half + 1e-9 };
  });
  const checks = c.checks.map((k) => {
    const v = clean(evalExpr(k.expr, dir));
    return { ...k, recomputed: v, pass: passes(v, k.test) };
  });
  const all = [...quotes, ...checks];
  const passed = all.filter((x) => x.pass).length;
  const verdict: PaperVerdict = passed === all.length ? 'supported' : passed === 0 ? 'contradicted' : 'partly supported';
  return { ...c, quotes, checks, verdict };
}

function claimsFile(dir = PAPER_DIR): string {
  return path.join(dir, 'claims.json');
}

/** The text's claims as committed (with their recorded recomputations and verdicts). */
export function paperClaims(dir = PAPER_DIR): PaperClaim[] {
  const file = claimsFile(dir);
  const parsed = readValidated(file, ClaimsFileSchema);
  const ids = new Set<string>();
  parsed.claims.forEach((c, i) => {
    if (ids.has(c.id)) throw new UserError(`${file}: claims.${i}: duplicate id "${c.id}"`);
    ids.add(c.id);
  });
  return parsed.claims;
}
