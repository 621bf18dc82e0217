/**
 * The library must import cleanly from a tslab notebook cell. tslab compiles cells with its own
 * TypeScript 5.0 fork and its own options (Node10 resolution, ESNext modules, not strict), which can
 * reject code that the project's TypeScript accepts — so the whole public API is checked with that
 * compiler and those options. When Jupyter is installed, a real notebook is also executed. tslab
 * resolves a local import only as `<path>.js` (no folder `index`), so every relative import inside lib/
 * names a file, and notebooks import `./lib/index`.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';
import { findJupyterPython } from '../notebooks/tools/run';

test("lib/index.ts type-checks with tslab's compiler and options", () => {
  const ts = require('@tslab/typescript-for-tslab') as typeof import('typescript');
  const options: import('typescript').CompilerOptions = {
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    resolveJsonModule: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  };
  const program = ts.createProgram([path.join(PROJECT_ROOT, 'lib', 'index.ts')], options);
  const diags = ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${path.relative(PROJECT_ROOT, d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
  assert.deepEqual(diags, []);
});

const py = findJupyterPython().python;

test('a notebook cell imports the library and scores with MaxSim (tslab kernel)', { skip: py ? false : 'Jupyter (nbconvert, nbclient, ipykernel) not installed' }, () => {
  const dir = tmpDir('nb');
  try {
    // tslab resolves imports from the kernel's working directory: start the kernel at the project root.
    fs.mkdirSync(path.join(dir, 'kernels', 'cz'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'kernels', 'cz', 'kernel.json'),
      JSON.stringify({
        argv: ['/bin/sh', '-c', 'cd "$ROOT" && exec ./node_modules/.bin/tslab kernel --config-path "$0"', '{connection_file}'],
        display_name: 'TypeScript (colbert-zero)',
        language: 'typescript',
        env: { ROOT: PROJECT_ROOT },
      }),
    );
    const cell = [
      "import * as tf from '@tensorflow/tfjs-core';",
      "import { initBackend, colbertScores } from './lib/index';",
      "await initBackend('wasm');",
      'const q = tf.tensor3d([[[1, 0], [0, 1]]]);',
      'const d = tf.tensor3d([[[1, 0], [0.6, 0.8]]]);',
      'const m = tf.ones([1, 2]) as tf.Tensor2D;',
      'console.log(JSON.stringify(Array.from(colbertScores(q, d, m, m).dataSync())));',
    ].join('\n');
    const nb = {
      cells: [{ cell_type: 'code', execution_count: null, id: 'c0', metadata: {}, outputs: [], source: cell }],
      metadata: { kernelspec: { name: 'cz', display_name: 'TypeScript (colbert-zero)', language: 'typescript' } },
      nbformat: 4,
      nbformat_minor: 5,
    };
    fs.writeFileSync(path.join(dir, 'in.ipynb'), JSON.stringify(nb));
    const r = spawnSync(
      py!,
      ['-m', 'jupyter', 'nbconvert', '--to', 'notebook', '--execute', '--ExecutePreprocessor.kernel_name=cz', '--output', path.join(dir, 'out.ipynb'), path.join(dir, 'in.ipynb')],
      { env: { ...process.env, JUPYTER_PATH: dir }, encoding: 'utf8', timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr.split('\n').slice(-15).join('\n'));
    const out = JSON.parse(fs.readFileSync(path.join(dir, 'out.ipynb'), 'utf8'));
    const text = out.cells[0].outputs.map((o: { text?: string[] | string }) => [o.text ?? ''].flat().join('')).join('');
    // q·dᵀ: token 1 best = 1 (d0), token 2 best = 0.8 (d1) → 1.8
    assert.deepEqual(JSON.parse(text.trim()).map((x: number) => Math.round(x * 1e6) / 1e6), [1.8]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
