/**
 * Downloads from the Hugging Face Hub (or any server with the same URL layout), resumably:
 *   - a file goes to `<dest>.part`; a second attempt (in the same run, or after a crash) asks for the
 *     missing bytes with an HTTP Range request and appends them;
 *   - the finished part is checked against the expected size and SHA-256 (the manifest's, the lock's, or
 *     the one the Hub announces for LFS files), and only then renamed to its final name;
 *   - a part whose checksum is wrong is removed (resuming it would keep the bad bytes).
 *
 * The Hub's layout: `<base>/<repo>/resolve/<rev>/<path>` for models, `<base>/datasets/<repo>/resolve/...`
 * for datasets, and `<base>/api/{models|datasets}/<repo>/tree/<rev>?recursive=true` to list files. The
 * base is `CZ_HUB_URL` (default https://huggingface.co); `HF_TOKEN` is sent to that host only.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors';
import { makeDirs } from '../util/fs-errors';
import { progressBar } from '../util/progress';

const DEFAULT_HUB_URL = 'https://huggingface.co';

export interface HubRepo {
  hub: string;
  repoType: 'model' | 'dataset';
  revision: string;
}

export interface HubOptions {
  /** Base URL; default CZ_HUB_URL or https://huggingface.co. */
  hubUrl?: string;
  /** Bearer token for gated repositories (default HF_TOKEN), sent only to the hub's own origin. */
  token?: string;
  /** Give up on a connection that sends nothing for this long (ms). Default 60 s. */
  idleTimeoutMs?: number;
  /** Extra attempts after an interrupted transfer (each resumes where the last stopped). Default 3. */
  retries?: number;
  /** Pause before a retry (ms). Default 1000. */
  retryDelayMs?: number;
  /** Shown in the one-line error when the hub cannot be reached. */
  offlineHint?: string;
  /** Progress label; bars show on a terminal (see lib/util/progress). */
  label?: string;
}

function hubUrl(opts: HubOptions = {}): string {
  return (opts.hubUrl ?? process.env.CZ_HUB_URL ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
}

function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** URL of one file of a repository at a revision. */
export function resolveUrl(repo: HubRepo, file: string, opts: HubOptions = {}): string {
  const prefix = repo.repoType === 'dataset' ? 'datasets/' : '';
  return `${hubUrl(opts)}/${prefix}${repo.hub}/resolve/${encodeURIComponent(repo.revision)}/${encodePath(file)}`;
}

/** URL of the repository's recursive file listing. */
function treeUrl(repo: HubRepo, opts: HubOptions = {}): string {
  const kind = repo.repoType === 'dataset' ? 'datasets' : 'models';
  return `${hubUrl(opts)}/api/${kind}/${repo.hub}/tree/${encodeURIComponent(repo.revision)}?recursive=true`;
}

const NETWORK_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH', 'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

function causeCode(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

/** True when an error means "the server could not be reached or the connection broke". */
function isNetworkError(e: unknown): boolean {
  if (e instanceof TransferInterrupted) return true;
  const code = causeCode(e);
  if (code && NETWORK_CODES.has(code)) return true;
  return e instanceof TypeError && /fetch failed/.test(e.message);
}

/** A transfer that stopped before its end: the part file keeps what arrived. */
class TransferInterrupted extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TransferInterrupted';
  }
}

function unreachable(url: string, e: unknown, hint?: string): UserError {
  const origin = new URL(url).origin;
  const code = causeCode(e) ?? (e as Error).message;
  return new UserError(`cannot reach ${origin} (${code})${hint ? `; ${hint}` : ''}`);
}

function httpError(url: string, status: number, statusText: string, what: string): UserError {
  const why =
    status === 404
      ? 'not found (check the repository, revision and path)'
      : status === 401 || status === 403
        ? 'access denied (a gated repository: accept its terms on the Hub and set HF_TOKEN)'
        : `${status} ${statusText}`.trim();
  return new UserError(`${what}: HTTP ${status} from ${url}: ${why}`);
}

/** fetch with manual redirects (so the first response's headers are kept), a token only for the hub's origin, and an idle timeout. */
async function request(
  url: string,
  headers: Record<string, string>,
  opts: HubOptions,
  controller: AbortController,
): Promise<{ res: Response; first: Response; finalUrl: string }> {
  const hubOrigin = new URL(hubUrl(opts)).origin;
  const token = opts.token ?? process.env.HF_TOKEN;
  let current = url;
  let first: Response | undefined;
  for (let hop = 0; hop < 6; hop++) {
    const h: Record<string, string> = { ...headers };
    if (token && new URL(current).origin === hubOrigin) h.authorization = `Bearer ${token}`;
    const res = await fetch(current, { headers: h, redirect: 'manual', signal: controller.signal });
    first ??= res;
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel().catch(() => undefined);
      current = new URL(res.headers.get('location')!, current).toString();
      continue;
    }
    return { res, first, finalUrl: current };
  }
  throw new UserError(`${url}: too many redirects`);
}

