import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractSummary } from '../src/cli/commands/extract.js';
import { runCli } from '../src/cli/main.js';
import { SMALL_FILE } from '../src/node/extract/buffers.js';
import { loadXattrs } from '../src/node/extract/libc.js';
import { captureIO, filesTruth, logTreeTruth, type TruthEntry, writeSparse } from './helpers/fsTruth.js';
import { expectSameTree, sha256File } from './helpers/sameTree.js';
import { SAMPLES, sampleNames } from './helpers/samples.js';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-extract-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));

/** lgetxattr through the optional koffi package: the kernel's word on what extract set (null when koffi is missing). */
const xattrCalls = await loadXattrs();
const xattr = typeof xattrCalls === 'string' ? null : xattrCalls;

/** An on-disk time in ns truncated to the microsecond (toward minus infinity, as a timespec holds it). */
const floorUs = (ns: bigint) => (ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n)) * 1000n;

/** The CLI arguments naming a sample's devices. */
function sampleArgs(name: string): string[] {
  const files = nodeFs
    .readdirSync(join(SAMPLES, name))
    .filter((f) => /^dev\d+\.runs\.gz$/.test(f))
    .sort((a, b) => parseInt(a.slice(3), 10) - parseInt(b.slice(3), 10));
  const [first, ...rest] = files.map((f) => join(SAMPLES, name, f));
  return [first!, ...rest.flatMap((d) => ['--device', d])];
}

/**
 * extract of a whole sample image reproduces the kernel's view on disk:
 * every path, type, permission bits, content (sha256), symlink target, hard
 * links as one inode, mtime and atime (to Node's precision), xattrs (those
 * not restored are reported), sparse files; ownership and device nodes only
 * when the test runs as root. With --preserve-all: setuid/setgid bits, device
 * nodes and ownership are withheld by default (test/extract-policy.test.ts).
 */
