import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import type { FsView } from '../../fs/FsView.js';
import { type InodeRecord, readFile, symlinkTarget } from '../../fs/fileData.js';
import type { Inode } from '../../fs/types.js';
import { rdevParts } from '../../report/fs.js';
import * as af from './asyncFs.js';
import { SMALL_FILE } from './buffers.js';
import { DirectWriter, type OutFile, plainFile } from './directWrite.js';
import type { At } from './hostPath.js';
import type { MetadataRestorer } from './metadata.js';
import { clearName } from './outputPath.js';
import { keptPerm, type Preserve, setidWithheld } from './policy.js';
import type { Prefetcher } from './prefetch.js';
import { describeError, type SummaryLog } from './summary.js';
import { Slots } from './tasks.js';

const O = nodeFs.constants;

/**
 * Files above BIG_FILE bytes are written at most BIG_AT_ONCE at a time: each holds a 1 MiB data
 * segment while its write is pending, and this bounds those bytes (with IN_FLIGHT small files, ~24 MiB).
 */
const BIG_FILE = 256n * 1024n;
const BIG_AT_ONCE = 8;
/**
 * Files from this size on are written with O_DIRECT (DirectWriter) when the output's file system
 * takes it. Smaller ones are mostly inline (their data in the leaf): a direct write of a few hundred
 * bytes is a synchronous block write and a truncate, which cost more than the copy they save (on the
 * bench image, all files direct took 99 s against 71-75 s from 4 KiB and 79 s from 64 KiB).
 * Files up to SYNC_MAX take fileSync's buffered writes instead (not re-measured on that image).
 */
const DIRECT_MIN = 4096n;
/** Files up to this size are written with synchronous calls on this thread (fileSync). */
const SYNC_MAX = BigInt(SMALL_FILE);

/**
 * Writing what an entry holds: a regular file's content (sparse: holes are
 * skipped, from data read ahead when there is some, with O_DIRECT from
 * DIRECT_MIN on), a symlink, a fifo or device node (only as root: mkfifo and
 * mknod, no shell; device nodes only when asked for, Preserve.devices); then
 * its metadata (MetadataRestorer).
 */
export class ContentWriter {
  private readonly big = new Slots(BIG_AT_ONCE);
  /** Writes with O_DIRECT (null: not on this system, or turned off). */
  private readonly writer: DirectWriter | null;
  /** Permission bits the umask removes at creation: a file whose mode has none of them (and no setuid, setgid, sticky) is created with its final mode. */
  private readonly umask: number;
  private tmpSeq = 0;

  constructor(
    private readonly view: FsView,
    private readonly log: SummaryLog,
    private readonly meta: MetadataRestorer,
    private readonly outDir: string,
    private readonly opts: {
      force: boolean;
      verify: boolean;
      isRoot: boolean;
      directWrite: boolean;
      preserve: Preserve;
      onDataError: ((logical: bigint, length: bigint) => void) | null;
    },
    private readonly prefetch: Prefetcher | null,
    private readonly onData: () => void,
  ) {
    const aligned = prefetch?.alignedMemory;
    this.writer = opts.directWrite && typeof O.O_DIRECT === 'number' ? new DirectWriter(aligned ? [aligned] : []) : null;
    // process.umask() without an argument only reads it (in a worker thread it cannot be set anyway).
    this.umask = typeof process.umask === 'function' ? process.umask() : 0o777;
  }

  /** Makes way for a new entry when --force; true when the name is free. */
  async makeWay(host: Buffer, shown: string, seq: number): Promise<boolean> {
    const c = await clearName(host, this.opts.force);
    if ('why' in c) {
      this.log.failed(seq, shown, c.why);
      return false;
    }
    if (c.replaced) this.log.replaced(seq, shown);
    return true;
  }

  /** Whether `fileSync` writes the file (its data is not read ahead into buffers: Prefetcher.file warms the cache for it). */
  syncable(inode: Inode): boolean {
    return inode.size <= SYNC_MAX && !this.view.isMetadump;
  }

