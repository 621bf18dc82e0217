/**
 * `buildReport(resultsDir, outDir)`: the report of a set of result files, from those files alone —
 * `report.md` (tables in the paper's shapes with their legends, the spread over seeds, the paper's claims
 * with verdicts) and `report.json` (the same as data), both written atomically. One section per preset:
 * tables never mix presets.
 *
 * `buildReportFigures` is the second step (the CLI and `reproduce` call it after `buildReport`): each
 * preset's figures — Table 2 as grouped bars per dataset, Table 4's deltas as a heatmap when there are
 * ablations — as standalone HTML pages sharing one plotly bundle and, where a Chromium is installed, PNG,
 * in the report folder; report.md and report.json then list them.
 *
 * The folder is written as every output folder is (lib/util/output.ts): its marker lists the files the
 * report wrote, and each write replaces exactly those — figures a report no longer draws (`--no-figures`,
 * a preset gone) are removed, a file the user put there stays.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { hasMarker, writeOutputDir } from '../util/output';
import { evaluateClaims, formatClaims, type ClaimResult } from './claims';
import { readResults, type EvaluationResult } from './results';
import { PLOTLY_BUNDLE, writeFigures } from '../figures/render';
import { ablationDeltaFigure, mainTableFigure } from './report-figures';
import type { Figure } from '../figures/figures';
import {
  ablationSummary,
  ablationTable,
  defaultBaseline,
  formatAblationSummary,
  formatAblationTable,
  formatMainTable,
  formatSeedTable,
  groupSettings,
  isMainSetting,
  mainTable,
  resolveOptions,
  seedTable,
  type AblationSummaryRow,
  type AblationTable,
  type MainTable,
  type ResolvedOptions,
  type SeedTable,
  type TableOptions,
} from './tables';
import { readJsonFile } from '../util/json';

export interface ReportOptions extends TableOptions {
  /** The label of the baseline row of Table 2; default: KD-only (a) distilled, else the base model, else BM25. null: no marks. */
  baseline?: string | null;
}

export interface PresetReport {
  preset: string;
  results: string[];
  seeds: number[];
  codeVersions: string[];
  notes: string[];
  /**
   * The query/document lengths the encoded models were evaluated at ("39/71", or "not recorded" for results
   * written before they were), each with its number of results; BM25 reads whole texts and is not counted.
   */
  evalLengths: Record<string, number>;
  warnings: string[];
  main: MainTable | null;
  ablation: AblationTable | null;
  ablationSummary: AblationSummaryRow[] | null;
  seedsTable: SeedTable | null;
  claims: ClaimResult[];
}

/** A figure file of the report (paths relative to the report folder). */
export interface ReportFigure {
  preset: string;
  name: string;
  title: string;
  html: string;
  /** null when no Chromium was found to draw it. */
  png: string | null;
}

export interface Report {
  format: 'colbert-zero-report';
  version: 1;
  options: ResolvedOptions & { baseline: string | null | undefined };
  presets: PresetReport[];
  /** Set by buildReportFigures. */
  figures?: ReportFigure[];
}

