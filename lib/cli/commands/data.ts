import type { Command } from 'commander';
import { nonNegativeInt } from '../options';
import { findManifest, loadManifests, manifestsDir } from '../../data/manifests/load';
import type { Manifest } from '../../data/manifests/schema';
import { copyDir, dataDir, fetchData, importData } from '../../data/store';
import { cacheStatus, listManifests } from '../../data/manifests/list';
import { verifyData, type VerifyReport } from '../../data/verify';

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

function printVerify(r: VerifyReport): string {
  const lines = r.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.what}`);
  return `${r.id} (${r.origin === 'hub' ? 'fetched' : 'imported'} copy in ${r.dir})\n${lines.join('\n')}\n${r.ok ? 'verified' : 'NOT verified'}\n`;
}

export function registerData(program: Command): void {
  const data = program
    .command('data')
    .description(`the paper's datasets and checkpoints: list the manifests, fetch from the Hugging Face Hub, import a copy, verify (cache: CZ_DATA_DIR, default ${dataDir()})`);

  data
    .command('list')
    .description('every data manifest: id, kind, format, size, licence, what uses it, and whether a copy is in the cache')
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
      const v = await verifyData(m, { checksums: false }); // checksums were just checked on download
      await out(printVerify(v));
      if (!v.ok) {
        process.stderr.write(`colbert-zero: error: ${m.id}: the fetched copy does not match its manifest (see the FAIL lines)\n`);
        process.exitCode = 1;
      }
    });

  data
    .command('import')
    .description("copy a folder (or file) you already have into the cache as the copy of a manifest, record its checksums, and verify it; your files are only read")
    .argument('<id>', 'manifest id (see `data list`)')
    .argument('<path>', 'the folder (a BEIR folder, a dataset or model snapshot) or file')
    .action(async (id: string, from: string) => {
      const m = findManifest(id);
      const r = await importData(m, from);
      await out(`${m.id}: imported ${r.files} file${r.files === 1 ? '' : 's'} (${r.bytes} bytes) into ${r.dir}\n`);
      const v = await verifyData(m, { checksums: false });
      await out(printVerify(v));
      if (!v.ok) {
        process.stderr.write(`colbert-zero: error: ${m.id}: the imported copy does not match its manifest (see the FAIL lines)\n`);
        process.exitCode = 1;
      }
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

  data.addHelpText('after', `\nManifests: ${manifestsDir()}\nEnvironment: CZ_DATA_DIR (cache), CZ_HUB_URL (hub base URL), HF_TOKEN (gated repositories), CZ_MANIFESTS_DIR (a folder of your own manifests).`);
}
