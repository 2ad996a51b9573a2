import * as nodeFs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { Command } from 'commander';
import { readFile, newReadStats, type ReadStats, symlinkTarget } from '../../fs/fileData.js';
import { FT_OF_KIND, type FsView } from '../../fs/FsView.js';
import { displayPath, displayName, isUtf8, unsafeNameReason } from '../../fs/names.js';
import type { DirEntry, Inode, InodeRef } from '../../fs/types.js';
import { ObjectId } from '../../format/constants.js';
import { checkEntry, MAX_WALK_DEPTH, mayEnter, walkFiles, type WalkItem } from '../../fs/walk.js';
import { rdevParts } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { EXIT_DAMAGE, EXIT_OK, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { reportFindings } from '../findings.js';
import { openTarget } from '../target.js';
import * as af from '../extract/asyncFs.js';
import { Slots, TaskSet } from '../extract/tasks.js';
import { Prefetcher } from '../extract/prefetch.js';
import { DirectWriter, OutFile, plainFile } from '../extract/directWrite.js';
import { Progress } from '../progress.js';

/**
 * extract: writes files of the image to a directory of this machine.
 *
 * Safety: nothing is ever written outside the output directory. Names that
 * cannot be one path component (containing "/" or NUL, ".", "..", empty,
 * longer than 255 bytes) are refused and reported, and nothing below them is
 * written. Every directory on the way is created here (or checked with lstat
 * to be a real directory); files are created with O_CREAT|O_EXCL|O_NOFOLLOW,
 * so a symlink (from the image or placed by anyone) is never followed; xattrs
 * are set through /proc/self/fd of the open file. Existing files are not
 * replaced without --force. Paths are handled as bytes (Buffers), so names
 * that are not UTF-8 are written exactly.
 *
 * Limits: times are set through Node, which passes seconds as a double and
 * libuv, which keeps whole microseconds: mtime/atime are restored to the
 * microsecond (truncated), not the nanosecond.
 * Ownership is restored only when running as root; fifos and device nodes
 * are made (mkfifo/mknod, no shell) only as root and listed otherwise;
 * sockets are listed, never made. Xattrs need the optional fs-xattr package;
 * xattrs of symlinks are not restored (Linux has no way to set them without
 * following the link through that package).
 *
 * Speed: the walk and checksum verification stay on this thread; each item's
 * syscalls (mkdir; open with the final mode when the umask allows, write,
 * futimes, close) run on libuv's thread pool, IN_FLIGHT items at a time, and
 * file data is read ahead on that pool into buffers that readFile verifies
 * instead of reading (src/cli/extract/prefetch.ts). Files from DIRECT_MIN on
 * are written with O_DIRECT from those same buffers (directWrite.ts): no
 * copy into the page cache and nothing left for writeback. The walk makes the
 * directories as it meets them and sets every other entry aside without
 * reading its inode; the entries are then written in inode order, up to
 * BATCH at a time (flush): a directory's entries can lie anywhere in the
 * tree, but in inode order every leaf of the tree is read once and the data
 * mostly comes in disk order. A file waits for its directory's mkdir;
 * hard-linked names wait for the first one; directories get their metadata
 * last, each after those below it.
 */

interface ExtractOptions extends CommonOptions {
  output?: string;
  force?: boolean;
  verify?: boolean;
  subvol?: string;
  inode?: string;
}

export interface ExtractIssue {
  path: string;
  reason: string;
}

export interface ExtractSummary {
  output: string;
  written: { files: number; directories: number; symlinks: number; hardlinks: number; fifos: number; devices: number; bytes: number };
  /** Names refused as unsafe (nothing written for them or below them). */
  refused: ExtractIssue[];
  /** Things that could not be written (or only partly: unreadable data), or that exist already (no --force). */
  failed: ExtractIssue[];
  /** Things deliberately not made: devices and fifos when not root, sockets. */
  skipped: ExtractIssue[];
  xattrs: { restored: number; notRestored: (ExtractIssue & { name: string })[] };
  ownership: 'restored' | 'not restored (not running as root)';
  verify: boolean;
  notes: string[];
  read: ReadStats;
}

const LIST_CAP = 100_000;
const O = nodeFs.constants;

export type XattrApi = {
  setAttributeSync(path: string, name: string, value: Buffer): void;
  /** The same on libuv's thread pool (fs-xattr has it), used when present. */
  setAttribute?(path: string, name: string, value: Buffer): Promise<void>;
};

export async function loadXattr(): Promise<XattrApi | string> {
  try {
    const name = 'fs-xattr';
    const m = (await import(name)) as XattrApi;
    if (typeof m.setAttributeSync !== 'function') return 'the fs-xattr package has no setAttributeSync';
    return m;
  } catch (e) {
    return `the optional fs-xattr package is not available (${(e as Error).message.split('\n')[0]})`;
  }
}

export function registerExtract(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('extract').argument('[image]', 'image file or device').argument('[path]', 'file, directory or subvolume to extract (default: everything)'))
    .description('copy files out of the image to a directory: content (sparse), modes, times, symlinks, hard links, xattrs, ownership and special files when root')
    .requiredOption('-o, --output <dir>', 'directory to write into (created if missing)')
    .option('--force', 'replace existing files in the output directory')
    .option('--no-verify', 'do not verify data checksums')
    .option('--subvol <id|path>', 'extract this subvolume (or PATH inside it)')
    .option('--inode <subvol:ino>', 'extract this inode instead of a path')
    .addHelpText('after', `
Safety: names with "/" or NUL, ".", "..", empty or longer than 255 bytes are refused and
reported; nothing is written outside DIR and symlinks are never followed; existing files
are kept unless --force.
Limits: mtime/atime are restored to the microsecond (Node passes seconds as a double to
libuv); ownership, fifos and device nodes only when running as root (listed otherwise);
sockets are listed, not made; xattrs need the optional fs-xattr package, and xattrs of
symlinks are not restored. Exit 1 when anything could not be written or was refused.`)
    .action(async (image: string | undefined, path: string | undefined, opts: ExtractOptions) => {
      const { fs, view, loc, path: given } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      const outDir = resolvePath(opts.output!);
      let created = false;
      try {
        const st = nodeFs.statSync(outDir);
        if (!st.isDirectory()) throw new UsageError(`${outDir}: exists and is not a directory`);
      } catch (e) {
        if (e instanceof UsageError) throw e;
        try {
          nodeFs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
          created = true;
        } catch (e2) {
          throw new UsageError(`${outDir}: cannot create: ${(e2 as Error).message}`);
        }
      }
      if (opts.verify === false) io.stderr.write('data checksums are not verified (--no-verify)\n');
      // Extract's live heap is small (~100 MiB on 300,000 files) and its garbage plentiful: V8
      // let the old generation grow to three or four times the live size before collecting (peak
      // RSS 620 MiB on the bench image); growing it by half keeps that near 440 MiB.
      setFlagsFromString('--heap-growing-percent=50');
      // The whole filesystem or a subvolume root goes into DIR itself; anything else into DIR/NAME.
      const isSubvolRoot = loc.ref.ino === view.rootOf(loc.ref.subvol).ino;
      let into: Uint8Array | null;
      if ((given === undefined || given === '/') && (isSubvolRoot || opts.inode === undefined)) into = null;
      else if (loc.path && loc.path.length > 0) into = loc.path[loc.path.length - 1]!;
      else into = new TextEncoder().encode(`inode-${loc.ref.subvol}-${loc.ref.ino}`);
      const s = await extractFiles(view, { ref: loc.ref, inode: loc.inode, into }, outDir, { force: opts.force ?? false, verify: opts.verify !== false, io, createdOutput: created });
      if (opts.json) io.stdout.write(toJson(jsonDocument('extract', s), 2) + '\n');
      else io.stdout.write(summaryText(s) + '\n');
      const damage = reportFindings(fs, io);
      done(s.failed.length || s.refused.length || damage ? EXIT_DAMAGE : EXIT_OK);
    });
}