/** Builds the report of the results in `resultsDir` (without writing anything). */
export function reportOf(resultsDir: string, opts: ReportOptions = {}): Report {
  const o = resolveOptions(opts);
  const files = readResults(resultsDir);
  if (files.length === 0) throw new UserError(`${resultsDir}: no result files (*.json) to report on`);
  const grouped = groupSettings(files.map((f) => f.result));
  const presets: PresetReport[] = [];
  for (const [preset, settings] of grouped) {
    const results = settings.flatMap((s) => s.results);
    const warnings: string[] = [];
    const checksums = new Map<string, Map<string, string[]>>();
    for (const r of results) {
      for (const [name, sum] of Object.entries(r.dataChecksums)) {
        const byValue = checksums.get(name) ?? new Map<string, string[]>();
        byValue.set(sum, [...(byValue.get(sum) ?? []), r.id]);
        checksums.set(name, byValue);
      }
    }
    for (const [name, byValue] of checksums) {
      if (byValue.size > 1) warnings.push(`data "${name}" has ${byValue.size} different checksums across results (${[...byValue.values()].map((ids) => ids[0]).join(' vs ')}): the rows did not see the same data`);
    }
    const codeVersions = [...new Set(results.map((r) => r.codeVersion))].sort();
    if (codeVersions.length > 1) warnings.push(`results come from ${codeVersions.length} code versions (${codeVersions.join(', ')})`);
    const evalLengths = evaluationLengthsOf(results);
    const recorded = Object.keys(evalLengths).filter((k) => k !== NOT_RECORDED);
    if (recorded.length > 1) warnings.push(`the models were evaluated at ${recorded.length} different query/document lengths (${recorded.join(', ')}): rows that differ in "+Length" then differ in evaluation too`);
    const hasMain = settings.some((s) => isMainSetting(s.ablation));
    let baseline: string | null = null;
    if (hasMain) {
      if (opts.baseline === undefined) baseline = defaultBaseline(settings);
      else if (opts.baseline !== null && settings.some((s) => s.label === opts.baseline && isMainSetting(s.ablation))) baseline = opts.baseline;
      else if (opts.baseline !== null) warnings.push(`baseline "${opts.baseline}" is not a main-setting label of this preset: no significance marks`);
    }
    const main = hasMain ? mainTable(settings, baseline, o) : null;
    const ablation = ablationTable(settings, o);
    presets.push({
      preset,
      results: results.map((r) => r.id),
      seeds: [...new Set(results.map((r) => r.seed))].sort((a, b) => a - b),
      codeVersions,
      notes: [...new Set(results.flatMap((r) => r.notes ?? []))],
      evalLengths,
      warnings,
      main,
      ablation,
      ablationSummary: ablation ? ablationSummary(ablation) : null,
      seedsTable: seedTable(settings, o),
      claims: evaluateClaims(settings, o),
    });
  }
  if (opts.baseline && !presets.some((p) => p.main?.baseline === opts.baseline)) {
    const labels = [...new Set(files.map((f) => f.result.label))];
    throw new UserError(`baseline "${opts.baseline}" is not a label of the results (labels: ${labels.map((l) => `"${l}"`).join(', ')})`);
  }
  return { format: 'colbert-zero-report', version: 1, options: { ...o, baseline: opts.baseline }, presets };
}

const NOT_RECORDED = 'not recorded';

