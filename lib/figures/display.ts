/**
 * Showing things in a notebook. Inside a tslab kernel a figure becomes one output holding both the plotly
 * JSON (interactive where the reader runs JupyterLab or VS Code) and a static PNG (what a code host, which
 * runs nothing, shows), and a table becomes an HTML table; anywhere else (a script, a test) both
 * fall back to text, so a notebook's code also runs as a plain script.
 */
import * as aq from 'arquero';
import type { Figure } from './figures';
import { escapeHtml, findChromium, renderPngs } from './render';

export type ColumnTable = ReturnType<typeof aq.from>;
export type Row = Record<string, string | number | boolean | null | undefined>;

/** One display output holding several representations (mime type → content); the frontend picks the richest it can show. */
type MimeBundle = Record<string, unknown>;

/**
 * tslab's display writer when this code runs inside its kernel, else null. tslab's own `display.raw` sends
 * one mime type per output; its kernel writer takes a whole bundle, as Jupyter's display_data does.
 */
function kernelDisplay(): ((bundle: MimeBundle) => void) | null {
  try {
    const jupyter = require('tslab/dist/jupyter') as { lastWriteDisplayData: ((msg: unknown, update: boolean) => void) | null };
    const write = jupyter.lastWriteDisplayData;
    if (write == null) return null;
    return (data) => write({ data, metadata: {}, transient: {} }, false);
  } catch {
    return null;
  }
}

/** Plotly's own mime type: JupyterLab (with plotly's extension) and VS Code draw it interactively. */
const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

const figureTitle = (f: Figure) => String((f.layout.title as { text?: string } | undefined)?.text ?? '');

/**
 * A figure's display output: the plotly JSON for a live reader, the PNG (when Chromium drew one) for a
 * code host or a reader without plotly's extension, and the title as text. One output, three forms.
 */
function figureBundle(fig: Figure, png: Uint8Array | null): MimeBundle {
  // Through JSON: NaN becomes null (a gap), as plotly and the notebook format expect.
  const plotly = JSON.parse(JSON.stringify({ data: fig.data, layout: fig.layout, config: { displaylogo: false } })) as unknown;
  return {
    [PLOTLY_MIME]: plotly,
    ...(png ? { 'image/png': Buffer.from(png).toString('base64') } : {}),
    'text/plain': `[figure] ${figureTitle(fig)}`,
  };
}

/** Show figures: interactive plotly and a static PNG in one output in a notebook; titles and data sizes elsewhere. */
export async function show(...figs: Figure[]): Promise<void> {
  const d = kernelDisplay();
  const pngs = d ? await renderPngs(figs) : null;
  for (const [i, f] of figs.entries()) {
    if (d) d(figureBundle(f, pngs ? pngs[i] : null));
    if (!d || !pngs) {
      const why = d && !findChromium() ? ' (no Chromium to draw a PNG: install one or set CZ_CHROMIUM)' : '';
      console.log(`[figure] ${figureTitle(f)}: ${f.data.length} trace(s)${why}`);
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
  const d = kernelDisplay();
  if (d) {
    d({ 'text/html': htmlTable(objects, o.title) });
    return;
  }
  if (o.title) console.log(o.title);
  const cols = objects.length ? Object.keys(objects[0]) : [];
  const width = cols.map((c) => Math.max(c.length, ...objects.map((r) => String(r[c] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(width[i])).join('  ');
  console.log(line(cols));
  for (const r of objects) console.log(line(cols.map((c) => String(r[c] ?? ''))));
}

/** Markdown in a notebook (a computed paragraph, a verdict), plain text elsewhere (`text`, else the Markdown). */
export function showMarkdown(md: string, text = md): void {
  const d = kernelDisplay();
  if (d) d({ 'text/markdown': md, 'text/plain': text });
  else console.log(text);
}

export { aq };