  /**
   * Writes one small file (syncable) with the calls made on this thread: open with its final
   * mode, its data (no O_DIRECT: for a few KiB the copy costs less than the padding and the
   * truncate after), metadata, close. False when the name is taken (nothing was written: `file`
   * then makes way); throws as `file` does.
   */
  fileSync(host: Buffer, inode: Inode, shown: string, seq: number, rec: Pick<InodeRecord, 'xattrs' | 'extents'> | null): boolean {
    const summary = this.log.summary;
    const perm = keptPerm(inode.mode, this.opts.preserve);
    const modeSet = (perm & 0o7000) === 0 && (perm & this.umask) === 0;
    let fd: number;
    try {
      fd = nodeFs.openSync(host, O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW, modeSet ? perm : 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    let bad: string | null = null;
    try {
      const size = Number(inode.size);
      let end = 0;
      const ahead = this.prefetch?.take(inode) ?? null;
      for (const seg of readFile(this.view, inode, { verify: this.opts.verify, stats: summary.read, extents: rec?.extents ?? null, ...(ahead ? { supply: ahead.supply } : {}) })) {
        if (seg.kind === 'data') {
          const pos = Number(seg.offset);
          const b = seg.bytes;
          for (let done = 0; done < b.length; ) done += nodeFs.writeSync(fd, b, done, b.length - done, pos + done);
          end = Math.max(end, pos + b.length);
          summary.written.bytes += b.length;
          this.onData();
        } else if (seg.kind === 'error') {
          if (seg.logical !== undefined) this.opts.onDataError?.(seg.logical, seg.length);
          bad ??= `file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}: ${seg.message}`;
        }
        // Zero segments (holes, prealloc) are skipped: the file stays sparse.
      }
      if (end !== size) nodeFs.ftruncateSync(fd, size);
      ahead?.close();
      this.meta.fdMetaSync(fd, inode, shown, seq, modeSet, rec?.xattrs ?? null);
    } finally {
      nodeFs.closeSync(fd);
    }
    this.fileWritten(inode, shown, seq, perm, bad);
    return true;
  }

  /** Writes one file (content, then metadata); true when it was made. */
  async file(host: Buffer, inode: Inode, shown: string, seq: number, rec: Pick<InodeRecord, 'xattrs' | 'extents'> | null = null): Promise<boolean> {
    const summary = this.log.summary;
    if (this.view.isMetadump && !this.view.metadumpHasData && inode.size > 0n) {
      this.log.failed(seq, shown, 'no file data in a btrfs-image metadump');
      return false;
    }
    // The final mode is given at creation when the umask keeps it whole (no chmod then); else 0600 until the end.
    const perm = keptPerm(inode.mode, this.opts.preserve);
    const modeSet = (perm & 0o7000) === 0 && (perm & this.umask) === 0;
    const flags = O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW;
    const writer = inode.size >= DIRECT_MIN ? this.writer : null;
    const create = async () => (writer ? writer.create(host, flags, modeSet ? perm : 0o600) : plainFile(host, await af.open(host, flags, modeSet ? perm : 0o600)));
    // O_EXCL refuses an existing name by itself: look at what is there only when it does.
    let out: OutFile;
    try {
      out = await create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await this.makeWay(host, shown, seq))) return false;
      out = await create();
    }
    const fd = out.fd;
    let bad: string | null = null;
    const size = Number(inode.size);
    const big = inode.size > BIG_FILE;
    if (big) await this.big.acquire();
    try {
      const ahead = this.prefetch?.take(inode) ?? null;
      const segments = readFile(this.view, inode, { verify: this.opts.verify, stats: summary.read, extents: rec?.extents ?? null, ...(ahead ? { supply: ahead.supply } : {}) });
      for (;;) {
        // The next range read ahead is waited for here, so that readFile finds it instead of reading.
        const wait = ahead?.ready();
        if (wait) await wait;
        const step = segments.next();
        if (step.done) break;
        const seg = step.value;
        if (seg.kind === 'data') {
          const pos = Number(seg.offset);
          await out.write(seg.bytes, pos, pos + seg.bytes.length === size);
          summary.written.bytes += seg.bytes.length;
          this.onData();
        } else if (seg.kind === 'error') {
          if (seg.logical !== undefined) this.opts.onDataError?.(seg.logical, seg.length);
          bad ??= `file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}: ${seg.message}`;
        }
        // Zero segments (holes, prealloc) are skipped: the file stays sparse.
      }
      // The size is set by the last write unless the file ends in a hole, is shorter than written, or a direct write padded its end.
      if (out.end !== size) await af.ftruncate(fd, size);
      ahead?.close();
      await this.meta.fdMeta(fd, inode, shown, seq, modeSet, rec?.xattrs ?? null);
    } finally {
      if (big) this.big.release();
      await out.close();
    }
    this.fileWritten(inode, shown, seq, perm, bad);
    return true;
  }

