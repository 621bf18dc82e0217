/**
 * What a data manifest (`data-manifests/<id>.json`) says about one dataset or checkpoint the paper uses:
 * where it comes from (Hugging Face Hub repositories, pinned to a revision where one is known), its
 * format, the files a copy must hold, its size, licence, expected counts, and which phase or table uses it.
 *
 * Nothing here is invented: a size or checksum that is not known is `null`, and the first fetch or
 * import records the real value in a lock file that `verify` checks from then on. Every statement of
 * fact carries its source (the paper's text, a repository card, MTEB's task metadata, ...).
 */
import { z } from 'zod';

const MANIFEST_FORMATS = [
  'beir', // a BEIR test set: corpus, queries and qrels (JSONL + TSV, or one parquet folder per part)
  'nanobeir', // a NanoBEIR set: corpus/, queries/, qrels/ parquet (split "train")
  'pairs-parquet', // unsupervised pairs: query, document (+ dataset, shard)
  'triplets-parquet', // supervised: query, document, negative[] (+ dataset)
  'kd-parquet', // distillation: train (query_id, document_ids, scores), queries, documents
  'transformers', // a transformers checkpoint (config.json + safetensors + tokenizer)
  'sentence-transformers', // a dense sentence-transformers model
  'pylate', // a PyLate ColBERT model (backbone + 1_Dense projection)
] as const;

const SHA256 = /^[0-9a-f]{64}$/;

/** A path inside a repository or the cache: relative, '/'-separated, no '..', no empty parts. */
const relPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), {
    message: "must be a relative '/'-separated path without '.' or '..' parts",
  });

const FileEntrySchema = z
  .object({
    path: relPath,
    role: z.string().min(1).optional(),
    bytes: z.number().int().nonnegative().nullable(),
    sha256: z.string().regex(SHA256, 'must be 64 lowercase hex digits or null').nullable(),
  })
  .strict();

const SourceSchema = z
  .object({
    hub: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be owner/name'),
    repoType: z.enum(['model', 'dataset']),
    revision: z.string().min(1),
    /** Where the revision comes from ("MTEB task metadata", or "unpinned" for a branch name). */
    revisionSource: z.string().min(1),
    /** Folder of the cache copy the files go into ('' = the copy's top). */
    into: z.union([z.literal(''), relPath]).default(''),
    /** Files a copy must hold (with size and checksum where known). */
    files: z.array(FileEntrySchema),
    /** Globs ('*' within a path part, '**' across parts) over the repository's file list, resolved at fetch time. */
    include: z.array(z.string().min(1)).default([]),
    exclude: z.array(z.string().min(1)).default([]),
  })
  .strict()
  .refine((s) => s.files.length > 0 || s.include.length > 0, { message: 'a source needs files or include patterns', path: ['files'] });

const FactSchema = z.object({ fact: z.string().min(1), source: z.string().min(1) }).strict();

const CountsSchema = z
  .object({
    split: z.string().min(1),
    documents: z.number().int().positive(),
    queries: z.number().int().positive(),
    /** Judgments with a relevance above 0 in `split`. */
    relevant: z.number().int().positive(),
    source: z.string().min(1),
  })
  .strict();

/** A checkpoint's shape, checked by verify against its config.json and safetensors headers. */
const ArchitectureSchema = z
  .object({
    layers: z.number().int().positive(),
    hidden: z.number().int().positive(),
    /** Parameters of the backbone alone (embeddings, layers, final norm): heads and projections differ between layouts. */
    parameters: z.number().int().positive(),
    source: z.string().min(1),
  })
  .strict();

export const ManifestSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'must be lowercase letters, digits, . _ -'),
    kind: z.enum(['dataset', 'checkpoint']),
    group: z.enum(['training-data', 'beir', 'nanobeir', 'checkpoint']),
    title: z.string().min(1),
    description: z.string().min(1),
    sources: z.array(SourceSchema).min(1),
    format: z.enum(MANIFEST_FORMATS),
    licence: z.object({ id: z.string().min(1).nullable(), source: z.string().min(1) }).strict(),
    size: z
      .object({
        bytes: z.number().int().positive().nullable(),
        approx: z.string().min(1).nullable(),
        source: z.string().min(1),
      })
      .strict(),
    /** The phases and tables of the paper (or the project) that use it. */
    usedBy: z.array(z.string().min(1)).min(1),
    counts: CountsSchema.optional(),
    /** Parquet columns every data file of the format must have (checked by verify). */
    columns: z.record(z.string(), z.array(z.string().min(1))).optional(),
    /** Checkpoints: layers, hidden size and backbone parameters a copy must have. */
    architecture: ArchitectureSchema.optional(),
    facts: z.array(FactSchema).default([]),
  })
  .strict();

export type FileEntry = z.infer<typeof FileEntrySchema>;
export type Source = z.infer<typeof SourceSchema>;
export type Manifest = z.infer<typeof ManifestSchema>;