describe.each(sampleNames())('extract of sample %s', (name) => {
  it('reproduces every file of the image on disk', async () => {
    const out = join(tmpRoot, name);
    const c = captureIO();
    const code = await runCli(['extract', ...sampleArgs(name), '-o', out, '--json', '--preserve-all'], c.io);
    const s = JSON.parse(c.text()) as ExtractSummary;
    expect(s.failed, c.stderr()).toEqual([]);
    expect(s.refused).toEqual([]);
    expect(code, c.stderr()).toBe(0);
    const log = logTreeTruth(name);
    const changed = log ? Object.keys(log.after_log_replay).filter((p) => JSON.stringify(log.committed[p]) !== JSON.stringify(log.after_log_replay[p])) : [];
    const logDirs = new Set(
      changed
        .flatMap((p) =>
          p
            .split('/')
            .slice(0, -1)
            .map((_, i, a) => a.slice(0, i + 1).join('/')),
        )
        .concat(changed.length ? ['.'] : []),
    );
    const all = filesTruth(name);
    const truth = all.filter((t) => !(log && (log.committed[t.path] === null || changed.includes(t.path))));
    const notRestored = new Set(s.xattrs.notRestored.map((x) => `${x.path}\u0000${x.name}`));
    const inodes = new Map<string, { ino: number; names: number; nlink: number }>();
    const expected = new Set<string>();
    // Every lstat first: reading contents below would update atimes (relatime).
    const stats = new Map<string, nodeFs.BigIntStats | null>();
    for (const t of truth) {
      const rel = Buffer.from(t.path_b64, 'base64');
      const p = t.path === '.' ? Buffer.from(out) : Buffer.concat([Buffer.from(out + '/'), rel]);
      // lstat only: following a symlink (existsSync, stat) updates its atime.
      stats.set(t.path_b64, nodeFs.lstatSync(p, { bigint: true, throwIfNoEntry: false }) ?? null);
    }
    for (const t of truth) {
      const rel = Buffer.from(t.path_b64, 'base64');
      const p = t.path === '.' ? Buffer.from(out) : Buffer.concat([Buffer.from(out + '/'), rel]);
      expected.add(p.toString('latin1'));
      if (t.type === 'sock' || ((t.type === 'chr' || t.type === 'blk' || t.type === 'fifo') && !isRoot)) {
        expect(nodeFs.lstatSync(p, { throwIfNoEntry: false }), `${t.path} not made`).toBeUndefined();
        expect(
          s.skipped.some((x) => x.path === `/${t.path}`),
          `${t.path} listed as not created`,
        ).toBe(true);
        expected.delete(p.toString('latin1'));
        continue;
      }
      const st = stats.get(t.path_b64)!;
      expect(st, `${t.path} written`).not.toBeNull();
      const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : st.isFIFO() ? 'fifo' : st.isCharacterDevice() ? 'chr' : st.isBlockDevice() ? 'blk' : 'other';
      expect(type, t.path).toBe(t.type);
      if (t.type !== 'symlink') expect(Number(st.mode & 0o7777n).toString(8), `${t.path} mode`).toBe((t.mode & 0o7777).toString(8));
      // Times: exact through koffi; else libuv keeps whole microseconds and extract aims at the middle of the on-disk time's.
      if (t.ino !== 2 && !logDirs.has(t.path)) {
        const want = (ns: string) => (s.timePrecision === 'ns' ? BigInt(ns) : floorUs(BigInt(ns)));
        expect(st.mtimeNs, `${t.path} mtime`).toBe(want(t.mtime_ns));
        if (t.type !== 'dir') expect(st.atimeNs, `${t.path} atime`).toBe(want(t.atime_ns));
      }
      if (isRoot) expect([Number(st.uid), Number(st.gid)], `${t.path} owner`).toEqual([t.uid, t.gid]);
      if (t.type === 'file') {
        expect(st.size, t.path).toBe(BigInt(t.size));
        if (t.nlink > 1) {
          const k = `${t.subvol_id}:${t.ino}`;
          const g = inodes.get(k) ?? { ino: Number(st.ino), names: 0, nlink: Number(st.nlink) };
          expect(Number(st.ino), `${t.path} is a hard link of the same inode`).toBe(g.ino);
          g.names++;
          inodes.set(k, g);
        }
        // A file that is all hole in the image stays all hole.
        if (t.size > 0 && (t as TruthEntry & { blocks?: number }).blocks === 0) expect(st.blocks, `${t.path} sparse`).toBe(0n);
        // Without root, a file extracted with mode 0000 cannot be read back: lend read permission for the check.
        const unreadable = !isRoot && (t.mode & 0o400) === 0;
        if (unreadable) nodeFs.chmodSync(p, 0o400);
        expect(sha256File(p), `${t.path} content`).toBe(t.sha256);
        if (unreadable) nodeFs.chmodSync(p, t.mode & 0o7777);
      }
      if (t.type === 'symlink') expect(nodeFs.readlinkSync(p, { encoding: 'buffer' }).toString('base64'), t.path).toBe(t.symlink_target_b64);
      if ((t.type === 'chr' || t.type === 'blk') && isRoot) {
        const rdev = Number(st.rdev);
        expect([Math.floor(rdev / 256) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00)], `${t.path} rdev`).toEqual(t.rdev);
      }
      for (const [k, v] of Object.entries(t.xattrs)) {
        const shown = t.path === '.' ? '/' : `/${t.path}`;
        if (notRestored.has(`${shown}\u0000${k}`)) continue;
        expect(xattr, `${t.path}: xattr ${k} neither restored nor reported`).not.toBeNull();
        expect(xattr!.lget(p, Buffer.from(k))?.toString('base64'), `${t.path} xattr ${k}`).toBe(v);
      }
    }
    // Files the log changed were checked against the committed state by fs-samples; here they must exist.
    for (const p of changed) if (log!.committed[p]) expected.add(Buffer.from(`${out}/${p}`).toString('latin1'));
    for (const [k, g] of inodes) expect(g.nlink, `inode ${k}: every name extracted as a hard link`).toBe(g.names);
    // Nothing else was written.
    const seen: string[] = [];
    const walk = (d: Buffer) => {
      for (const n of nodeFs.readdirSync(d, { encoding: 'buffer' })) {
        const p = Buffer.concat([d, Buffer.from('/'), n]);
        seen.push(p.toString('latin1'));
        if (nodeFs.lstatSync(p).isDirectory()) walk(p);
      }
    };
    walk(Buffer.from(out));
    for (const p of seen) expect(expected.has(p), `unexpected ${p}`).toBe(true);
  }, 120_000);
});

