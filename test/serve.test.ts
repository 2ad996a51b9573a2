import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRange } from '../src/cli/serve/range.js';
import { type Serving, serve } from '../src/cli/serve/server.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { cli } from './helpers/cli.js';

describe('parseRange (RFC 9110 byte ranges)', () => {
  it('reads the three forms, clamps the end, refuses what cannot be served', () => {
    expect(parseRange(undefined, 100n)).toBeNull();
    expect(parseRange('bytes=0-9', 100n)).toEqual({ start: 0n, end: 9n });
    expect(parseRange('bytes=90-', 100n)).toEqual({ start: 90n, end: 99n });
    expect(parseRange('bytes=90-200', 100n)).toEqual({ start: 90n, end: 99n });
    expect(parseRange('bytes=-10', 100n)).toEqual({ start: 90n, end: 99n });
    expect(parseRange('bytes=-500', 100n)).toEqual({ start: 0n, end: 99n });
    // Past 2^53: exact.
    expect(parseRange('bytes=18014398509481985-18014398509481990', 18014398509482000n)).toEqual({ start: 18014398509481985n, end: 18014398509481990n });
    for (const bad of ['bytes=100-', 'bytes=5-4', 'bytes=-0', 'bytes=-', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b']) expect(parseRange(bad, 100n), bad).toBe('unsatisfiable');
  });
});

/** One request to the server: status, headers, body. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('serve: the HTTP side', () => {
  // 20 MiB of a known pattern: byte i is (i * 7 + (i >> 16)) & 255, so any window is checkable.
  const SIZE = 20 * 1024 * 1024;
  const bytes = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 7 + (i >> 16)) & 255;
  let app: string;
  let s: Serving;

  beforeAll(async () => {
    app = mkdtempSync(join(tmpdir(), 'btrfs-inspect-app-'));
    writeFileSync(join(app, 'index.html'), '<!doctype html><title>app</title>');
    s = await serve({ appDir: app, sources: [new MemorySource(bytes, 'disk.img')], port: 0 });
  });
  afterAll(async () => {
    await s.close();
    rmSync(app, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 and prints a URL with a long random token', () => {
    expect(s.url).toBe(`http://127.0.0.1:${s.port}/?token=${s.token}#/overview`);
    expect(s.token.length).toBeGreaterThanOrEqual(32);
    expect(s.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('serves byte ranges of the device with the token, exactly', async () => {
    const r = await get(s.port, `/image/0?token=${s.token}`, { range: 'bytes=65536-70000' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 65536-70000/${SIZE}`);
    expect(Buffer.compare(r.body, Buffer.from(bytes.subarray(65536, 70001)))).toBe(0);
    const list = await get(s.port, `/api/images?token=${s.token}`);
    expect(JSON.parse(list.body.toString())).toEqual([{ name: 'disk.img', size: String(SIZE) }]);
  });

  it('caps one response at 16 MiB and says so in Content-Range (the app asks again for the rest)', async () => {
    const r = await get(s.port, `/image/0?token=${s.token}`, { range: 'bytes=1-' });
    expect(r.status).toBe(206);
    expect(r.body.length).toBe(16 * 1024 * 1024);
    expect(r.headers['content-range']).toBe(`bytes 1-${16 * 1024 * 1024}/${SIZE}`);
    expect(r.body[12345]).toBe(bytes[12346]);
  });

  it('serves several ranges in one answer (/ranges), each cut at the end, with their lengths', async () => {
    const at = [
      [65536, 16384],
      [5, 3],
      [SIZE - 100, 65536],
      [SIZE + 10, 4096],
    ];
    const r = await get(s.port, `/image/0/ranges?token=${s.token}&at=${at.map(([o, l]) => `${o}:${l}`).join(',')}`);
    expect(r.status).toBe(200);
    expect(r.headers['x-range-lengths']).toBe('16384,3,100,0');
    const want = Buffer.concat([bytes.subarray(65536, 65536 + 16384), bytes.subarray(5, 8), bytes.subarray(SIZE - 100)]);
    expect(Buffer.compare(r.body, want)).toBe(0);
    // Without the token, a malformed list, too many ranges or too many bytes: refused, nothing read.
    expect((await get(s.port, '/image/0/ranges?at=0:16')).status).toBe(403);
    expect((await get(s.port, `/image/0/ranges?token=${s.token}&at=0-16`)).status).toBe(400);
    expect((await get(s.port, `/image/0/ranges?token=${s.token}`)).status).toBe(400);
    expect((await get(s.port, `/image/0/ranges?token=${s.token}&at=${Array.from({ length: 257 }, () => '0:1').join(',')}`)).status).toBe(400);
    expect((await get(s.port, `/image/0/ranges?token=${s.token}&at=0:16777216,0:1`)).status).toBe(400);
  });

  it('refuses the bytes without the token, another Host, a range past the end, writes, and paths outside the app', async () => {
    expect((await get(s.port, '/image/0', { range: 'bytes=0-1' })).status).toBe(403);
    expect((await get(s.port, `/image/0?token=${s.token}x`, { range: 'bytes=0-1' })).status).toBe(403);
    expect((await get(s.port, '/api/images')).status).toBe(403);
    expect((await get(s.port, `/image/0?token=${s.token}`, { host: 'attacker.example:80' })).status).toBe(403);
    const past = await get(s.port, `/image/0?token=${s.token}`, { range: `bytes=${SIZE}-` });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${SIZE}`);
    expect((await get(s.port, `/image/1?token=${s.token}`)).status).toBe(404);
    expect((await get(s.port, '/', {}, 'POST')).status).toBe(405);
    expect((await get(s.port, '/../package.json')).status).toBe(404);
    expect((await get(s.port, '/assets/%2e%2e%2fpackage.json')).status).toBe(404);
    const page = await get(s.port, '/');
    expect(page.status).toBe(200);
    expect(page.body.toString()).toContain('<title>app</title>');
  });
});

describe('serve: the command', () => {
  it('says what is wrong and exits 2 for a missing image or a bad port', async () => {
    const missing = await cli('serve', '/nonexistent.img');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent.img: no such file or device');
    const dir = mkdtempSync(join(tmpdir(), 'btrfs-inspect-serve-'));
    try {
      writeFileSync(join(dir, 'zeros.img'), new Uint8Array(1 << 20));
      const notBtrfs = await cli('serve', join(dir, 'zeros.img'));
      expect(notBtrfs.code).toBe(2);
      expect(notBtrfs.stderr).toMatch(/zeros\.img.*btrfs|btrfs.*zeros\.img/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const port = await cli('serve', '--demo', '--port', 'x');
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be a whole number');
  });
});
