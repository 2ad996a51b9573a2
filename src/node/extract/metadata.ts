import * as nodeFs from 'node:fs';
import type { FsView } from '../../fs/FsView.js';
import { displayText } from '../../fs/names.js';
import type { Inode, InodeRef, Xattr } from '../../fs/types.js';
import * as af from './asyncFs.js';
import { loadXattrs, type Xattrs } from './libc.js';
import type { NsTimes } from './nsTimes.js';
import { keptPerm, type Preserve } from './policy.js';
import { describeError, type SummaryLog } from './summary.js';

/**
 * Restoring an inode's metadata on what was written for it: xattrs, owner,
 * mode and times.
 *
 * Limits: times are set to the nanosecond through the optional koffi package
 * (nsTimes.ts), else through Node, which passes seconds as a double, and
 * libuv, which keeps whole microseconds: then mtime/atime are restored to
 * the microsecond (the on-disk value truncated; see `seconds`). Directories get theirs after everything below them is written
 * (extractFiles.ts), symlinks through lutimes. Ownership is restored only
 * when asked for (Preserve.owner) and running as root; setuid/setgid bits of
 * files only when asked for (Preserve.setuid, policy.ts). Xattrs are set
 * through the same optional koffi package: fsetxattr on the open file, and
 * lsetxattr on a symlink, fifo or device node (the link itself, never its
 * target). Linux refuses user.* xattrs on anything but files and
 * directories (EPERM); those are listed as not restored with that reason.
 */

/** How xattrs are set: the C library's fsetxattr/lsetxattr through koffi (libc.ts). */
export type XattrApi = Pick<Xattrs, 'fset' | 'lset'>;

/** The xattr calls, or why they cannot be had (then extract says so once, and lists each xattr not restored). */
export async function loadXattr(): Promise<XattrApi | string> {
  return loadXattrs();
}

/** The metadata of an inode that is restored (the whole decoded inode is not kept for every directory). */
export type Meta = Pick<Inode, 'subvol' | 'ino' | 'uid' | 'gid' | 'mode' | 'atime' | 'mtime'>;

export function metaOf(i: Inode): Meta {
  return { subvol: i.subvol, ino: i.ino, uid: i.uid, gid: i.gid, mode: i.mode, atime: i.atime, mtime: i.mtime };
}

/** The note extract and recover print once: how precisely times were restored (`ns`, or `us` and why not `ns`). */
export function timePrecisionNote(precision: 'us' | 'ns', whyNotNs?: string): string {
  if (precision === 'ns') return 'times (mtime, atime) are restored to the nanosecond (utimensat through the optional koffi package)';
  return `times (mtime, atime) are restored to the microsecond: Node hands them to libuv as seconds in a double, and libuv keeps whole microseconds (the exact ns values are in --json)${whyNotNs ? `; for ns: ${whyNotNs}` : ''}`;
}

/**
 * A time for Node's utimes family: seconds as a double, which libuv splits
 * into a timespec and then truncates to whole microseconds (toward zero).
 * sec + nsec/1e9 as a double is off by up to half its ulp (about 120 ns
 * for today's times), so the truncation would land one microsecond early
 * whenever the double falls just below a whole microsecond (about 6% of
 * files). Aiming at the middle of the intended microsecond, floor(nsec/1000)
 * + 0.5 (- 0.5 for a negative total, which libuv truncates toward zero),
 * keeps the error inside it: libuv then sets exactly the on-disk time
 * truncated to the microsecond. Node replaces a negative number by "now",
 * but takes a numeric string as it is, so times before 1970 go as strings.
 */
export function seconds(t: { sec: bigint; nsec: number }): number | string {
  const sec = Number(t.sec);
  const us = Math.floor(Math.min(Math.max(t.nsec, 0), 999_999_999) / 1000);
  const v = sec + (sec < 0 ? us - 0.5 : us + 0.5) / 1e6;
  return v < 0 ? String(v) : v;
}

/** Restores metadata for one extraction, recording what it could not restore in its summary. */
export class MetadataRestorer {
  /** Owner of the files this run creates; -1 (never equal) when that cannot be relied on. */
  private readonly ownUid: number;
  private readonly ownGid: number;

  constructor(
    private readonly view: FsView,
    private readonly log: SummaryLog,
    outDir: string,
    private readonly opts: { isRoot: boolean; xattr: XattrApi | string; times: NsTimes | null; preserve: Preserve },
  ) {
    const setgidOut = (nodeFs.statSync(outDir).mode & 0o2000) !== 0;
    this.ownUid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
    this.ownGid = typeof process.getegid === 'function' && !setgidOut ? process.getegid() : -1;
  }

