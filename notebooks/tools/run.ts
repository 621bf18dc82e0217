/**
 * `npm run notebooks`: executes every notebook headless on the tslab kernel, top to bottom, and fails on
 * any failing cell. The executed notebooks and an HTML rendering of each go to results/notebooks/; each
 * rendering is opened in headless Chromium (every figure must decode) and a screenshot saved beside it.
 *
 *   npm run notebooks                          quick mode: the smoke preset
 *   npm run notebooks -- --preset demo         at a larger preset (CZ_NOTEBOOK_PRESET inside the kernel)
 *   npm run notebooks -- 01 07                 only the notebooks whose names start so
 *   npm run notebooks -- --update              also write the executed notebooks back into notebooks/
 *
 * Needs Jupyter's nbconvert and nbclient for Python (Debian: jupyter-nbconvert python3-nbclient
 * python3-ipykernel); CZ_JUPYTER_PYTHON names another Python.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { installKernel, KERNEL_NAME, ROOT } from './kernel';
import { closeRenderer, inspectPage } from '../../lib/figures/render';
import { PRESETS } from '../../lib/pipelines/presets';
import { makeDirs } from '../../lib/util/fs-errors';

const NOTEBOOKS = path.join(ROOT, 'notebooks');
const OUT = path.join(ROOT, 'results', 'notebooks');

interface Args {
  preset: string;
  only: string[];
  update: boolean;
  timeout: number;
}

export function parseArgs(argv: string[]): Args {
  const a: Args = { preset: 'smoke', only: [], update: false, timeout: 1800 };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--preset') a.preset = argv[++i] ?? '';
    else if (x === '--update') a.update = true;
    else if (x === '--timeout') a.timeout = Number(argv[++i]);
    else if (x.startsWith('-')) fail(`unknown option ${x} (have --preset NAME, --update, --timeout SECONDS)`, 2);
    else a.only.push(x);
  }
  if (!a.preset) fail('--preset needs a name', 2);
  // Checked here, before Jupyter starts: an unknown preset would otherwise fail in the first cell, 30 s later.
  if (!(a.preset in PRESETS)) fail(`unknown preset "${a.preset}" (${Object.keys(PRESETS).join(', ')})`, 2);
  if (!(a.timeout > 0)) fail('--timeout needs a positive number of seconds', 2);
  return a;
}

function fail(msg: string, code = 1): never {
  process.stderr.write(`notebooks: ${msg}\n`);
  process.exit(code);
}

/** The Python that runs notebooks: CZ_JUPYTER_PYTHON, else the system's, when it imports nbclient, nbconvert and ipykernel. */
export function findJupyterPython(): { python: string | null; tried: string[] } {
  const tried = process.env.CZ_JUPYTER_PYTHON ? [process.env.CZ_JUPYTER_PYTHON] : ['/usr/bin/python3', 'python3'];
  for (const py of tried) {
    const r = spawnSync(py, ['-c', 'import nbclient, nbconvert, ipykernel'], { encoding: 'utf8' });
    if (r.status === 0) return { python: py, tried };
  }
  return { python: null, tried };
}

function jupyterPython(): string {
  const { python, tried } = findJupyterPython();
  return python ?? fail(`no Python with nbconvert, nbclient and ipykernel (tried ${tried.join(', ')}); install Jupyter or set CZ_JUPYTER_PYTHON`);
}

/** Error outputs of an executed notebook, as "cell N: ename: evalue". */
export function errorOutputs(nb: { cells: Array<{ cell_type: string; outputs?: Array<{ output_type: string; ename?: string; evalue?: string }> }> }): string[] {
  const out: string[] = [];
  nb.cells.forEach((c, i) => {
    for (const o of c.outputs ?? []) if (o.output_type === 'error') out.push(`cell ${i + 1}: ${o.ename}: ${o.evalue}`);
  });
  return out;
}

