/**
 * Numbers in a notebook's prose come from its outputs. A code cell writes its sentence with `md`, a tagged
 * template: every number it interpolates is marked in the Markdown output (`<span class="cz-out">55.43</span>`,
 * invisible once rendered), so a checker can tell a computed number from one typed into the template.
 * A Markdown cell may then quote a number only if some cell output produced it (a marked `md` value or a
 * cell of a `showTable` table), or if it is marked as the paper's:
 *
 *   (paper: 54.09 for (a), 55.43 for (c))          a parenthesis that starts with "paper"
 *   <span class="paper">368 GPU-hours</span>        or a span of class "paper"
 *
 * `proseNumberProblems(notebook)` lists the numbers that are neither, in Markdown cells and in `md` outputs
 * (where a number typed into the template, not interpolated, is flagged the same way). Not counted as quoted numbers:
 * code and math, links, HTML tags, identifiers with digits (nDCG@10, BM25, GH200), references (Table 2,
 * Tables 3–5, notebook 7, Figure 2), the unit "× 100", heading and list numbering, whole numbers below 10 (counts prose
 * writes as words: "3 pipelines") and years.
 */
import { showMarkdown } from './display';

const OUT_OPEN = '<span class="cz-out">';
/** Starts every `md` output (invisible once rendered): the checker reads such an output as prose too. */
const MD_MARK = '<!-- cz-md -->';
const OUT_CLOSE = '</span>';
/** A number as prose writes it: sign, thousands commas, decimals. */
const NUMBER = /[-+−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-+−]?\d+(?:\.\d+)?/g;

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) || !Number.isFinite(v) ? String(v) : v.toFixed(2);
  if (v === null || v === undefined) return '';
  return String(v);
}

/** Each number in an interpolated value wrapped in the output marker. */
function markNumbers(s: string): string {
  return s.replace(NUMBER, (n, at: number) => {
    const before = s[at - 1] ?? '';
    const after = s[at + n.length] ?? '';
    // Digits inside a word (BM25, nDCG@10) are a name, not a value.
    if (/[A-Za-z_@]/.test(before) || /[A-Za-z_]/.test(after)) return n;
    return `${OUT_OPEN}${n}${OUT_CLOSE}`;
  });
}

/**
 * Markdown with each interpolated number marked as a cell's output. Numbers (type number) print as
 * integers or at 2 decimals; format them yourself (`x.toFixed(1)`) for anything else.
 */
export function mdText(strings: TemplateStringsArray, ...values: unknown[]): string {
  let out = strings[0];
  values.forEach((v, i) => (out += markNumbers(formatValue(v)) + strings[i + 1]));
  return out;
}

/** The same Markdown without the markers (for text output). */
function unmarked(markdown: string): string {
  return markdown.replace(/<span class="cz-out">([^<]*)<\/span>/g, '$1');
}

/** `mdText`, shown: Markdown in a notebook (with the markers), plain text elsewhere. Returns the marked Markdown. */
export function md(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = mdText(strings, ...values);
  showMarkdown(`${MD_MARK}\n${text}`, unmarked(text));
  return text;
}

// ── The checker ──

export interface NotebookJson {
  cells: Array<{ cell_type: string; source: string | string[]; outputs?: Array<{ data?: Record<string, unknown> }> }>;
}

export interface ProseNumberProblem {
  /** Index of the Markdown cell in the notebook's cells. */
  cell: number;
  /** The number as written. */
  number: string;
  /** The words around it. */
  context: string;
}

const joined = (x: unknown) => (Array.isArray(x) ? x.join('') : typeof x === 'string' ? x : '');

/** The same number however written: no sign, no thousands commas (a gap of −0.31 is quoted as "0.31"). */
function normalise(n: string): string {
  const x = Number(n.replace(/[−+-]/g, '').replace(/,/g, ''));
  return Number.isFinite(x) ? String(x) : n;
}

