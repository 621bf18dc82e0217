/**
 * Installing: npm reads every project setting without warnings (onnxruntime-node's CUDA download is denied
 * through package.json's allowScripts, which npm 11 understands, not an unknown .npmrc key), and what
 * commands write by default (runs/, the train --example folder) is ignored by git.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from './helpers/shared';

const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8' });
const haveNpm = npmVersion.status === 0;

test('npm reads the project config without an "Unknown project config" warning', { skip: !haveNpm && 'npm not on PATH' }, () => {
  const r = spawnSync('npm', ['config', 'get', 'allow-scripts'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /Unknown (project|user|env) config/);
});

test("onnxruntime-node's install script (CUDA download) is denied in package.json's allowScripts", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));
  assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
});

// npm's own reading of the policy (every config source it uses, package.json included): a package whose
// install script no entry covers is listed as pending, so a lost or overridden entry shows up here.
const scriptsLs = haveNpm ? spawnSync('npm', ['install-scripts', 'ls', '--json'], { cwd: PROJECT_ROOT, encoding: 'utf8' }) : null;
const npmHasPolicy = scriptsLs?.status === 0;

test('npm sees every dependency with an install script reviewed (approved or denied), onnxruntime-node included', { skip: npmHasPolicy ? false : `npm without the install-scripts command (npm ${npmVersion.stdout?.trim() || 'absent'}): allowScripts is not read` }, () => {
  const pending = (JSON.parse(scriptsLs!.stdout) as { allowScripts: Array<{ name: string }> }).allowScripts.map((p) => p.name);
  assert.deepEqual(pending, [], `install scripts no allowScripts entry covers: ${pending.join(', ')}`);
  assert.ok(fs.existsSync(path.join(PROJECT_ROOT, 'node_modules', 'onnxruntime-node', 'package.json')), 'onnxruntime-node is installed, so npm has its script to review');
});

test('runs/ and the train --example default folder are ignored by git', { skip: !fs.existsSync(path.join(PROJECT_ROOT, '.git')) && 'not a git checkout' }, () => {
  for (const p of ['runs/tiny/config.json', 'colbert-zero-example/data/supervised-a.jsonl']) {
    const r = spawnSync('git', ['check-ignore', '-q', p], { cwd: PROJECT_ROOT });
    assert.equal(r.status, 0, `${p} is not ignored`);
  }
});