describe('extract never replaces or writes through what is already there', () => {
  const name = sampleNames().includes('holes') ? 'holes' : sampleNames()[0]!;
  it('existing files are kept without --force (exit 1, reported) and replaced with it; a symlink in the way is never followed', async () => {
    const out = join(tmpRoot, 'force');
    let c = captureIO();
    expect(await runCli(['extract', ...sampleArgs(name), '-o', out], c.io)).toBe(0);
    // An attacker (or an earlier run) leaves symlinks pointing outside where files and directories go.
    const outside = join(tmpRoot, 'outside');
    nodeFs.mkdirSync(outside);
    nodeFs.writeFileSync(join(outside, 'victim'), 'keep me');
    const entries = nodeFs.readdirSync(out, { recursive: true, encoding: 'utf8' }) as string[];
    const aDir = entries.find((e) => nodeFs.lstatSync(join(out, e)).isDirectory() && nodeFs.readdirSync(join(out, e)).length > 0)!;
    const aFile = entries.find((e) => !e.startsWith(`${aDir}/`) && nodeFs.lstatSync(join(out, e)).isFile() && nodeFs.statSync(join(out, e)).size > 0)!;
    expect(aFile).toBeDefined();
    nodeFs.writeFileSync(join(out, aFile), 'changed');
    nodeFs.rmSync(join(out, aDir), { recursive: true });
    nodeFs.symlinkSync(outside, join(out, aDir));
    c = captureIO();
    expect(await runCli(['extract', ...sampleArgs(name), '-o', out, '--json'], c.io)).toBe(1);
    const s = JSON.parse(c.text()) as ExtractSummary;
    expect(s.failed.some((f) => f.path === `/${aFile}` && /exists/.test(f.reason))).toBe(true);
    expect(s.failed.some((f) => f.path === `/${aDir}` && /symlink: not followed/.test(f.reason))).toBe(true);
    expect(nodeFs.readFileSync(join(out, aFile), 'utf8')).toBe('changed');
    expect(nodeFs.readdirSync(outside)).toEqual(['victim']);
    c = captureIO();
    expect(await runCli(['extract', ...sampleArgs(name), '-o', out, '--force'], c.io), c.stderr()).toBe(0);
    expect(nodeFs.readFileSync(join(out, aFile), 'utf8')).not.toBe('changed');
    expect(nodeFs.lstatSync(join(out, aDir)).isDirectory()).toBe(true);
    expect(nodeFs.readdirSync(outside)).toEqual(['victim']);
    expect(nodeFs.readFileSync(join(outside, 'victim'), 'utf8')).toBe('keep me');
  }, 60_000);

  it('a file PATH goes to DIR/<its path>; --subvol extracts one subvolume to DIR/<its path>', async () => {
    const out = join(tmpRoot, 'part');
    const c = captureIO();
    const def = sampleNames().includes('default') ? 'default' : null;
    if (!def) return;
    expect(await runCli(['extract', ...sampleArgs(def), '/rich/tiny.txt', '-o', out], c.io), c.stderr()).toBe(0);
    expect(nodeFs.readFileSync(join(out, 'rich', 'tiny.txt'), 'utf8').length).toBe(13);
    expect(await runCli(['extract', ...sampleArgs(def), '--subvol', '/subvol-a/nested', '-o', join(out, 'n')], captureIO().io)).toBe(0);
    const want = filesTruth(def)
      .filter((t) => /^subvol-a\/nested\/[^/]+$/.test(t.path))
      .map((t) => t.path.split('/').pop()!)
      .sort();
    expect(nodeFs.readdirSync(join(out, 'n'))).toEqual(['subvol-a']);
    expect(nodeFs.readdirSync(join(out, 'n', 'subvol-a', 'nested')).sort()).toEqual(want);
  });
});

describe.runIf(sampleNames().includes('default'))('extract from a plain image file (data read ahead on the thread pool)', () => {
  it('writes the same tree, byte for byte and with the same metadata, as from the runs image', async () => {
    const { sampleSources } = await import('./helpers/samples.js');
    // The sample as a plain (sparse) image file: only then is file data read ahead.
    const img = join(tmpRoot, 'default.img');
    writeSparse(sampleSources('default')[0]!, img);
    const viaRuns = join(tmpRoot, 'ra-runs');
    const viaFile = join(tmpRoot, 'ra-file');
    const r = captureIO();
    expect(await runCli(['extract', ...sampleArgs('default'), '/rich', '-o', viaRuns, '--json'], r.io)).toBe(0);
    const c = captureIO();
    expect(await runCli(['extract', img, '/rich', '-o', viaFile, '--json'], c.io), c.stderr()).toBe(0);
    const s = JSON.parse(c.text()) as ExtractSummary;
    const want = JSON.parse(r.text()) as ExtractSummary;
    expect(s.written.files).toBeGreaterThan(10);
    expect([s.written, s.read, s.xattrs.restored, s.failed, s.skipped]).toEqual([want.written, want.read, want.xattrs.restored, want.failed, want.skipped]);
    expectSameTree(viaFile, viaRuns);
  }, 60_000);
});