/** Every number the notebook's outputs produced: marked `md` values and the cells of HTML tables. */
function producedNumbers(nb: NotebookJson): Set<string> {
  const out = new Set<string>();
  for (const c of nb.cells) {
    for (const o of c.outputs ?? []) {
      const m = joined(o.data?.['text/markdown']);
      for (const x of m.matchAll(/<span class="cz-out">([^<]*)<\/span>/g)) out.add(normalise(x[1]));
      const html = joined(o.data?.['text/html']);
      for (const x of html.matchAll(/<td>([^<]*)<\/td>/g)) for (const n of x[1].match(NUMBER) ?? []) out.add(normalise(n));
    }
  }
  return out;
}

/** Replace a region by spaces: its numbers are not prose, and positions stay those of the source. */
const blank = (s: string) => s.replace(/[^\n]/g, ' ');

/** Cut what is not a quoted number out of a Markdown cell's text, keeping positions. */
function proseOnly(src: string): string {
  let s = src;
  const cut = (re: RegExp, keep?: (m: string, ...g: string[]) => string) => (s = s.replace(re, (m: string, ...g: string[]) => (keep ? keep(m, ...g) : blank(m))));
  cut(/```[\s\S]*?```|~~~[\s\S]*?~~~/g); // fenced code
  cut(/`[^`\n]*`/g); // code spans
  cut(/\$\$[\s\S]*?\$\$|\$[^$\n]+\$/g); // math
  cut(/<span class="paper">[\s\S]*?<\/span>/g); // the paper's numbers
  cut(/\(paper\b[^()]*(?:\([^()]*\)[^()]*)*\)/gi); // "(paper: …)", one level of nested parentheses
  cut(/\]\([^)]*\)/g); // link targets
  cut(/https?:\/\/\S+/g);
  cut(/<[^>\n]+>/g); // HTML tags (their text stays)
  cut(/\b(?:Tables?|Figures?|Figs?\.|[Nn]otebooks?|Sections?|§|Appendix|Eq(?:uation)?s?\.?|Algorithms?|[Cc]ells?)\s+\d+(?:\s*(?:[–,-]|and|or|to|&)\s*\d+)*/g);
  cut(/×\s?100\b/g); // the scale nDCG@10 × 100 is printed at, a unit
  cut(/^\s{0,3}#{1,6}\s*\d+(?:\.\d+)*/gm); // heading numbers ("# 5 · …")
  cut(/^\s*\d+[.)]\s/gm); // numbered lists
  return s;
}

/**
 * The numbers a notebook's Markdown cells quote that no cell output produced and that are not marked as
 * the paper's (see the header for the convention). Empty when every quoted number is accounted for.
 */
export function proseNumberProblems(notebook: NotebookJson): ProseNumberProblem[] {
  const produced = producedNumbers(notebook);
  const out: ProseNumberProblem[] = [];
  const check = (i: number, src: string, prose: string) => {
    for (const m of prose.matchAll(NUMBER)) {
      const n = m[0];
      const at = m.index!;
      const before = prose[at - 1] ?? '';
      const after = prose[at + n.length] ?? '';
      if (/[A-Za-z_@\d.]/.test(before) || /[A-Za-z_]/.test(after)) continue; // part of a name
      const digits = n.replace(/^[-+−]/, '');
      const isWhole = /^\d+$/.test(digits);
      if (isWhole && Number(digits) < 10 && !/^\s*%/.test(prose.slice(at + n.length))) continue;
      if (isWhole && Number(digits) >= 1950 && Number(digits) <= 2030) continue; // a year
      if (produced.has(normalise(n))) continue;
      const context = src.slice(Math.max(0, at - 40), at + n.length + 40).replace(/\s+/g, ' ').trim();
      out.push({ cell: i, number: n, context });
    }
  };
  notebook.cells.forEach((c, i) => {
    if (c.cell_type === 'markdown') {
      const src = joined(c.source);
      check(i, src, proseOnly(src));
    }
    // An md output's prose: its marked numbers were computed; a number typed into the template was not.
    for (const o of c.outputs ?? []) {
      const src = joined(o.data?.['text/markdown']);
      if (src.startsWith(MD_MARK)) check(i, src, proseOnly(src.replace(/<span class="cz-out">[^<]*<\/span>/g, blank)));
    }
  });
  return out;
}
