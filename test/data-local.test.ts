/**
 * Finding and shrinking evaluation data for notebooks (lib/data/sample.ts, lib/data/local.ts), the
 * manifests as rows (lib/data/manifests/list.ts), and what a loaded model is (lib/models/describe.ts),
 * each checked against a brute-force count or the files themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sampleBeir } from '../lib/data/sample';
import { localBeirSets } from '../lib/data/local';
import { sharedDataPath } from '../lib/util/shared-data';
import { listManifests } from '../lib/data/manifests/list';
import { describeEncoder } from '../lib/models/describe';
import { loadEncoder } from '../lib/models/engine';
import { initBackend } from '../lib/backend/select';
import type { Doc, Qrels, Query } from '../lib/data/types';
import { PROJECT_ROOT } from './helpers/shared';
import { tmpDir } from './helpers/tmp';

function world(): { corpus: Doc[]; queries: Query[]; qrels: Qrels } {
  const corpus: Doc[] = Array.from({ length: 200 }, (_, i) => ({ id: `d${i}`, title: '', text: `document ${i}` }));
  const queries: Query[] = Array.from({ length: 40 }, (_, i) => ({ id: `q${i}`, text: `query ${i}` }));
  const qrels: Qrels = new Map();
  // Queries 0..29 are judged: each with documents 5i and 5i+1 relevant and 5i+2 judged non-relevant; q0 also names a missing document.
  for (let i = 0; i < 30; i++) qrels.set(`q${i}`, new Map([[`d${5 * i}`, 1], [`d${5 * i + 1}`, 2], [`d${5 * i + 2}`, 0]]));
  qrels.get('q0')!.set('missing', 1);
  return { corpus, queries, qrels };
}

test('sampleBeir: the sampled judged queries, every document they judge, distractors up to the size; seeded', () => {
  const w = world();
  const s = sampleBeir(w, { queries: 10, documents: 50, seed: 3 });
  assert.equal(s.queries.length, 10);
  assert.ok(s.queries.every((q) => w.qrels.has(q.id)), 'only judged queries');
  assert.deepEqual([...s.qrels.keys()].sort(), s.queries.map((q) => q.id).sort());
  const ids = new Set(s.corpus.map((d) => d.id));
  // Brute force: every judged document (that exists) of every kept query is in the corpus.
  let judged = 0;
  for (const q of s.queries) for (const id of w.qrels.get(q.id)!.keys()) if (id !== 'missing') (assert.ok(ids.has(id), id), judged++);
  assert.equal(s.judgedDocuments, judged);
  assert.equal(s.corpus.length, 50);
  // Corpus order is the original order.
  const pos = s.corpus.map((d) => Number(d.id.slice(1)));
  assert.deepEqual(pos, [...pos].sort((a, b) => a - b));
  assert.deepEqual(sampleBeir(w, { queries: 10, documents: 50, seed: 3 }).corpus, s.corpus);
  assert.notDeepEqual(sampleBeir(w, { queries: 10, documents: 50, seed: 4 }).queries, s.queries);
  assert.match(s.note, /^10 of 30 judged queries \(seed 3\); 50 of 200 documents: the 30 judged for those queries and 20 random others$/);
  // Asking for more than there is keeps everything; judged documents are kept even past the size.
  const all = sampleBeir(w, { queries: 100, documents: 1000 });
  assert.equal(all.queries.length, 30);
  assert.equal(all.corpus.length, 200);
  assert.equal(sampleBeir(w, { queries: 30, documents: 10 }).corpus.length, 90);
  assert.throws(() => sampleBeir(w, { queries: 0, documents: 10 }), /positive integer/);
});

function withEnv<T>(env: Record<string, string>, f: () => T): T {
  const old = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return f();
  } finally {
    for (const [k, v] of Object.entries(old)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

test('localBeirSets: a BEIR folder under the shared data is found; a missing one is left out; the data cache comes first', () => {
  const root = tmpDir('local');
  const shared = path.join(root, 'shared');
  const cache = path.join(root, 'cache');
  const beir = (dir: string) => {
    fs.mkdirSync(path.join(dir, 'qrels'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'corpus.jsonl'), '{"_id":"d1","text":"x"}\n');
    fs.writeFileSync(path.join(dir, 'queries.jsonl'), '{"_id":"q1","text":"x"}\n');
    fs.writeFileSync(path.join(dir, 'qrels', 'test.tsv'), 'query-id\tcorpus-id\tscore\nq1\td1\t1\n');
  };
  beir(path.join(shared, 'beir', 'scifact'));
  beir(path.join(shared, 'beir', 'nfcorpus'));
  fs.mkdirSync(cache);
  withEnv({ CZ_SHARED_DATA: shared, CZ_DATA_DIR: cache }, () => {
    assert.equal(sharedDataPath(), shared);
    assert.deepEqual(localBeirSets(['scifact', 'fiqa', 'nfcorpus']), [
      { name: 'scifact', dir: path.join(shared, 'beir', 'scifact'), source: 'shared data' },
      { name: 'nfcorpus', dir: path.join(shared, 'beir', 'nfcorpus'), source: 'shared data' },
    ]);
    // A verified copy (its lock says so) in the data cache wins.
    beir(path.join(cache, 'beir-scifact'));
    fs.mkdirSync(path.join(cache, 'locks'));
    fs.writeFileSync(path.join(cache, 'locks', 'beir-scifact.json'), JSON.stringify({ id: 'beir-scifact', origin: 'import', files: {}, verified: true, updated: '2026-01-01T00:00:00Z' }));
    assert.deepEqual(localBeirSets(['scifact'])[0], { name: 'scifact', dir: path.join(cache, 'beir-scifact'), source: 'data cache' });
  });
  withEnv({ CZ_SHARED_DATA: path.join(root, 'absent'), CZ_DATA_DIR: path.join(root, 'absent-cache') }, () => {
    assert.equal(sharedDataPath(), null);
    assert.deepEqual(localBeirSets(['scifact']), []);
  });
});

test('listManifests: one row per manifest file, its Hub source and revision, cache status', () => {
  const files = fs.readdirSync(path.join(PROJECT_ROOT, 'data-manifests')).filter((f) => f.endsWith('.json'));
  const empty = tmpDir('cache');
  const rows = withEnv({ CZ_DATA_DIR: empty }, () => listManifests());
  assert.equal(rows.length, files.length);
  const zero = rows.find((r) => r.id === 'colbert-zero')!;
  const raw = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'data-manifests', 'colbert-zero.json'), 'utf8'));
  assert.deepEqual(zero.sources, [`${raw.sources[0].hub}@${raw.sources[0].revision.slice(0, 12)}`]);
  assert.equal(zero.format, 'pylate');
  assert.equal(zero.cache, '-');
  assert.equal(zero.cacheDir, path.join(empty, 'colbert-zero'));
  const checkpoints = withEnv({ CZ_DATA_DIR: empty }, () => listManifests({ groups: ['checkpoint'] }));
  assert.ok(checkpoints.length > 0 && checkpoints.every((r) => r.group === 'checkpoint'));
  assert.ok(checkpoints.some((r) => r.id === 'colbert-zero'));
});

test("describeEncoder: a PyLate folder's head, sizes and tokenization settings, as its config files say", async () => {
  await initBackend();
  const dir = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'colbert');
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const st = JSON.parse(fs.readFileSync(path.join(dir, 'config_sentence_transformers.json'), 'utf8'));
  const dense = JSON.parse(fs.readFileSync(path.join(dir, '1_Dense', 'config.json'), 'utf8'));
  const model = await loadEncoder(dir);
  const d = describeEncoder(model);
  assert.equal(d.kind, 'colbert');
  assert.equal(d.dim, dense.out_features);
  assert.equal(d.layers, cfg.num_hidden_layers);
  assert.equal(d.hidden, cfg.hidden_size);
  assert.equal(d.heads, cfg.num_attention_heads);
  assert.equal(d.queryPrefix, st.query_prefix);
  assert.equal(d.queryLength, st.query_length);
  assert.equal(d.documentLength, st.document_length);
  assert.deepEqual(d.prompts, st.prompts);
  assert.equal(d.skiplistWords, st.skiplist_words.length);
  // Parameters: embeddings and layers of the backbone plus the projection (hidden × dim), at least.
  assert.ok(d.parameters > cfg.vocab_size * cfg.hidden_size + dense.in_features * dense.out_features);
  const dd = describeEncoder(await loadEncoder(path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'dense')));
  assert.equal(dd.kind, 'dense');
  assert.ok(dd.pooling === 'mean' || dd.pooling === 'cls');
});