describe.runIf(sampleNames().includes('default'))('extract writes the entries the walk sets aside in inode order, a batch at a time', () => {
  it('in batches of 1, 2 and 7 entries: the same tree, summary and lists as in one batch', async () => {
    const { openSample } = await import('./helpers/samples.js');
    const { FsView } = await import('../src/fs/FsView.js');
    const { extractFiles } = await import('../src/cli/commands/extract.js');
    const run = async (batch: number | undefined, out: string) => {
      const view = new FsView(openSample('default'));
      const root = view.rootOf(5n);
      return extractFiles(view, { ref: root, inode: view.inode(root)!, into: null }, join(tmpRoot, out), { batch, isRoot: false, xattr: 'not in this test' });
    };
    const want = await run(undefined, 'batch-all');
    // Every file, symlink and special file of the image is set aside (only directories are not).
    expect(want.written.files + want.written.symlinks + want.written.hardlinks).toBeGreaterThan(50);
    for (const batch of [1, 2, 7]) {
      const got = await run(batch, `batch-${batch}`);
      // Lists come in walk order whatever order the entries were written in.
      expect([got.written, got.read, got.refused, got.failed, got.skipped, got.withheld, got.xattrs], `batch ${batch}`).toEqual([
        want.written,
        want.read,
        want.refused,
        want.failed,
        want.skipped,
        want.withheld,
        want.xattrs,
      ]);
      expectSameTree(join(tmpRoot, `batch-${batch}`), join(tmpRoot, 'batch-all'));
    }
    // The walk's order: fifos and sockets (not made without root) and device nodes (withheld) as walkFiles meets them.
    const { walkFiles } = await import('../src/fs/walk.js');
    const { displayPath } = await import('../src/fs/names.js');
    const view = new FsView(openSample('default'));
    const special = (kinds: string[]) => [...walkFiles(view, view.rootOf(5n))].filter((it) => kinds.includes(it.inode?.kind ?? '')).map((it) => displayPath(it.path));
    expect(special(['fifo', 'sock']).length).toBeGreaterThan(1);
    expect(want.skipped.map((x) => x.path)).toEqual(special(['fifo', 'sock']));
    expect(special(['chr', 'blk']).length).toBeGreaterThan(1);
    expect(want.withheld.entries.filter((x) => /device/.test(x.reason)).map((x) => x.path)).toEqual(special(['chr', 'blk']));
  }, 120_000);
});

describe.runIf(sampleNames().includes('default'))('Prefetcher: tree leaves warmed a window ahead of the walk', () => {
  it('reads the first leaves, then those past where the walk says it is; the census counts what it read', async () => {
    const { openSample, sampleSources } = await import('./helpers/samples.js');
    const { FileSource } = await import('../src/io/node/FileSource.js');
    const { Filesystem } = await import('../src/tree/Filesystem.js');
    const { FsView } = await import('../src/fs/FsView.js');
    const { Prefetcher } = await import('../src/node/extract/prefetch.js');
    // The number of leaves of the top subvolume's tree, by a walk of it.
    const fs0 = openSample('default');
    let leaves = 0;
    fs0.walk(new FsView(fs0).tree(5n)!, {
      block: (b) => {
        if (b.level === 0) leaves++;
      },
    });
    expect(leaves).toBeGreaterThan(20);
    const img = join(tmpRoot, 'warm.img');
    writeSparse(sampleSources('default')[0]!, img);
    const src = FileSource.open(img);
    try {
      const view = new FsView(Filesystem.open([src]));
      const p = new Prefetcher(view, { warmAhead: 4 });
      p.warmTrees([view.tree(5n)!], { census: 5n, window: 5n });
      const settle = async (done: () => boolean) => {
        for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
        await new Promise((r) => setTimeout(r, 50));
      };
      await settle(() => p.census!.counted >= 4);
      expect(p.census).toMatchObject({ leaves, counted: 4, leavesLeft: leaves - 4 });
      // The walk is at the last inode: the leaves before the last one are passed by, and it is read.
      p.warmAt(5n, 2n ** 64n - 1n);
      await settle(() => p.census!.leavesLeft === 0);
      expect(p.census).toMatchObject({ leaves, counted: 5, leavesLeft: 0 });
      await p.stop();
    } finally {
      src.close();
    }
  });
});

