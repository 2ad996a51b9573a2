import * as nodeFs from 'node:fs';
import { ObjectId } from '../../format/constants.js';
import type { FsView } from '../../fs/FsView.js';
import { type InodeRecord, inodeRecord } from '../../fs/fileData.js';
import { displayPath, unsafeNameReason } from '../../fs/names.js';
import type { Inode, InodeRef } from '../../fs/types.js';
import { checkEntry, MAX_WALK_DEPTH, mayEnter, type WalkItem, walkFiles } from '../../fs/walk.js';
import * as af from './asyncFs.js';
import { ContentWriter } from './content.js';
import { type At, type HostLoc, HostPaths } from './hostPath.js';
import { loadXattr, type Meta, MetadataRestorer, metaOf, timePrecisionNote, type XattrApi } from './metadata.js';
import { loadNsTimes, type NsTimes } from './nsTimes.js';
import type { ExtractOptions, ExtractProgress, ExtractSelect, ExtractStart } from './options.js';
import { makeOutputDir } from './outputPath.js';
import { BATCH, byInode, childShown, type DirWalk, deferEntry, type OutDir, type Pending, pendingEntry, pendingPath, type Step, WALK_STEP } from './pending.js';
import { PRESERVE_NONE, PRIVATE_DIR_MODE, type Preserve } from './policy.js';
import { Prefetcher } from './prefetch.js';
import { describeError, type ExtractSummary, SummaryLog } from './summary.js';
import { TaskSet } from './tasks.js';

export type { ExtractOptions, ExtractProgress, ExtractSelect, ExtractStart } from './options.js';

const O = nodeFs.constants;

/**
 * The extraction engine: writes files of the image to a directory of this
 * machine (extract, recover -o).
 *
 * Safety: nothing is ever written outside the output directory (outputPath.ts).
 * Names that cannot be one path component are refused and reported, and
 * nothing below them is written. Existing files are not replaced without
 * `force`. Metadata as far as this machine allows (metadata.ts), but by
 * default no device nodes, no setuid/setgid bits, no ownership and a private
 * output directory (policy.ts: `preserve` opts in; the summary says what was
 * withheld).
 *
 * Speed: the walk and checksum verification stay on this thread; each item's
 * syscalls (mkdir; open with the final mode when the umask allows, write,
 * futimes, close) run on libuv's thread pool, IN_FLIGHT items at a time, and
 * file data is read ahead on that pool into buffers that readFile verifies
 * instead of reading (prefetch.ts, through the devices' ByteSource.prefetch).
 * Files from DIRECT_MIN on are written with O_DIRECT from those same buffers
 * (content.ts, directWrite.ts): no copy into the page cache and nothing left
 * for writeback. Files up to SMALL_FILE are written with synchronous calls on
 * this thread (ContentWriter.fileSync), their data warmed in the page cache
 * instead of read ahead into buffers. The walk makes the directories as it meets them and sets
 * every other entry aside without reading its inode; the entries are then
 * written in inode order, up to BATCH at a time (flush): a directory's
 * entries can lie anywhere in the tree, but in inode order every leaf of the
 * tree is read once and the data mostly comes in disk order. A file waits
 * for its directory's mkdir; hard-linked names wait for the first one;
 * directories get their metadata last, each after those below it.
 */

/**
 * Extracts `start` (a directory's whole tree, or one file) into `outDir`:
 * into `outDir` itself when `into` is null or empty, else into outDir/into.
 */
