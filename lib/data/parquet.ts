/**
 * Parquet files (the Hub's dataset format) through hyparquet, a maintained pure-JavaScript reader, with
 * hyparquet-compressors for the codecs datasets use (snappy, gzip, zstd, brotli, lz4). Files are read
 * by byte ranges, so a row count or a few rows of a multi-gigabyte shard cost a few reads.
 */
import * as fs from 'node:fs';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { UserError } from '../util/errors';

/** A local file as hyparquet's AsyncBuffer: each slice is one positioned read. */
function fileBuffer(file: string): AsyncBuffer {
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${file}: cannot open (${code === 'ENOENT' ? 'no such file' : code ?? String(e)})`);
  }
  return {
    byteLength: size,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = end === undefined ? size : Math.min(end, size);
      const out = new Uint8Array(Math.max(0, stop - start));
      if (out.length === 0) return out.buffer;
      const fh = await fs.promises.open(file, 'r');
      try {
        let off = 0;
        while (off < out.length) {
          const { bytesRead } = await fh.read(out, off, out.length - off, start + off);
          if (bytesRead === 0) break;
          off += bytesRead;
        }
      } finally {
        await fh.close();
      }
      return out.buffer;
    },
  };
}

async function metadataOf(file: string, buf: AsyncBuffer): Promise<FileMetaData> {
  try {
    return await parquetMetadataAsync(buf);
  } catch (e) {
    throw new UserError(`${file}: not a readable parquet file (${(e as Error).message.split('\n')[0]})`);
  }
}

export interface ParquetInfo {
  rows: number;
  /** Top-level column names, in file order. */
  columns: string[];
}

/** Row count and top-level columns, from the footer alone. */
export async function parquetInfo(file: string): Promise<ParquetInfo> {
  const buf = fileBuffer(file);
  const md = await metadataOf(file, buf);
  return { rows: Number(md.num_rows), columns: topColumns(md) };
}

function topColumns(md: FileMetaData): string[] {
  return parquetSchema(md).children.map((c) => c.element.name);
}

/** One error line naming the file and every column it lacks (and what it has); `hint` says how to name another. */
export function requireColumns(file: string, have: string[], want: string[], hint = ''): void {
  const missing = want.filter((c) => !have.includes(c));
  if (missing.length) throw new UserError(`${file}: no column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} (has ${have.join(', ')})${hint}`);
}

/** A parquet file opened for streaming: its footer, then its rows one row group at a time. */
export interface ParquetStream {
  file: string;
  rows: number;
  /** Top-level column names, in file order. */
  columns: string[];
  /** Rows per row group, in file order. */
  groups: number[];
  /** The rows of row group `i` as objects, only the named columns (checked to exist before any read). */
  readGroup(i: number, columns: string[]): Promise<Array<Record<string, unknown>>>;
}

export async function openParquet(file: string): Promise<ParquetStream> {
  const buf = fileBuffer(file);
  const metadata = await metadataOf(file, buf);
  const groups = metadata.row_groups.map((g) => Number(g.num_rows));
  const starts: number[] = [];
  groups.reduce((at, n) => (starts.push(at), at + n), 0);
  const columns = topColumns(metadata);
  return {
    file,
    rows: Number(metadata.num_rows),
    columns,
    groups,
    async readGroup(i, want) {
      requireColumns(file, columns, want);
      try {
        return (await parquetReadObjects({ file: buf, metadata, columns: want, rowStart: starts[i], rowEnd: starts[i] + groups[i], compressors })) as Array<Record<string, unknown>>;
      } catch (e) {
        throw new UserError(`${file}: cannot read row group ${i} (${(e as Error).message.split('\n')[0]})`);
      }
    },
  };
}

/** Rows `[rowStart, rowEnd)` as objects (all rows by default), optionally only some columns. */
export async function readParquetRows(
  file: string,
  opts: { columns?: string[]; rowStart?: number; rowEnd?: number } = {},
): Promise<Array<Record<string, unknown>>> {
  const buf = fileBuffer(file);
  const metadata = await metadataOf(file, buf);
  if (opts.columns) requireColumns(file, topColumns(metadata), opts.columns);
  try {
    return (await parquetReadObjects({
      file: buf,
      metadata,
      columns: opts.columns,
      rowStart: opts.rowStart,
      rowEnd: opts.rowEnd,
      compressors,
    })) as Array<Record<string, unknown>>;
  } catch (e) {
    throw new UserError(`${file}: cannot read rows (${(e as Error).message.split('\n')[0]})`);
  }
}
