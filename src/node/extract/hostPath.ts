import * as nodeFs from 'node:fs';
import * as af from './asyncFs.js';

const O = nodeFs.constants;
const O_DIR = O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW;

/**
 * Paths of the output at any depth the image has. The kernel refuses a path
 * of PATH_MAX (4,096) bytes or more in one system call, and a tree the
 * kernel makes can be far deeper than that (each directory made from the
 * one before). Node has no mkdirat/openat, so a directory's path is kept
 * relative to an anchor: a directory opened once, named in system calls as
 * /proc/self/fd/N (Linux's link to an open descriptor, which the kernel
 * resolves to the directory itself whatever its depth). A directory whose
 * path from its anchor would pass REL_MAX bytes becomes the anchor of those
 * below it, so every path handed to the kernel stays short, and each
 * directory keeps at most REL_MAX bytes of path, whatever its depth.
 *
 * Anchors are opened when a path through them is used (host paths are
 * resolved when an entry is written, not when the walk meets it) and at most
 * OPEN_MAX of them stay open: the least recently used one that no call is
 * using is closed, and opened again through its own anchor when needed. A
 * shallow output (every path below REL_MAX) has no anchors, and its paths
 * are plain ones, as before.
 *
 * Safety is as for plain paths (outputPath.ts): every directory on the way
 * was made by this run or checked with lstat to be a real one, and the
 * anchor itself is opened with O_NOFOLLOW.
 */

/** The longest path from an anchor kept: with "/proc/self/fd/N/", a name of 255 bytes and one more, far below PATH_MAX. */
export const REL_MAX = 2048;
/** Anchors held open at most, but for those in use (each in-flight write uses at most two). */
const OPEN_MAX = 32;

/** Where a directory of the output is: `host`, from `anchor` (null: an ordinary path). */
export interface HostLoc {
  /** The path's bytes as a latin1 string (a Buffer each would keep its 8 KiB pool slab alive until the end). */
  host: string;
  anchor: Anchor | null;
  /** This directory as the anchor of those below it (made when the first of them needs one). */
  own?: Anchor | undefined;
}

/** Runs a call with the path of one entry of the output, resolved when the call runs (HostPaths.use). */
export type At = <T>(f: (host: Buffer) => Promise<T>) => Promise<T>;

/** A directory the paths below it are named from, through its open descriptor. */
export class Anchor {
  fd = -1;
  /** Calls using the descriptor now: it is not closed while any is. */
  users = 0;
  opening: Promise<number> | null = null;
  constructor(readonly loc: HostLoc) {}
}

export class HostPaths {
  /** Open anchors, least recently used first. */
  private readonly open = new Set<Anchor>();

  /** `openMax`: anchors held open at most, but for those in use (tests use small ones). */
  constructor(private readonly openMax = OPEN_MAX) {}

  /** The output directory itself. */
  root(outDir: string): HostLoc {
    return { host: Buffer.from(outDir).toString('latin1'), anchor: null };
  }

  /** Where `name` in directory `dir` is: from dir's anchor, or (when that would be too long) from `dir` itself. */
  child(dir: HostLoc, name: Uint8Array): HostLoc {
    const own = Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1');
    if (dir.host.length + 1 + own.length <= REL_MAX) return { host: `${dir.host}/${own}`, anchor: dir.anchor };
    dir.own ??= new Anchor({ host: dir.host, anchor: dir.anchor });
    return { host: own, anchor: dir.own };
  }

  /**
   * Runs `f` with a path the kernel takes for `name` in `dir` (null: `dir`
   * itself); an anchor on the way stays open until `f` ends.
   */
  /** The path of an entry when its directory needs no anchor (then usable at once, synchronously); else null. */
  plain(dir: HostLoc, name: Uint8Array | null): Buffer | null {
    return dir.anchor ? null : pathOf(null, dir.host, name);
  }

  async use<T>(dir: HostLoc, name: Uint8Array | null, f: (path: Buffer) => Promise<T>): Promise<T> {
    const a = dir.anchor;
    if (!a) return f(pathOf(null, dir.host, name));
    const fd = await this.acquire(a);
    try {
      return await f(pathOf(fd, dir.host, name));
    } finally {
      this.release(a);
    }
  }

  /** Closes every anchor (the extraction has ended: none is in use). */
  async close(): Promise<void> {
    const all = [...this.open];
    this.open.clear();
    for (const a of all) {
      const fd = a.fd;
      a.fd = -1;
      await af.close(fd);
    }
  }

  private async acquire(a: Anchor): Promise<number> {
    a.users++;
    try {
      if (a.fd < 0) {
        a.opening ??= this.use(a.loc, null, (p) => af.open(p, O_DIR, 0)).finally(() => {
          a.opening = null;
        });
        const fd = await a.opening;
        if (a.fd < 0) {
          a.fd = fd;
          this.open.add(a);
        }
      }
      // Most recently used last.
      this.open.delete(a);
      this.open.add(a);
      await this.trim();
      return a.fd;
    } catch (e) {
      a.users--;
      throw e;
    }
  }

  private release(a: Anchor): void {
    a.users--;
  }

  /** Closes the least recently used anchors no call is using, down to openMax. */
  private async trim(): Promise<void> {
    if (this.open.size <= this.openMax) return;
    for (const a of this.open) {
      if (this.open.size <= this.openMax) break;
      if (a.users > 0 || a.opening) continue;
      this.open.delete(a);
      const fd = a.fd;
      a.fd = -1;
      await af.close(fd);
    }
  }
}

/** `host`/`name` as bytes, from /proc/self/fd/`fd` when anchored. */
function pathOf(fd: number | null, host: string, name: Uint8Array | null): Buffer {
  const parts: Buffer[] = [];
  if (fd !== null) parts.push(Buffer.from(`/proc/self/fd/${fd}/`));
  parts.push(Buffer.from(host, 'latin1'));
  if (name?.length) parts.push(Buffer.from('/'), Buffer.from(name.buffer, name.byteOffset, name.length));
  return Buffer.concat(parts);
}