export interface HubTreeEntry {
  path: string;
  size: number;
  /** SHA-256 of the content for LFS files (the Hub's `lfs.oid`); null for small git files. */
  sha256: string | null;
}

/** Lists every file of a repository at its revision (follows the API's `Link: <...>; rel="next"` pages). */
export async function listHubFiles(repo: HubRepo, opts: HubOptions = {}): Promise<HubTreeEntry[]> {
  const out: HubTreeEntry[] = [];
  let url: string | null = treeUrl(repo, opts);
  for (let page = 0; url && page < 1000; page++) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new TransferInterrupted('no answer')), opts.idleTimeoutMs ?? 60_000);
    let body: unknown;
    let next: string | null = null;
    try {
      const { res } = await request(url, { accept: 'application/json' }, opts, controller);
      if (!res.ok) throw httpError(url, res.status, res.statusText, `listing ${repo.hub}@${repo.revision}`);
      const link = res.headers.get('link');
      const m = link ? /<([^>]+)>;\s*rel="next"/.exec(link) : null;
      next = m ? new URL(m[1], url).toString() : null;
      body = await res.json();
    } catch (e) {
      if (e instanceof UserError) throw e;
      if (isNetworkError(e) || controller.signal.aborted) throw unreachable(url, e, opts.offlineHint);
      throw new UserError(`${url}: the file listing is not JSON (${(e as Error).message})`);
    } finally {
      clearTimeout(timer);
    }
    if (!Array.isArray(body)) throw new UserError(`${url}: the file listing is not a JSON array`);
    for (const e of body as Array<Record<string, unknown>>) {
      if (e.type !== 'file' || typeof e.path !== 'string') continue;
      const lfs = e.lfs as { oid?: unknown; size?: unknown } | undefined;
      const size = typeof lfs?.size === 'number' ? lfs.size : typeof e.size === 'number' ? e.size : -1;
      const sha = typeof lfs?.oid === 'string' && /^[0-9a-f]{64}$/.test(lfs.oid) ? lfs.oid : null;
      out.push({ path: e.path, size, sha256: sha });
    }
    url = next;
  }
  return out;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = crypto.createHash('sha256');
  await new Promise<void>((resolve, reject) => {
    const s = fs.createReadStream(file, { highWaterMark: 1 << 22 });
    s.on('data', (chunk) => {
      hash.update(chunk as Buffer);
      onBytes?.((chunk as Buffer).length);
    });
    s.on('error', reject);
    s.on('end', () => resolve());
  });
  return hash.digest('hex');
}

export interface DownloadRequest {
  url: string;
  dest: string;
  /** Expected SHA-256 (from the manifest or lock); when null the server's announced one is used, if any. */
  sha256?: string | null;
  /** Expected size in bytes, when known. */
  bytes?: number | null;
  /** What to call the file in messages. */
  name?: string;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  /** Whether the checksum was compared with an expected one (else it is only recorded). */
  checked: boolean;
  /** The repository commit the hub served (`X-Repo-Commit`), when it says. */
  commit: string | null;
  /** Bytes that were already in the part file when this download started (resumed transfers). */
  resumedFrom: number;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * One attempt: asks for the bytes after those already in the part file and appends them.
 * Returns the response's announced total size and checksum; throws TransferInterrupted when the
 * connection ends early (the part keeps what arrived).
 */
async function attempt(
  req: DownloadRequest,
  part: string,
  opts: HubOptions,
  bar: { total: number; update: (done: number) => void },
): Promise<{ total: number | null; announcedSha: string | null; commit: string | null }> {
  const have = sizeOf(part);
  const controller = new AbortController();
  const idle = opts.idleTimeoutMs ?? 60_000;
  let timer = setTimeout(() => controller.abort(new TransferInterrupted(`no data for ${idle} ms`)), idle);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => controller.abort(new TransferInterrupted(`no data for ${idle} ms`)), idle);
  };
  const name = req.name ?? req.url;
  let fh: fs.promises.FileHandle | undefined;
  try {
    let res: Response;
    let first: Response;
    try {
      ({ res, first } = await request(
        req.url,
        // identity: byte offsets and sizes must be those of the file itself, not of a compressed transfer
        have > 0 ? { range: `bytes=${have}-`, 'accept-encoding': 'identity' } : { 'accept-encoding': 'identity' },
        opts,
        controller,
      ));
    } catch (e) {
      if (e instanceof UserError) throw e;
      if (controller.signal.aborted) throw new TransferInterrupted(`${name}: no answer within ${idle} ms`);
      if (isNetworkError(e)) throw unreachable(req.url, e, opts.offlineHint);
      throw e;
    }
    const linked = first.headers.get('x-linked-etag') ?? res.headers.get('x-linked-etag') ?? '';
    const etagSha = linked.replace(/^W\//, '').replace(/"/g, '');
    const announcedSha = /^[0-9a-f]{64}$/.test(etagSha) ? etagSha : null;
    const commit = first.headers.get('x-repo-commit') ?? res.headers.get('x-repo-commit');
    const linkedSize = Number(first.headers.get('x-linked-size') ?? NaN);

    let append: boolean;
    let total: number | null;
    if (res.status === 206) {
      const m = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        // Not the range we asked for: start over.
        await res.body?.cancel().catch(() => undefined);
        fs.rmSync(part, { force: true });
        throw new TransferInterrupted(`${name}: the server answered an unexpected range; starting over`);
      }
      append = true;
      total = m[3] === '*' ? null : Number(m[3]);
    } else if (res.status === 416 && have > 0) {
      // Nothing left to send: the part already holds the whole file (checked by the caller).
      await res.body?.cancel().catch(() => undefined);
      const m = /bytes \*\/(\d+)/.exec(res.headers.get('content-range') ?? '');
      return { total: m ? Number(m[1]) : have, announcedSha, commit };
    } else if (res.ok) {
      append = false; // a full answer (the server ignored the range, or there was nothing to resume)
      const len = Number(res.headers.get('content-length') ?? NaN);
      total = Number.isFinite(len) ? len : Number.isFinite(linkedSize) ? linkedSize : null;
    } else {
      await res.body?.cancel().catch(() => undefined);
      // overloaded or failing for a moment: worth another attempt
      if (res.status === 429 || res.status >= 500) throw new TransferInterrupted(`${name}: HTTP ${res.status} ${res.statusText}`.trim());
      throw httpError(req.url, res.status, res.statusText, name);
    }

    if (total !== null && bar.total <= 0) bar.total = total;
    fh = await fs.promises.open(part, append ? 'a' : 'w');
    let done = append ? have : 0;
    bar.update(done);
    if (!res.body) throw new TransferInterrupted(`${name}: empty response body`);
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        kick();
        await fh.write(chunk);
        done += chunk.length;
        bar.update(done);
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new TransferInterrupted(`${name}: the connection broke after ${done} bytes (${causeCode(e) ?? (e as Error).message})`);
    }
    if (total !== null && done < total) {
      throw new TransferInterrupted(`${name}: the transfer stopped after ${done} of ${total} bytes`);
    }
    return { total, announcedSha, commit };
  } finally {
    clearTimeout(timer);
    await fh?.close();
  }
}

