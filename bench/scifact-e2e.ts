/**
 * Benchmark: end to end on the real SciFact (BEIR) — `index` + `search` + `eval-run` of this project's
 * CLI against PyLate (`pylate.indexes.PLAID` + `pylate.retrieve.ColBERT`, bench/python/scifact_pylate.py)
 * on the SAME checkpoint, corpus and queries, both timed in one run, nDCG@10 of both printed.
 *
 * The checkpoint: no hub access is assumed, so `colbert-zero init-model --config small` writes a
 * randomly initialised ColBERT (ModernBERT small preset, PyLate layout) that PyLate loads offline. Its
 * nDCG@10 is what a random encoder gets (lexical overlap survives random weights); the point is the
 * agreement and the wall time, not the quality.
 * PyLate has no exact index: PLAID (FastPlaid backend, its default) is approximate, so the peer also
 * scores every query against every document with PyLate's own MaxSim (`pylate.scores.colbert_scores`),
 * the exact reference this project's exact search should match.
 *
 * Data: SciFact from CZ_SHARED_DATA, else ../shared/data (beir/scifact), read in place. Queries: the
 * 300 test queries. `--docs N` keeps every judged document plus the first others up to N (a documented
 * subset; default: the whole corpus, 5,183 documents).
 * Run: `npx tsx bench/scifact-e2e.ts [--docs N]`. Writes results/benchmarks/scifact-e2e.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readBeirQrels, readCorpus, readQueries } from '../lib/data/beir';
import { writeFileAtomic } from '../lib/util';
import { referencePython } from '../lib/util/reference-python';

const ROOT = path.resolve(__dirname, '..');
const CLI = path.join(ROOT, 'bin', 'colbert-zero.cjs');
const K = 100;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Runs a command, returns wall seconds and stdout; throws with its stderr when it fails. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { seconds: number; stdout: string; stderr: string } {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, CZ_PROGRESS: '0', ...env }, maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (${r.status ?? r.signal}):\n${(r.stderr || '').slice(-3000)}`);
  return { seconds, stdout: r.stdout, stderr: r.stderr };
}

const cli = (args: string[]) => timed(process.execPath, [CLI, ...args]);

/** trec_eval's ndcg_cut_10 (all queries' mean and per query) through this project's eval-run. */
function ndcg10(qrels: string, run: string): { mean: number; perQuery: Map<string, number>; seconds: number } {
  const r = cli(['eval-run', '--qrels', qrels, '--run', run, '--metrics', 'ndcg_cut.10', '--per-query', '--json']);
  const j = JSON.parse(r.stdout) as { all: Record<string, number>; perQuery: Record<string, Record<string, number>> };
  return { mean: j.all.ndcg_cut_10, perQuery: new Map(Object.entries(j.perQuery).map(([q, m]) => [q, m.ndcg_cut_10])), seconds: r.seconds };
}

/** Run file → query → ranked [doc, score]. */
function readRun(file: string): Map<string, [string, number][]> {
  const out = new Map<string, [string, number][]>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const [q, , d, , s] = line.split(/\s+/);
    if (!out.has(q)) out.set(q, []);
    out.get(q)!.push([d, Number(s)]);
  }
  for (const hits of out.values()) hits.sort((a, b) => b[1] - a[1]);
  return out;
}

/** Mean top-10 overlap, and the largest score difference over (query, document) pairs both runs hold. */
function compareRuns(a: Map<string, [string, number][]>, b: Map<string, [string, number][]>): { top10: number; maxScoreDiff: number; pairs: number } {
  let overlap = 0;
  let n = 0;
  let maxScoreDiff = 0;
  let pairs = 0;
  for (const [q, ha] of a) {
    const hb = b.get(q) ?? [];
    const tb = new Set(hb.slice(0, 10).map(([d]) => d));
    overlap += ha.slice(0, 10).filter(([d]) => tb.has(d)).length / 10;
    n++;
    const sb = new Map(hb);
    for (const [d, s] of ha) {
      const t = sb.get(d);
      if (t === undefined) continue;
      pairs++;
      maxScoreDiff = Math.max(maxScoreDiff, Math.abs(s - t));
    }
  }
  return { top10: overlap / Math.max(1, n), maxScoreDiff, pairs };
}