describe.runIf(sampleNames().includes('default'))('Prefetcher: file data read ahead into buffers that readFile takes', () => {
  it("serves every file of /rich from its reads, with content equal to the kernel's, and warms the trees", async () => {
    const { sampleSources } = await import('./helpers/samples.js');
    const { FileSource } = await import('../src/io/node/FileSource.js');
    const { Filesystem } = await import('../src/tree/Filesystem.js');
    const { FsView } = await import('../src/fs/FsView.js');
    const { walkFiles } = await import('../src/fs/walk.js');
    const { readFile, fileExtents } = await import('../src/fs/fileData.js');
    const { Prefetcher } = await import('../src/node/extract/prefetch.js');
    const img = join(tmpRoot, 'prefetch.img');
    writeSparse(sampleSources('default')[0]!, img);
    const src = FileSource.open(img);
    try {
      const view = new FsView(Filesystem.open([src]));
      const r = view.resolve('/rich');
      if (!r.ok) throw new Error(r.error);
      const p = new Prefetcher(view);
      p.warmTrees([view.tree(r.ref.subvol)!], { census: r.ref.subvol });
      // The census of the subvolume's leaves, as they are warmed: its regular files (one per
      // inode: hard links count once) and the sum of their sizes, as the kernel listed them.
      for (let i = 0; i < 2000 && p.census!.leavesLeft > 0; i++) await new Promise((res) => setTimeout(res, 5));
      const inodes = new Map(
        filesTruth('default')
          .filter((t) => t.type === 'file' && t.subvol_id === Number(r.ref.subvol))
          .map((t) => [t.ino, t.size]),
      );
      expect(inodes.size).toBeGreaterThan(10);
      expect(p.census).toEqual({
        tree: r.ref.subvol,
        files: inodes.size,
        bytes: [...inodes.values()].reduce((a, b) => a + b, 0),
        leaves: p.census!.counted,
        counted: p.census!.counted,
        leavesLeft: 0,
      });
      expect(p.census!.counted).toBeGreaterThan(0);
      const files = [...walkFiles(view, r.ref)].filter((it) => it.inode?.kind === 'file');
      for (const it of files) p.file(it.inode!);
      const truth = new Map(filesTruth('default').map((t) => [t.path, t.sha256]));
      let big = 0;
      const takenInodes = new Set<bigint>();
      for (const it of files) {
        const inode = it.inode!;
        const ahead = p.take(inode);
        // Inline files and holes have nothing to read ahead; every file with a regular extent
        // does, but small ones, whose data is warmed in the page cache instead (spans).
        const regular = [...fileExtents(view, inode)].some((e) => e.kind === 'regular');
        // (Once per inode: a second name of a hard-linked file finds it taken.)
        const first = !takenInodes.has(inode.ino);
        takenInodes.add(inode.ino);
        expect(ahead !== null, Buffer.from(it.path.at(-1)!).toString()).toBe(first && inode.size > BigInt(SMALL_FILE) && regular);
        if (inode.size > 1n << 20n) big++;
        const hash = createHash('sha256');
        const segs = readFile(view, inode, ahead ? { supply: ahead.supply } : {});
        for (;;) {
          const w = ahead?.ready();
          if (w) await w;
          const s = segs.next();
          if (s.done) break;
          if (s.value.kind === 'data') hash.update(s.value.bytes);
          else if (s.value.kind === 'zero') hash.update(new Uint8Array(Number(s.value.length)));
          else throw new Error(s.value.message);
        }
        ahead?.close();
        const path = ['rich', ...it.path.map((b) => Buffer.from(b).toString('utf8'))].join('/');
        if (truth.has(path)) expect(hash.digest('hex'), path).toBe(truth.get(path));
      }
      expect(big).toBeGreaterThan(0);
      // Every read readFile makes of these files (counted through a supply that serves none) was
      // served from the reads ahead: the sample has no stripe end inside a file's extent.
      let asked = 0;
      const count = (_: bigint, length: number) => {
        asked += length;
        return null;
      };
      const once = new Map(files.filter((it) => it.inode!.size > BigInt(SMALL_FILE)).map((it) => [it.inode!.ino, it.inode!]));
      for (const inode of once.values()) for (const _ of readFile(view, inode, { supply: count })) void _;
      expect(asked).toBeGreaterThan(1 << 20);
      expect(p.suppliedBytes).toBe(asked);
      // Where O_DIRECT works (this test's scratch directory does on ext4, xfs, btrfs), ranges bypass the page cache.
      const directOk = (() => {
        try {
          nodeFs.closeSync(nodeFs.openSync(img, nodeFs.constants.O_RDONLY | nodeFs.constants.O_DIRECT));
          return true;
        } catch {
          return false;
        }
      })();
      if (directOk) expect(p.directReads).toBeGreaterThan(0);
      await p.stop();
    } finally {
      src.close();
    }
  }, 60_000);
});
