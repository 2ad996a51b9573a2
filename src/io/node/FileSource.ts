import * as fs from 'node:fs';
import { type ByteSource, type PrefetchRange, SourceError } from '../ByteSource.js';

/**
 * A problem opening or sizing a file or device, before any data offset is
 * involved. A SourceError (so callers can treat all medium errors alike) whose
 * message is just "<path>: <what went wrong>".
 */
export class FileOpenError extends SourceError {
  constructor(
    source: string,
    message: string,
    readonly code?: string,
  ) {
    super(source, 0n, message);
    this.message = `${source}: ${message}`;
    this.name = 'SourceError';
  }
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or device',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory, not an image or device',
  ENOTDIR: 'a component of the path is not a directory',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  ENODEV: 'no such device',
  EBUSY: 'device or resource busy',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  EINVAL: 'invalid argument',
  ENOMEDIUM: 'no medium found',
  EOVERFLOW: 'value too large',
  EBADF: 'bad file descriptor',
};

/** "permission denied (EACCES)" for a Node system error, or its plain message. */
export function describeSystemError(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string') {
    const text = ERRNO_TEXT[err.code];
    if (text) return `${text} (${err.code})`;
    return `${err.code}: ${err.message.replace(/^[A-Z]+: /, '')}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function errnoCode(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Major and minor numbers of a Linux device number (glibc's encoding). */
export function deviceNumbers(rdev: bigint): { major: bigint; minor: bigint } {
  const major = ((rdev & 0xfff00n) >> 8n) | ((rdev & 0xfffff00000000000n) >> 32n);
  const minor = (rdev & 0xffn) | ((rdev & 0xffffff00000n) >> 12n);
  return { major, minor };
}

/** Size of a block device from sysfs (/sys/dev/block/M:m/size counts 512-byte sectors), or null. */
export function sysfsBlockDeviceSize(rdev: bigint): bigint | null {
  const { major, minor } = deviceNumbers(rdev);
  try {
    const text = fs.readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim();
    if (!/^\d+$/.test(text)) return null;
    return BigInt(text) * 512n;
  } catch {
    return null;
  }
}

/**
 * The size of something readable by probing: the smallest offset at which
 * `hasByte` is false, found by doubling then binary search (about 2 x 63
 * probes at most). `hasByte(o)` says whether a byte exists at offset o.
 */
export function sizeByProbing(hasByte: (offset: bigint) => boolean, limit = 1n << 62n): bigint {
  if (!hasByte(0n)) return 0n;
  // Invariant: a byte exists at lo; none at hi (or hi is the limit).
  let lo = 0n;
  let hi = 4096n;
  while (hi < limit && hasByte(hi)) {
    lo = hi;
    hi *= 2n;
  }
  if (hi >= limit) {
    hi = limit;
    if (hasByte(hi - 1n)) return limit;
  }
  while (hi - lo > 1n) {
    const mid = lo + (hi - lo) / 2n;
    if (hasByte(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}

/** O_DIRECT wants the offset, length and memory address aligned to the device's logical block; 4 KiB covers 512 and 4096. */
const DIRECT_ALIGN = 4096;

/** Largest single read handed to the OS (Linux caps a read at 0x7ffff000 bytes). */
const MAX_CHUNK = 1 << 30;

/**
 * Read-only, and non-blocking so that a FIFO (or a device that waits for a
 * peer) named as an image fails its type check instead of blocking open()
 * forever; regular files and block devices ignore O_NONBLOCK for reads.
 */
export const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK;

/**
 * A file or block device opened read-only. Reads are positional (pread), so
 * offsets beyond 4 GiB and 2^53 are exact.
 */
export class FileSource implements ByteSource {
  private fd: number | null;
  /** A second descriptor opened with O_DIRECT for direct read-ahead: undefined until first wanted, null when it cannot be had. */
  private directFd: number | null | undefined;
  /** A direct read was refused: the direct descriptor stays open (reads may still be running on it) but is not used again. */
  private directRefused = false;

  private constructor(
    fd: number,
    readonly path: string,
    readonly size: bigint,
    readonly kind: 'file' | 'block-device',
    readonly name: string,
  ) {
    this.fd = fd;
  }

  /**
   * Opens `path` read-only (O_RDONLY; no write flag is ever used). Regular
   * files and block devices are accepted. Throws a FileOpenError naming the
   * path (missing, permission denied, a directory ...).
   */
  static open(path: string, name: string = path): FileSource {
    let fd: number;
    try {
      fd = fs.openSync(path, OPEN_FLAGS);
    } catch (e) {
      throw new FileOpenError(path, `cannot open: ${describeSystemError(e)}`, errnoCode(e));
    }
    try {
      let st: fs.BigIntStats;
      try {
        st = fs.fstatSync(fd, { bigint: true });
      } catch (e) {
        throw new FileOpenError(path, `cannot stat: ${describeSystemError(e)}`, errnoCode(e));
      }
      if (st.isDirectory()) throw new FileOpenError(path, 'is a directory, not an image or device', 'EISDIR');
      if (st.isFile()) return new FileSource(fd, path, st.size, 'file', name);
      if (st.isBlockDevice()) {
        let size = st.size > 0n ? st.size : sysfsBlockDeviceSize(st.rdev);
        if (size === null) size = sizeByProbing((o) => probeByte(fd, o));
        return new FileSource(fd, path, size, 'block-device', name);
      }
      const what = st.isCharacterDevice() ? 'a character device' : st.isFIFO() ? 'a pipe' : st.isSocket() ? 'a socket' : 'not a regular file';
      throw new FileOpenError(path, `is ${what}; need an image file or a block device`);
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  /**
   * Reads `length` bytes at `offset`; fewer only at the end of the source.
   * Throws a SourceError (naming path and offset) when the medium fails.
   */
  read(offset: bigint, length: number): Uint8Array {
    if (this.fd === null) throw new SourceError(this.name, offset, 'read after close');
    if (offset < 0n || offset >= this.size || !(length > 0)) return new Uint8Array(0);
    const len = Number.isFinite(length) ? Math.floor(length) : Number.MAX_SAFE_INTEGER;
    const remain = this.size - offset;
    const n = BigInt(len) > remain ? Number(remain) : len;
    const out = new Uint8Array(n);
    const done = this.readAt(offset, out);
    return done === n ? out : out.subarray(0, done);
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (this.fd === null) throw new SourceError(this.name, offset, 'read after close');
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const remain = this.size - offset;
    return this.readAt(offset, BigInt(into.length) > remain ? into.subarray(0, Number(remain)) : into);
  }

  /** Fills `out` from `offset` (stopping early only at the end of the file); returns the bytes read. */
  private readAt(offset: bigint, out: Uint8Array): number {
    const n = out.length;
    let done = 0;
    let retries = 0;
    while (done < n) {
      const want = Math.min(n - done, MAX_CHUNK);
      let got: number;
      try {
        got = fs.readSync(this.fd!, out, done, want, offset + BigInt(done));
      } catch (e) {
        const code = errnoCode(e);
        if ((code === 'EINTR' || code === 'EAGAIN') && retries++ < 10) continue;
        throw new SourceError(this.name, offset + BigInt(done), `read of ${want} bytes failed: ${describeSystemError(e)}`);
      }
      if (got === 0) break; // end of file (it shrank, or the device is shorter than reported)
      done += got;
    }
    return done;
  }

  /**
   * Reads the ranges on libuv's thread pool. A range marked `direct` whose
   * offset and length are block-aligned is read with O_DIRECT (past the page
   * cache, straight into the caller's aligned memory) through a second
   * descriptor of the same path; when the file system or device refuses
   * direct reads (EINVAL), it and every later range are read through the cache.
   */
  prefetch(ranges: readonly PrefetchRange[]): void {
    for (const r of ranges) {
      const fd = this.fd;
      if (fd === null) {
        void Promise.resolve().then(() => r.done(new SourceError(this.name, r.offset, 'read after close'), 0, false));
        continue;
      }
      const remain = r.offset < 0n || r.offset >= this.size ? 0n : this.size - r.offset;
      const len = BigInt(r.into.length) > remain ? Number(remain) : r.into.length;
      const cached = () => fs.read(fd, r.into, 0, len, r.offset, (err, n) => r.done(err ? this.readError(err, r.offset, len) : null, err ? 0 : n, false));
      if (len === 0) {
        void Promise.resolve().then(() => r.done(null, 0, false));
        continue;
      }
      const dfd = r.direct && !this.directRefused && r.offset % BigInt(DIRECT_ALIGN) === 0n && len % DIRECT_ALIGN === 0 ? this.directDescriptor() : null;
      if (dfd === null) {
        cached();
        continue;
      }
      fs.read(dfd, r.into, 0, len, r.offset, (err, n) => {
        if (err?.code !== 'EINVAL') {
          r.done(err ? this.readError(err, r.offset, len) : null, err ? 0 : n, !err);
          return;
        }
        // This file system or device refuses direct reads (or this alignment): through the cache from now on.
        this.directRefused = true;
        if (this.fd === null) r.done(new SourceError(this.name, r.offset, 'read after close'), 0, false);
        else cached();
      });
    }
  }

  private readError(e: NodeJS.ErrnoException, offset: bigint, length: number): SourceError {
    return new SourceError(this.name, offset, `read of ${length} bytes failed: ${describeSystemError(e)}`);
  }

  /** The O_DIRECT descriptor of this path (read-only), opened when first wanted; null when it cannot be had. */
  private directDescriptor(): number | null {
    if (this.directFd !== undefined) return this.directFd;
    this.directFd = null;
    if (typeof fs.constants.O_DIRECT === 'number') {
      try {
        this.directFd = fs.openSync(this.path, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
      } catch {
        /* read through the cache */
      }
    }
    return this.directFd;
  }

  /** Closes the descriptor (and the direct one, if opened); later reads throw. Safe to call twice. */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    const d = this.directFd;
    this.directFd = null;
    if (typeof d === 'number') fs.closeSync(d);
    fs.closeSync(fd);
  }

  /** The open descriptor (for checks such as its access mode), or null once closed. */
  get descriptor(): number | null {
    return this.fd;
  }
}

function probeByte(fd: number, offset: bigint): boolean {
  const b = new Uint8Array(1);
  try {
    return fs.readSync(fd, b, 0, 1, offset) === 1;
  } catch (e) {
    // An unreadable sector still exists; anything else means "not there".
    return errnoCode(e) === 'EIO';
  }
}