/** How many figures (image/png outputs) a notebook holds. */
export function pngOutputs(nb: { cells: Array<{ outputs?: Array<{ data?: Record<string, unknown> }> }> }): number {
  return nb.cells.reduce((n, c) => n + (c.outputs ?? []).filter((o) => o.data && 'image/png' in o.data).length, 0);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const all = fs.readdirSync(NOTEBOOKS).filter((f) => /^\d\d-.*\.ipynb$/.test(f)).sort();
  const chosen = args.only.length ? all.filter((f) => args.only.some((p) => f.startsWith(p))) : all;
  if (chosen.length === 0) fail(`no notebook matches ${args.only.join(', ')} (have: ${all.join(', ')})`, 2);
  const py = jupyterPython();
  const jupyterPath = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-kernel-'));
  installKernel(jupyterPath);
  makeDirs(OUT, 'notebook results');
  const env = { ...process.env, JUPYTER_PATH: jupyterPath, CZ_NOTEBOOK_PRESET: args.preset };
  const failed: string[] = [];
  try {
    for (const name of chosen) {
      const t0 = Date.now();
      process.stderr.write(`== ${name} (preset ${args.preset})\n`);
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-nb-'));
      try {
        const executed = path.join(tmp, name);
        const r = spawnSync(
          py,
          ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`, `--ExecutePreprocessor.timeout=${args.timeout}`, '--output-dir', tmp, path.join(NOTEBOOKS, name)],
          { env, encoding: 'utf8', cwd: ROOT },
        );
        if (r.status !== 0 || !fs.existsSync(executed)) {
          const tail = (r.stderr || '').trim().split('\n').slice(-25).join('\n');
          process.stderr.write(`${tail}\n== ${name}: FAILED\n`);
          failed.push(name);
          continue;
        }
        const nb = JSON.parse(fs.readFileSync(executed, 'utf8'));
        const errors = errorOutputs(nb);
        // tslab does not report execution counts; every code cell ran, in order, so number them.
        let count = 0;
        for (const c of nb.cells) if (c.cell_type === 'code') c.execution_count = ++count;
        // Which preset produced these outputs: the committed copies are the demo preset's (a test checks).
        nb.metadata = { ...nb.metadata, colbert_zero: { preset: args.preset } };
        fs.writeFileSync(executed, JSON.stringify(nb, null, 1) + '\n');
        if (errors.length) {
          process.stderr.write(`${errors.join('\n')}\n== ${name}: FAILED\n`);
          failed.push(name);
          continue;
        }
        const h = spawnSync(py, ['-m', 'jupyter', 'nbconvert', '--to', 'html', '--output-dir', OUT, executed], { env, encoding: 'utf8' });
        if (h.status !== 0) {
          process.stderr.write(`${(h.stderr || '').trim().split('\n').slice(-5).join('\n')}\n== ${name}: no HTML rendering: FAILED\n`);
          failed.push(name);
          continue;
        }
        // Open the rendering in a real browser: every figure must decode and show.
        const html = path.join(OUT, name.replace(/\.ipynb$/, '.html'));
        const seen = await inspectPage(html, { screenshot: html.replace(/\.html$/, '.screenshot.png') });
        const pngs = pngOutputs(nb);
        if (seen && (seen.brokenImages > 0 || seen.images < pngs)) {
          process.stderr.write(`== ${name}: the HTML rendering shows ${seen.images - seen.brokenImages} of ${pngs} figures: FAILED\n`);
          failed.push(name);
          continue;
        }
        if (!seen) process.stderr.write('   (no Chromium: the HTML rendering was not opened in a browser)\n');
        fs.copyFileSync(executed, path.join(OUT, name));
        if (args.update) fs.copyFileSync(executed, path.join(NOTEBOOKS, name));
        process.stderr.write(`== ${name}: ok in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
      } finally {
        fs.rmSync(tmp, { recursive: true, force: true }); // a failed notebook leaves no temporary folder either
      }
    }
  } finally {
    fs.rmSync(jupyterPath, { recursive: true, force: true });
    await closeRenderer();
  }
  if (failed.length) fail(`${failed.length} of ${chosen.length} failed: ${failed.join(', ')}`);
  process.stderr.write(`notebooks: ${chosen.length} executed; results/notebooks/ has each as .ipynb and .html\n`);
}

if (require.main === module) void main();