export interface ExtractOptions2 {
  force?: boolean;
  verify?: boolean;
  /** For the progress line (drawn only when stderr is a terminal). */
  io?: CliIO;
  /** The xattr module, or why there is none (default: load fs-xattr). */
  xattr?: XattrApi | string;
  /** Restore ownership and make device nodes and fifos (default: when running as root). */
  isRoot?: boolean;
  /** The output directory was made by this run: give it the start directory's mode and times. */
  createdOutput?: boolean;
  /** Read file data of image files ahead on the thread pool, for readFile to verify and write (default true). */
  readAhead?: boolean;
  /** Entries set aside by the walk and written in inode order at a time (default BATCH; tests use small ones). */
  batch?: number;
  /** Write file data with O_DIRECT where the output's file system takes it (default true). */
  directWrite?: boolean;
}

/**
 * Extracts `start` (a directory's whole tree, or one file) into `outDir`:
 * into `outDir` itself when `into` is null, else into outDir/into.
 */
export async function extractFiles(view: FsView, start: { ref: WalkItem['ref']; inode: Inode; into: Uint8Array | null }, outDir: string, opts: ExtractOptions2 = {}): Promise<ExtractSummary> {
  nodeFs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const xattr = opts.xattr ?? await loadXattr();
  const isRoot = opts.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const io = opts.io ?? { stdout: { write: () => true }, stderr: { write: () => true }, stderrIsTTY: false };
  const x = new Extractor(view, io, outDir, { force: opts.force ?? false, verify: opts.verify !== false, xattr, isRoot, readAhead: opts.readAhead ?? true, batch: Math.max(1, opts.batch ?? BATCH), directWrite: opts.directWrite ?? true });
  // The walk visits each leaf about once (directory lookups hit the few recent ones): a small
  // block cache leaves the memory to the writes in flight.
  const cacheLimit = view.fs.reader.cache.setLimit(EXTRACT_CACHE_BYTES);
  try {
    await x.run(start.ref, start.inode, start.into, opts.createdOutput ?? false);
  } finally {
    view.fs.reader.cache.setLimit(cacheLimit);
  }
  return x.summary;
}

/** Block cache bound while extracting. */
const EXTRACT_CACHE_BYTES = 16 << 20;

