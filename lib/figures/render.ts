/**
 * Figures to files: a standalone HTML page per figure that loads one shared plotly bundle from its own
 * folder (never a copy per page), and PNG through a headless Chromium driven by playwright-core. Chromium
 * is found at CZ_CHROMIUM or Debian's /usr/bin/chromium; without one, PNGs are skipped and said so.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { makeDirs } from '../util/fs-errors';
import { writeFileAtomic } from '../util/atomic';
import { readingProblems, type Figure } from './figures';

export const PLOTLY_BUNDLE = 'plotly.min.js';
export const FIGURE_SIZE = { width: 860, height: 480 };


function plotlyBundlePath(): string {
  return require.resolve('plotly.js-dist-min');
}

/** The Chromium to drive: CZ_CHROMIUM if set (it must exist), else the first one installed; null if none. */
export function findChromium(): string | null {
  const forced = process.env.CZ_CHROMIUM;
  if (forced) {
    if (!fs.existsSync(forced)) throw new UserError(`CZ_CHROMIUM=${forced}: no such file`);
    return forced;
  }
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable']) {
    if (fs.existsSync(p)) return p;
  }
  return null;
}

/** Text made safe inside HTML (elements and attribute values). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/** One page showing one figure; `bundleHref` is where the page finds plotly (a relative file). */
export function figureHtml(fig: Figure, bundleHref = PLOTLY_BUNDLE): string {
  const title = String((fig.layout.title as { text?: string } | undefined)?.text ?? 'figure');
  const { width, height } = pngSize(fig);
  return [
    '<!doctype html>',
    `<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>`,
    `<script src="${escapeHtml(bundleHref)}"></script></head>`,
    `<body><div id="figure" style="width:${width}px;height:${height}px"></div>`,
    `<script>Plotly.newPlot('figure', ${JSON.stringify(fig.data)}, ${JSON.stringify(fig.layout)}, {staticPlot: false, displaylogo: false}).then(() => { document.body.dataset.rendered = 'yes'; });</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

// One browser per process, closed when the process has been idle for a while: notebooks show figures one
// cell at a time, and launching Chromium costs about two seconds.
type Browser = import('playwright-core').Browser;
let browser: Promise<Browser> | null = null;
let idle: NodeJS.Timeout | null = null;

async function openBrowser(executable: string): Promise<Browser> {
  if (idle) clearTimeout(idle);
  if (!browser) {
    const { chromium } = await import('playwright-core');
    browser = chromium.launch({ executablePath: executable, args: ['--no-sandbox', '--disable-gpu'] });
    browser.catch(() => (browser = null));
  }
  return browser;
}

function releaseLater(): void {
  idle = setTimeout(() => void closeRenderer(), 30_000);
  idle.unref();
}

/** Close the shared browser now (tests; a script that wants to exit promptly). */
export async function closeRenderer(): Promise<void> {
  const b = browser;
  browser = null;
  if (b) await (await b).close().catch(() => undefined);
}

/** A figure's PNG size: its layout's `width` / `height` when set (a tall heatmap), else FIGURE_SIZE. */
export function pngSize(f: Figure): { width: number; height: number } {
  const n = (v: unknown, d: number) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.round(v) : d);
  return { width: n(f.layout.width, FIGURE_SIZE.width), height: n(f.layout.height, FIGURE_SIZE.height) };
}

/**
 * PNG images of figures, rendered by plotly in Chromium; null when no Chromium is installed. A figure a
 * reader could not name is refused (readingProblems); design problems (figureProblems) are for tests.
 */
export async function renderPngs(figs: Figure[]): Promise<Buffer[] | null> {
  const exe = findChromium();
  if (!exe) return null;
  for (const f of figs) {
    const p = readingProblems(f);
    if (p.length) throw new Error(`figure "${String((f.layout.title as { text?: string })?.text)}": ${p.join('; ')}`);
  }
  const b = await openBrowser(exe);
  const page = await b.newPage();
  try {
    await page.setContent('<div id="figure"></div>');
    await page.addScriptTag({ path: plotlyBundlePath() });
    const out: Buffer[] = [];
    for (const f of figs) {
      const url = await page.evaluate(
        async ({ data, layout, size }) => {
          const P = (globalThis as unknown as { Plotly: { newPlot: Function; toImage: Function } }).Plotly;
          const div = (globalThis as unknown as { document: { getElementById(id: string): { style: Record<string, string> } } }).document.getElementById('figure');
          div.style.width = `${size.width}px`;
          div.style.height = `${size.height}px`;
          await P.newPlot(div, data, layout, { staticPlot: true });
          return P.toImage(div, { format: 'png', width: size.width, height: size.height }) as Promise<string>;
        },
        { data: f.data, layout: f.layout, size: pngSize(f) },
      );
      out.push(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    }
    return out;
  } finally {
    await page.close().catch(() => undefined);
    releaseLater();
  }
}

/**
 * Write each figure as `<name>.html` (and `<name>.png` when Chromium is present) into `dir`, with one
 * shared plotly bundle beside them. The caller owns `dir` (a report folder it made). Returns the files.
 */
export async function writeFigures(dir: string, figs: Array<{ name: string; figure: Figure }>, o: { png?: boolean } = {}): Promise<{ files: string[]; png: boolean }> {
  makeDirs(dir, 'figures');
  const files: string[] = [];
  const bundle = path.join(dir, PLOTLY_BUNDLE);
  if (!fs.existsSync(bundle)) writeFileAtomic(bundle, fs.readFileSync(plotlyBundlePath()));
  files.push(bundle);
  for (const { name, figure } of figs) {
    const p = readingProblems(figure);
    if (p.length) throw new Error(`figure ${name}: ${p.join('; ')}`);
    const f = path.join(dir, `${name}.html`);
    writeFileAtomic(f, figureHtml(figure));
    files.push(f);
  }
  const pngs = o.png === false ? null : await renderPngs(figs.map((x) => x.figure));
  if (pngs) {
    for (const [i, { name }] of figs.entries()) {
      const f = path.join(dir, `${name}.png`);
      writeFileAtomic(f, pngs[i]);
      files.push(f);
    }
  }
  return { files, png: pngs !== null };
}

export interface PageCheck {
  /** figures drawn by plotly on the page: title, axis titles, legend entries (or colour-bar title), traces */
  plots: Array<{ title: string; xTitle: string; yTitle: string; legend: string[]; colorbar: string; traces: number }>;
  /** static images on the page (a rendered notebook's figures) and those that failed to decode */
  images: number;
  brokenImages: number;
}

// Runs in the page. A string, not a function: the TypeScript loader adds helpers to compiled functions
// that do not exist in the browser.
const READ_PAGE = `(() => {
  const text = (e) => ((e && e.textContent) || '').trim();
  const plots = Array.from(document.querySelectorAll('.js-plotly-plot')).map((p) => ({
    title: text(p.querySelector('.gtitle')),
    xTitle: text(p.querySelector('.g-xtitle')),
    yTitle: text(p.querySelector('.g-ytitle')),
    legend: Array.from(p.querySelectorAll('.legend .legendtext')).map(text),
    colorbar: text(p.querySelector('.colorbar .cbtitle')),
    traces: p.querySelectorAll('.trace, .hm, .heatmaplayer image').length,
  }));
  const imgs = Array.from(document.querySelectorAll('img'));
  return { plots, images: imgs.length, brokenImages: imgs.filter((i) => !i.complete || !i.naturalWidth).length };
})()`;

/**
 * Opens an HTML file in headless Chromium as a reader would, waits for it to draw, optionally saves a
 * screenshot of the whole page, and reports what it shows. Null when no Chromium is installed.
 */
export async function inspectPage(htmlFile: string, o: { screenshot?: string } = {}): Promise<PageCheck | null> {
  const exe = findChromium();
  if (!exe) return null;
  const b = await openBrowser(exe);
  const page = await b.newPage({ viewport: { width: 1280, height: 900 } });
  try {
    await page.goto('file://' + path.resolve(htmlFile), { waitUntil: 'load' });
    // A figure page marks its body when plotly has drawn (figureHtml); a notebook page has no plotly.
    await page.waitForFunction("!window.Plotly || document.body.dataset.rendered === 'yes'", undefined, { timeout: 30_000 });
    if (o.screenshot) await page.screenshot({ path: o.screenshot, fullPage: true });
    return (await page.evaluate(READ_PAGE)) as PageCheck;
  } finally {
    await page.close().catch(() => undefined);
    releaseLater();
  }
}