  /** Counts and logs a file written (by `file` or `fileSync`). */
  private fileWritten(inode: Inode, shown: string, seq: number, perm: number, bad: string | null): void {
    this.log.summary.written.files++;
    this.log.wrote(seq, shown, 'file', inode, inode.size);
    if (setidWithheld(inode.mode, this.opts.preserve))
      this.log.withheld(
        seq,
        shown,
        'setuid',
        `written as mode 0${perm.toString(8)}, without its setuid/setgid bits (0${(inode.mode & 0o7777).toString(8)} in the image; --setuid or --preserve-all keeps them)`,
      );
    if (bad) this.log.failed(seq, shown, `written incompletely (unreadable ranges left as holes): ${bad}`);
  }

  async symlink(host: Buffer, inode: Inode, shown: string, seq: number): Promise<void> {
    const target = symlinkTarget(this.view, inode);
    if (!target) {
      this.log.failed(seq, shown, this.view.isMetadump ? 'symlink target not in a btrfs-image metadump' : 'symlink target unreadable');
      return;
    }
    if (target.length === 0 || target.includes(0)) {
      this.log.failed(seq, shown, 'symlink target is empty or contains NUL');
      return;
    }
    try {
      await af.symlink(Buffer.from(target), host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await this.makeWay(host, shown, seq))) return;
      await af.symlink(Buffer.from(target), host);
    }
    this.log.summary.written.symlinks++;
    this.log.wrote(seq, shown, 'symlink', inode, inode.size);
    await this.meta.linkMeta(host, inode, shown, seq);
  }

  /**
   * A fifo or device node (`ready`: its directory may be written into; asked only once it is to
   * be made; `at` gives its path then, as its directory may be an anchor not opened before).
   */
  async special(at: At, inode: Inode, shown: string, seq: number, ready: Promise<boolean>): Promise<void> {
    const what = inode.kind === 'fifo' ? 'fifo' : `${inode.kind === 'chr' ? 'character' : 'block'} device ${rdevParts(inode.rdev).major}:${rdevParts(inode.rdev).minor}`;
    // Nothing is written in its place: a placeholder file would be mistaken for what the image holds.
    if (inode.kind !== 'fifo' && !this.opts.preserve.devices) {
      this.log.withheld(seq, shown, 'devices', `${what} not made (--devices or --preserve-all makes device nodes, as root)`);
      return;
    }
    if (!this.opts.isRoot) {
      this.log.skipped(seq, shown, `${what} (made only when running as root)`);
      return;
    }
    if (!(await ready)) return;
    await at((host) => this.makeNode(host, inode, what, shown, seq));
  }

  private async makeNode(host: Buffer, inode: Inode, what: string, shown: string, seq: number): Promise<void> {
    if (!(await this.makeWay(host, shown, seq))) return;
    // Made under a plain temporary name in the output directory, then hard-linked into place
    // (link never follows or replaces), so the command never sees the image's name bytes.
    const tmp = resolvePath(this.outDir, `.btrfs-inspect-${process.pid}-${randomBytes(6).toString('hex')}-${this.tmpSeq++}`);
    const mode = (inode.mode & 0o7777).toString(8);
    try {
      if (inode.kind === 'fifo') execFileSync('mkfifo', ['-m', mode, tmp], { stdio: 'ignore' });
      else {
        const { major, minor } = rdevParts(inode.rdev);
        execFileSync('mknod', ['-m', mode, tmp, inode.kind === 'chr' ? 'c' : 'b', String(major), String(minor)], { stdio: 'ignore' });
      }
      nodeFs.linkSync(tmp, host);
    } catch (e) {
      this.log.failed(seq, shown, `${what}: ${describeError(e)}`);
      return;
    } finally {
      try {
        nodeFs.unlinkSync(tmp);
      } catch {
        /* not made */
      }
    }
    if (inode.kind === 'fifo') this.log.summary.written.fifos++;
    else this.log.summary.written.devices++;
    this.log.wrote(seq, shown, inode.kind === 'fifo' ? 'fifo' : inode.kind === 'chr' ? 'chr' : 'blk', inode, 0n);
    await this.meta.linkMeta(host, inode, shown, seq);
  }
}
