import * as nodeFs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { readFile, newReadStats, type ReadStats, symlinkTarget } from '../../fs/fileData.js';
import type { FsView } from '../../fs/FsView.js';
import { displayPath, displayName, isUtf8, unsafeNameReason } from '../../fs/names.js';
import type { Inode } from '../../fs/types.js';
import { walkFiles, type WalkItem } from '../../fs/walk.js';
import { rdevParts } from '../../report/fs.js';
import { toJson } from '../../report/json.js';
import { EXIT_DAMAGE, EXIT_OK, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { reportFindings } from '../findings.js';
import { openTarget } from '../target.js';

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

export type XattrApi = { setAttributeSync(path: string, name: string, value: Buffer): void };

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
      // The whole filesystem or a subvolume root goes into DIR itself; anything else into DIR/NAME.
      const isSubvolRoot = loc.ref.ino === view.rootOf(loc.ref.subvol).ino;
      let into: Uint8Array | null;
      if ((given === undefined || given === '/') && (isSubvolRoot || opts.inode === undefined)) into = null;
      else if (loc.path && loc.path.length > 0) into = loc.path[loc.path.length - 1]!;
      else into = new TextEncoder().encode(`inode-${loc.ref.subvol}-${loc.ref.ino}`);
      const s = await extractFiles(view, { ref: loc.ref, inode: loc.inode, into }, outDir, { force: opts.force ?? false, verify: opts.verify !== false, io, createdOutput: created });
      if (opts.json) io.stdout.write(toJson(s, 2) + '\n');
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
  const x = new Extractor(view, io, outDir, { force: opts.force ?? false, verify: opts.verify !== false, xattr, isRoot });
  x.run(start.ref, start.inode, start.into, opts.createdOutput ?? false);
  return x.summary;
}

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

class Extractor {
  readonly summary: ExtractSummary;
  private readonly links = new Map<string, Buffer>();
  private readonly dirs: { host: Buffer; inode: Inode; shown: string }[] = [];
  private readonly refusedItems = new WeakSet<WalkItem>();
  private readonly procFd = nodeFs.existsSync('/proc/self/fd');
  private lastProgress = 0;
  private tmpSeq = 0;
  /** Owner of the files this run creates; -1 (never equal) when that cannot be relied on. */
  private readonly ownUid: number;
  private readonly ownGid: number;

