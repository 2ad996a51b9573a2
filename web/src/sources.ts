import { gunzipSync } from 'fflate';
import { type ByteSource, SourceError } from '../../src/io/ByteSource.js';
import { SparseSource } from '../../src/io/SparseSource.js';
import { type BatchReader, ChunkedSource, type RangeReader } from './chunked.js';

/**
 * Byte sources of the browser. The core reads synchronously (ByteSource.read),
 * so these run inside the Web Worker, where synchronous reads exist:
 * FileReaderSync for a picked File, synchronous XMLHttpRequest for the
 * ranges `btrfs-inspect serve` hands out. Both read lazily, a chunk at a time.
 */

/** A File picked or dropped by the user, read lazily with File.slice (nothing leaves the machine). */
export function fileSource(file: File): ByteSource {
  const reader = new FileReaderSync();
  return new ChunkedSource(file.name, BigInt(file.size), (offset, length) => new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, offset + length))));
}

/** Whether a picked file is the samples' sparse "runs" form (read whole, then decoded). */
export function isRunsName(name: string): boolean {
  return /\.runs(\.gz)?$/.test(name);
}

/** A `*.runs.gz` / `*.runs` image: small by design (sample images), so read whole and inflated here. */
export function runsFileSource(file: File): ByteSource {
  const raw = new Uint8Array(new FileReaderSync().readAsArrayBuffer(file));
  const data = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  return SparseSource.fromRunsFormat(data, file.name);
}

/**
 * One device served by `btrfs-inspect serve`: GET with a Range header, answered
 * 206 with Content-Range. A server may send less than asked (it caps one
 * response): the rest is asked for again.
 */
export function httpSource(url: string, name: string, size: bigint): ByteSource {
  const readRange: RangeReader = (offset, length) => {
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const x = new XMLHttpRequest();
      x.open('GET', url, false);
      x.responseType = 'arraybuffer';
      x.setRequestHeader('Range', `bytes=${offset + got}-${offset + length - 1}`);
      try {
        x.send();
      } catch (e) {
        throw new SourceError(name, BigInt(offset + got), `cannot reach the server (${(e as Error).message}); is "btrfs-inspect serve" still running?`);
      }
      if (x.status === 416) break;
      if (x.status !== 206) throw new SourceError(name, BigInt(offset + got), `the server answered ${x.status} ${x.statusText}`);
      const chunk = new Uint8Array(x.response as ArrayBuffer);
      if (chunk.length === 0) break;
      out.set(chunk.subarray(0, length - got), got);
      got += chunk.length;
    }
    return got < length ? out.subarray(0, got) : out;
  };
  const readBatch: BatchReader = (ranges) => {
    const x = new XMLHttpRequest();
    const u = new URL(url);
    u.pathname += '/ranges';
    u.searchParams.set('at', ranges.map((r) => `${r.offset}:${r.length}`).join(','));
    x.open('GET', u.href, false);
    x.responseType = 'arraybuffer';
    x.send();
    if (x.status !== 200) throw new SourceError(name, BigInt(ranges[0]?.offset ?? 0), `the server answered ${x.status} ${x.statusText}`);
    const body = new Uint8Array(x.response as ArrayBuffer);
    const lengths = (x.getResponseHeader('X-Range-Lengths') ?? '').split(',').map(Number);
    const out: Uint8Array[] = [];
    let at = 0;
    for (const n of lengths) {
      // A copy each: a chunk kept in the cache must not keep the whole batch's buffer alive.
      out.push(body.slice(at, at + n));
      at += n;
    }
    return out;
  };
  return new ChunkedSource(name, size, readRange, readBatch);
}
