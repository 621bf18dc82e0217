/**
 * The public surface (lib/index.ts) as a notebook uses it: one walk from a model folder to a trec_eval
 * number through public names only, and the README's library section naming exactly what is exported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as api from '../lib/index';
import { PROJECT_ROOT } from './helpers/shared';

const MODEL = path.join(PROJECT_ROOT, 'test', 'fixtures', 'models', 'colbert');

test('load → encode → score → index → search → evaluate, through the public API only', async () => {
  await api.initBackend();
  const model = await api.loadEncoder(MODEL);
  assert.ok(model instanceof api.ColbertModel);
  const corpus: api.Doc[] = [
    { id: 'd1', title: 'Late interaction', text: 'ColBERT keeps one vector per token and scores with MaxSim.' },
    { id: 'd2', title: '', text: 'Dense retrievers compress a text into a single vector.' },
    { id: 'd3', title: 'Cats', text: 'Cats sleep most of the day.' },
  ];
  const queries: api.Query[] = [
    { id: 'q1', text: 'one vector per token' },
    { id: 'q2', text: 'sleeping cats' },
  ];
  // The reference: every query against every document with the padded MaxSim.
  const q = await model.encode(queries.map((x) => x.text), 'query');
  const d = await model.encode(corpus.map(api.documentText), 'document');
  const s = api.colbertScores(q.embeddings as tf.Tensor3D, d.embeddings as tf.Tensor3D, q.mask, d.mask);
  const matrix = s.arraySync() as number[][];
  tf.dispose([q.embeddings, q.mask!, d.embeddings, d.mask!, s]);

  const index = await api.indexCorpus(model, corpus);
  assert.equal(index.size, 3);
  const run = await api.searchQueries(model, index, queries, { k: 3 });
  for (const [qi, query] of queries.entries()) {
    const got = run.get(query.id)!;
    for (const [di, doc] of corpus.entries()) {
      const want = matrix[qi][di];
      assert.ok(Math.abs(got.get(doc.id)! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${query.id}/${doc.id}: ${got.get(doc.id)} vs ${want}`);
    }
  }
  // Judge each query's best document relevant: nDCG@10 is 1 exactly when the run ranks it first.
  const qrels: api.Qrels = new Map(queries.map((x, qi) => [x.id, new Map([[corpus[matrix[qi].indexOf(Math.max(...matrix[qi]))].id, 1]])]));
  const result = api.evaluate(qrels, run, { measures: ['ndcg_cut.10'] });
  assert.equal(result.all['ndcg_cut_10'], 1);
  model.dispose();
});

test('the README documents every name lib/index.ts exports, and names no export that does not exist', () => {
  const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Library');
  assert.ok(start >= 0, 'README has a "## Library" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 3) === -1 ? undefined : readme.indexOf('\n## ', start + 3));
  const source = fs.readFileSync(path.join(PROJECT_ROOT, 'lib', 'index.ts'), 'utf8');
  const exported = [...source.matchAll(/export (?:type )?\{([^}]*)\} from/g)].flatMap((m) => m[1].split(',').map((n) => n.replace(/\btype\b/, '').replace(/^.*\bas\s+/, '').trim()).filter(Boolean));
  const values = Object.keys(api);
  // Every runtime export is declared in lib/index.ts's lists (nothing leaks in through `export *`).
  assert.deepEqual(values.filter((v) => !exported.includes(v)), []);
  const undocumented = exported.filter((n) => !section.includes('`' + n + '`') && !new RegExp('[`,(] ?' + n + '[,)`]').test(section));
  assert.deepEqual(undocumented, [], 'names exported by lib/index.ts but absent from the README library section');
  const mentioned = [...section.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)`/g)].map((m) => m[1]);
  const listed = [...section.matchAll(/^\|\s*[^|]+\|\s*([^|]+)\|/gm)].flatMap((m) => m[1].split(',').map((x) => x.replace(/[`\s]/g, ''))).filter((x) => /^[A-Za-z_]\w*$/.test(x));
  const stale = [...new Set([...mentioned, ...listed])].filter((n) => /^[a-zA-Z]/.test(n) && !exported.includes(n) && /^(?:[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|[A-Z_]{4,})$/.test(n));
  assert.deepEqual(stale, [], 'names in the README library section that lib/index.ts does not export');
});
