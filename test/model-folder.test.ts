/**
 * A model folder is read once per use: `search` opens it once (`ModelFolder.open`), parses its config.json
 * once and hashes it once, through the encoder load, the ONNX cache (built, then reused) and the tokenizer; the
 * ONNX cache is keyed on the folder's one fingerprint; and `search --engine tfjs` scores on tfjs too.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { main } from '../lib/cli/main';
import { ortAvailable } from '../lib/backend/ort';
import { ModelFolder } from '../lib/models/model-folder';
import { modelFingerprint } from '../lib/models/load';
import { freshOnnx, ONNX_RECORD_FILE } from '../lib/models/onnx/export';
import { preload, runCli } from './helpers/cli';
import { PROJECT_ROOT } from './helpers/shared';

// The module object itself (an `import * as` namespace is read-only): the library's imports read through to it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require('node:fs') as typeof fs;
const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'colbert');

describe('ModelFolder', () => {
  let dir: string;
  const p = (f: string) => path.join(dir, f);

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-folder-'));
    fs.cpSync(FIXTURE, p('m'), { recursive: true });
    fs.writeFileSync(p('q.jsonl'), ['{"_id":"q1","text":"rotary embeddings"}', '{"_id":"q2","text":"one vector per token"}'].join('\n') + '\n');
    fs.writeFileSync(p('d.jsonl'), ['{"_id":"d1","title":"RoPE","text":"Rotary embeddings rotate query and key vectors."}', '{"_id":"d2","text":"ColBERT keeps one vector per token."}', '{"_id":"d3","text":"Cats sleep."}'].join('\n') + '\n');
    const code = await main(['node', 'colbert-zero', 'index', '--model', p('m'), '--corpus', p('d.jsonl'), '--out', p('idx'), '--engine', 'tfjs']);
    assert.equal(code, 0);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /**
   * Runs `search` in this process, counting folder openings and reads of the model's config.json: as text
   * (parsed: the folder inspected) and as bytes (hashed: the fingerprint computed).
   */
  async function countedSearch(engine: string, out: string): Promise<{ opens: number; parsed: number; hashed: number }> {
    const config = path.resolve(p('m'), 'config.json');
    let opens = 0;
    let parsed = 0;
    let hashed = 0;
    const open = ModelFolder.open;
    const read = nodeFs.readFileSync;
    ModelFolder.open = (d: string) => {
      opens++;
      return open.call(ModelFolder, d);
    };
    nodeFs.readFileSync = ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (typeof file === 'string' && path.resolve(file) === config) {
        if (rest[0] === undefined) hashed++;
        else parsed++;
      }
      return (read as (...a: unknown[]) => unknown)(file, ...rest);
    }) as typeof fs.readFileSync;
    try {
      const code = await main(['node', 'colbert-zero', 'search', '--model', p('m'), '--index', p('idx'), '--queries', p('q.jsonl'), '--k', '2', '--out', p(out), '--engine', engine]);
      assert.equal(code, 0);
    } finally {
      ModelFolder.open = open;
      nodeFs.readFileSync = read;
    }
    return { opens, parsed, hashed };
  }

  it('search opens the model folder once: config.json parsed once, the fingerprint computed once (ONNX built, then reused)', async (t) => {
    const engine = ortAvailable() ? 'ort' : 'tfjs';
    if (engine === 'tfjs') t.diagnostic('onnxruntime-node does not load here: the tfjs path is counted');
    assert.deepEqual(await countedSearch(engine, 'a.run'), { opens: 1, parsed: 1, hashed: 1 });
    if (engine === 'ort') assert.ok(freshOnnx(p('m')), 'the search built model.onnx');
    assert.deepEqual(await countedSearch(engine, 'b.run'), { opens: 1, parsed: 1, hashed: 1 });
    assert.equal(fs.readFileSync(p('a.run'), 'utf8'), fs.readFileSync(p('b.run'), 'utf8'));
  });

  it('one fingerprint: what indexes record keys the ONNX cache; a record of another rule is rebuilt, never reused', { skip: !ortAvailable() && 'onnxruntime-node does not load here' }, async () => {
    const folder = ModelFolder.open(p('m'));
    assert.equal(folder.fingerprint(), modelFingerprint(p('m')));
    const index = JSON.parse(fs.readFileSync(p('idx/manifest.json'), 'utf8')) as { model: { fingerprint: string } };
    assert.equal(index.model.fingerprint, folder.fingerprint());
    const recFile = p(`m/${ONNX_RECORD_FILE}`);
    const rec = JSON.parse(fs.readFileSync(recFile, 'utf8')) as { source: string };
    fs.writeFileSync(recFile, JSON.stringify({ ...rec, source: 'f'.repeat(64) }));
    assert.equal(freshOnnx(p('m')), null);
  });

  it('search --engine tfjs encodes and scores on tfjs, whatever CZ_ENGINE says (onnxruntime-node blocked)', () => {
    const r = runCli(['search', '--model', p('m'), '--index', p('idx'), '--queries', p('q.jsonl'), '--k', '2', '--out', p('tfjs.run'), '--engine', 'tfjs'], {
      env: { ...preload('block-onnxruntime.cjs'), CZ_ENGINE: 'ort' },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /encoded on tfjs, scored on tfjs/);
  });
});
