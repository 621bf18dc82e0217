/**
 * The code version records carry: git is asked (so packed refs read right), a changed tracked file marks the
 * tree dirty, and outside a checkout the version says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { codeVersion } from '../lib/util/code-version';

const PACKAGE_VERSION = (JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

function hasGit(): boolean {
  try {
    execFileSync('git', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('codeVersion: the commit of a repository whose refs are packed, and -dirty with a changed tracked file', { skip: hasGit() ? false : 'git is not installed' }, () => {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-code-version-'));
  try {
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', '-c', 'commit.gpgsign=false', ...args], { cwd: repo, encoding: 'utf8' }).trim();
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'a.txt'), 'one\n');
    git('add', 'a.txt');
    git('commit', '-q', '-m', 'first');
    git('pack-refs', '--all');
    const sha = git('rev-parse', 'HEAD');
    assert.equal(codeVersion(repo), `${PACKAGE_VERSION}+g${sha.slice(0, 12)}`);
    // Untracked files do not change the code that ran; a changed tracked file does.
    fs.writeFileSync(path.join(repo, 'untracked.txt'), 'x\n');
    assert.equal(codeVersion(repo), `${PACKAGE_VERSION}+g${sha.slice(0, 12)}`);
    fs.writeFileSync(path.join(repo, 'a.txt'), 'two\n');
    assert.equal(codeVersion(repo), `${PACKAGE_VERSION}+g${sha.slice(0, 12)}-dirty`);
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
});

test('codeVersion: outside a checkout, the package version marked +unknown', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-code-version-'));
  try {
    assert.equal(codeVersion(dir), `${PACKAGE_VERSION}+unknown`);
    assert.match(codeVersion(), /^\d+\.\d+\.\d+\+(g[0-9a-f]{12}(-dirty)?|unknown)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
