/**
 * A local stand-in for the Hugging Face Hub on 127.0.0.1 (an ephemeral port): the tree API, `resolve`
 * URLs that redirect to a CDN path with the Hub's headers (X-Linked-Etag = the file's sha256,
 * X-Repo-Commit), byte ranges, and failure modes a test switches on per file: cut the connection halfway
 * once, serve corrupted bytes, ignore Range. With `separateCdn` the CDN answers on a second port, as the
 * real Hub redirects to another host.
 */
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export const COMMIT = 'c0ffee0000000000000000000000000000000000';

export interface HubFile {
  bytes: Uint8Array;
  /** Announced in the tree listing and X-Linked-Etag (default: the bytes' real sha256). */
  sha256?: string;
}

export interface FakeHub {
  url: string;
  /** The CDN's origin (the hub's own unless `separateCdn`). */
  cdnUrl: string;
  /** Every request: which server took it, its path, Range and Authorization headers. */
  log: Array<{ server: 'hub' | 'cdn'; path: string; range: string | null; authorization: string | null }>;
  /** Files (by path) whose next full transfer stops after this many bytes. */
  cutOnce: Map<string, number>;
  /** Files served with one byte flipped. */
  corrupt: Set<string>;
  /** Files for which Range is ignored (a full 200 answer). */
  noRange: Set<string>;
  /** Files whose next transfer is answered with this HTTP status instead. */
  failOnce: Map<string, number>;
  close(): Promise<void>;
}

export function sha256(b: Uint8Array): string {
  return crypto.createHash('sha256').update(b).digest('hex');
}

/** Serves `files` of one repository (`repo`, `repoType`, revision `main`). */
export async function startFakeHub(repo: string, repoType: 'dataset' | 'model', files: Record<string, HubFile>, opts: { separateCdn?: boolean } = {}): Promise<FakeHub> {
  const log: FakeHub['log'] = [];
  const cutOnce = new Map<string, number>();
  const corrupt = new Set<string>();
  const noRange = new Set<string>();
  const failOnce = new Map<string, number>();
  const prefix = repoType === 'dataset' ? `/datasets/${repo}` : `/${repo}`;
  const api = `/api/${repoType === 'dataset' ? 'datasets' : 'models'}/${repo}/tree/main`;
  const announced = (p: string) => files[p].sha256 ?? sha256(files[p].bytes);
  let cdnOrigin = '';
  const handler = (server: 'hub' | 'cdn') => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const u = new URL(req.url ?? '/', 'http://x');
    log.push({ server, path: u.pathname, range: (req.headers.range as string | undefined) ?? null, authorization: req.headers.authorization ?? null });
    if (u.pathname === api) {
      const list = Object.entries(files).map(([p, f]) => ({ type: 'file', path: p, size: f.bytes.length, lfs: { oid: announced(p), size: f.bytes.length } }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(list));
      return;
    }
    const resolve = `${prefix}/resolve/main/`;
    if (u.pathname.startsWith(resolve)) {
      const p = decodeURIComponent(u.pathname.slice(resolve.length));
      if (!files[p]) {
        res.writeHead(404, { 'x-error-code': 'EntryNotFound' });
        res.end('Entry not found');
        return;
      }
      res.writeHead(302, { location: `${cdnOrigin}/cdn/${encodeURIComponent(p)}`, 'x-linked-etag': `"${announced(p)}"`, 'x-repo-commit': COMMIT, 'x-linked-size': String(files[p].bytes.length) });
      res.end();
      return;
    }
    if (u.pathname.startsWith('/cdn/')) {
      const p = decodeURIComponent(u.pathname.slice(5));
      const f = files[p];
      if (!f) {
        res.writeHead(404);
        res.end();
        return;
      }
      const status = failOnce.get(p);
      if (status !== undefined) {
        failOnce.delete(p);
        res.writeHead(status);
        res.end('try later');
        return;
      }
      let body = Buffer.from(f.bytes);
      if (corrupt.has(p)) {
        body = Buffer.from(body);
        body[body.length >> 1] ^= 0xff;
      }
      const m = /^bytes=(\d+)-$/.exec((req.headers.range as string | undefined) ?? '');
      if (m && !noRange.has(p)) {
        const start = Number(m[1]);
        if (start >= body.length) {
          res.writeHead(416, { 'content-range': `bytes */${body.length}` });
          res.end();
          return;
        }
        res.writeHead(206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'content-length': String(body.length - start) });
        res.end(body.subarray(start));
        return;
      }
      const cut = cutOnce.get(p);
      res.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes' });
      if (cut !== undefined) {
        cutOnce.delete(p);
        // The first `cut` bytes, then the end of the connection (FIN, after them: TCP delivers both in
        // order), short of content-length: the client sees exactly `cut` bytes and then a premature close.
        res.write(body.subarray(0, cut));
        res.socket?.end();
        return;
      }
      res.end(body);
      return;
    }
    res.writeHead(404);
    res.end();
  };
  const listen = async (s: http.Server) => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  };
  const servers = [http.createServer(handler('hub'))];
  const url = await listen(servers[0]);
  if (opts.separateCdn) {
    servers.push(http.createServer(handler('cdn')));
    cdnOrigin = await listen(servers[1]);
  }
  return {
    url,
    cdnUrl: cdnOrigin || url,
    log,
    cutOnce,
    corrupt,
    noRange,
    failOnce,
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
