import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { SparseSource } from '../SparseSource.js';
import { describeSystemError, FileOpenError, OPEN_FLAGS } from './FileSource.js';

/**
 * Default cap on the decompressed size of a runs image (its non-zero bytes plus index): 256 MiB.
 * The whole image is held in memory, and every command stays within 512 MiB, so a 1 MiB gzip
 * that inflates to gigabytes is refused (the largest sample, 17 MiB, is far below it).
 */
export const DEFAULT_MAX_RUNS_BYTES = 256 << 20;

export interface LoadRunsOptions {
  /** Refuse images whose decompressed form is larger than this many bytes. */
  maxBytes?: number;
  /** What to call the source in messages; the path by default. */
  name?: string;
}

/**
 * Loads a "btrfs-corpus-runs 1" image (`*.runs.gz`, or uncompressed `*.runs`)
 * into a SparseSource. The file is read, never written. Decompression is
 * capped (1 GiB by default) so that a hostile gzip cannot exhaust memory.
 * Every failure is a FileOpenError naming the path.
 */
export function loadRunsImage(path: string, options: LoadRunsOptions = {}): SparseSource {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_RUNS_BYTES;
  const name = options.name ?? path;
  let raw: Buffer;
  let fd: number;
  try {
    fd = fs.openSync(path, OPEN_FLAGS);
  } catch (e) {
    throw new FileOpenError(path, `cannot open: ${describeSystemError(e)}`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) throw new FileOpenError(path, 'is a directory, not an image or device', 'EISDIR');
    if (!st.isFile()) throw new FileOpenError(path, 'a runs image must be a regular file');
    if (st.size > maxBytes) throw new FileOpenError(path, `runs image file is ${st.size} bytes, over the ${maxBytes}-byte limit`);
    raw = fs.readFileSync(fd);
  } catch (e) {
    if (e instanceof FileOpenError) throw e;
    throw new FileOpenError(path, `cannot read: ${describeSystemError(e)}`);
  } finally {
    fs.closeSync(fd);
  }

  let data: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      data = zlib.gunzipSync(raw, { maxOutputLength: maxBytes });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
        throw new FileOpenError(path, `runs image decompresses to more than ${maxBytes} bytes; refused`);
      }
      throw new FileOpenError(path, `not a valid gzip file (${(e as Error).message})`);
    }
  }
  try {
    return SparseSource.fromRunsFormat(data, name);
  } catch (e) {
    const msg = (e as Error).message;
    throw new FileOpenError(path, msg.startsWith(`${name}: `) ? msg.slice(name.length + 2) : `malformed runs image: ${msg}`);
  }
}
