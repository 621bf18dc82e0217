/**
 * Showing things in a notebook. Inside a tslab kernel a figure becomes a static PNG (it renders on a code
 * host without running anything) and a table becomes an HTML table; anywhere else (a script, a test) both
 * fall back to text, so a notebook's code also runs as a plain script.
 */
import * as aq from 'arquero';
import type { Figure } from './figures';
import { escapeHtml, findChromium, renderPngs } from './render';

type ColumnTable = ReturnType<typeof aq.from>;
export type Row = Record<string, string | number | boolean | null | undefined>;

interface TslabDisplay {
  png(b: Uint8Array): void;
  html(s: string): void;
  markdown(s: string): void;
}

/** tslab's display when this code runs inside its kernel, else null. */
function tslabDisplay(): TslabDisplay | null {
  try {
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: unknown };
    if (jupyter.lastWriteDisplayData == null) return null;
    return (require('tslab') as { display: TslabDisplay }).display;
  } catch {
    return null;
  }
}

/** Show figures: PNG in a notebook (through Chromium), their titles and data sizes elsewhere. */
export async function show(...figs: Figure[]): Promise<void> {
  const d = tslabDisplay();
  const pngs = d ? await renderPngs(figs) : null;
  for (const [i, f] of figs.entries()) {
    if (d && pngs) d.png(pngs[i]);
    else {
      const title = String((f.layout.title as { text?: string } | undefined)?.text ?? '');
      const why = d && !findChromium() ? ' (no Chromium to draw it: install one or set CZ_CHROMIUM)' : '';
      console.log(`[figure] ${title}: ${f.data.length} trace(s)${why}`);
    }
  }
}

function formatCell(v: unknown, digits: number): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(digits);
  if (v === null || v === undefined) return '';
  return String(v);
}

/** A plain HTML table (no inline styles: small in a committed notebook, and code hosts strip them anyway). */
export function htmlTable(rows: Array<Record<string, string>>, title?: string): string {
  const cols = rows.length ? Object.keys(rows[0]) : [];
  const head = `<tr>${cols.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr>`;
  const body = rows.map((r) => `<tr>${cols.map((c) => `<td>${escapeHtml(r[c] ?? '')}</td>`).join('')}</tr>`).join('\n');
  return `${title ? `<p><b>${escapeHtml(title)}</b></p>\n` : ''}<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

/** Rows (or an arquero table) with numbers at `digits` decimals: an HTML table in a notebook, text elsewhere. */
export function showTable(rows: Row[] | ColumnTable, o: { title?: string; digits?: number } = {}): void {
  const objects = (Array.isArray(rows) ? rows : (rows.objects() as Row[])).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, formatCell(v, o.digits ?? 2)])),
  );
  const d = tslabDisplay();
  if (d) {
    d.html(htmlTable(objects, o.title));
    return;
  }
  if (o.title) console.log(o.title);
  const cols = objects.length ? Object.keys(objects[0]) : [];
  const width = cols.map((c) => Math.max(c.length, ...objects.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ');
  console.log(line(cols));
  for (const r of objects) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

/** Markdown in a notebook (a computed paragraph, a verdict), plain text elsewhere. */
export function showMarkdown(md: string): void {
  const d = tslabDisplay();
  if (d) d.markdown(md);
  else console.log(md);
}

export { aq };