export async function extractFiles(view: FsView, start: ExtractStart, outDir: string, opts: ExtractOptions = {}): Promise<ExtractSummary> {
  nodeFs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const xattr = opts.xattr ?? (await loadXattr());
  const times = opts.times ?? (await loadNsTimes());
  const isRoot = opts.isRoot ?? (typeof process.getuid === 'function' && process.getuid() === 0);
  const x = new Extractor(view, opts.progress ?? NO_PROGRESS, outDir, {
    force: opts.force ?? false,
    verify: opts.verify !== false,
    xattr,
    isRoot,
    preserve: opts.preserve ?? PRESERVE_NONE,
    readAhead: opts.readAhead ?? true,
    batch: Math.max(1, opts.batch ?? BATCH),
    directWrite: opts.directWrite ?? true,
    manifest: opts.manifest ?? false,
    select: opts.select ?? null,
    times,
    onDataError: opts.onDataError ?? null,
  });
  const into = start.into === null ? [] : start.into instanceof Uint8Array ? [start.into] : [...start.into];
  // The walk visits each leaf about once (directory lookups hit the few recent ones): a small
  // block cache leaves the memory to the writes in flight.
  const cacheLimit = view.fs.reader.cache.setLimit(EXTRACT_CACHE_BYTES);
  try {
    await x.run(start.ref, start.inode, into, start.ways ?? [], opts.createdOutput ?? false);
  } finally {
    await x.paths.close();
    view.fs.reader.cache.setLimit(cacheLimit);
  }
  return x.log.summary;
}

const NO_PROGRESS: ExtractProgress = { enabled: false, phase() {}, rename() {}, update() {}, done() {} };

/** Block cache bound while extracting. */
const EXTRACT_CACHE_BYTES = 16 << 20;

/** Most files and directories written at once (each holds one open descriptor and at most 1 MiB of data). */
const IN_FLIGHT = 64;
/** Entries whose inodes are read (and their data planned for reading ahead) before they are written. */
const LOOKAHEAD = 256;

class Extractor {
  readonly log: SummaryLog;
  /** Host paths at any depth, resolved when each entry is written. */
  readonly paths = new HostPaths();
  /** Per hard-linked inode: where its first name was written (null: none yet), as the chain of its names settles. */
  private readonly links = new Map<string, Promise<{ dir: HostLoc; name: Uint8Array | null } | null>>();
  private readonly dirs: OutDir[] = [];
  /** Entries set aside by the walk, written in inode order by flush. */
  private pending: Pending[] = [];
  /** Entries whose type said "not a directory" and whose inode is one: walked after the rest. */
  private readonly lateDirs: { p: Pending; inode: Inode; shown: string }[] = [];
  private readonly refusedItems = new WeakSet<WalkItem>();
  private readonly tasks = new TaskSet(IN_FLIGHT, (e) => this.log.failed(-1, '(extract)', describeError(e)));
  private seq = 0;
  private readonly prefetch: Prefetcher | null;
  private readonly meta: MetadataRestorer;
  private readonly content: ContentWriter;

  constructor(
    private readonly view: FsView,
    private readonly bar: ExtractProgress,
    private readonly outDir: string,
    private readonly opts: {
      force: boolean;
      verify: boolean;
      xattr: XattrApi | string;
      isRoot: boolean;
      preserve: Preserve;
      readAhead: boolean;
      batch: number;
      directWrite: boolean;
      manifest: boolean;
      select: ExtractSelect | null;
      times: NsTimes | string;
      onDataError: ((logical: bigint, length: bigint) => void) | null;
    },
  ) {
    const ns = typeof opts.times === 'string' ? null : opts.times;
    this.log = new SummaryLog(outDir, { ...opts, timePrecision: ns ? 'ns' : 'us', owner: opts.preserve.owner });
    this.log.summary.notes.push(timePrecisionNote(ns ? 'ns' : 'us', typeof opts.times === 'string' ? opts.times : undefined));
    this.meta = new MetadataRestorer(view, this.log, outDir, { ...opts, times: ns });
    this.prefetch = opts.readAhead ? new Prefetcher(view) : null;
    this.content = new ContentWriter(view, this.log, this.meta, outDir, opts, this.prefetch, () => this.progress());
    if (typeof opts.xattr === 'string') this.log.summary.notes.push(`xattrs are not restored: ${opts.xattr}`);
    if (view.metadumpHasData)
      this.log.summary.notes.push(
        'the image was made by btrfs-image -d: file data is extracted unverified (its csum items are zeroed); inline file data and symlink targets are zeroed in it and cannot be extracted',
      );
    else if (view.isMetadump) this.log.summary.notes.push('the image was made by btrfs-image (METADUMP): it holds metadata only, so file contents and symlink targets cannot be extracted');
  }

