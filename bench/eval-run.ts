/**
 * Benchmark: `colbert-zero eval-run` end to end (read qrels + a 1,000,000-line run, evaluate, print)
 * beside pytrec_eval doing the same read + evaluate, on a deterministic synthetic run.
 * Also checks that both give the same numbers. Run: `npx tsx bench/eval-run.ts`.
 * Writes the table to results/benchmarks/eval-run.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTrecQrels, readTrecRun } from '../lib/data';
import { evaluate, formatTrecEval } from '../lib/eval';
import { writeFileAtomic } from '../lib/util';
import { bestOfSync } from '../lib/util/timing';
import { mulberry32 } from '../lib/util/rng';

import { referencePython } from '../lib/util/reference-python';
const ROOT = path.resolve(__dirname, '..');
const QUERIES = 1000;
const DOCS_PER_QUERY = 1000;
const POOL = 200_000;
const MEASURES = ['map', 'ndcg_cut.10', 'P.10', 'recall.100', 'recip_rank'];
const REPEATS = 3;

/** The same seeded generator as training (lib/util/rng), so the data is the same on every machine. */
const rng = mulberry32;

function generate(dir: string): { qrels: string; run: string } {
  const rand = rng(20240601);
  const runLines: string[] = [];
  const qrelLines: string[] = [];
  for (let q = 0; q < QUERIES; q++) {
    const qid = `q${q}`;
    const docs = new Set<number>();
    while (docs.size < DOCS_PER_QUERY) docs.add(Math.floor(rand() * POOL));
    const list = [...docs];
    let rank = 1;
    for (const d of list) {
      // 3 decimals: plenty of tied scores, so the docid tie rule is exercised
      runLines.push(`${qid} Q0 doc${d} ${rank++} ${(rand() * 10).toFixed(3)} bench`);
    }
    // 20 judged among the retrieved, 10 judged outside: graded 0..2
    for (let j = 0; j < 30; j++) {
      const d = j < 20 ? list[Math.floor(rand() * list.length)] : POOL + q * 100 + j;
      qrelLines.push(`${qid} 0 doc${d} ${Math.floor(rand() * 3)}`);
    }
  }
  const dedup = [...new Map(qrelLines.map((l) => [l.split(' ').slice(0, 3).join(' '), l])).values()];
  const qrels = path.join(dir, 'bench.qrels');
  const run = path.join(dir, 'bench.run');
  fs.writeFileSync(qrels, dedup.join('\n') + '\n');
  fs.writeFileSync(run, runLines.join('\n') + '\n');
  return { qrels, run };
}

function wall(cmd: string, args: string[]): { seconds: number; stdout: string; outputs: string[] } {
  const outputs: string[] = [];
  const { seconds, value: stdout } = bestOfSync(REPEATS, () => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, CZ_PROGRESS: '0' } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    outputs.push(r.stdout);
    return r.stdout;
  });
  return { seconds, stdout, outputs };
}

