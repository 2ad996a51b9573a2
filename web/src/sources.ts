import { SourceError, type ByteSource } from '../../src/io/ByteSource.js';
import { SparseSource } from '../../src/io/SparseSource.js';
import { gunzipSync } from 'fflate';

/**
 * Byte sources of the browser. The core reads synchronously (ByteSource.read),
 * so these run inside the Web Worker, where synchronous reads exist:
 * FileReaderSync for a picked File, synchronous XMLHttpRequest for the
 * ranges `btrfs-inspect serve` hands out. Both read lazily, a chunk at a time.
 */

/** Reads [offset, offset + length) of the medium; fewer bytes only at its end. */
type RangeReader = (offset: number, length: number) => Uint8Array;

/** Cache granularity: a tree block (nodesize up to 64 KiB) is one chunk, never two requests. */
const CHUNK = 64 * 1024;
/** Chunks kept (16 MiB): the upper tree levels, walked again and again, stay cached. */
const MAX_CHUNKS = 256;
/** Reads this large (file data) go to the medium in one piece, past the cache. */
const DIRECT = 4 * CHUNK;

/** A medium read in aligned chunks, the most recently used ones kept. */
export class ChunkedSource implements ByteSource {
  private readonly cache = new Map<number, Uint8Array>();
  private readonly end: number;

  constructor(readonly name: string, readonly size: bigint, private readonly readRange: RangeReader) {
    this.end = Number(size);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const start = Number(offset);
    const stop = Math.min(this.end, start + length);
    if (stop - start >= DIRECT) return this.readRange(start, stop - start);
    const out = new Uint8Array(stop - start);
    for (let pos = start; pos < stop;) {
      const base = pos - (pos % CHUNK);
      const chunk = this.chunk(base);
      const from = pos - base;
      const n = Math.min(chunk.length - from, stop - pos);
      if (n <= 0) return out.subarray(0, pos - start);
      out.set(chunk.subarray(from, from + n), pos - start);
      pos += n;
    }
    return out;
  }

  private chunk(base: number): Uint8Array {
    const hit = this.cache.get(base);
    if (hit) {
      this.cache.delete(base);
      this.cache.set(base, hit);
      return hit;
    }
    const bytes = this.readRange(base, Math.min(CHUNK, this.end - base));
    this.cache.set(base, bytes);
    if (this.cache.size > MAX_CHUNKS) this.cache.delete(this.cache.keys().next().value!);
    return bytes;
  }
}

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
  return new ChunkedSource(name, size, readRange);
}
