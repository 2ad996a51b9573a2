import { cString, errnoError, loadLibc } from './libc.js';

/**
 * Times to the nanosecond, through the optional `koffi` package (a foreign
 * function interface that ships prebuilt binaries, so it installs without
 * running a build): futimens(2) and utimensat(2) of the C library, called
 * with the exact timespec. Node's own futimes/lutimes take seconds as a
 * double and libuv keeps whole microseconds (metadata.ts `seconds`), which is
 * the fallback when koffi is not installed or the C library is not found.
 */

type Timespec = { sec: bigint; nsec: number };

export interface NsTimes {
  /** Sets atime and mtime of an open file; throws an Error with `code` (ENOENT, ...) on failure. */
  futimens(fd: number, atime: Timespec, mtime: Timespec): void;
  /** The same for a path, not following a symlink (AT_SYMLINK_NOFOLLOW). */
  lutimens(path: Buffer, atime: Timespec, mtime: Timespec): void;
}

/** <fcntl.h> on Linux: the current directory as dirfd, and "do not follow a final symlink". */
const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

let loaded: Promise<NsTimes | string> | null = null;

/** The C library's futimens and utimensat through koffi, or why they cannot be had (looked for once, on first use). */
export function loadNsTimes(): Promise<NsTimes | string> {
  return (loaded ??= bind());
}

async function bind(): Promise<NsTimes | string> {
  const libc = await loadLibc();
  if (typeof libc === 'string') return libc;
  const k = libc.koffi;
  try {
    // Two struct timespec on 64-bit Linux (time_t and long, both 64 bits), passed as the bytes of
    // one reused array: koffi passes a typed array as a pointer without building a struct from an
    // object per call (a few microseconds, once per file written).
    const futimens = libc.func('int futimens(int fd, const uint8_t *times)');
    const utimensat = libc.func('int utimensat(int dirfd, const uint8_t *path, const uint8_t *times, int flags)');
    const times = new BigInt64Array(4);
    const bytes = new Uint8Array(times.buffer);
    const pair = (a: Timespec, m: Timespec) => {
      // A typed array is in the machine's byte order, as the C library reads it.
      times[0] = a.sec;
      times[1] = BigInt(clampNsec(a.nsec));
      times[2] = m.sec;
      times[3] = BigInt(clampNsec(m.nsec));
      return bytes;
    };
    const check = (r: number, call: string) => {
      if (r !== 0) throw errnoError(k.errno(), call);
    };
    return {
      futimens: (fd, a, m) => check(futimens(fd, pair(a, m)), 'futimens'),
      lutimens: (path, a, m) => check(utimensat(AT_FDCWD, cString(path), pair(a, m), AT_SYMLINK_NOFOLLOW), 'utimensat'),
    };
  } catch (e) {
    return `koffi could not bind futimens/utimensat (${(e as Error).message.split('\n')[0]})`;
  }
}

/** An on-disk nsec past 999,999,999 is damage: the kernel would refuse it (EINVAL), so it is clamped. */
function clampNsec(n: number): number {
  return Math.min(Math.max(n, 0), 999_999_999);
}