function summaryText(s: ExtractSummary): string {
  const w = s.written;
  const lines = [
    `extracted to ${s.output}: ${w.files} files (${w.bytes} bytes), ${w.directories} directories, ${w.symlinks} symlinks, ${w.hardlinks} hard links, ${w.fifos} fifos, ${w.devices} device nodes`,
    `xattrs restored: ${s.xattrs.restored}, not restored: ${s.xattrs.notRestored.length}; ownership ${s.ownership}; data checksums ${s.verify ? `verified (${s.read.verifiedSectors} sectors${s.read.repairedSectors ? `, ${s.read.repairedSectors} read from another copy` : ''}${s.read.unverifiedSectors ? `, ${s.read.unverifiedSectors} without checksum` : ''})` : 'not verified (--no-verify)'}`,
  ];
  for (const n of s.notes) lines.push(`note: ${n}`);
  const list = (title: string, items: ExtractIssue[]) => {
    if (!items.length) return;
    lines.push(`${title} (${items.length}):`);
    for (const i of items.slice(0, 50)) lines.push(`  ${i.path}: ${i.reason}`);
    if (items.length > 50) lines.push(`  ... and ${items.length - 50} more (--json lists all)`);
  };
  list('refused (unsafe names)', s.refused);
  list('failed', s.failed);
  list('not created', s.skipped);
  list('xattrs not restored', s.xattrs.notRestored.map((x) => ({ path: x.path, reason: `${x.name}: ${x.reason}` })));
  return lines.join('\n');
}

/** A directory of the output: made (or reused) by `ready`, its metadata set at the end. */
interface OutDir {
  /** The path's bytes as a latin1 string (a Buffer each would keep its 8 KiB pool slab alive until the end). */
  host: string;
  /** What finishing needs of the inode (the whole decoded inode is not kept for every directory). */
  meta: Meta | null;
  shown: string;
  seq: number;
  /** True once the directory exists and may be written into; false when nothing below it is written. */
  ready: Promise<boolean>;
  /** Directories below it, whose metadata must be set before its own (its mode may forbid entering it). */
  children: OutDir[];
  /** The directory it was made in, and its name there (null for the walk's start: paths in findings are from there). */
  up: OutDir | null;
  name: Uint8Array | null;
}

/** A walk of directories under way: walkSome advances it. */
interface DirWalk {
  walk: Generator<WalkItem>;
  /** Places the walk's start (depth 0). */
  first: (it: WalkItem, seq: number, levels: OutDir[]) => void;
  /** levels[d]: the directory of depth d being walked (the parent of an item of depth d + 1). */
  levels: OutDir[];
  done: boolean;
}

/** What one() needs of a walk item. */
type Step = Pick<WalkItem, 'inode' | 'ref' | 'depth' | 'loop' | 'tooDeep'>;

/**
 * An entry that is not a directory, set aside by the walk to be written in
 * inode order: flat (no nested objects), as a batch holds up to BATCH of them.
 */
interface Pending {
  parent: OutDir;
  /** The name's bytes as a latin1 string. */
  name: string;
  subvol: bigint;
  ino: bigint;
  /** btrfs_dir_item.type, and where the entry's item is (for findings). */
  ftype: number;
  block: bigint;
  slot: number;
  seq: number;
  depth: number;
}

/**
 * Entries set aside at most before they are written: bounds their memory (some 200 bytes
 * each). A batch is written in one sweep over the trees, so it must be large: the entries of
 * a smaller one lie further apart, and each of them costs a leaf read of its own.
 */
const BATCH = 1 << 18;
/** Walk items taken at a time between other work (and tasks a walk may start past IN_FLIGHT). */
const WALK_STEP = 16;

/** The walk leaves to flush every entry of a directory's own subvolume that does not name a directory. */
function deferEntry(e: DirEntry): boolean {
  return e.crossing === 'none' && e.ftype !== FT_OF_KIND.dir;
}

function byInode(a: Pending, b: Pending): number {
  if (a.subvol !== b.subvol) return a.subvol < b.subvol ? -1 : 1;
  if (a.ino !== b.ino) return a.ino < b.ino ? -1 : 1;
  return a.seq - b.seq;
}

/** The entry as checkEntry and mayEnter take it. */
function pendingEntry(p: Pending): Pick<DirEntry, 'target' | 'crossing' | 'ftype' | 'place'> {
  return { target: { subvol: p.subvol, ino: p.ino }, crossing: 'none', ftype: p.ftype, place: { tree: p.subvol, block: p.block, slot: p.slot } };
}

/** Path components of a directory from the walk's start (for findings). */
function dirPath(d: OutDir): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let x: OutDir | null = d; x && x.name; x = x.up) parts.push(x.name);
  return parts.reverse();
}

function pendingPath(p: Pending): Uint8Array[] {
  return [...dirPath(p.parent), Buffer.from(p.name, 'latin1')];
}

/** How an entry of `parent` is shown in the summary. */
function childShown(parent: OutDir, name: Uint8Array): string {
  return `${parent.shown === '/' ? '' : parent.shown}/${displayName(name, { controls: true })}`;
}

/** The metadata of an inode that extract restores. */
type Meta = Pick<Inode, 'subvol' | 'ino' | 'uid' | 'gid' | 'mode' | 'atime' | 'mtime'>;

function metaOf(i: Inode): Meta {
  return { subvol: i.subvol, ino: i.ino, uid: i.uid, gid: i.gid, mode: i.mode, atime: i.atime, mtime: i.mtime };
}