/** How many encoded results were evaluated at each query/document length. */
function evaluationLengthsOf(results: EvaluationResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    if (r.model.setting === 'lexical') continue;
    const key = r.evalLengths ? `${r.evalLengths.queryLength}/${r.evalLengths.documentLength}` : NOT_RECORDED;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

/** One sentence on the evaluation lengths of a preset's results. */
function formatEvaluationLengths(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  if (entries.length === 0) return '';
  const parts = entries.map(([k, n]) => (k === NOT_RECORDED ? `${n} result${n === 1 ? '' : 's'} without recorded lengths` : `query/document lengths ${k} (${n} result${n === 1 ? '' : 's'})`));
  return `Evaluated at ${parts.join('; ')}: one length for every model, so "+Length" changes training only (BM25 reads whole texts).`;
}

/** The report as Markdown. */
export function formatReport(report: Report): string {
  const o = report.options;
  const out: string[] = ['# Results', ''];
  out.push('Built from result files alone (`colbert-zero report`). Numbers are the runs\' own; the paper\'s claims below are checked against them and never taken for granted.', '');
  for (const p of report.presets) {
    out.push(`## Preset \`${p.preset}\``, '');
    out.push(`${p.results.length} result file${p.results.length === 1 ? '' : 's'}; seed${p.seeds.length === 1 ? '' : 's'} ${p.seeds.join(', ')}; code ${p.codeVersions.join(', ')}.`, '');
    for (const w of p.warnings) out.push(`> **Warning:** ${w}`, '');
    if (p.notes.length) out.push('Notes recorded by the runs:', '', ...p.notes.map((n) => `- ${n}`), '');
    const lengths = formatEvaluationLengths(p.evalLengths ?? {});
    if (lengths) out.push(lengths, '');
    if (p.main) out.push('### Main results (Table 2 shape)', '', formatMainTable(p.main, o));
    if (p.ablation) {
      out.push('### Prompts and lengths (Table 4 shape)', '', formatAblationTable(p.ablation, o));
      out.push('### Prompt and length effects on the average (Table 5 shape)', '', formatAblationSummary(p.ablationSummary!, p.ablation, o));
    }
    if (p.seedsTable) out.push('### Spread over seeds', '', formatSeedTable(p.seedsTable));
    const counts = (v: string) => p.claims.filter((c) => c.verdict === v).length;
    const figs = (report.figures ?? []).filter((f) => f.preset === p.preset);
    if (figs.length) {
      out.push('### Figures', '');
      for (const f of figs) out.push(`- ${f.title}: [${f.html}](${f.html})${f.png ? `, [${f.png}](${f.png})` : ' (HTML only)'}`);
      out.push('');
    }
    out.push('### The paper\'s claims on these results', '');
    out.push(`${counts('supports')} supported, ${counts('contradicts')} contradicted, ${counts('cannot resolve')} that these results cannot resolve.`, '');
    out.push(formatClaims(p.claims, o));
  }
  return out.join('\n').replace(/\n{3,}/g, '\n\n');
}

const COMMAND = 'report';

/** The files a report wrote, as its report.json lists them (the report's record of its files: no marker needed). */
function previousReportFiles(dir: string): string[] | null {
  try {
    const r = readJsonFile<Partial<Report>>(path.join(dir, 'report.json'));
    if (r.format !== 'colbert-zero-report') return null;
    const figures = (r.figures ?? []).flatMap((f) => [f.html, f.png].filter((x): x is string => typeof x === 'string'));
    return ['report.md', 'report.json', ...(figures.length ? [PLOTLY_BUNDLE, ...figures] : [])];
  } catch {
    return null;
  }
}

/** A folder the report may be written into again: a previous report's, or the report folder of a reproduce results folder. */
export function isReportFolder(dir: string): boolean {
  return previousReportFiles(dir) !== null || hasMarker(path.dirname(path.resolve(dir)), 'reproduce');
}

/** Writes the report folder: report.md, report.json and, from `more`, the figures (see the module comment). */
async function writeReportFolder(outDir: string, report: Report, more?: (dir: string) => Promise<void>): Promise<{ markdown: string; files: string[] }> {
  let markdown = '';
  const written = await writeOutputDir(
    outDir,
    COMMAND,
    async (tmp) => {
      await more?.(tmp);
      markdown = formatReport(report);
      fs.writeFileSync(path.join(tmp, 'report.md'), markdown);
      fs.writeFileSync(path.join(tmp, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    },
    { record: { file: 'report.json', files: previousReportFiles }, isOurs: isReportFolder },
  );
  const order = (f: string) => (f === 'report.md' ? 0 : f === 'report.json' ? 1 : 2);
  return { markdown, files: written.sort((a, b) => order(a) - order(b) || a.localeCompare(b)).map((f) => path.join(outDir, f)) };
}

/** Reads the results in `resultsDir` and writes `report.md` and `report.json` to `outDir`. */
export async function buildReport(resultsDir: string, outDir: string, opts: ReportOptions = {}): Promise<{ report: Report; markdown: string; files: string[] }> {
  const report = reportOf(resultsDir, opts);
  const { markdown, files } = await writeReportFolder(outDir, report);
  return { report, markdown, files };
}

function slug(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'preset';
}

/** Each preset's figures: `<preset>-main` (Table 2 as grouped bars) and `<preset>-ablation-deltas` (Table 4's deltas) when present. */
function reportFigures(report: Report): Array<{ preset: string; name: string; figure: Figure }> {
  const out: Array<{ preset: string; name: string; figure: Figure }> = [];
  for (const p of report.presets) {
    if (p.main) out.push({ preset: p.preset, name: `${slug(p.preset)}-main`, figure: mainTableFigure(p.main) });
    const deltas = p.ablation ? ablationDeltaFigure(p.ablation) : null;
    if (deltas) out.push({ preset: p.preset, name: `${slug(p.preset)}-ablation-deltas`, figure: deltas });
  }
  return out;
}

/**
 * The report's figures into `outDir` (HTML always, PNG unless `png: false` or no Chromium is installed),
 * then report.md and report.json rewritten to list them. Returns the report with its figures and every file.
 */
export async function buildReportFigures(
  built: { report: Report; markdown: string; files: string[] },
  outDir: string,
  o: { png?: boolean } = {},
): Promise<{ report: Report; markdown: string; files: string[]; png: boolean }> {
  const figs = reportFigures(built.report);
  if (figs.length === 0) return { ...built, png: false };
  let png = false;
  const report: Report = { ...built.report };
  const { markdown, files } = await writeReportFolder(outDir, report, async (tmp) => {
    png = (await writeFigures(tmp, figs, { png: o.png })).png;
    report.figures = figs.map((f) => ({
      preset: f.preset,
      name: f.name,
      title: String((f.figure.layout.title as { text?: string }).text),
      html: `${f.name}.html`,
      png: png ? `${f.name}.png` : null,
    }));
  });
  return { report, markdown, files, png };
}
