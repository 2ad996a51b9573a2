import { describe, expect, it } from 'vitest';
import { resolveLogical } from '../src/fs/backrefs.js';
import { FsView } from '../src/fs/FsView.js';
import { newReadStats, readAll } from '../src/fs/fileData.js';
import { pathBytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import { b64, filesTruth, hashFile, logTreeTruth, ns, type TruthEntry } from './helpers/fsTruth.js';
import { openSample, sampleNames, truthJson } from './helpers/samples.js';

const names = sampleNames();

interface SubvolTruth {
  default_subvolume_id: number;
  list: { id: number; gen: number; cgen: number; parent: number; top_level: number; parent_uuid: string | null; received_uuid: string | null; uuid: string; path: string }[];
  show?: Record<string, Record<string, unknown>>;
}

/**
 * Every sample image against what the kernel showed through a mount of
 * subvolume 5 (truth/files.json) and `btrfs subvolume list` (subvolumes.json):
 * the whole tree of every subvolume walked through the library API, each
 * file's content hashed in-process.
 */
describe.each(names)('files of sample %s', (name) => {
  const truth = filesTruth(name);
  const byPath = new Map<string, TruthEntry>(truth.map((t) => [t.path_b64, t]));
  const log = logTreeTruth(name);
  // The log-tree sample holds fsync'd changes in a log tree that we do not replay: files.json is
  // the state after replay, so changed files are compared with the committed state instead.
  const logChanged = new Set(log ? Object.keys(log.after_log_replay).filter((p) => JSON.stringify(log.after_log_replay[p]) !== JSON.stringify(log.committed[p])) : []);
  const logDirs = new Set(
    [...logChanged]
      .flatMap((p) =>
        p
          .split('/')
          .slice(0, -1)
          .map((_, i, a) => a.slice(0, i + 1).join('/')),
      )
      .concat(logChanged.size ? ['.'] : []),
  );

  it('subvolumes agree with `btrfs subvolume list` (ids, paths, parents, generations, uuids) and the default', () => {
    const fs = openSample(name);
    const view = new FsView(fs);
    const st = truthJson<SubvolTruth>(name, 'subvolumes.json');
    const ours = view.subvolumes();
    expect(view.defaultSubvolume()).toBe(BigInt(st.default_subvolume_id));
    expect(ours.filter((s) => s.id !== 5n).map((s) => s.id)).toEqual(st.list.map((s) => BigInt(s.id)));
    for (const t of st.list) {
      const s = ours.find((x) => x.id === BigInt(t.id))!;
      expect(
        {
          path: s.path && Buffer.from(pathBytes(s.path)).toString(),
          parent: s.parentId,
          gen: s.generation,
          cgen: s.otransid,
          uuid: s.uuid,
          parentUuid: s.parentUuid,
          receivedUuid: s.receivedUuid,
          deleted: s.deleted,
        },
        `subvolume ${t.id}`,
      ).toEqual({
        path: t.path.replace(/^<FS_TREE>\//, ''),
        parent: BigInt(t.parent),
        gen: BigInt(t.gen),
        cgen: BigInt(t.cgen),
        uuid: t.uuid,
        parentUuid: t.parent_uuid,
        receivedUuid: t.received_uuid,
        deleted: false,
      });
      const show = st.show?.[String(t.id)];
      if (show) expect(s.readOnly, `subvolume ${t.id} read-only`).toBe(String(show['Flags']).includes('readonly'));
    }
    const top = st.show?.['5'];
    if (top) expect(ours.find((s) => s.id === 5n)!.uuid).toBe(top['UUID']);
    expect(fs.findings.items).toEqual([]);
  });

  it('every file of every subvolume: type, mode, owner, size, nlink, ns times, symlink target, xattrs, rdev and sha256 of the content', () => {
    const fs = openSample(name);
    const view = new FsView(fs);
    const seen = new Set<string>();
    let files = 0;
    for (const it of walkFiles(view, view.rootOf(5n))) {
      const key = b64(pathBytes(it.path));
      const p = Buffer.from(pathBytes(it.path)).toString() || '.';
      seen.add(key);
      const t = byPath.get(key);
      if (log && log.committed[p] === null) continue; // created and fsync'd after the commit: in the log only
      expect(t, `${p} exists in the truth`).toBeDefined();
      const i = it.inode!;
      expect(i, p).not.toBeNull();
      const changedByLog = logChanged.has(p);
      const logDir = logDirs.has(p);
      expect({ type: i.kind, mode: i.mode, uid: i.uid, gid: i.gid, nlink: i.nlink, ino: it.ref.ino, subvol: it.ref.subvol }, p).toEqual({
        type: t!.type,
        mode: t!.mode,
        uid: t!.uid,
        gid: t!.gid,
        nlink: t!.nlink,
        ino: BigInt(t!.ino),
        subvol: BigInt(t!.subvol_id),
      });
      if (!changedByLog && !logDir) {
        expect(i.size, `${p} size`).toBe(BigInt(t!.size));
        // The kernel gives the empty directory standing in for a not-linked subvolume (inode 2) the time of the lookup.
        if (!i.placeholder) expect({ mtime: ns(i.mtime), ctime: ns(i.ctime) }, p).toEqual({ mtime: t!.mtime_ns, ctime: t!.ctime_ns });
        expect(ns(i.atime), `${p} atime`).toBe(t!.atime_ns);
      }
      if (t!.btime_ns !== undefined) expect(ns(i.otime), `${p} otime`).toBe(t!.btime_ns);
      if (t!.rdev) expect([Number(i.rdev >> 20n), Number(i.rdev & 0xfffffn)], `${p} rdev`).toEqual(t!.rdev);
      const xattrs = Object.fromEntries(view.xattrs(it.ref).map((x) => [Buffer.from(x.name).toString(), b64(x.value)]));
      expect(xattrs, `${p} xattrs`).toEqual(t!.xattrs);
      if (i.kind === 'symlink') {
        const r = readAll(view, i);
        expect(r.errors).toEqual([]);
        expect(b64(r.bytes), `${p} symlink target`).toBe(t!.symlink_target_b64);
      }
      if (i.kind === 'file') {
        files++;
        const h = hashFile(view, i);
        expect(h.errors, p).toEqual([]);
        if (changedByLog) {
          const c = log!.committed[p]!;
          expect({ sha256: h.sha256, size: i.size, mtime: ns(i.mtime) }, `${p} (committed state)`).toEqual({ sha256: c.sha256, size: BigInt(c.size), mtime: c.mtime_ns });
        } else {
          expect(h.sha256, `${p} sha256`).toBe(t!.sha256);
        }
      }
    }
    for (const t of truth) {
      if (log && log.committed[t.path] === null) continue;
      expect(seen.has(t.path_b64), `${t.path} found by the walk`).toBe(true);
    }
    expect(files).toBe(truth.filter((t) => t.type === 'file' && !(log && log.committed[t.path] === null)).length);
    expect(files).toBeGreaterThan(0);
    expect(fs.findings.items).toEqual([]);
  }, 120_000);

  it('data checksums are verified while reading (files without NODATASUM)', () => {
    const fs = openSample(name);
    const view = new FsView(fs);
    const stats = newReadStats();
    for (const it of walkFiles(view, view.rootOf(5n))) {
      if (it.inode?.kind !== 'file' || it.inode.size > 4_000_000n) continue;
      readAll(view, it.inode, { stats });
    }
    expect(stats.badSectors).toBe(0);
    expect(stats.verifiedSectors).toBeGreaterThan(0);
  });

  it('resolve --inode: every path of every inode is one of its names in the truth (hard links included)', () => {
    const fs = openSample(name);
    const view = new FsView(fs);
    const groups = new Map<string, Set<string>>();
    for (const t of truth) {
      if (t.ino === 2 || (log && log.committed[t.path] === null)) continue;
      const k = `${t.subvol_id}:${t.ino}`;
      if (!groups.has(k)) groups.set(k, new Set());
      groups.get(k)!.add(t.path === '.' ? '' : t.path_b64);
    }
    for (const [k, want] of groups) {
      const [subvol, ino] = k.split(':').map((x) => BigInt(x)) as [bigint, bigint];
      const got = new Set(view.paths({ subvol, ino }).map((p) => b64(pathBytes(p))));
      expect([...got].sort(), `inode ${k}`).toEqual([...want].sort());
    }
  });

  it.skipIf(log !== null)('resolve --logical: the files using an address are exactly those whose FIEMAP extents cover it (snapshots and reflinks included)', () => {
    const fs = openSample(name);
    const view = new FsView(fs);
    const ranges = truth.flatMap((t) =>
      (t.filefrag?.extents ?? []).filter((x) => !x.flags.includes('inline') && !x.flags.includes('encoded')).map((x) => ({ path: t.path_b64, lo: x.physical, hi: x.physical_end, flo: x.logical })),
    );
    let checked = 0;
    for (const r0 of ranges.slice(0, 400)) {
      for (const L of [r0.lo, r0.hi - 4095]) {
        const want = ranges
          .filter((r) => r.lo <= L && L <= r.hi)
          .map((r) => `${r.path}@${r.flo + L - r.lo}`)
          .sort();
        const res = resolveLogical(view, BigInt(L));
        const got = res.files.flatMap((f) => f.paths.map((p) => `${b64(pathBytes(p))}@${f.fileOffset}`)).sort();
        expect(got, `logical ${L}`).toEqual(want);
        checked++;
      }
    }
    // Compressed extents: each file using one is found (at the start of its referencing range).
    for (const t of truth) {
      for (const x of t.filefrag?.extents ?? []) {
        if (!x.flags.includes('encoded') || x.flags.includes('inline')) continue;
        const res = resolveLogical(view, BigInt(x.physical));
        expect(
          res.files.some((f) => f.compressed && f.paths.some((p) => b64(pathBytes(p)) === t.path_b64)),
          `${t.path} at ${x.physical}`,
        ).toBe(true);
        checked++;
      }
    }
    if (truth.some((t) => t.type === 'file' && t.size > 4096)) expect(checked).toBeGreaterThan(0);
  });
});
