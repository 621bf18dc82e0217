import type { Command } from 'commander';
import { keyValues, nonNegativeInt } from '../options';
import { UserError } from '../../util/errors';
import { findManifest, loadManifests, manifestsDir } from '../../data/manifests/load';
import type { Manifest } from '../../data/manifests/schema';
import { copyDir, dataDir, fetchData, isVerified, readLock } from '../../data/store';
import { importData } from '../../data/import-data';
import { cacheStatus, listManifests } from '../../data/manifests/list';
import { verifyData, type VerifyReport } from '../../data/verify';
import { CONVERT_LAYOUTS, convertTrainingData, type ConvertReport } from '../../data/convert';
import { EXPORT_DATA } from '../../pipelines/export-pylate';

/** Writes to stdout and waits for it to be flushed; a reader that closed the pipe early (`| head`) is not an error. */
function out(text: string): Promise<void> {
  return new Promise((resolve) => {
    process.stdout.once('error', () => resolve());
    process.stdout.write(text, () => resolve());
  });
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

function printVerify(r: VerifyReport, where = `${r.origin === 'hub' ? 'fetched' : 'imported'} copy in ${r.dir}`): string {
  const lines = r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}`);
  return `${r.id} (${where})\n${lines.join('\n')}\n${r.ok ? 'verified' : 'NOT verified'}\n`;
}

/**
 * Verifies a copy just fetched and prints the report (recording the verdict in its lock); a copy that does
 * not match its manifest sets exit code 1. Checksums are not re-hashed: the fetch has just checked them.
 */
async function verifyFetched(m: Manifest): Promise<void> {
  const v = await verifyData(m, { checksums: false, justHashed: true });
  await out(printVerify(v));
  if (!v.ok) {
    process.stderr.write(`colbert-zero: error: ${m.id}: the fetched copy does not match its manifest (see the FAIL lines)\n`);
    process.exitCode = 1;
  }
}

function printConversion(r: ConvertReport): string {
  const lines = r.files.map((f) => {
    const extra = [f.skipped ? `${f.skipped} rows left out` : '', f.minNegatives !== undefined ? `at least ${f.minNegatives} negatives a line` : '', f.candidates ? `${f.candidates[0]}-${f.candidates[1]} candidates a line` : ''].filter(Boolean);
    return `${f.file}: ${f.lines} lines from ${f.inputs.length} parquet file${f.inputs.length === 1 ? '' : 's'}${extra.length ? ` (${extra.join('; ')})` : ''}`;
  });
  const total = r.files.reduce((n, f) => n + f.lines, 0);
  const folder = EXPORT_DATA[r.objective].folder;
  return `${lines.join('\n')}\n${r.id}: ${total} lines in ${r.files.length} JSONL file${r.files.length === 1 ? '' : 's'} (${EXPORT_DATA[r.objective].layout}) in ${r.out}\nexport-pylate's launch.sh reads them as $DATA/${folder}/*.jsonl (the ${r.objective} phase)\n`;
}

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description(`the paper's datasets and checkpoints: list the manifests, fetch from the Hugging Face Hub, import a copy, verify it, convert a training set to the export's JSONL (cache: CZ_DATA_DIR, default ${dataDir()})`);

  data
    .command('list')
    .description('every data manifest: id, kind, format, size, licence, what uses it, and whether a verified copy is in the cache (not verified: run data verify ID)')
    .option('--json', 'print the manifests as JSON (with the cache folder and status of each)')
    .action(async (opts: { json?: boolean }) => {
      const all = loadManifests();
      if (opts.json) {
        await out(JSON.stringify(all.map((m) => ({ ...m, cache: { dir: copyDir(m.id), status: cacheStatus(m.id) } })), null, 2) + '\n');
        return;
      }
      const rows = [['id', 'group', 'format', 'size', 'licence', 'cache', 'used by']];
      for (const m of listManifests()) rows.push([m.id, m.group, m.format, m.size, m.licence, m.cache, m.usedBy.join('; ')]);
      await out(table(rows));
    });

  data
    .command('fetch')
    .description("download a manifest's files from the Hugging Face Hub into the cache (resumable: *.part + HTTP Range; checksummed, then renamed), then verify the copy")
    .argument('<id>', 'manifest id (see `data list`)')
    .option('--only <globs>', "only the files whose path matches one of these comma-separated globs or substrings (e.g. 'reddit_title_body')", (v: string) => v.split(',').filter(Boolean))
    .option('--retries <n>', 'extra attempts after an interrupted transfer, each resuming where the last stopped', nonNegativeInt, 3)
    .action(async (id: string, opts: { only?: string[]; retries: number }) => {
      const m = findManifest(id);
      const r = await fetchData(m, { only: opts.only, retries: opts.retries, log: (l) => process.stderr.write(`${l}\n`) });
      await out(
        `${m.id}: ${r.downloaded.length} file${r.downloaded.length === 1 ? '' : 's'} downloaded (${r.bytes} bytes), ${r.alreadyHere.length} already in the cache; copy in ${r.dir}\n`,
      );
      if (opts.only) return; // a partial copy: its counts cannot match the manifest's
      await verifyFetched(m);
    });

  data
    .command('import')
    .description("copy a folder (or file) you already have as the copy of a manifest, record its checksums and verify it; only a copy that verifies enters the cache (an earlier one stays otherwise); your files are only read")
    .argument('<id>', 'manifest id (see `data list`)')
    .argument('<path>', 'the folder (a BEIR folder, a dataset or model snapshot) or file')
    .action(async (id: string, from: string) => {
      const m = findManifest(id);
      const r = await importData(m, from);
      if (!r.imported) {
        await out(printVerify(r.verify, `checked before entering the cache: ${r.dir}`));
        throw new UserError(`${m.id}: ${from} does not match its manifest (see the FAIL lines); nothing was imported, the cache is as it was`);
      }
      await out(`${m.id}: imported ${r.files} file${r.files === 1 ? '' : 's'} (${r.bytes} bytes) into ${r.dir}\n${printVerify(r.verify)}`);
    });

  data
    .command('verify')
    .description("check the cached copy: sizes and sha256 against its lock (and the manifest's), required files, and the format's counts (BEIR documents, judged queries, relevant judgments), parquet columns, safetensors headers")
    .argument('<id>', 'manifest id (see `data list`)')
    .option('--no-checksums', 'skip re-hashing the files (sizes are still checked)')
    .option('--json', 'print the report as JSON')
    .action(async (id: string, opts: { checksums: boolean; json?: boolean }) => {
      const m = findManifest(id);
      const v = await verifyData(m, { checksums: opts.checksums });
      await out(opts.json ? JSON.stringify(v, null, 2) + '\n' : printVerify(v));
      if (!v.ok) {
        process.stderr.write(`colbert-zero: error: ${m.id}: ${v.checks.filter((c) => !c.ok).length} check(s) failed\n`);
        process.exitCode = 1;
      }
    });

  data
    .command('convert')
    .description(
      "a training set's copy (parquet) -> the JSONL files the export-pylate scripts read: one file per source of the Nomic mixtures ({query, document} / {query, positive, negatives}), ms-marco-en-bge-gemma with its ids resolved to texts ({query, documents, scores}); rows are streamed, the folder is written whole or not at all",
    )
    .argument('<id>', 'manifest id: nomic-embed-unsupervised-data, nomic-embed-supervised or ms-marco-en-bge-gemma')
    .requiredOption('--out <dir>', 'output folder of JSONL files (use it as $DATA/<phase folder> of launch.sh): a new or empty path, or with --overwrite a previous data convert folder')
    .option('--from <dir>', 'read this folder of parquet files instead of the cached copy (it is only read)')
    .option('--columns <role=column,...>', `columns named otherwise than the dataset's (roles: ${Object.entries(CONVERT_LAYOUTS).map(([f, l]) => `${f}: ${Object.keys(l.columns).join(' ')}`).join('; ')})`, keyValues)
    .option('--source-column <name>', "Nomic mixtures: name each row's source by this column (e.g. dataset) instead of by its file's split, for copies that keep every source in one split")
    .option('--overwrite', 'replace --out when it is a folder written by data convert: only the files it wrote (its marker lists them); files you added stay')
    .action(async (id: string, opts: { out: string; from?: string; columns?: Record<string, string>; sourceColumn?: string; overwrite?: boolean }) => {
      const m = findManifest(id);
      let from = opts.from;
      if (!from) {
        const lock = readLock(m.id);
        if (!lock) throw new UserError(`${m.id}: no copy in the cache (${dataDir()}); run colbert-zero data fetch ${m.id}, or data import ${m.id} PATH (or pass --from DIR)`);
        if (!isVerified(lock)) throw new UserError(`${m.id}: the copy in the cache is not verified; run colbert-zero data verify ${m.id} (or pass --from DIR)`);
        from = copyDir(m.id);
      }
      const r = await convertTrainingData({ manifest: m, from, out: opts.out, overwrite: opts.overwrite, columns: opts.columns, sourceColumn: opts.sourceColumn, progress: `convert ${m.id}` });
      await out(printConversion(r));
    });

  data.addHelpText('after', `\nManifests: ${manifestsDir()}\nEnvironment: CZ_DATA_DIR (cache), CZ_HUB_URL (hub base URL), HF_TOKEN (gated repositories), CZ_MANIFESTS_DIR (a folder of your own manifests).`);
}
