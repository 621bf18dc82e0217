/**
 * The library's import graph: no cycles, and every arrow points down the layers below (README, "Library
 * layout"). A small reader of import statements, not a bundler: it follows relative `import … from`,
 * `export … from`, `import(…)` and `require(…)` specifiers between files under lib/, type-only imports
 * included (a type that has to be imported from a higher layer lives in the wrong place).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Tiers from the bottom up. A folder imports only from lower tiers (and from itself). */
export const TIERS: string[][] = [
  ['util'],
  ['backend', 'data'],
  ['tokenize', 'scores'],
  ['models', 'losses'],
  ['retrieval'],
  ['eval', 'figures'],
  ['train', 'paper'],
  ['report'],
  ['pipelines'],
  ['cli'],
  ['index.ts'],
];

const LIB = path.join(__dirname, '..', 'lib');

function tierOf(folder: string): number {
  const t = TIERS.findIndex((names) => names.includes(folder));
  return t;
}

/** Every .ts/.cjs file under lib/, as a path relative to lib/. */
function libFiles(dir = LIB): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...libFiles(p));
    else if (/\.(ts|cjs)$/.test(e.name)) out.push(path.relative(LIB, p));
  }
  return out.sort();
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

/** The relative specifiers a file imports, resolved to files relative to lib/. */
export function importsOf(rel: string, source: string): Array<{ target: string; line: number }> {
  const out: Array<{ target: string; line: number }> = [];
  // Comments may quote import lines (as this file's header does); drop them first.
  const code = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"])\/\/.*$/gm, '$1');
  for (const m of code.matchAll(SPECIFIER)) {
    const base = path.join(path.dirname(rel), m[1]);
    const candidates = [base, `${base}.ts`, `${base}.cjs`, path.join(base, 'index.ts')];
    const hit = candidates.find((c) => fs.existsSync(path.join(LIB, c)) && fs.statSync(path.join(LIB, c)).isFile());
    const line = code.slice(0, m.index).split('\n').length;
    if (!hit) throw new Error(`lib/${rel}:${line}: import '${m[1]}' does not resolve to a file`);
    out.push({ target: hit, line });
  }
  return out;
}

function folderOf(rel: string): string {
  return rel.includes(path.sep) ? rel.split(path.sep)[0] : rel;
}

function graph(): Map<string, Array<{ target: string; line: number }>> {
  const g = new Map<string, Array<{ target: string; line: number }>>();
  for (const f of libFiles()) g.set(f, importsOf(f, fs.readFileSync(path.join(LIB, f), 'utf8')));
  return g;
}

/** Strongly connected components with more than one file (or a file importing itself): the cycles. */
function cycles(g: Map<string, Array<{ target: string }>>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const { target: w } of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (g.get(v) ?? []).some((e) => e.target === v)) out.push(scc.sort());
    }
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return out;
}

test('every folder of lib/ has a tier', () => {
  const folders = new Set(libFiles().map(folderOf));
  const missing = [...folders].filter((f) => tierOf(f) < 0);
  assert.deepEqual(missing, [], `folders without a tier in test/layers.test.ts: ${missing.join(', ')}`);
});

test('imports point down the layers', () => {
  const bad: string[] = [];
  for (const [file, edges] of graph()) {
    const from = folderOf(file);
    for (const { target, line } of edges) {
      const to = folderOf(target);
      if (to === from) continue;
      if (tierOf(to) >= tierOf(from)) bad.push(`lib/${file}:${line} imports lib/${target} (${from} may not import ${to})`);
    }
  }
  assert.deepEqual(bad, []);
});

test('the import graph has no cycle', () => {
  const found = cycles(graph()).map((c) => c.map((f) => `lib/${f}`).join(' ↔ '));
  assert.deepEqual(found, []);
});

test('the checker sees what it must: an upward import and a cycle in a made-up graph', () => {
  // The checker itself can fail: a type import is an import, and a two-file loop is a cycle.
  assert.deepEqual(
    importsOf(path.join('losses', 'x.ts'), "import type { Encoded } from '../models/encoder';\n// import { y } from '../train/run';"),
    [{ target: path.join('models', 'encoder.ts'), line: 1 }],
  );
  const g = new Map([
    ['a.ts', [{ target: 'b.ts' }]],
    ['b.ts', [{ target: 'a.ts' }]],
    ['c.ts', [{ target: 'a.ts' }]],
  ]);
  assert.deepEqual(cycles(g), [['a.ts', 'b.ts']]);
});
