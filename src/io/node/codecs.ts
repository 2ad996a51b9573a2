import * as zlib from 'node:zlib';
import { CodecError, type ContainerCodecs, defaultCodecs } from '../containers/codecs.js';
import { type InflateKind, InflatePool } from './inflatePool.js';

/**
 * maxOutputLength makes zlib stop (ERR_BUFFER_TOO_LARGE) rather than allocate past the bound; an
 * output chunk of the whole size is filled in place (the default 16 KiB chunks are joined by a
 * copy: a 64 KiB qcow2 cluster inflated in 0.049 ms rather than 0.094 here).
 */
function zlibOptions(size: number): zlib.ZlibOptions {
  return { maxOutputLength: size, chunkSize: Math.max(size, zlib.constants.Z_MIN_CHUNK), finishFlush: zlib.constants.Z_SYNC_FLUSH };
}

/** zlib's error, or its output of the wrong size, as the CodecError the sync and async paths share. */
function codecError(e: unknown, what: string, size: number): CodecError {
  if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return new CodecError(`${what} data inflates beyond ${size} bytes`);
  return new CodecError(`${what} data is not valid (${(e as Error).message})`);
}

function exact(out: Buffer, size: number, what: string): Uint8Array {
  if (out.length !== size) throw new CodecError(`${what} data inflates to ${out.length} bytes, not ${size}`);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

function bounded(inflate: (b: Uint8Array, o: zlib.ZlibOptions) => Buffer, what: string) {
  return (input: Uint8Array, size: number): Uint8Array => {
    let out: Buffer;
    try {
      out = inflate(input, zlibOptions(size));
    } catch (e) {
      throw codecError(e, what, size);
    }
    return exact(out, size, what);
  };
}

/** The same, on this thread's inflate worker (batched: InflatePool): the calling thread is free while it inflates. */
function boundedAsync(kind: InflateKind, what: string) {
  return async (input: Uint8Array, size: number): Promise<Uint8Array> => {
    let out: Uint8Array;
    try {
      out = await inflatePool().inflate(kind, input, zlibOptions(size));
    } catch (e) {
      throw codecError(e, what, size);
    }
    if (out.length !== size) throw new CodecError(`${what} data inflates to ${out.length} bytes, not ${size}`);
    return out;
  };
}

let pool: InflatePool | undefined;
/** This thread's inflate worker, started on first use. */
function inflatePool(): InflatePool {
  pool ??= new InflatePool();
  return pool;
}

/** Node's zlib for deflate (faster than fflate; also on a worker thread, for decoding ahead); zstd stays with fzstd (Node 20 has none). */
export const nodeCodecs: ContainerCodecs = {
  inflateRaw: bounded(zlib.inflateRawSync, 'deflate'),
  inflateZlib: bounded(zlib.inflateSync, 'zlib'),
  zstd: defaultCodecs.zstd,
  async: {
    inflateRaw: boundedAsync('inflateRawSync', 'deflate'),
    inflateZlib: boundedAsync('inflateSync', 'zlib'),
  },
};
