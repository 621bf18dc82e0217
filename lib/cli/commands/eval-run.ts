import { InvalidArgumentError, type Command } from 'commander';
import { integerAtLeast, positiveInt } from '../options';
import { UserError } from '../../util/errors';
import { readQrelsFile } from '../../data/qrels';
import { readTrecRun } from '../../data/trec';
import { evaluate, formatTrecEval } from '../../eval/trec/evaluate';
import { planMeasures, splitMeasureList } from '../../eval/trec/measures';

/** `--metrics`: trec_eval -m specs, checked as the option is read (an unknown measure is a usage error, exit 2). */
function measureList(v: string, prev: string[] = []): string[] {
  const specs = splitMeasureList(v);
  try {
    planMeasures(specs);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
  return prev.concat(specs);
}

export function registerEvalRun(program: Command): void {
  program
    .command('eval-run')
    .description("evaluate a TREC run against qrels exactly as trec_eval 10.0 does (same measures, names and output)")
    .requiredOption('--qrels <file>', "judgments: TREC qrels ('qid 0 docid rel') or BEIR qrels TSV")
    .requiredOption('--run <file>', "TREC run ('qid Q0 docid rank score tag'); ranks are ignored, scores decide")
    .option(
      '--metrics <list>',
      "trec_eval -m specs, comma-separated (e.g. 'ndcg_cut.10,100,map,recip_rank', 'all_trec', 'mrr@10'); repeatable. Default: trec_eval's 'official' set",
      measureList,
    )
    .option('--per-query', 'also print each query (trec_eval -q)')
    .option('--min-rel <n>', 'lowest relevance that counts as relevant (trec_eval -l)', integerAtLeast(-1000000), 1)
    .option('--complete', 'average over every judged query; queries missing from the run score 0 (trec_eval -c)')
    .option('--max-docs <n>', 'use only the first N documents of each ranking (trec_eval -M)', positiveInt)
    .option('--judged-only', 'drop unjudged documents from each ranking first (trec_eval -J; rarely what you want)')
    .option('--json', 'print JSON {measures, all, perQuery?} instead of trec_eval text')
    .action((opts: { qrels: string; run: string; metrics?: string[]; perQuery?: boolean; minRel: number; complete?: boolean; maxDocs?: number; judgedOnly?: boolean; json?: boolean }) => {
      const qrels = readQrelsFile(opts.qrels);
      const { run, runId } = readTrecRun(opts.run);
      const result = evaluate(qrels, run, {
        measures: opts.metrics,
        minRel: opts.minRel,
        complete: opts.complete,
        maxDocsPerQuery: opts.maxDocs,
        judgedOnly: opts.judgedOnly,
        runId,
      });
      if (result.perQuery.size === 0) {
        throw new UserError(`${opts.run}: no query of the run is judged in ${opts.qrels} (query ids must match)`);
      }
      if (opts.json) {
        const out: Record<string, unknown> = { measures: result.measures, all: { ...result.all, ...(result.text?.all ?? {}) } };
        if (opts.perQuery) {
          const pq: Record<string, Record<string, number | string>> = {};
          for (const [qid, v] of result.perQuery) pq[qid] = { ...v, ...(result.text?.perQuery.get(qid) ?? {}) };
          out.perQuery = pq;
        }
        process.stdout.write(JSON.stringify(out) + '\n');
      } else {
        process.stdout.write(formatTrecEval(result, { perQuery: opts.perQuery }));
      }
    });
}
