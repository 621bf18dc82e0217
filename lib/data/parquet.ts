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
export function fileBuffer(file: string): AsyncBuffer {
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
  const columns = parquetSchema(md).children.map((c) => c.element.name);
  return { rows: Number(md.num_rows), columns };
}

/** Rows `[rowStart, rowEnd)` as objects (all rows by default), optionally only some columns. */
export async function readParquetRows(
  file: string,
  opts: { columns?: string[]; rowStart?: number; rowEnd?: number } = {},
): Promise<Array<Record<string, unknown>>> {
  const buf = fileBuffer(file);
  const metadata = await metadataOf(file, buf);
  if (opts.columns) {
    const have = new Set(parquetSchema(metadata).children.map((c) => c.element.name));
    const missing = opts.columns.filter((c) => !have.has(c));
    if (missing.length) throw new UserError(`${file}: no column${missing.length > 1 ? 's' : ''} ${missing.map((c) => `"${c}"`).join(', ')} (has ${[...have].join(', ')})`);
  }
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