/** Most files and directories written at once (each holds one open descriptor and at most 1 MiB of data). */
const IN_FLIGHT = 64;
/** Entries whose inodes are read (and their data planned for reading ahead) before they are written. */
const LOOKAHEAD = 256;
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
 */
const DIRECT_MIN = 4096n;

class Extractor {
  readonly summary: ExtractSummary;
  /** Per hard-linked inode: the host path of its first name written (null: none yet), as the chain of its names settles. */
  private readonly links = new Map<string, Promise<Buffer | null>>();
  private readonly dirs: OutDir[] = [];
  /** Entries set aside by the walk, written in inode order by flush. */
  private pending: Pending[] = [];
  /** Entries whose type said "not a directory" and whose inode is one: walked after the rest. */
  private readonly lateDirs: { p: Pending; inode: Inode; shown: string }[] = [];
  private readonly refusedItems = new WeakSet<WalkItem>();
  private readonly procFd = nodeFs.existsSync('/proc/self/fd');
  private readonly tasks = new TaskSet(IN_FLIGHT, (e) => this.add(this.summary.failed, -1, '(extract)', describeError(e)));
  /** Walk order of every reported issue, so that lists come out in walk order whatever order writes end in. */
  private readonly order = new WeakMap<object, number>();
  private seq = 0;
  private readonly bar: Progress;
  private tmpSeq = 0;
  private readonly prefetch: Prefetcher | null;
  private readonly big = new Slots(BIG_AT_ONCE);
  /** Writes with O_DIRECT (null: not on this system, or turned off). */
  private readonly writer: DirectWriter | null;
  /** Owner of the files this run creates; -1 (never equal) when that cannot be relied on. */
  private readonly ownUid: number;
  private readonly ownGid: number;
  /** Permission bits the umask removes at creation: a file whose mode has none of them (and no setuid, setgid, sticky) is created with its final mode. */
  private readonly umask: number;

  constructor(private readonly view: FsView, io: CliIO, private readonly outDir: string,
    private readonly opts: { force: boolean; verify: boolean; xattr: XattrApi | string; isRoot: boolean; readAhead: boolean; batch: number; directWrite: boolean }) {
    const setgidOut = (nodeFs.statSync(outDir).mode & 0o2000) !== 0;
    this.ownUid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
    this.ownGid = typeof process.getegid === 'function' && !setgidOut ? process.getegid() : -1;
    this.prefetch = opts.readAhead ? new Prefetcher(view) : null;
    const aligned = this.prefetch?.alignedMemory;
    this.writer = opts.directWrite && typeof O.O_DIRECT === 'number' ? new DirectWriter(aligned ? [aligned] : []) : null;
    this.bar = new Progress(io, { intervalMs: 200 });
    // process.umask() without an argument only reads it (in a worker thread it cannot be set anyway).
    this.umask = typeof process.umask === 'function' ? process.umask() : 0o777;
    this.summary = {
      output: outDir,
      written: { files: 0, directories: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0, bytes: 0 },
      refused: [], failed: [], skipped: [],
      xattrs: { restored: 0, notRestored: [] },
      ownership: opts.isRoot ? 'restored' : 'not restored (not running as root)',
      verify: opts.verify,
      notes: [],
      read: newReadStats(),
    };
    if (typeof opts.xattr === 'string') this.summary.notes.push(`xattrs are not restored: ${opts.xattr}`);
    if (view.isMetadump) this.summary.notes.push('the image was made by btrfs-image (METADUMP): it holds metadata only, so file contents and symlink targets cannot be extracted');
  }

  private add(list: ExtractIssue[], seq: number, path: string, reason: string): void {
    if (list.length >= LIST_CAP) return;
    const x = { path, reason };
    this.order.set(x, seq);
    list.push(x);
  }

  private noXattr(seq: number, path: string, name: string, reason: string): void {
    const nr = this.summary.xattrs.notRestored;
    if (nr.length >= LIST_CAP) return;
    const x = { path, name, reason };
    this.order.set(x, seq);
    nr.push(x);
  }