  constructor(private readonly view: FsView, private readonly io: CliIO, private readonly outDir: string,
    private readonly opts: { force: boolean; verify: boolean; xattr: XattrApi | string; isRoot: boolean }) {
    const setgidOut = (nodeFs.statSync(outDir).mode & 0o2000) !== 0;
    this.ownUid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
    this.ownGid = typeof process.getegid === 'function' && !setgidOut ? process.getegid() : -1;
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

  private add(list: ExtractIssue[], path: string, reason: string): void {
    if (list.length < LIST_CAP) list.push({ path, reason });
  }

  run(start: WalkItem['ref'], startInode: Inode, into: Uint8Array | null, createdOut: boolean): void {
    const root = Buffer.from(this.outDir);
    let startHost: Buffer = root;
    if (into) {
      const why = unsafeNameReason(into);
      if (why) { this.add(this.summary.refused, displayName(into, { controls: true }), why); return; }
      startHost = join(root, into);
    }
    const walk = walkFiles(this.view, start, { prune: (it) => this.refusedItems.has(it) });
    for (const it of walk) {
      const shown = displayPath(into ? [into, ...it.path] : it.path, { controls: true });
      if (it.depth === 0) {
        if (into) {
          if (!this.one(it, startHost, shown)) this.refusedItems.add(it);
        } else if (startInode.kind === 'dir') {
          if (createdOut) this.dirs.push({ host: root, inode: startInode, shown: '/' });
        } else {
          this.one(it, join(root, new Uint8Array(0)), shown);
        }
        continue;
      }
      const name = it.path[it.path.length - 1]!;
      const why = unsafeNameReason(name);
      if (why) {
        this.refusedItems.add(it);
        this.add(this.summary.refused, shown, why);
        continue;
      }
      const host = join(startHost, ...it.path);
      if (!this.one(it, host, shown)) this.refusedItems.add(it);
      this.progress();
    }
    // Directories last, deepest first: their modes may forbid writing, and writing changes their times.
    for (let i = this.dirs.length - 1; i >= 0; i--) {
      const d = this.dirs[i]!;
      this.finishDir(d.host, d.inode, d.shown);
    }
    if (this.io.stderrIsTTY) this.io.stderr.write('\r\x1b[K');
  }

  private progress(): void {
    if (!this.io.stderrIsTTY) return;
    const now = Date.now();
    if (now - this.lastProgress < 200) return;
    this.lastProgress = now;
    const w = this.summary.written;
    this.io.stderr.write(`\r\x1b[Kextracting: ${w.files + w.directories + w.symlinks + w.hardlinks} written, ${(w.bytes / 1048576).toFixed(1)} MiB`);
  }

  /** Writes one item; false when nothing below it should be written. */
  private one(it: WalkItem, host: Buffer, shown: string): boolean {
    const inode = it.inode;
    if (!inode) { this.add(this.summary.failed, shown, `inode ${it.ref.ino} of subvolume ${it.ref.subvol} is missing`); return false; }
    if (it.loop) { this.add(this.summary.failed, shown, 'directory already extracted on this walk (hard-linked directory: a loop); not entered again'); return false; }
    if (it.tooDeep) { this.add(this.summary.failed, shown, 'too deep; not entered'); return false; }
    try {
      switch (inode.kind) {
        case 'dir': return this.dir(host, inode, shown);
        case 'file': this.file(host, inode, shown); return true;
        case 'symlink': this.symlink(host, inode, shown); return true;
        case 'fifo': case 'chr': case 'blk': this.special(host, inode, shown); return true;
        case 'sock': this.add(this.summary.skipped, shown, 'socket (not recreated)'); return true;
        default: this.add(this.summary.failed, shown, `unknown file type (mode 0${inode.mode.toString(8)})`); return true;
      }
    } catch (e) {
      this.add(this.summary.failed, shown, describeError(e));
      return inode.kind !== 'dir';
    }
  }

  /** Makes way for a new entry when --force; true when the name is free. */
  private clear(host: Buffer, shown: string): boolean {
    // throwIfNoEntry: an absent name is the common case, and an exception per file is costly.
    const st = nodeFs.lstatSync(host, { throwIfNoEntry: false });
    if (!st) return true;
    if (!this.opts.force) { this.add(this.summary.failed, shown, 'exists (use --force to replace)'); return false; }
    if (st.isDirectory()) { this.add(this.summary.failed, shown, 'exists as a directory; not replaced'); return false; }
    nodeFs.unlinkSync(host);
    return true;
  }

  private dir(host: Buffer, inode: Inode, shown: string): boolean {
    try {
      nodeFs.mkdirSync(host, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = nodeFs.lstatSync(host);
      if (!st.isDirectory()) {
        // A symlink or file in the way: never write through it.
        if (!this.opts.force) { this.add(this.summary.failed, shown, `exists and is not a directory${st.isSymbolicLink() ? ' (a symlink: not followed)' : ''}; nothing below it written (use --force to replace)`); return false; }
        nodeFs.unlinkSync(host);
        nodeFs.mkdirSync(host, { mode: 0o700 });
      } else {
        // Reusing a directory: make sure we can write into it (its final mode is set at the end).
        nodeFs.chmodSync(host, (st.mode & 0o7777) | 0o700);
      }
    }
    this.summary.written.directories++;
    this.dirs.push({ host, inode, shown });
    return true;
  }

  private finishDir(host: Buffer, inode: Inode, shown: string): void {
    let fd: number;
    try {
      fd = nodeFs.openSync(host, O.O_RDONLY | O.O_DIRECTORY | O.O_NOFOLLOW);
    } catch (e) {
      this.add(this.summary.failed, shown, `cannot set directory metadata: ${describeError(e)}`);
      return;
    }
    try {
      this.fdMeta(fd, inode, shown);
    } finally {
      nodeFs.closeSync(fd);
    }
  }

  /** xattrs, owner, mode, times through an open descriptor. */
  private fdMeta(fd: number, inode: Inode, shown: string): void {
    this.setXattrs(this.procFd ? `/proc/self/fd/${fd}` : null, inode, shown);
    // A file we create is already owned by our uid and gid (our directories are made 0700,
    // never setgid, and a setgid output directory turns this shortcut off).
    if (this.opts.isRoot && (inode.uid !== this.ownUid || inode.gid !== this.ownGid)) {
      try { nodeFs.fchownSync(fd, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, shown, `chown: ${describeError(e)}`); }
    }
    try { nodeFs.fchmodSync(fd, inode.mode & 0o7777); } catch (e) { this.add(this.summary.failed, shown, `chmod: ${describeError(e)}`); }
    try { nodeFs.futimesSync(fd, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, shown, `times: ${describeError(e)}`); }
  }

  private setXattrs(procPath: string | null, inode: Inode, shown: string, why?: string): void {
    const xs = this.view.xattrs(inode);
    if (xs.length === 0) return;
    const nr = this.summary.xattrs.notRestored;
    const api = this.opts.xattr;
    for (const x of xs) {
      const name = displayName(x.name, { controls: true });
      const no = (reason: string) => { if (nr.length < LIST_CAP) nr.push({ path: shown, name, reason }); };
      if (why) { no(why); continue; }
      if (typeof api === 'string') { no('fs-xattr not available'); continue; }
      if (!procPath) { no('/proc/self/fd is not available'); continue; }
      if (!isUtf8(x.name) || x.name.includes(0)) { no('name is not UTF-8 text (fs-xattr takes names as strings)'); continue; }
      try {
        api.setAttributeSync(procPath, Buffer.from(x.name).toString('utf8'), Buffer.from(x.value));
        this.summary.xattrs.restored++;
      } catch (e) {
        no(describeError(e));
      }
    }
  }

  private file(host: Buffer, inode: Inode, shown: string): void {
    const key = `${inode.subvol}:${inode.ino}`;
    if (inode.nlink > 1) {
      const first = this.links.get(key);
      if (first) {
        if (!this.clear(host, shown)) return;
        nodeFs.linkSync(first, host);
        this.summary.written.hardlinks++;
        return;
      }
    }
    if (this.view.isMetadump && inode.size > 0n) { this.add(this.summary.failed, shown, 'no file data in a btrfs-image metadump'); return; }
    // O_EXCL refuses an existing name by itself: look at what is there only when it does.
    const flags = O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_NOFOLLOW;
    let fd: number;
    try {
      fd = nodeFs.openSync(host, flags, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!this.clear(host, shown)) return;
      fd = nodeFs.openSync(host, flags, 0o600);
    }
    let bad: string | null = null;
    let end = 0;
    try {
      for (const seg of readFile(this.view, inode, { verify: this.opts.verify, stats: this.summary.read })) {
        if (seg.kind === 'data') {
          let done = 0;
          while (done < seg.bytes.length) done += nodeFs.writeSync(fd, seg.bytes, done, seg.bytes.length - done, Number(seg.offset) + done);
          this.summary.written.bytes += seg.bytes.length;
          end = Math.max(end, Number(seg.offset) + seg.bytes.length);
          this.progress();
        } else if (seg.kind === 'error' && !bad) {
          bad = `file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}: ${seg.message}`;
        }
        // Zero segments (holes, prealloc) are skipped: the file stays sparse.
      }
      // The size is set by the last write unless the file ends in a hole (or is shorter than written).
      if (end !== Number(inode.size)) nodeFs.ftruncateSync(fd, Number(inode.size));
      this.fdMeta(fd, inode, shown);
    } finally {
      nodeFs.closeSync(fd);
    }
    this.summary.written.files++;
    if (bad) this.add(this.summary.failed, shown, `written incompletely (unreadable ranges left as holes): ${bad}`);
    if (inode.nlink > 1 && this.links.size < 1_000_000) this.links.set(key, host);
  }

  private symlink(host: Buffer, inode: Inode, shown: string): void {
    const target = symlinkTarget(this.view, inode);
    if (!target) { this.add(this.summary.failed, shown, this.view.isMetadump ? 'symlink target not in a btrfs-image metadump' : 'symlink target unreadable'); return; }
    if (target.length === 0 || target.includes(0)) { this.add(this.summary.failed, shown, 'symlink target is empty or contains NUL'); return; }
    if (!this.clear(host, shown)) return;
    nodeFs.symlinkSync(Buffer.from(target), host);
    this.summary.written.symlinks++;
    if (this.opts.isRoot) {
      try { nodeFs.lchownSync(host, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, shown, `lchown: ${describeError(e)}`); }
    }
    try { nodeFs.lutimesSync(host, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, shown, `times: ${describeError(e)}`); }
    this.setXattrs(null, inode, shown, 'xattrs of symlinks are not restored (cannot be set without following the link)');
  }

  private special(host: Buffer, inode: Inode, shown: string): void {
    const what = inode.kind === 'fifo' ? 'fifo' : `${inode.kind === 'chr' ? 'character' : 'block'} device ${rdevParts(inode.rdev).major}:${rdevParts(inode.rdev).minor}`;
    if (!this.opts.isRoot) { this.add(this.summary.skipped, shown, `${what} (made only when running as root)`); return; }
    if (!this.clear(host, shown)) return;
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
      this.add(this.summary.failed, shown, `${what}: ${describeError(e)}`);
      return;
    } finally {
      try { nodeFs.unlinkSync(tmp); } catch { /* not made */ }
    }
    if (inode.kind === 'fifo') this.summary.written.fifos++; else this.summary.written.devices++;
    try { nodeFs.lchownSync(host, inode.uid, inode.gid); } catch (e) { this.add(this.summary.failed, shown, `lchown: ${describeError(e)}`); }
    try { nodeFs.lutimesSync(host, seconds(inode.atime), seconds(inode.mtime)); } catch (e) { this.add(this.summary.failed, shown, `times: ${describeError(e)}`); }
    this.setXattrs(null, inode, shown, 'xattrs of device nodes and fifos are not restored');
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
