import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import type { ByteSource } from '../../io/ByteSource.js';
import { parseRange } from './range.js';

/**
 * The most one range response carries; the app asks again for the rest (web/src/sources.ts).
 * 16 MiB: the forensics scan reads every metadata copy in windows this large, one round trip each.
 */
const MAX_RESPONSE = 16 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
};

export interface ServeOptions {
  /** The built app (dist/web): index.html and assets/. */
  appDir: string;
  /** The devices, in the order the CLI was given them. */
  sources: ByteSource[];
  /** 0: a free port. */
  port: number;
}

export interface Serving {
  server: Server;
  port: number;
  token: string;
  /** The address to open: the app, with the token that lets it read the devices. */
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the app and the devices' bytes on 127.0.0.1 only. Reading the bytes
 * (/api/images, /image/N) needs the random token of the printed URL; a
 * request naming another host (DNS rebinding) is refused. The sources are
 * only ever read.
 */
export function serve(opts: ServeOptions): Promise<Serving> {
  const token = randomBytes(24).toString('base64url');
  const tokenBytes = Buffer.from(token);
  let port = opts.port;
  const hasToken = (u: URL) => {
    const t = Buffer.from(u.searchParams.get('token') ?? '');
    return t.length === tokenBytes.length && timingSafeEqual(t, tokenBytes);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return fail(res, 403, 'this server answers requests for 127.0.0.1 only');
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(res, 405, 'read-only server: GET and HEAD only');
    const u = new URL(req.url ?? '/', `http://${host}`);
    if (u.pathname === '/api/images') {
      if (!hasToken(u)) return fail(res, 403, 'missing or wrong token: open the URL that "btrfs-inspect serve" printed');
      return send(res, 200, 'application/json', Buffer.from(JSON.stringify(opts.sources.map((s) => ({ name: s.name, size: String(s.size) })))), req.method === 'HEAD', true);
    }
    const image = /^\/image\/(\d+)(\/ranges)?$/.exec(u.pathname);
    if (image) {
      if (!hasToken(u)) return fail(res, 403, 'missing or wrong token: open the URL that "btrfs-inspect serve" printed');
      const src = opts.sources[Number(image[1])];
      if (!src) return fail(res, 404, `no device ${image[1]} (devices: 0 to ${opts.sources.length - 1})`);
      return image[2] ? sendRanges(u, req, res, src) : sendRange(req, res, src);
    }
    const file = u.pathname === '/' ? 'index.html' : u.pathname.slice(1);
    // Only the app's own files: names of letters, digits, dots, dashes, one folder deep, never "..".
    if (!/^(assets\/)?[\w-]+(\.[\w-]+)*$/.test(file)) return fail(res, 404, 'not found');
    const path = join(opts.appDir, file);
    if (!existsSync(path)) return fail(res, 404, 'not found');
    res.setHeader('Content-Security-Policy', "default-src 'self'; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; worker-src 'self'; connect-src 'self'");
    return send(res, 200, TYPES[extname(path)] ?? 'application/octet-stream', readFileSync(path), req.method === 'HEAD', file === 'index.html');
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      // A read error of the medium: said to the app (it shows it with the device and offset).
      if (!res.headersSent) fail(res, 500, (e as Error).message);
      else res.destroy();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => {
      server.off('error', reject);
      const a = server.address();
      port = typeof a === 'object' && a ? a.port : opts.port;
      resolve({
        server,
        port,
        token,
        url: `http://127.0.0.1:${port}/?token=${token}#/overview`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function sendRange(req: IncomingMessage, res: ServerResponse, src: ByteSource): void {
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-store');
  const r = parseRange(req.headers.range, src.size);
  if (r === 'unsatisfiable' || src.size === 0n) {
    res.setHeader('Content-Range', `bytes */${src.size}`);
    fail(res, 416, `one range within 0-${src.size - 1n} expected`);
    return;
  }
  // Without a Range header: the start of the device (at most one response's worth), as a 206 that says so.
  const start = r?.start ?? 0n;
  const want = (r?.end ?? src.size - 1n) - start + 1n;
  const length = want > BigInt(MAX_RESPONSE) ? MAX_RESPONSE : Number(want);
  const bytes = length > 0 ? src.read(start, length) : new Uint8Array(0);
  res.setHeader('Content-Range', `bytes ${start}-${start + BigInt(bytes.length) - 1n}/${src.size}`);
  send(res, 206, 'application/octet-stream', bytes, req.method === 'HEAD', true);
}

/** Most ranges one /ranges request may name. */
const MAX_RANGES = 256;

/**
 * Several ranges in one answer (/image/N/ranges?at=OFFSET:LENGTH,...): the web app's worker reads
 * synchronously, one request at a time, so the blocks of a tree level it will read next come in
 * one round trip instead of one each. The body is the ranges' bytes one after another, each cut
 * at the device's end; X-Range-Lengths says how many bytes each got. At most MAX_RANGES ranges
 * and MAX_RESPONSE bytes in all, else 400 (the app then reads them one by one).
 */
function sendRanges(u: URL, req: IncomingMessage, res: ServerResponse, src: ByteSource): void {
  const at = u.searchParams.get('at') ?? '';
  const ranges: { offset: bigint; length: number }[] = [];
  let total = 0;
  for (const part of at.split(',')) {
    const m = /^(\d{1,20}):(\d{1,10})$/.exec(part);
    if (!m) {
      fail(res, 400, `ranges expected as at=OFFSET:LENGTH,... (got "${part}")`);
      return;
    }
    const offset = BigInt(m[1]!);
    const want = Number(m[2]!);
    const length = offset >= src.size ? 0 : Number(src.size - offset < BigInt(want) ? src.size - offset : BigInt(want));
    total += length;
    ranges.push({ offset, length });
    if (ranges.length > MAX_RANGES || total > MAX_RESPONSE) {
      fail(res, 400, `at most ${MAX_RANGES} ranges and ${MAX_RESPONSE} bytes in one request`);
      return;
    }
  }
  const parts = ranges.map((r) => (r.length > 0 ? src.read(r.offset, r.length) : new Uint8Array(0)));
  const body = Buffer.concat(parts);
  res.setHeader('X-Range-Lengths', parts.map((p) => p.length).join(','));
  send(res, 200, 'application/octet-stream', body, req.method === 'HEAD', true);
}

function send(res: ServerResponse, status: number, type: string, body: Uint8Array, head: boolean, noStore: boolean): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.setHeader('Content-Length', body.length);
  if (noStore) res.setHeader('Cache-Control', 'no-store');
  res.end(head ? undefined : body);
}

function fail(res: ServerResponse, status: number, message: string): void {
  send(res, status, 'text/plain; charset=utf-8', Buffer.from(`${message}\n`), false, true);
}