  async run(start: WalkItem['ref'], startInode: Inode, into: Uint8Array | null, createdOut: boolean): Promise<void> {
    const root = Buffer.from(this.outDir);
    const out: OutDir = { host: root.toString('latin1'), meta: null, shown: '/', seq: this.seq++, ready: Promise.resolve(true), children: [], up: null, name: null };
    let startHost: Buffer = root;
    if (into) {
      const why = unsafeNameReason(into);
      if (why) { this.add(this.summary.refused, 0, displayName(into, { controls: true }), why); return; }
      startHost = join(root, into);
    }
    if (this.prefetch) {
      const trees = [this.view.tree(start.subvol), this.view.fs.treeRoot(ObjectId.CSUM_TREE)];
      // A whole subvolume with none below it: its leaves' inode items tell how much there is to write.
      const whole = start.ino === this.view.rootOf(start.subvol).ino && !this.view.subvolumes().some((s) => s.parentId === start.subvol);
      this.prefetch.warmTrees(trees.filter((t) => t !== undefined), { census: whole && this.bar.enabled ? start.subvol : undefined, window: start.subvol });
    }
    this.bar.phase('extracting', 'bytes');
    const visited = new Set<string>();
    // Refused and unreadable items are not entered; entries that are not directories are left to flush.
    const walkFrom = (ref: InodeRef, maxDepth = MAX_WALK_DEPTH) => walkFiles(this.view, ref, { prune: (it) => this.refusedItems.has(it), defer: deferEntry, visited, maxDepth });
    await this.walkAndWrite(walkFrom(start), (it, seq, levels) => {
      if (into) this.one(it, startHost, displayPath([into], { controls: true }), seq, out, levels, null);
      else if (startInode.kind === 'dir') {
        levels[0] = out;
        if (createdOut) { out.meta = metaOf(startInode); this.dirs.push(out); }
      } else this.one(it, root, '/', seq, out, levels, null);
    });
    // Entries whose type said "not a directory" but whose inode is one: each is walked on its own.
    for (let i = 0; i < this.lateDirs.length; i++) {
      const { p, inode, shown } = this.lateDirs[i]!;
      const name = Buffer.from(p.name, 'latin1');
      const host = join(Buffer.from(p.parent.host, 'latin1'), name);
      const ref = { subvol: p.subvol, ino: p.ino };
      const why = mayEnter(this.view, pendingPath(p), pendingEntry(p), p.depth, MAX_WALK_DEPTH, visited);
      if (why) { this.one({ inode, ref, depth: p.depth, loop: why === 'loop', tooDeep: why === 'tooDeep' }, host, shown, p.seq, p.parent, [], name); continue; }
      await this.walkAndWrite(walkFrom(ref, MAX_WALK_DEPTH - p.depth), (it, _seq, levels) => this.one(it, host, shown, p.seq, p.parent, levels, name));
    }
    await this.prefetch?.stop();
    await this.tasks.idle();
    await this.finishDirs();
    for (const l of [this.summary.refused, this.summary.failed, this.summary.skipped, this.summary.xattrs.notRestored]) {
      l.sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
    }
    this.bar.done();
  }

  /**
   * Walks the directories of `walk`, writing the entries it sets aside in
   * inode order, a batch at a time (flush). While a batch is written, the
   * walk gathers the next one whenever the writes in flight leave this
   * thread waiting.
   */
  private async walkAndWrite(walk: Generator<WalkItem>, first: (it: WalkItem, seq: number, levels: OutDir[]) => void): Promise<void> {
    const w: DirWalk = { walk, first, levels: [], done: false };
    while (!w.done) {
      while (!w.done && this.pending.length < this.opts.batch) {
        this.walkSome(w, WALK_STEP);
        await this.tasks.room();
      }
      await this.flush(w);
    }
    await this.flush(null);
  }

  /**
   * Advances a walk by up to `max` items, or until BATCH entries are set
   * aside. Each directory is started (made) as it is met, in walk order, so
   * that `levels` gives every item's parent; every other entry is set aside
   * without reading its inode, for flush. Starts tasks without waiting for
   * room: its callers bound how far past IN_FLIGHT that goes.
   */
  private walkSome(w: DirWalk, max: number): void {
    for (let n = 0; n < max && this.pending.length < this.opts.batch; n++) {
      const step = w.walk.next();
      if (step.done) { w.done = true; return; }
      const it = step.value;
      const seq = this.seq++;
      const name = it.depth > 0 ? it.path[it.path.length - 1]! : null;
      const parent = it.depth > 0 ? w.levels[it.depth - 1]! : null;
      if (name && parent) {
        const why = unsafeNameReason(name);
        if (why) {
          this.refusedItems.add(it);
          this.add(this.summary.refused, seq, childShown(parent, name), why);
          continue;
        }
        if (it.deferred) {
          const e = it.entry!;
          this.pending.push({
            parent, name: Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1'),
            subvol: e.target.subvol, ino: e.target.ino, ftype: e.ftype, block: e.place.block, slot: e.place.slot, seq, depth: it.depth,
          });
          continue;
        }
      }
      // Decided now, as the walk asks right after this item: nothing below these is entered (one() reports them).
      if (!it.inode || it.loop || it.tooDeep) this.refusedItems.add(it);
      else this.prefetch?.file(it.inode);
      if (name && parent) this.one(it, join(Buffer.from(parent.host, 'latin1'), name), childShown(parent, name), seq, parent, w.levels, name);
      else w.first(it, seq, w.levels);
      this.progress();
    }
  }

