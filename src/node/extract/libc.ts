import { constants as osConstants } from 'node:os';

/**
 * The few C library calls Node does not offer, through the optional `koffi`
 * package (a foreign function interface). koffi's native part comes in a
 * per-platform package (@koromix/koffi-linux-x64, ...) with no install
 * script, so it loads on a default `npm install` of npm 11, which skips
 * dependency install scripts; koffi's own install script (a build fallback)
 * is denied in package.json `allowScripts` for that reason.
 *
 * Calls: futimens(2) and utimensat(2) with the exact timespec (nsTimes.ts),
 * fsetxattr(2) and lsetxattr(2) with names and values as bytes (metadata.ts),
 * and lgetxattr(2) for tests that read back what was set.
 */

type Fn = (...args: unknown[]) => number;

export interface Koffi {
  load(name: string): { func(decl: string): Fn };
  struct(name: string, fields: Record<string, string>): unknown;
  errno(): number;
}

export interface Libc {
  koffi: Koffi;
  /** Declares one C function of the library (a koffi prototype string). */
  func(decl: string): Fn;
}

let loaded: Promise<Libc | string> | null = null;

/** koffi and the C library, or why they cannot be had (looked for once, on first use). */
export function loadLibc(): Promise<Libc | string> {
  return (loaded ??= open());
}

async function open(): Promise<Libc | string> {
  if (process.platform !== 'linux') return `the C library is only called on Linux (this is ${process.platform})`;
  let k: Koffi;
  try {
    // Through a variable: bundlers and tsc must not resolve the optional package.
    const name = 'koffi';
    const m = (await import(name)) as { default?: Koffi } & Koffi;
    k = m.default ?? m;
  } catch (e) {
    return `the optional koffi package is not available (${(e as Error).message.split('\n')[0]})`;
  }
  // glibc, then musl (whose libc is the dynamic loader itself).
  for (const name of ['libc.so.6', 'libc.so', 'libc.musl-x86_64.so.1', 'libc.musl-aarch64.so.1']) {
    try {
      const lib = k.load(name);
      return { koffi: k, func: (decl) => lib.func(decl) };
    } catch {
      // the next name
    }
  }
  return 'koffi found no C library';
}

/** An Error for a failed call, with `code` (ENOENT, ...) as Node's own errors carry it. */
export function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = Object.entries(osConstants.errno).find(([, v]) => v === errno)?.[0] ?? `errno ${errno}`;
  const e: NodeJS.ErrnoException = new Error(`${code} (${syscall})`);
  e.code = code;
  e.syscall = syscall;
  return e;
}

/** A C string: the bytes and a terminating NUL. */
export function cString(b: Uint8Array): Buffer {
  const out = Buffer.alloc(b.length + 1);
  out.set(b);
  return out;
}

export interface Xattrs {
  /** Sets one xattr of an open file (fsetxattr); throws an Error with `code` on failure. */
  fset(fd: number, name: Uint8Array, value: Uint8Array): void;
  /** Sets one xattr through a path, of the link itself when it is a symlink (lsetxattr). */
  lset(path: Uint8Array, name: Uint8Array, value: Uint8Array): void;
  /** Reads one xattr through a path without following a final symlink (lgetxattr); null when absent. */
  lget(path: Uint8Array, name: Uint8Array): Buffer | null;
}

let xattrs: Promise<Xattrs | string> | null = null;

/** fsetxattr/lsetxattr/lgetxattr of the C library, or why they cannot be had. */
export function loadXattrs(): Promise<Xattrs | string> {
  return (xattrs ??= bindXattrs());
}

async function bindXattrs(): Promise<Xattrs | string> {
  const libc = await loadLibc();
  if (typeof libc === 'string') return libc;
  try {
    // Names go as bytes: an on-disk name need not be UTF-8 text, and the kernel takes any bytes but NUL.
    const fsetxattr = libc.func('int fsetxattr(int fd, const uint8_t *name, const uint8_t *value, size_t size, int flags)');
    const lsetxattr = libc.func('int lsetxattr(const uint8_t *path, const uint8_t *name, const uint8_t *value, size_t size, int flags)');
    const lgetxattr = libc.func('intptr_t lgetxattr(const uint8_t *path, const uint8_t *name, _Out_ uint8_t *value, size_t size)');
    const k = libc.koffi;
    const check = (r: number, call: string) => {
      if (r !== 0) throw errnoError(k.errno(), call);
    };
    // The largest xattr value Linux has (XATTR_SIZE_MAX).
    const XATTR_SIZE_MAX = 65536;
    const ENODATA = osConstants.errno.ENODATA ?? 61;
    return {
      fset: (fd, name, value) => check(fsetxattr(fd, cString(name), Buffer.from(value), value.length, 0), 'fsetxattr'),
      lset: (path, name, value) => check(lsetxattr(cString(path), cString(name), Buffer.from(value), value.length, 0), 'lsetxattr'),
      lget: (path, name) => {
        const buf = Buffer.alloc(XATTR_SIZE_MAX);
        const n = lgetxattr(cString(path), cString(name), buf, buf.length);
        if (n < 0) {
          const errno = k.errno();
          if (errno === ENODATA) return null;
          throw errnoError(errno, 'lgetxattr');
        }
        return buf.subarray(0, n);
      },
    };
  } catch (e) {
    return `koffi could not bind the xattr calls (${(e as Error).message.split('\n')[0]})`;
  }
}
