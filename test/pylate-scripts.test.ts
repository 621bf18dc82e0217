/**
 * The Python of the exported training scripts (lib/pipelines/pylate/*.py): every file is one the assembler
 * knows, the placeholders are filled or refused, and each kind of phase script compiles (python3 -m
 * py_compile) after filling.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { phaseScript, PYLATE_DIR, PYLATE_FILES } from '../lib/pipelines/pylate-scripts';
import { fillTemplate } from '../lib/util/template';
import { tmpDir } from './helpers/tmp';

const python = spawnSync('python3', ['--version']).status === 0 ? 'python3' : null;
if (!python) process.stdout.write('# NOTE: python3 not found; the py_compile check of the exported scripts is skipped\n');

const dir = tmpDir('pylate-scripts');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('every Python file in lib/pipelines/pylate is one the scripts are assembled from', () => {
  assert.deepEqual(fs.readdirSync(PYLATE_DIR).filter((f) => f.endsWith('.py')).sort(), [...PYLATE_FILES].sort());
});

test('fillTemplate fills named placeholders once and refuses an unfilled or unknown one', () => {
  assert.equal(fillTemplate('a {{X}} b {{Y_2}} {{X}}', { X: '1', Y_2: '{{X}}' }), 'a 1 b {{X}} 1');
  assert.throws(() => fillTemplate('a {{X}} {{Y}}', { X: '1' }, 't.py'), /t\.py: no value for \{\{Y\}\}/);
  assert.throws(() => fillTemplate('a {{X}}', { X: '1', LEARNING_RATE: '2' }, 't.py'), /t\.py: no placeholder \{\{LEARNING_RATE\}\}/);
});

test('each kind of phase script compiles after filling', { skip: python ? false : 'python3 not found' }, () => {
  const kinds = [
    { objective: 'mlm', setting: 'colbert' },
    { objective: 'unsupervised', setting: 'colbert' },
    { objective: 'supervised', setting: 'dense' },
    { objective: 'distillation', setting: 'colbert' },
  ];
  const files = kinds.map((k) => {
    const settings = { id: `${k.objective}-${k.setting}`, objective: k.objective, setting: k.setting, prompts: { query: 'search_query: ', document: 'search_document: ' }, lr: 1e-4, steps: 2, description: "a phase's \"settings\"" };
    const text = phaseScript({ header: [`${k.objective}.py: a test phase.`, 'run it through launch.sh'], settings, ...k });
    assert.ok(!/\{\{[A-Z]/.test(text), `${k.objective}/${k.setting}: no placeholder left`);
    const file = path.join(dir, `${k.objective}-${k.setting}.py`);
    fs.writeFileSync(file, text);
    return file;
  });
  const r = spawnSync(python!, ['-m', 'py_compile', ...files], { encoding: 'utf8', env: { ...process.env, PYTHONPYCACHEPREFIX: path.join(dir, '.pycache') } });
  assert.equal(r.status, 0, r.stderr);
});