  /**
   * Writes the entries set aside by the walk in inode order, which is the
   * order of their inode items, file extent items and checksums in the trees
   * and mostly of their data on disk: each leaf is read once and the data
   * reads run ahead in one sweep, whatever order the directories list them
   * in. Inodes are read and their data planned LOOKAHEAD entries ahead. When
   * the writes in flight are at their bound, `w` (if not done) is walked on
   * meanwhile, into the next batch.
   */
  private async flush(w: DirWalk | null): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    batch.sort(byInode);
    const inodes: (Inode | null)[] = new Array(batch.length);
    let looked = 0;
    for (let i = 0; i < batch.length; i++) {
      for (; looked < batch.length && looked <= i + LOOKAHEAD; looked++) {
        const p = batch[looked]!;
        if ((looked & 63) === 0) this.prefetch?.warmAt(p.subvol, p.ino);
        const ref = { subvol: p.subvol, ino: p.ino };
        const inode = this.view.inode(ref, { remember: false });
        checkEntry(this.view, () => pendingPath(p), pendingEntry(p), inode);
        if (inode && inode.kind !== 'dir') this.prefetch?.file(inode);
        inodes[looked] = inode;
      }
      const p = batch[i]!;
      const inode = inodes[i]!;
      inodes[i] = null;
      const name = Buffer.from(p.name, 'latin1');
      const shown = childShown(p.parent, name);
      if (inode?.kind === 'dir') { this.lateDirs.push({ p, inode, shown }); continue; }
      this.one({ inode, ref: { subvol: p.subvol, ino: p.ino }, depth: p.depth }, join(Buffer.from(p.parent.host, 'latin1'), name), shown, p.seq, p.parent, [], name);
      this.progress();
      while (this.tasks.size >= IN_FLIGHT) {
        // Directories the walk starts may take the tasks past IN_FLIGHT by at most WALK_STEP.
        if (w && !w.done && this.pending.length < this.opts.batch && this.tasks.size < IN_FLIGHT + WALK_STEP) this.walkSome(w, WALK_STEP);
        else await this.tasks.room();
      }
    }
  }

  /**
   * Directories last, once everything below them is written (writing into a directory changes its
   * times, and its mode may forbid writing), each after the directories below it.
   */
  private async finishDirs(): Promise<void> {
    const done = new Map<OutDir, Promise<void>>();
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      const below = d.children.map((c) => done.get(c)).filter((p) => p !== undefined);
      let settle!: () => void;
      done.set(d, new Promise<void>((r) => { settle = r; }));
      this.tasks.start(async () => {
        try {
          await Promise.all(below);
          await this.finishDir(d);
        } finally {
          settle();
        }
      });
      await this.tasks.room();
    }
    await this.tasks.idle();
  }

  /**
   * The progress line: bytes written and their rate; the share done and time left once the
   * census has counted a twentieth of the subvolume's leaves (scaled up to all of them).
   */
  private progress(): void {
    if (!this.bar.enabled) return;
    const w = this.summary.written;
    // The census is taken only of a whole subvolume (see run), as its leaves are warmed.
    const c = this.prefetch?.census;
    const est = c && c.counted > 0 && (c.leavesLeft === 0 || c.counted * 20 >= c.leaves)
      ? { files: Math.round(c.files * c.leaves / c.counted), bytes: c.bytes * c.leaves / c.counted } : null;
    const total = est ? Math.max(est.bytes, w.bytes) : undefined;
    this.bar.rename(`extracting ${w.files + w.directories + w.symlinks + w.hardlinks}${est ? ` of ~${est.files} files and their directories` : ' items'}`);
    this.bar.update(w.bytes, total);
  }

  /** Starts writing one item (`name`: its last path component, null for the walk's start). */
  private one(it: Step, host: Buffer, shown: string, seq: number, parent: OutDir, levels: OutDir[], name: Uint8Array | null): void {
    const inode = it.inode;
    if (!inode) { this.add(this.summary.failed, seq, shown, `inode ${it.ref.ino} of subvolume ${it.ref.subvol} is missing`); return; }
    if (it.loop) { this.add(this.summary.failed, seq, shown, 'directory already extracted on this walk (hard-linked directory: a loop); not entered again'); return; }
    if (it.tooDeep) { this.add(this.summary.failed, seq, shown, 'too deep; not entered'); return; }
    const guard = (what: Promise<void>) => what.catch((e) => this.add(this.summary.failed, seq, shown, describeError(e)));
    switch (inode.kind) {
      case 'dir': {
        const d: OutDir = { host: host.toString('latin1'), meta: metaOf(inode), shown, seq, ready: Promise.resolve(false), children: [], up: parent, name: name && name.slice() };
        let ok!: (v: boolean) => void;
        d.ready = new Promise<boolean>((r) => { ok = r; });
        levels[it.depth] = d;
        levels.length = it.depth + 1;
        parent.children.push(d);
        this.tasks.start(async () => {
          let made = false;
          try {
            made = (await parent.ready) && await this.dir(d);
          } catch (e) {
            this.add(this.summary.failed, seq, shown, describeError(e));
          } finally {
            ok(made);
          }
        });
        return;
      }
      case 'file': this.startFile(host, inode, shown, seq, parent); return;
      case 'symlink': this.tasks.start(() => guard(this.symlink(host, inode, shown, seq, parent))); return;
      case 'fifo': case 'chr': case 'blk': this.tasks.start(() => guard(this.special(host, inode, shown, seq, parent))); return;
      case 'sock': this.add(this.summary.skipped, seq, shown, 'socket (not recreated)'); return;
      default: this.add(this.summary.failed, seq, shown, `unknown file type (mode 0${inode.mode.toString(8)})`); return;
    }
  }

  /** Makes way for a new entry when --force; true when the name is free. */
  private async clear(host: Buffer, shown: string, seq: number): Promise<boolean> {
    const st = await af.lstat(host);
    if (!st) return true;
    if (!this.opts.force) { this.add(this.summary.failed, seq, shown, 'exists (use --force to replace)'); return false; }
    if (st.isDirectory()) { this.add(this.summary.failed, seq, shown, 'exists as a directory; not replaced'); return false; }
    await af.unlink(host);
    return true;
  }

  /** Makes the directory (or checks that the one there is a real directory); false when nothing below it is written. */
  private async dir(d: OutDir): Promise<boolean> {
    const { shown, seq } = d;
    const host = Buffer.from(d.host, 'latin1');
    try {
      await af.mkdir(host, 0o700);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = await af.lstat(host);
      if (!st) throw e;
      if (!st.isDirectory()) {
        // A symlink or file in the way: never write through it.
        if (!this.opts.force) { this.add(this.summary.failed, seq, shown, `exists and is not a directory${st.isSymbolicLink() ? ' (a symlink: not followed)' : ''}; nothing below it written (use --force to replace)`); return false; }
        await af.unlink(host);
        await af.mkdir(host, 0o700);
      } else {
        // Reusing a directory: make sure we can write into it (its final mode is set at the end).
        await af.chmod(host, (st.mode & 0o7777) | 0o700);
      }
    }
    this.summary.written.directories++;
    this.dirs.push(d);
    return true;
  }

  private async finishDir(d: OutDir): Promise<void> {
    let fd: number;
    try {
      fd = await af.open(Buffer.from(d.host, 'latin1'), O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW, 0);
    } catch (e) {
      this.add(this.summary.failed, d.seq, d.shown, `cannot set directory metadata: ${describeError(e)}`);
      return;
    }
    try {
      await this.fdMeta(fd, d.meta!, d.shown, d.seq, false);
    } finally {
      await af.close(fd);
    }
  }

  /** xattrs, owner, mode (unless `modeSet`: given at creation), times through an open descriptor. */
  private async fdMeta(fd: number, inode: Meta, shown: string, seq: number, modeSet: boolean): Promise<void> {
    await this.setXattrs(this.procFd ? `/proc/self/fd/${fd}` : null, inode, shown, seq);
    // A file we create is already owned by our uid and gid (our directories are made 0700,
    // never setgid, and a setgid output directory turns this shortcut off).
    if (this.opts.isRoot && (inode.uid !== this.ownUid || inode.gid !== this.ownGid)) {
      try { await af.fchown(fd, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, seq, shown, `chown: ${describeError(e)}`); }
    }
    if (!modeSet) {
      try { await af.fchmod(fd, inode.mode & 0o7777); } catch (e) { this.add(this.summary.failed, seq, shown, `chmod: ${describeError(e)}`); }
    }
    try { await af.futimes(fd, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, seq, shown, `times: ${describeError(e)}`); }
  }

  private async setXattrs(procPath: string | null, inode: InodeRef, shown: string, seq: number, why?: string): Promise<void> {
    const xs = this.view.xattrs(inode);
    if (xs.length === 0) return;
    const api = this.opts.xattr;
    for (const x of xs) {
      const name = displayName(x.name, { controls: true });
      const no = (reason: string) => this.noXattr(seq, shown, name, reason);
      if (why) { no(why); continue; }
      if (typeof api === 'string') { no('fs-xattr not available'); continue; }
      if (!procPath) { no('/proc/self/fd is not available'); continue; }
      if (!isUtf8(x.name) || x.name.includes(0)) { no('name is not UTF-8 text (fs-xattr takes names as strings)'); continue; }
      try {
        const key = Buffer.from(x.name).toString('utf8');
        if (api.setAttribute) await api.setAttribute(procPath, key, Buffer.from(x.value));
        else api.setAttributeSync(procPath, key, Buffer.from(x.value));
        this.summary.xattrs.restored++;
      } catch (e) {
        no(describeError(e));
      }
    }
  }

  /**
   * A regular file. Names of one hard-linked inode form a chain: each waits for the one
   * before, links to the first name written, or (when none could be written) is written itself.
   */
  private startFile(host: Buffer, inode: Inode, shown: string, seq: number, parent: OutDir): void {
    if (inode.nlink <= 1) {
      this.tasks.start(async () => {
        try {
          if (await parent.ready) await this.file(host, inode, shown, seq);
        } catch (e) {
          this.add(this.summary.failed, seq, shown, describeError(e));
        } finally {
          this.prefetch?.drop(inode);
        }
      });
      return;
    }
    const key = `${inode.subvol}:${inode.ino}`;
    const before = this.links.get(key) ?? Promise.resolve(null);
    let settle!: (v: Buffer | null) => void;
    const mine = new Promise<Buffer | null>((r) => { settle = r; });
    if (this.links.has(key) || this.links.size < 1_000_000) this.links.set(key, mine);
    this.tasks.start(async () => {
      const first = await before;
      let result = first;
      try {
        if (!(await parent.ready)) return;
        if (first) {
          if (!(await this.clear(host, shown, seq))) return;
          await af.link(first, host);
          this.summary.written.hardlinks++;
        } else if (await this.file(host, inode, shown, seq)) {
          result = host;
        }
      } catch (e) {
        this.add(this.summary.failed, seq, shown, describeError(e));
      } finally {
        this.prefetch?.drop(inode);
        settle(result);
      }
    });
  }

  /** Writes one file (content, then metadata); true when it was made. */
  private async file(host: Buffer, inode: Inode, shown: string, seq: number): Promise<boolean> {
    if (this.view.isMetadump && inode.size > 0n) { this.add(this.summary.failed, seq, shown, 'no file data in a btrfs-image metadump'); return false; }
    // The final mode is given at creation when the umask keeps it whole (no chmod then); else 0600 until the end.
    const perm = inode.mode & 0o7777;
    const modeSet = (perm & 0o7000) === 0 && (perm & this.umask) === 0;
    const flags = O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW;
    const writer = inode.size >= DIRECT_MIN ? this.writer : null;
    const create = async () => writer ? writer.create(host, flags, modeSet ? perm : 0o600) : plainFile(host, await af.open(host, flags, modeSet ? perm : 0o600));
    // O_EXCL refuses an existing name by itself: look at what is there only when it does.
    let out: OutFile;
    try {
      out = await create();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await this.clear(host, shown, seq))) return false;
      out = await create();
    }
    const fd = out.fd;
    let bad: string | null = null;
    const size = Number(inode.size);
    const big = inode.size > BIG_FILE;
    if (big) await this.big.acquire();
    try {
      const ahead = this.prefetch?.take(inode) ?? null;
      const segments = readFile(this.view, inode, { verify: this.opts.verify, stats: this.summary.read, ...(ahead ? { supply: ahead.supply } : {}) });
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
          this.summary.written.bytes += seg.bytes.length;
          this.progress();
        } else if (seg.kind === 'error' && !bad) {
          bad = `file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}: ${seg.message}`;
        }
        // Zero segments (holes, prealloc) are skipped: the file stays sparse.
      }
      // The size is set by the last write unless the file ends in a hole, is shorter than written, or a direct write padded its end.
      if (out.end !== size) await af.ftruncate(fd, size);
      ahead?.close();
      await this.fdMeta(fd, inode, shown, seq, modeSet);
    } finally {
      if (big) this.big.release();
      await out.close();
    }
    this.summary.written.files++;
    if (bad) this.add(this.summary.failed, seq, shown, `written incompletely (unreadable ranges left as holes): ${bad}`);
    return true;
  }

  private async symlink(host: Buffer, inode: Inode, shown: string, seq: number, parent: OutDir): Promise<void> {
    if (!(await parent.ready)) return;
    const target = symlinkTarget(this.view, inode);
    if (!target) { this.add(this.summary.failed, seq, shown, this.view.isMetadump ? 'symlink target not in a btrfs-image metadump' : 'symlink target unreadable'); return; }
    if (target.length === 0 || target.includes(0)) { this.add(this.summary.failed, seq, shown, 'symlink target is empty or contains NUL'); return; }
    try {
      await af.symlink(Buffer.from(target), host);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!(await this.clear(host, shown, seq))) return;
      await af.symlink(Buffer.from(target), host);
    }
    this.summary.written.symlinks++;
    if (this.opts.isRoot) {
      try { await af.lchown(host, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, seq, shown, `lchown: ${describeError(e)}`); }
    }
    try { await af.lutimes(host, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, seq, shown, `times: ${describeError(e)}`); }
    await this.setXattrs(null, inode, shown, seq, 'xattrs of symlinks are not restored (cannot be set without following the link)');
  }

  private async special(host: Buffer, inode: Inode, shown: string, seq: number, parent: OutDir): Promise<void> {
    const what = inode.kind === 'fifo' ? 'fifo' : `${inode.kind === 'chr' ? 'character' : 'block'} device ${rdevParts(inode.rdev).major}:${rdevParts(inode.rdev).minor}`;
    if (!this.opts.isRoot) { this.add(this.summary.skipped, seq, shown, `${what} (made only when running as root)`); return; }
    if (!(await parent.ready)) return;
    if (!(await this.clear(host, shown, seq))) return;
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
      this.add(this.summary.failed, seq, shown, `${what}: ${describeError(e)}`);
      return;
    } finally {
      try { nodeFs.unlinkSync(tmp); } catch { /* not made */ }
    }
    if (inode.kind === 'fifo') this.summary.written.fifos++; else this.summary.written.devices++;
    try { await af.lchown(host, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, seq, shown, `lchown: ${describeError(e)}`); }
    try { await af.lutimes(host, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, seq, shown, `times: ${describeError(e)}`); }
    await this.setXattrs(null, inode, shown, seq, 'xattrs of device nodes and fifos are not restored');
  }
}

/** dir/a/b as bytes. */
function join(dir: Buffer, ...parts: Uint8Array[]): Buffer {
  const bufs: Buffer[] = [dir];
  for (const p of parts) {
    if (p.length === 0) continue;
    bufs.push(Buffer.from('/'), Buffer.from(p));
  }
  return Buffer.concat(bufs);
}

/**
 * A time for Node's utimes family: seconds as a double (libuv then keeps
 * whole microseconds, so sub-microsecond digits are lost). Node replaces a
 * negative number by "now", but takes a numeric string as it is, so times
 * before 1970 go as strings.
 */
function seconds(t: { sec: bigint; nsec: number }): number | string {
  const v = Number(t.sec) + t.nsec / 1e9;
  return v < 0 ? String(v) : v;
}

function describeError(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  if (x?.code) return `${x.code}${x.syscall ? ` (${x.syscall})` : ''}`;
  return x?.message ?? String(e);
}