/**
 * Downloads `req.url` to `req.dest` through `<dest>.part`, resuming a part left by an earlier attempt,
 * retrying interrupted transfers, then checking size and SHA-256 before the rename. Never leaves a
 * final file that failed its check.
 */
export async function downloadFile(req: DownloadRequest, opts: HubOptions = {}): Promise<DownloadResult> {
  const part = `${req.dest}.part`;
  makeDirs(path.dirname(req.dest), 'download', req.dest);
  const name = req.name ?? req.url;
  const resumedFrom = sizeOf(part);
  const retries = opts.retries ?? 3;
  const state = { total: req.bytes ?? -1, bar: null as ReturnType<typeof progressBar> | null };
  const mb = (n: number) => Math.max(1, Math.ceil(n / 1e6));
  const bar = {
    get total() {
      return state.total;
    },
    set total(v: number) {
      state.total = v;
    },
    update(done: number) {
      if (!state.bar && state.total > 0) state.bar = progressBar(opts.label ?? name, mb(state.total), 'MB');
      state.bar?.update(Math.min(mb(state.total), Math.floor(done / 1e6)));
    },
  };
  let result: { total: number | null; announcedSha: string | null; commit: string | null } | undefined;
  try {
    for (let i = 0; ; i++) {
      try {
        result = await attempt(req, part, opts, bar);
        break;
      } catch (e) {
        if (!(e instanceof TransferInterrupted) || i >= retries) {
          if (e instanceof TransferInterrupted) {
            throw new UserError(`${e.message}; ${sizeOf(part)} bytes kept in ${part}: run the same command again to resume`);
          }
          throw e;
        }
        await new Promise((r) => setTimeout(r, opts.retryDelayMs ?? 1000));
      }
    }
  } finally {
    state.bar?.stop();
  }
  const got = sizeOf(part);
  const wantBytes = req.bytes ?? result.total;
  if (wantBytes !== null && wantBytes !== undefined && got !== wantBytes) {
    if (got > wantBytes) fs.rmSync(part, { force: true });
    throw new UserError(`${name}: size ${got} bytes, expected ${wantBytes}${got > wantBytes ? ' (the partial file was removed)' : ''}`);
  }
  const sha = await sha256File(part);
  const want = req.sha256 ?? result.announcedSha;
  if (want && sha !== want) {
    fs.rmSync(part, { force: true });
    throw new UserError(`${name}: checksum mismatch: sha256 ${sha}, expected ${want} (the download was removed; run again to download it afresh)`);
  }
  fs.renameSync(part, req.dest);
  return { bytes: got, sha256: sha, checked: Boolean(want), commit: result.commit, resumedFrom };
}