function main(): void {
  const shared = process.env.CZ_SHARED_DATA || path.join(ROOT, '..', 'shared', 'data');
  const beir = path.join(shared, 'beir', 'scifact');
  if (!fs.existsSync(path.join(beir, 'corpus.jsonl'))) throw new Error(`SciFact not found under ${beir} (set CZ_SHARED_DATA)`);
  const py = referencePython({ root: ROOT });
  if (!py) throw new Error('the reference environment (CZ_REFERENCE_VENV or .venv-reference; test/reference/venv.sh) is absent: PyLate is needed');
  const docLimit = arg('--docs') ? Number(arg('--docs')) : Infinity;
  const config = arg('--config') ?? 'small';

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-scifact-'));
  try {
    // The same inputs for both sides: the test queries, and the corpus (or the documented subset).
    const qrelsFile = path.join(beir, 'qrels', 'test.tsv');
    const { qrels } = readBeirQrels(qrelsFile);
    const judged = new Set<string>();
    for (const m of qrels.values()) for (const d of m.keys()) judged.add(d);
    const all = readCorpus(path.join(beir, 'corpus.jsonl'));
    let room = Math.max(0, docLimit - all.filter((d) => judged.has(d.id)).length);
    const docs = Number.isFinite(docLimit) ? all.filter((d) => judged.has(d.id) || room-- > 0) : all;
    const queries = readQueries(path.join(beir, 'queries.jsonl')).filter((q) => qrels.has(q.id));
    const corpusFile = path.join(tmp, 'corpus.jsonl');
    const queriesFile = path.join(tmp, 'queries.jsonl');
    fs.writeFileSync(corpusFile, docs.map((d) => JSON.stringify({ _id: d.id, title: d.title, text: d.text })).join('\n') + '\n');
    fs.writeFileSync(queriesFile, queries.map((q) => JSON.stringify({ _id: q.id, text: q.text })).join('\n') + '\n');
    const loadStart = os.loadavg()[0];

    const model = path.join(tmp, 'model');
    const init = cli(['init-model', '--config', config, '--seed', '0', '--out', model]);
    const onnx = cli(['export-onnx', '--model', model]);

    // This project: three CLI commands, each a fresh process (its start-up is in its time).
    const index = cli(['index', '--model', model, '--corpus', corpusFile, '--out', path.join(tmp, 'index')]);
    const tsRun = path.join(tmp, 'ts.run');
    const search = cli(['search', '--index', path.join(tmp, 'index'), '--model', model, '--queries', queriesFile, '--k', String(K), '--out', tsRun]);
    const tsEval = ndcg10(qrelsFile, tsRun);

    // PyLate on the same checkpoint.
    const pyRun = path.join(tmp, 'pylate.run');
    const exactRun = path.join(tmp, 'pylate-exact.run');
    const peer = timed(py, [path.join(ROOT, 'bench', 'python', 'scifact_pylate.py'), model, corpusFile, queriesFile, tmp, pyRun, '--exact', exactRun, '--k', String(K)], { TOKENIZERS_PARALLELISM: 'false', HF_HUB_OFFLINE: '1' });
    const pj = JSON.parse(peer.stdout.trim().split('\n').pop()!) as { seconds: Record<string, number>; torch_threads: number };
    const pyEval = ndcg10(qrelsFile, pyRun);
    const exactEval = ndcg10(qrelsFile, exactRun);
    const loadEnd = os.loadavg()[0];

    const ts = readRun(tsRun);
    const vsExact = compareRuns(ts, readRun(exactRun));
    const vsPlaid = compareRuns(ts, readRun(pyRun));
    let maxQ = 0;
    for (const [q, v] of tsEval.perQuery) maxQ = Math.max(maxQ, Math.abs(v - (exactEval.perQuery.get(q) ?? 0)));
    const s = pj.seconds;
    const pyTotal = s.load + s.encode_documents + s.index + s.encode_queries + s.retrieve;
    const tsTotal = index.seconds + search.seconds + tsEval.seconds;
    const f = (x: number) => x.toFixed(1);
    const text = [
      '# End to end on SciFact: this project vs PyLate, same checkpoint',
      '',
      `SciFact (BEIR) test split: ${queries.length} queries, ${docs.length.toLocaleString('en-US')} documents${docs.length < all.length ? ` (a subset of the ${all.length.toLocaleString('en-US')}: every judged document plus the first others)` : ' (the whole corpus)'}, top-${K}.`,
      `Checkpoint: \`colbert-zero init-model --config ${config} --seed 0\` (ModernBERT ${config} preset, random weights, ColBERT head of 128, PyLate layout; the same folder for both sides).`,
      'A random encoder: nDCG@10 measures agreement here, not quality.',
      `Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end (other work shares the cores); Node ${process.version}; PyTorch with ${pj.torch_threads} threads.`,
      'Produced by `npx tsx bench/scifact-e2e.ts`' + (Number.isFinite(docLimit) ? ` --docs ${docLimit}` : '') + ' (the Python side: bench/python/scifact_pylate.py, in the reference environment).',
      '',
      '## Wall time (seconds)',
      '',
      '| stage | this project (CLI, engine ort, exact index) | PyLate (PLAID + retrieve.ColBERT) |',
      '|---|---:|---:|',
      `| load the model | (in each command) | ${f(s.load)} |`,
      `| encode + index the documents | ${f(index.seconds)} (\`index\`, whole process) | ${f(s.encode_documents + s.index)} (encode ${f(s.encode_documents)} + PLAID index ${f(s.index)}) |`,
      `| encode the queries + search | ${f(search.seconds)} (\`search\`, whole process, exact) | ${f(s.encode_queries + s.retrieve)} (encode ${f(s.encode_queries)} + retrieve ${f(s.retrieve)}) |`,
      `| evaluate (nDCG@10) | ${f(tsEval.seconds)} (\`eval-run\`, whole process) | — (the same \`eval-run\` is used for its run) |`,
      `| **total** | **${f(tsTotal)}** | **${f(pyTotal)}** (without Python's start-up and imports) |`,
      '',
      `Not in the totals: \`init-model\` ${f(init.seconds)} s and \`export-onnx\` ${f(onnx.seconds)} s (once per checkpoint); PyLate's exact MaxSim over every document (the reference below) ${f(s.exact_maxsim)} s.`,
      '',
      '## nDCG@10 (trec_eval ndcg_cut_10 through `eval-run`)',
      '',
      '| run | nDCG@10 |',
      '|---|---:|',
      `| this project: exact index, \`search\` | ${tsEval.mean.toFixed(4)} |`,
      `| PyLate: PLAID + retrieve.ColBERT (approximate) | ${pyEval.mean.toFixed(4)} |`,
      `| PyLate: exact MaxSim over every document (pylate.scores.colbert_scores) | ${exactEval.mean.toFixed(4)} |`,
      '',
      `Agreement, this project vs PyLate exact: top-10 overlap ${(100 * vsExact.top10).toFixed(1)}%, largest per-query nDCG@10 difference ${maxQ.toFixed(4)}, largest score difference ${vsExact.maxScoreDiff.toExponential(1)} over ${vsExact.pairs.toLocaleString('en-US')} shared (query, document) pairs.`,
      `This project vs PyLate PLAID: top-10 overlap ${(100 * vsPlaid.top10).toFixed(1)}%, largest score difference ${vsPlaid.maxScoreDiff.toExponential(1)} over ${vsPlaid.pairs.toLocaleString('en-US')} shared pairs (PLAID's candidate generation and residual compression are approximate).`,
      '',
    ].join('\n');
    process.stdout.write(text);
    writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'scifact-e2e.md'), text);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