  /**
   * Whether to give an entry the image's owner: only when asked for and running as root; an
   * owner that differs from this run's and is not given is counted as withheld.
   */
  private chownWanted(inode: Meta): boolean {
    // A file we create is already owned by our uid and gid (our directories are made 0700,
    // never setgid, and a setgid output directory turns this shortcut off).
    const differs = inode.uid !== this.ownUid || inode.gid !== this.ownGid;
    if (!this.opts.preserve.owner) {
      if (differs) this.log.ownerWithheld();
      return false;
    }
    return this.opts.isRoot && differs;
  }

  /**
   * xattrs, owner, mode (unless `modeSet`: given at creation), times through an open descriptor
   * (`xattrs`: the inode's, when the caller has read them; null: looked up here).
   */
  async fdMeta(fd: number, inode: Meta, shown: string, seq: number, modeSet: boolean, xattrs: readonly Xattr[] | null = null): Promise<void> {
    this.setXattrs({ fd }, inode, shown, seq, xattrs);
    if (this.chownWanted(inode)) {
      try {
        await af.fchown(fd, inode.uid, inode.gid);
      } catch (e) {
        this.log.failed(seq, shown, `chown: ${describeError(e)}`);
      }
    }
    if (!modeSet) {
      try {
        await af.fchmod(fd, keptPerm(inode.mode, this.opts.preserve));
      } catch (e) {
        this.log.failed(seq, shown, `chmod: ${describeError(e)}`);
      }
    }
    try {
      if (this.opts.times) this.opts.times.futimens(fd, inode.atime, inode.mtime);
      else await af.futimes(fd, seconds(inode.atime), seconds(inode.mtime));
    } catch (e) {
      this.log.failed(seq, shown, `times: ${describeError(e)}`);
    }
  }

  /**
   * fdMeta with the calls made on this thread, for a small file written here in one go (a
   * round trip through the thread pool per call costs more than these calls do).
   */
  fdMetaSync(fd: number, inode: Meta, shown: string, seq: number, modeSet: boolean, xattrs: readonly Xattr[] | null): void {
    this.setXattrs({ fd }, inode, shown, seq, xattrs);
    if (this.chownWanted(inode)) {
      try {
        nodeFs.fchownSync(fd, inode.uid, inode.gid);
      } catch (e) {
        this.log.failed(seq, shown, `chown: ${describeError(e)}`);
      }
    }
    if (!modeSet) {
      try {
        nodeFs.fchmodSync(fd, keptPerm(inode.mode, this.opts.preserve));
      } catch (e) {
        this.log.failed(seq, shown, `chmod: ${describeError(e)}`);
      }
    }
    try {
      if (this.opts.times) this.opts.times.futimens(fd, inode.atime, inode.mtime);
      else nodeFs.futimesSync(fd, seconds(inode.atime), seconds(inode.mtime));
    } catch (e) {
      this.log.failed(seq, shown, `times: ${describeError(e)}`);
    }
  }

  /**
   * Owner (when asked for and root) and times of a symlink, fifo or device node through its
   * path without following it.
   */
  async linkMeta(host: Buffer, inode: Inode, shown: string, seq: number): Promise<void> {
    if (this.chownWanted(inode)) {
      try {
        await af.lchown(host, inode.uid, inode.gid);
      } catch (e) {
        this.log.failed(seq, shown, `lchown: ${describeError(e)}`);
      }
    }
    try {
      if (this.opts.times) this.opts.times.lutimens(host, inode.atime, inode.mtime);
      else await af.lutimes(host, seconds(inode.atime), seconds(inode.mtime));
    } catch (e) {
      this.log.failed(seq, shown, `times: ${describeError(e)}`);
    }
    this.setXattrs({ path: host }, inode, shown, seq);
  }

  /**
   * Sets an inode's xattrs, in their on-disk order, on the open file or through the path of
   * an entry that cannot be opened (a symlink, fifo or device node: lsetxattr sets the
   * link's own). Names and values go as bytes: a name need not be UTF-8 text.
   */
  private setXattrs(on: { fd: number } | { path: Buffer }, inode: InodeRef, shown: string, seq: number, known: readonly Xattr[] | null = null): void {
    const api = this.opts.xattr;
    // Those read with the inode's other items, or one at a time: each value is set and let go
    // (16,000 values of 64 KB are 16,000 leaves).
    for (const x of known ?? this.view.eachXattr(inode)) {
      const no = (reason: string) => this.log.noXattr(seq, shown, displayText(x.name), reason);
      if (typeof api === 'string') {
        no('the xattr calls are not available (see notes)');
        continue;
      }
      if (x.name.includes(0)) {
        no('name holds a NUL byte (a C string cannot carry it)');
        continue;
      }
      try {
        if ('fd' in on) api.fset(on.fd, x.name, x.value);
        else api.lset(on.path, x.name, x.value);
        this.log.summary.xattrs.restored++;
      } catch (e) {
        no(describeError(e));
      }
    }
  }
}