  async run(start: WalkItem['ref'], startInode: Inode, into: Uint8Array[], ways: readonly (Meta | null)[], createdOut: boolean): Promise<void> {
    let out: OutDir = { ...this.paths.root(this.outDir), meta: null, shown: '/', seq: this.seq++, ready: Promise.resolve(true), made: true, children: [], up: null, name: null };
    for (let i = 0; i < into.length; i++) {
      const why = unsafeNameReason(into[i]!);
      if (why) {
        this.log.refused(0, displayPath(into.slice(0, i + 1)), why);
        return;
      }
    }
    // The directories on the way to the start: made (or reused) now, their metadata set with the others at the end.
    for (let i = 0; i + 1 < into.length; i++) {
      const d: OutDir = {
        ...this.paths.child(out, into[i]!),
        meta: ways[i] ?? null,
        shown: displayPath(into.slice(0, i + 1)),
        seq: this.seq++,
        ready: Promise.resolve(true),
        children: [],
        up: null,
        name: null,
      };
      if (!(await this.dir(d))) return;
      d.made = true;
      if (!d.meta) this.dirs.pop();
      else out.children.push(d);
      out = d;
    }
    // Where the start goes in `out`: its last name on the way (none: `out` itself).
    const startAt = into.length ? into[into.length - 1]! : null;
    const startShown = displayPath(into);
    if (this.prefetch) {
      // Every csum tree: with extent-tree-v2 a file's checksums may be in any global root.
      const trees = [this.view.tree(start.subvol), ...this.view.fs.globalRoots(ObjectId.CSUM_TREE)];
      // A whole subvolume with none below it: its leaves' inode items tell how much there is to write.
      const whole = start.ino === this.view.rootOf(start.subvol).ino && !this.view.subvolumes().some((s) => s.parentId === start.subvol);
      this.prefetch.warmTrees(
        trees.filter((t) => t !== undefined),
        { census: whole && this.bar.enabled ? start.subvol : undefined, window: start.subvol },
      );
    }
    this.bar.phase('extracting', 'bytes');
    const visited = new Set<string>();
    // Refused and unreadable items are not entered; entries that are not directories are left to flush.
    const walkFrom = (ref: InodeRef, maxDepth = MAX_WALK_DEPTH) => walkFiles(this.view, ref, { prune: (it) => this.refusedItems.has(it), defer: deferEntry, visited, maxDepth });
    await this.walkAndWrite(walkFrom(start), (it, seq, levels) => {
      if (into.length) this.one(it, startAt, startShown, seq, out, levels, null);
      else if (startInode.kind === 'dir') {
        levels[0] = out;
        if (createdOut) {
          out.meta = this.outputMeta(startInode, out.seq);
          this.dirs.push(out);
        }
      } else this.one(it, null, '/', seq, out, levels, null);
    });
    // Entries whose type said "not a directory" but whose inode is one: each is walked on its own.
    for (let i = 0; i < this.lateDirs.length; i++) {
      const { p, inode, shown } = this.lateDirs[i]!;
      const name = Buffer.from(p.name, 'latin1');
      const ref = { subvol: p.subvol, ino: p.ino };
      const why = mayEnter(this.view, pendingPath(p), pendingEntry(p), p.depth, MAX_WALK_DEPTH, visited);
      if (why) {
        this.one({ inode, ref, depth: p.depth, loop: why === 'loop', tooDeep: why === 'tooDeep' }, name, shown, p.seq, p.parent, [], name);
        continue;
      }
      await this.walkAndWrite(walkFrom(ref, MAX_WALK_DEPTH - p.depth), (it, _seq, levels) => this.one(it, name, shown, p.seq, p.parent, levels, name));
    }
    await this.prefetch?.stop();
    await this.tasks.idle();
    await this.finishDirs();
    this.log.sort();
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
      if (step.done) {
        w.done = true;
        return;
      }
      const it = step.value;
      const seq = this.seq++;
      const name = it.depth > 0 ? it.path[it.path.length - 1]! : null;
      const parent = it.depth > 0 ? w.levels[it.depth - 1]! : null;
      if (name && parent) {
        const why = unsafeNameReason(name);
        if (why) {
          this.refusedItems.add(it);
          this.log.refused(seq, childShown(parent, name), why);
          continue;
        }
        if (it.deferred) {
          if (this.opts.select && !this.opts.select.entry(childShown(parent, name))) continue;
          const e = it.entry!;
          this.pending.push({
            parent,
            name: Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1'),
            subvol: e.target.subvol,
            ino: e.target.ino,
            ftype: e.ftype,
            block: e.place.block,
            slot: e.place.slot,
            seq,
            depth: it.depth,
          });
          continue;
        }
      }
      const sel = this.opts.select;
      if (sel && name && parent && it.inode) {
        const shown = childShown(parent, name);
        if (!(it.inode.kind === 'dir' ? sel.dir(shown) : sel.entry(shown))) {
          this.refusedItems.add(it);
          continue;
        }
      }
      // Decided now, as the walk asks right after this item: nothing below these is entered (one() reports them).
      if (!it.inode || it.loop || it.tooDeep) this.refusedItems.add(it);
      else this.prefetch?.file(it.inode);
      if (name && parent) this.one(it, name, childShown(parent, name), seq, parent, w.levels, name);
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
    const recs: (InodeRecord | null)[] = new Array(batch.length);
    let looked = 0;
    for (let i = 0; i < batch.length; i++) {
      for (; looked < batch.length && looked <= i + LOOKAHEAD; looked++) {
        const p = batch[looked]!;
        if ((looked & 63) === 0) this.prefetch?.warmAt(p.subvol, p.ino);
        // The inode item, xattrs and extents in one pass over the inode's keys (inodeRecord):
        // in inode order, mostly the same leaf as the entry before.
        const rec = inodeRecord(this.view, { subvol: p.subvol, ino: p.ino });
        checkEntry(this.view, () => pendingPath(p), pendingEntry(p), rec.inode);
        if (rec.inode && rec.inode.kind !== 'dir') this.prefetch?.file(rec.inode, rec.extents);
        recs[looked] = rec;
      }
      const p = batch[i]!;
      const rec = recs[i]!;
      const inode = rec.inode;
      recs[i] = null;
      const name = Buffer.from(p.name, 'latin1');
      const shown = childShown(p.parent, name);
      if (inode?.kind === 'dir') {
        this.lateDirs.push({ p, inode, shown });
        continue;
      }
      this.one({ inode, ref: { subvol: p.subvol, ino: p.ino }, depth: p.depth }, name, shown, p.seq, p.parent, [], name, rec);
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
      done.set(
        d,
        new Promise<void>((r) => {
          settle = r;
        }),
      );
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
    const w = this.log.summary.written;
    // The census is taken only of a whole subvolume (see run), as its leaves are warmed.
    const c = this.prefetch?.census;
    const est = c && c.counted > 0 && (c.leavesLeft === 0 || c.counted * 20 >= c.leaves) ? { files: Math.round((c.files * c.leaves) / c.counted), bytes: (c.bytes * c.leaves) / c.counted } : null;
    const total = est ? Math.max(est.bytes, w.bytes) : undefined;
    this.bar.rename(`extracting ${w.files + w.directories + w.symlinks + w.hardlinks}${est ? ` of ~${est.files} files and their directories` : ' items'}`);
    this.bar.update(w.bytes, total);
  }

  /**
   * The metadata an output directory made by this run gets from the image's directory it stands
   * for: its times, and its mode only when asked for (else 0700: the image's mode could open the
   * directory, and with it everything extracted, to every local user).
   */
  private outputMeta(inode: Inode, seq: number): Meta {
    const m = metaOf(inode);
    if (this.opts.preserve.outputMode || (inode.mode & 0o7777) === PRIVATE_DIR_MODE) return m;
    this.log.withheld(seq, '/', 'outputMode', `output directory kept at mode 0${PRIVATE_DIR_MODE.toString(8)} (0${(inode.mode & 0o7777).toString(8)} in the image; --preserve-all gives it that)`);
    return { ...m, mode: (inode.mode & ~0o7777) | PRIVATE_DIR_MODE };
  }

  /**
   * Starts writing one item, as `at` in output directory `parent` (null: `parent` itself);
   * `name`: its last path component from the walk's start (null for the start).
   */
  private one(it: Step, at: Uint8Array | null, shown: string, seq: number, parent: OutDir, levels: OutDir[], name: Uint8Array | null, rec: InodeRecord | null = null): void {
    const inode = it.inode;
    if (!inode) {
      this.log.failed(seq, shown, `inode ${it.ref.ino} of subvolume ${it.ref.subvol} is missing`);
      return;
    }
    if (it.loop) {
      this.log.failed(seq, shown, 'directory already extracted on this walk (hard-linked directory: a loop); not entered again');
      return;
    }
    if (it.tooDeep) {
      this.log.failed(seq, shown, 'too deep; not entered');
      return;
    }
    const guard = (what: Promise<void>) => what.catch((e) => this.log.failed(seq, shown, describeError(e)));
    switch (inode.kind) {
      case 'dir': {
        const loc = at ? this.paths.child(parent, at) : { host: parent.host, anchor: parent.anchor };
        const d: OutDir = { ...loc, meta: metaOf(inode), shown, seq, ready: Promise.resolve(false), children: [], up: parent, name: name ? name.slice() : null };
        let ok!: (v: boolean) => void;
        d.ready = new Promise<boolean>((r) => {
          ok = r;
        });
        levels[it.depth] = d;
        levels.length = it.depth + 1;
        parent.children.push(d);
        this.tasks.start(async () => {
          let made = false;
          try {
            made = (await parent.ready) && (await this.dir(d));
          } catch (e) {
            this.log.failed(seq, shown, describeError(e));
          } finally {
            d.made = made;
            ok(made);
          }
        });
        return;
      }
      case 'file':
        this.startFile(at, inode, shown, seq, parent, rec);
        return;
      case 'symlink':
        this.tasks.start(() => guard(parent.ready.then((ok) => (ok ? this.paths.use(parent, at, (host) => this.content.symlink(host, inode, shown, seq)) : undefined))));
        return;
      case 'fifo':
      case 'chr':
      case 'blk':
        this.tasks.start(() => guard(this.content.special(this.at(parent, at), inode, shown, seq, parent.ready)));
        return;
      case 'sock':
        this.log.skipped(seq, shown, 'socket (not recreated)');
        return;
      default:
        this.log.failed(seq, shown, `unknown file type (mode 0${inode.mode.toString(8)})`);
        return;
    }
  }

  /** Makes the directory (or checks that the one there is a real directory); false when nothing below it is written. */
  private async dir(d: OutDir): Promise<boolean> {
    const c = await this.paths.use(d, null, (host) => makeOutputDir(host, this.opts.force));
    if ('why' in c) {
      this.log.failed(d.seq, d.shown, c.why);
      return false;
    }
    if (c.replaced) this.log.replaced(d.seq, d.shown);
    this.log.summary.written.directories++;
    if (d.meta) this.log.wrote(d.seq, d.shown, 'dir', d.meta, 0n);
    this.dirs.push(d);
    return true;
  }

  /** The path of `at` in `dir` for a call that runs later (resolved then). */
  private at(dir: HostLoc, at: Uint8Array | null): At {
    return (f) => this.paths.use(dir, at, f);
  }

  private async finishDir(d: OutDir): Promise<void> {
    let fd: number;
    try {
      fd = await this.paths.use(d, null, (host) => af.open(host, O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW, 0));
    } catch (e) {
      this.log.failed(d.seq, d.shown, `cannot set directory metadata: ${describeError(e)}`);
      return;
    }
    try {
      await this.meta.fdMeta(fd, d.meta!, d.shown, d.seq, false);
    } finally {
      await af.close(fd);
    }
  }

  /** Writes a file of one name through the thread pool (its failure is logged). */
  private async file(parent: OutDir, at: Uint8Array | null, inode: Inode, shown: string, seq: number, rec: InodeRecord | null): Promise<void> {
    try {
      await this.paths.use(parent, at, (host) => this.content.file(host, inode, shown, seq, rec));
    } catch (e) {
      this.log.failed(seq, shown, describeError(e));
    } finally {
      this.prefetch?.drop(inode);
    }
  }

  /** Writes a small file of one name on this thread; false when its name is taken (then `file` makes way). */
  private smallFile(host: Buffer, inode: Inode, shown: string, seq: number, rec: InodeRecord | null): boolean {
    try {
      if (!this.content.fileSync(host, inode, shown, seq, rec)) return false;
    } catch (e) {
      this.log.failed(seq, shown, describeError(e));
    }
    this.prefetch?.drop(inode);
    return true;
  }

  /**
   * A regular file. Names of one hard-linked inode form a chain: each waits for the one
   * before, links to the first name written, or (when none could be written) is written itself.
   */
  private startFile(at: Uint8Array | null, inode: Inode, shown: string, seq: number, parent: OutDir, rec: InodeRecord | null): void {
    if (inode.nlink <= 1) {
      // A small file: written on this thread, at once when its directory is made, else once it
      // is; a directory deep enough to need an anchor (HostPaths) takes the asynchronous way.
      const host = this.content.syncable(inode) ? this.paths.plain(parent, at) : null;
      if (host) {
        if (parent.made === true) {
          if (!this.smallFile(host, inode, shown, seq, rec)) this.tasks.start(() => this.file(parent, at, inode, shown, seq, rec));
        } else
          this.tasks.start(async () => {
            if (!(await parent.ready)) this.prefetch?.drop(inode);
            else if (!this.smallFile(host, inode, shown, seq, rec)) await this.file(parent, at, inode, shown, seq, rec);
          });
        return;
      }
      this.tasks.start(async () => {
        if (await parent.ready) await this.file(parent, at, inode, shown, seq, rec);
        else this.prefetch?.drop(inode);
      });
      return;
    }
    const key = `${inode.subvol}:${inode.ino}`;
    const before = this.links.get(key) ?? Promise.resolve(null);
    let settle!: (v: { dir: HostLoc; name: Uint8Array | null } | null) => void;
    const mine = new Promise<{ dir: HostLoc; name: Uint8Array | null } | null>((r) => {
      settle = r;
    });
    if (this.links.has(key) || this.links.size < 1_000_000) this.links.set(key, mine);
    this.tasks.start(async () => {
      const first = await before;
      let result = first;
      try {
        if (!(await parent.ready)) return;
        if (first) {
          const linked = await this.paths.use(first.dir, first.name, (from) =>
            this.paths.use(parent, at, async (host) => {
              if (!(await this.content.makeWay(host, shown, seq))) return false;
              await af.link(from, host);
              return true;
            }),
          );
          if (!linked) return;
          this.log.summary.written.hardlinks++;
          this.log.wrote(seq, shown, 'file', inode, inode.size, true);
        } else if (await this.paths.use(parent, at, (host) => this.content.file(host, inode, shown, seq, rec))) {
          result = { dir: parent, name: at };
        }
      } catch (e) {
        this.log.failed(seq, shown, describeError(e));
      } finally {
        this.prefetch?.drop(inode);
        settle(result);
      }
    });
  }
}