function timed<T>(fn: () => T): [T, number] {
  const t = process.hrtime.bigint();
  const v = fn();
  return [v, Number(process.hrtime.bigint() - t) / 1e9];
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cz-bench-eval-'));
  try {
    const files = generate(dir);
    const lines = QUERIES * DOCS_PER_QUERY;
    const cli = path.join(ROOT, 'bin', 'colbert-zero.cjs');
    const metricArg = MEASURES.join(',');

    const ours = wall(process.execPath, [cli, 'eval-run', '--qrels', files.qrels, '--run', files.run, '--metrics', metricArg]);
    const oursStart = wall(process.execPath, [cli, 'eval-run', '--help']);

    // In-process breakdown (same work as the CLI, without process start-up), best of REPEATS.
    let [tQrels, tRun, tEval, tFormat] = [Infinity, Infinity, Infinity, Infinity];
    let qrels = readTrecQrels(files.qrels);
    let run = readTrecRun(files.run);
    let result = evaluate(qrels, run.run, { measures: MEASURES, runId: run.runId });
    for (let i = 0; i < REPEATS; i++) {
      let t: number;
      [qrels, t] = timed(() => readTrecQrels(files.qrels));
      tQrels = Math.min(tQrels, t);
      [run, t] = timed(() => readTrecRun(files.run));
      tRun = Math.min(tRun, t);
      [result, t] = timed(() => evaluate(qrels, run.run, { measures: MEASURES, runId: run.runId }));
      tEval = Math.min(tEval, t);
      tFormat = Math.min(tFormat, timed(() => formatTrecEval(result, { perQuery: true }))[1]);
    }
    if (ours.stdout !== formatTrecEval(result)) throw new Error('the CLI printed something else than the in-process evaluation');
    const oursAll = result.all;

    const py = referencePython({ root: ROOT });
    const rows: string[][] = [];
    let agreement = '';
    const note =
      'pytrec_eval here is the `pytrec-eval-terrier` wheel (it bundles the trec_eval C code); the original `pytrec-eval` sdist ' +
      'cannot be built offline because its build downloads trec_eval.';
    if (py) {
      const peer = wall(py, [path.join(ROOT, 'bench', 'python', 'eval_run_pytrec.py'), files.qrels, files.run, metricArg]);
      type Peer = { read_s: number; evaluate_s: number; means: Record<string, number>; per_query: Record<string, Record<string, number>> };
      const peers = peer.outputs.map((o) => JSON.parse(o) as Peer);
      const pj = peers[peers.length - 1];
      pj.read_s = Math.min(...peers.map((p) => p.read_s));
      pj.evaluate_s = Math.min(...peers.map((p) => p.evaluate_s));
      const pyStart = wall(py, ['-c', 'import pytrec_eval']);
      rows.push(['end to end (process wall time)', ours.seconds.toFixed(2), peer.seconds.toFixed(2)]);
      rows.push(['  of which start-up (`eval-run --help` / `import pytrec_eval`)', oursStart.seconds.toFixed(2), pyStart.seconds.toFixed(2)]);
      rows.push(['read qrels + run (in process)', (tQrels + tRun).toFixed(2), pj.read_s.toFixed(2)]);
      rows.push(['evaluate (in process)', tEval.toFixed(2), pj.evaluate_s.toFixed(2)]);
      rows.push(['read + evaluate (in process, no start-up)', (tQrels + tRun + tEval).toFixed(2), (pj.read_s + pj.evaluate_s).toFixed(2)]);
      let maxDiff = 0;
      for (const [qid, vals] of Object.entries(pj.per_query)) {
        const mine = result.perQuery.get(qid)!;
        for (const [k, v] of Object.entries(vals)) maxDiff = Math.max(maxDiff, Math.abs(mine[k] - v));
      }
      const keys = Object.keys(pj.means);
      agreement =
        keys.map((k) => `${k}: ours ${oursAll[k].toFixed(6)}, pytrec_eval ${pj.means[k].toFixed(6)}`).join('; ') +
        `. Largest per-query difference over ${Object.keys(pj.per_query).length} queries × ${keys.length} measures: ${maxDiff.toExponential(2)}.`;
      if (Math.abs(oursAll.map - pj.means.map) > 1e-9 || Math.abs(oursAll.ndcg_cut_10 - pj.means.ndcg_cut_10) > 1e-9) {
        agreement = 'DISAGREEMENT — ' + agreement;
      }
    } else {
      rows.push(['end to end (process wall time)', ours.seconds.toFixed(2), 'n/a']);
      rows.push(['read qrels + run (in process)', (tQrels + tRun).toFixed(2), 'n/a']);
      rows.push(['evaluate (in process)', tEval.toFixed(2), 'n/a']);
      agreement = 'pytrec_eval not run: the reference environment (CZ_REFERENCE_VENV or .venv-reference, test/reference/venv.sh) is absent.';
    }

    const table = [
      `# eval-run benchmark`,
      ``,
      `${lines.toLocaleString('en-US')} run lines (${QUERIES} queries × ${DOCS_PER_QUERY} documents, scores with 3 decimals so ties occur), ` +
        `${[...qrels.values()].reduce((n, d) => n + d.size, 0).toLocaleString('en-US')} graded judgments; measures ${MEASURES.join(', ')}.`,
      `Node ${process.version}, ${os.cpus().length} CPU(s) (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg()[0].toFixed(1)} at the end (a shared machine: absolute times are noisy). ` +
        `Every time is the best of ${REPEATS} runs. Formatting all per-query lines took ${tFormat.toFixed(2)} s more.`,
      ``,
      `| step | colbert-zero eval-run (s) | pytrec_eval (s) | ratio (ours / pytrec_eval) |`,
      `|---|---:|---:|---:|`,
      ...rows.map((r) => `| ${r[0]} | ${r[1]} | ${r[2]} | ${r[2] === 'n/a' ? 'n/a' : (Number(r[1]) / Number(r[2])).toFixed(2)} |`),
      ``,
      `Agreement: ${agreement}`,
      ``,
      note,
      ``,
    ].join('\n');
    process.stdout.write(table);
    writeFileAtomic(path.join(ROOT, 'results', 'benchmarks', 'eval-run.md'), table);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
