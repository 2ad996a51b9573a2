import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { walkMetadata } from '../src/analysis/check/metadata.js';
import { accountQgroups } from '../src/analysis/check/qgroups.js';
import { checkSpaceCache, type LoadedCache } from '../src/analysis/check/spaceCache.js';
import { crc32c } from '../src/format/checksum.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { decodeExtentItem } from '../src/format/items/extent.js';
import { formatQgroupId } from '../src/format/items/qgroup.js';
import { decodeSpaceCacheFile } from '../src/format/spaceCache.js';
import type { TreeBlock } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, readAll } from '../src/fs/fileData.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { ROOT } from './helpers/samples.js';

/**
 * Qgroups of every level, simple quotas and the v1 free space cache, on
 * filesystems the kernel made (test/fixtures/quota-cache/build.sh). The truths:
 * `btrfs qgroup show --raw` recorded from the mounted filesystem (the kernel's
 * numbers), `btrfs check --qgroup-report` v6.19 (the numbers progs computes from
 * the extents: its "our:" lines) and `btrfs check` v6.19's verdict.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'quota-cache');
const text = (name: string, what: string) => readFileSync(join(DIR, `${name}.${what}.txt`), 'utf8');
const sources = (name: string): ByteSource[] => [loadRunsImage(join(DIR, `${name}.runs.gz`))];
const open = (name: string) => Filesystem.open(sources(name));

/** `btrfs qgroup show --raw`: qgroup id -> [referenced, exclusive]. */
function qgroupShow(name: string): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const m of text(name, 'qgroups').matchAll(/^(\d+\/\d+)\s+(\d+)\s+(\d+)/gm)) out.set(m[1]!, [BigInt(m[2]!), BigInt(m[3]!)]);
  return out;
}

/** `btrfs check --qgroup-report`: qgroup id -> progs' own count [referenced, exclusive] and whether it says they differ. */
function progsReport(name: string): Map<string, { our: [bigint, bigint]; different: boolean }> {
  const out = new Map<string, { our: [bigint, bigint]; different: boolean }>();
  for (const block of text(name, 'qgroup-report')
    .split(/^Counts for qgroup id: /m)
    .slice(1)) {
    const id = block.split(/\s/)[0]!;
    const rfer = /^our:\s+referenced (\d+)/m.exec(block)![1]!;
    const excl = /^our:\s+exclusive (\d+)/m.exec(block)![1]!;
    out.set(id, { our: [BigInt(rfer), BigInt(excl)], different: /are different/.test(block.split('\n')[0]!) });
  }
  return out;
}

function account(fs: Filesystem) {
  const facts = walkMetadata(fs, () => {});
  return accountQgroups(fs, facts);
}

/** The leaf and slot of the QGROUP_INFO item of `id` in the quota tree. */
function qgroupInfoAt(fs: Filesystem, id: string): { leaf: TreeBlock; slot: number } {
  let at: { leaf: TreeBlock; slot: number } | undefined;
  fs.walk(fs.treeRoot(ObjectId.QUOTA_TREE)!, {
    block(b: TreeBlock) {
      if (!b.isLeaf) return;
      for (let s = 0; s < b.nritems; s++) if (b.keyType(s) === ItemType.QGROUP_INFO && formatQgroupId(b.keyOffsetField(s)) === id) at = { leaf: b, slot: s };
    },
  });
  if (!at) throw new Error(`no QGROUP_INFO ${id}`);
  return at;
}

/** The image with qgroup `id`'s btrfs_qgroup_info_item.excl (u64 at 24) raised by `by`, the leaf's checksum recomputed. */
function exclusiveRaised(name: string, id: string, by: bigint) {
  const clean = open(name);
  const { leaf, slot } = qgroupInfoAt(clean, id);
  const k = new DamageKit(clean, sources(name));
  k.editBlock(
    leaf.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot), leaf.itemSize(slot));
      v.setBigUint64(24, v.getBigUint64(24, true) + by, true);
    },
    { fixCsum: true },
  );
  return { fs: Filesystem.open(k.overlays), leaf: leaf.logical, slot };
}

const QUOTA_IMAGES = ['qgroups-levels', 'qgroups-stale', 'squota-snapshots'];

describe('qgroups of every level and simple quotas (kernel-made, btrfs check v6.19 truth)', () => {
  it.each(QUOTA_IMAGES)("%s: the numbers recorded are the kernel's, the numbers computed are progs'", (name) => {
    const acc = account(open(name))!;
    expect(acc).toBeDefined();
    const show = qgroupShow(name);
    const report = progsReport(name);
    // Every qgroup of the kernel's list is judged, of every level.
    expect(acc.counts.map((c) => formatQgroupId(c.id)).sort()).toEqual([...show.keys()].sort());
    for (const c of acc.counts) {
      const id = formatQgroupId(c.id);
      expect([c.rfer, c.excl], `${id} recorded`).toEqual(show.get(id));
      expect([c.ourRfer, c.ourExcl], `${id} computed`).toEqual(report.get(id)!.our);
    }
    expect(acc.counts.some((c) => c.id >> 48n >= 1n)).toBe(true);
  });

  it('qgroups-levels: three levels, consistent; check is clean, as btrfs check v6.19 says', () => {
    expect(text('qgroups-levels', 'check')).toMatch(/no error found/);
    const acc = account(open('qgroups-levels'))!;
    expect(acc.state).toBe('exact');
    expect(acc.counts.map((c) => formatQgroupId(c.id))).toContain('2/1000');
    expect(runCheck(open('qgroups-levels')).findings).toEqual([]);
  });

  it('a level-1 qgroup whose exclusive bytes are raised is reported at its QGROUP_INFO item', () => {
    const { fs, leaf, slot } = exclusiveRaised('qgroups-levels', '1/200', 4096n);
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot, f.location.key?.offset])).toEqual([['qgroup-count', 'error', leaf, slot, (1n << 48n) | 200n]]);
    expect(r.findings[0]!.message).toContain('qgroup 1/200');
  });

  it('qgroups-stale: the INCONSISTENT status makes the differing level-1 qgroup a note, as progs says', () => {
    expect(text('qgroups-stale', 'check')).toMatch(/no error found/);
    expect(text('qgroups-stale', 'qgroup-report')).toMatch(/Rescan hasn't been initialzied/);
    const report = progsReport('qgroups-stale');
    const differing = [...report].filter(([, r]) => r.different).map(([id]) => id);
    expect(differing).toEqual(['1/100']);
    const fs = open('qgroups-stale');
    const { leaf, slot } = qgroupInfoAt(fs, '1/100');
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot])).toEqual([['qgroup-stale', 'info', leaf.logical, slot]]);
    expect(account(fs)!.state).toBe('stale');
  });

  it('squota-snapshots: simple quotas enabled on a filesystem with data, snapshots and a dropped subvolume check clean', () => {
    expect(text('squota-snapshots', 'check')).toMatch(/no error found/);
    expect(text('squota-snapshots', 'super')).toMatch(/SIMPLE_QUOTA/);
    const acc = account(open('squota-snapshots'))!;
    expect(acc.simple).toBe(true);
    // Simple quotas: referenced equals exclusive, level 1 the sum of its members.
    for (const c of acc.counts) expect(c.ourRfer).toBe(c.ourExcl);
    expect(runCheck(open('squota-snapshots')).findings).toEqual([]);
  });

  it('a simple-quota qgroup whose exclusive bytes are raised is reported as squota-count', () => {
    const { fs, leaf, slot } = exclusiveRaised('squota-snapshots', '0/257', 4096n);
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot, f.location.key?.offset])).toEqual([['squota-count', 'error', leaf, slot, 257n]]);
  });

  it("a data extent's EXTENT_OWNER_REF moved from subvolume 256 to 257 makes both qgroups wrong, not their level-1 group", () => {
    const name = 'squota-snapshots';
    const clean = open(name);
    // An extent item whose first inline ref is the owner ref of 256 (written after simple quotas were
    // enabled: the kernel writes owner refs only from then on).
    let at: { leaf: TreeBlock; slot: number; bytes: bigint } | undefined;
    clean.walk(clean.treeRoot(ObjectId.EXTENT_TREE)!, {
      block(b: TreeBlock) {
        if (!b.isLeaf || at) return;
        for (let s = 0; s < b.nritems && !at; s++) {
          if (b.keyType(s) !== ItemType.EXTENT_ITEM) continue;
          const d = decodeExtentItem(b.key(s), b.itemData(s));
          if (d.kind === 'extent_item' && d.inlineRefs[0]?.kind === 'extent_owner' && d.inlineRefs[0].root === 256n) at = { leaf: b, slot: s, bytes: b.keyOffsetField(s) };
        }
      },
    });
    if (!at) throw new Error('no data extent owned by 256');
    const { leaf, slot, bytes } = at;
    const k = new DamageKit(clean, sources(name));
    // btrfs_extent_item (24 bytes), then the inline ref: type (u8), then the owner root (u64).
    k.editBlock(leaf.logical, (b) => new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot)).setBigUint64(25, 257n, true), { fixCsum: true });
    const r = runCheck(Filesystem.open(k.overlays));
    const show = qgroupShow(name);
    expect(r.findings.map((f) => [f.code, f.location.key?.offset])).toEqual([
      ['squota-count', 256n],
      ['squota-count', 257n],
    ]);
    expect(r.findings[0]!.message).toContain(`make referenced ${show.get('0/256')![0] - bytes}, exclusive ${show.get('0/256')![1] - bytes}`);
    expect(r.findings[1]!.message).toContain(`make referenced ${show.get('0/257')![0] + bytes}, exclusive ${show.get('0/257')![1] + bytes}`);
  });
});

/** The v1 cache of space-cache-v1: the root tree's FREE_SPACE header, its cache inode and the file's bytes. */
function v1Cache() {
  const fs = open('space-cache-v1');
  const view = new FsView(fs);
  let header: { leaf: TreeBlock; slot: number } | undefined;
  fs.walk(fs.rootTree, {
    block(b: TreeBlock) {
      if (b.isLeaf) for (let s = 0; s < b.nritems; s++) if (b.keyObjectid(s) === ObjectId.FREE_SPACE) header = { leaf: b, slot: s };
    },
  });
  if (!header) throw new Error('no FREE_SPACE header');
  // btrfs_free_space_header: location (disk key, 17 bytes) then generation, num_entries, num_bitmaps (u64 each).
  const item = header.leaf.itemData(header.slot);
  const ino = new DataView(item.buffer, item.byteOffset).getBigUint64(0, true);
  const inode = view.inode({ subvol: ObjectId.ROOT_TREE, ino })!;
  const extents = [...fileExtents(view, { subvol: ObjectId.ROOT_TREE, ino })];
  return { fs, header, bytes: readAll(view, inode).bytes, extents, blockGroup: header.leaf.keyOffsetField(header.slot) };
}

/**
 * space-cache-v1 with its cache file edited (entries are btrfs_free_space_entry: offset u64, bytes u64,
 * type u8) and page 0's crc32c (the first u32 of the file, over page 0 after the 16 page crcs) recomputed,
 * written to every copy of the file's extent: a cache the kernel loads, and wrong.
 */
function entriesEdited(edit: (file: Uint8Array, entryAt: (offset: bigint) => number) => void) {
  const c = v1Cache();
  const file = c.bytes.slice();
  const v = new DataView(file.buffer);
  const entryAt = (offset: bigint) => {
    for (let at = 72; at + 17 <= 4096; at += 17) if (v.getBigUint64(at, true) === offset) return at;
    throw new Error(`no entry at ${offset}`);
  };
  edit(file, entryAt);
  v.setUint32(0, crc32c(file.subarray(64, 4096)), true);
  const overlays = sources('space-cache-v1').map((s) => new OverlaySource(s));
  for (const x of c.extents) {
    const part = file.subarray(Number(x.fileOffset), Number(x.fileOffset + x.length));
    for (const copy of c.fs.volume.chunks.map(x.diskBytenr + x.offset)!.copies) overlays[Number(copy.devid) - 1]!.patch(copy.physical, part);
  }
  return { fs: Filesystem.open(overlays), header: c.header, blockGroup: c.blockGroup };
}

const setU64 = (file: Uint8Array, at: number, value: bigint) => new DataView(file.buffer).setBigUint64(at, value, true);
const getU64 = (file: Uint8Array, at: number) => new DataView(file.buffer).getBigUint64(at, true);
const found = (fs: Filesystem) => runCheck(fs).findings.map((f) => [f.code, f.severity, f.location.logical]);

describe('the free space cache v1 (kernel-made with space_cache=v1, btrfs check v6.19 truth)', () => {
  it('space-cache-v1 checks clean, as btrfs check v6.19 (which verified the cache) says', () => {
    expect(text('space-cache-v1', 'check')).toMatch(/checking free space cache\n[\s\S]*no error found/);
    expect(runCheck(open('space-cache-v1')).findings).toEqual([]);
  });

  it("its free ranges are the gaps between the block group's extents but the superblock copy at 64 MiB", () => {
    const fs = open('space-cache-v1');
    const facts = walkMetadata(fs, () => {});
    const loaded: LoadedCache[] = [];
    checkSpaceCache(fs, new FsView(fs), facts, () => {}, loaded);
    expect(loaded.map((l) => l.blockGroup)).toEqual([v1Cache().blockGroup]);
    const bg = facts.blockGroups.find((b) => b.logical === loaded[0]!.blockGroup)!;
    // Gaps between the allocated extents (verify_space_cache's truth, which btrfs check passed).
    const gaps: [bigint, bigint][] = [];
    let at = bg.logical;
    for (const e of facts.extents.filter((x) => x.bytenr >= bg.logical && x.bytenr < bg.logical + bg.length).sort((a, b) => (a.bytenr < b.bytenr ? -1 : 1))) {
      if (e.bytenr > at) gaps.push([at, e.bytenr]);
      at = e.bytenr + e.length;
    }
    if (at < bg.logical + bg.length) gaps.push([at, bg.logical + bg.length]);
    // The cache's ranges, adjacent ones merged, plus the superblock stripe the kernel keeps out, are the gaps.
    const merged: [bigint, bigint][] = [];
    for (const r of loaded[0]!.free) {
      const last = merged.at(-1);
      if (last && last[1] === r.start) last[1] = r.end;
      else merged.push([r.start, r.end]);
    }
    const missing = gaps.flatMap(([a, b]) => {
      const inside = merged.filter(([x, y]) => x >= a && y <= b);
      const out: [bigint, bigint][] = [];
      let p = a;
      for (const [x, y] of inside) {
        if (x > p) out.push([p, x]);
        p = y;
      }
      if (p < b) out.push([p, b]);
      return out;
    });
    expect(missing.length).toBe(1);
    const [s, e] = missing[0]!;
    expect(e - s).toBe(0x10000n);
    expect(fs.volume.chunks.map(s)!.copies.map((c) => c.physical)).toContain(0x4000000n);
  });

  it('an entry moved before its block group is space-cache-entry at the range', () => {
    const { blockGroup } = v1Cache();
    const { fs } = entriesEdited((file, entryAt) => setU64(file, entryAt(blockGroup), blockGroup - 0x8000n));
    expect(found(fs)).toEqual([['space-cache-entry', 'error', blockGroup - 0x8000n]]);
  });

  it('an entry grown over an allocated extent is free-space-overlap at the range', () => {
    const c = v1Cache();
    // The first entry ends where the block group's first extent starts: 16 KiB more covers that tree block.
    const { fs } = entriesEdited((file, entryAt) => setU64(file, entryAt(c.blockGroup) + 8, getU64(file, entryAt(c.blockGroup) + 8) + 0x4000n));
    expect(found(fs)).toEqual([['free-space-overlap', 'error', c.blockGroup]]);
  });

  it('an entry grown over the next entry is space-cache-entry at the next one', () => {
    const c = v1Cache();
    let next = 0n;
    const { fs } = entriesEdited((file, entryAt) => {
      const at = entryAt(c.blockGroup);
      next = getU64(file, at + 17);
      // Over the extent between them too: both are reported.
      setU64(file, at + 8, next + 0x1000n - c.blockGroup);
    });
    expect(found(fs)).toEqual([
      ['free-space-overlap', 'error', c.blockGroup],
      ['space-cache-entry', 'error', next],
    ]);
  });

  it('an entry grown over the superblock stripe is more free space than the block group has', () => {
    const c = v1Cache();
    const { fs } = entriesEdited((file) => {
      // The entry that ends at the 64 MiB superblock copy's stripe, grown over it to the next entry.
      for (let at = 72; at + 17 <= 4096; at += 17) {
        const end = getU64(file, at) + getU64(file, at + 8);
        if (end === 58720256n) setU64(file, at + 8, getU64(file, at + 8) + 0x10000n);
      }
    });
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.logical, f.location.slot])).toEqual([['space-cache-entry', 'error', c.blockGroup, c.header.slot]]);
    expect(r.findings[0]!.message).toMatch(/more than the/);
  });

  it("a header whose generation is not its inode's is a note: the kernel discards the cache", () => {
    const c = v1Cache();
    const k = new DamageKit(c.fs, sources('space-cache-v1'));
    k.editBlock(
      c.header.leaf.logical,
      (b) => {
        const at = c.header.leaf.itemOffset(c.header.slot) + 17;
        new DataView(b.buffer, b.byteOffset).setBigUint64(at, new DataView(b.buffer, b.byteOffset).getBigUint64(at, true) - 1n, true);
      },
      { fixCsum: true },
    );
    const r = runCheck(Filesystem.open(k.overlays));
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot])).toEqual([['space-cache-stale', 'info', c.header.leaf.logical, c.header.slot]]);
  });

  it('a page whose crc does not match is a note', () => {
    const c = v1Cache();
    const overlays = sources('space-cache-v1').map((s) => new OverlaySource(s));
    const x = c.extents[0]!;
    // One byte of page 0's entries flipped, its crc left as it was.
    for (const copy of c.fs.volume.chunks.map(x.diskBytenr + x.offset + 80n)!.copies) overlays[Number(copy.devid) - 1]!.patch(copy.physical, Uint8Array.of(c.bytes[80]! ^ 1));
    expect(found(Filesystem.open(overlays))).toEqual([['space-cache-stale', 'info', c.blockGroup]]);
  });
});

/**
 * A cache file written by hand in the kernel's layout (io_ctl): `pages` pages of `pageSize`, page 0
 * starting with one crc32c per page and the generation, entries of 17 bytes never across a page,
 * then one page per bitmap; every page's crc filled in last.
 */
function cacheFile(pageSize: number, pages: number, generation: bigint, entries: [bigint, bigint, number][], bitmaps: Uint8Array[]) {
  const file = new Uint8Array(pageSize * pages);
  const v = new DataView(file.buffer);
  v.setBigUint64(4 * pages, generation, true);
  let at = 4 * pages + 8;
  for (const [offset, bytes, type] of entries) {
    if ((at % pageSize) + 17 > pageSize) at = Math.ceil(at / pageSize) * pageSize;
    v.setBigUint64(at, offset, true);
    v.setBigUint64(at + 8, bytes, true);
    file[at + 16] = type;
    at += 17;
  }
  let page = Math.ceil(at / pageSize);
  for (const b of bitmaps) file.set(b, pageSize * page++);
  for (let i = 0; i < pages; i++) v.setUint32(4 * i, crc32c(file.subarray(i === 0 ? 4 * pages : i * pageSize, (i + 1) * pageSize)), true);
  return file;
}

describe('the free space cache file, decoded as the kernel loads it', () => {
  // 300 extent entries (241 fit in page 0 of 4 KiB after 5 crcs and the generation) and two bitmaps.
  const extents: [bigint, bigint, number][] = Array.from({ length: 300 }, (_, i) => [0x100000n + BigInt(i) * 0x10000n, 0x1000n * BigInt(1 + (i % 3)), 1]);
  const bm1 = new Uint8Array(4096);
  bm1[0] = 0b0000_0110; // units 1 and 2
  bm1[4095] = 0b1000_0000; // the last unit, 32767
  const bm2 = new Uint8Array(4096).fill(0xff, 10, 12); // units 80 to 95
  const entries: [bigint, bigint, number][] = [...extents, [0x10000000n, 3n * 4096n, 2], [0x20000000n, 16n * 4096n, 2]];

  it('entries across pages and bitmap runs, with 4 KiB pages', () => {
    const d = decodeSpaceCacheFile(cacheFile(4096, 5, 7n, entries, [bm1, bm2]), 302n, 2n, 4096);
    if ('refused' in d) throw new Error(d.refused);
    expect(d.pageSize).toBe(4096);
    expect(d.generation).toBe(7n);
    expect(d.free.filter((r) => !r.bitmap).map((r) => [r.start, r.end - r.start])).toEqual(extents.map(([o, b]) => [o, b]));
    expect(d.free.filter((r) => r.bitmap).map((r) => [r.start, r.end])).toEqual([
      [0x10000000n + 4096n, 0x10000000n + 3n * 4096n],
      [0x10000000n + 32767n * 4096n, 0x10000000n + 32768n * 4096n],
      [0x20000000n + 80n * 4096n, 0x20000000n + 96n * 4096n],
    ]);
  });

  it('a cache written with 64 KiB pages is read with them', () => {
    const d = decodeSpaceCacheFile(cacheFile(65536, 2, 9n, extents, []), 300n, 0n, 4096);
    expect('refused' in d ? d.refused : d.pageSize).toBe(65536);
  });

  it('a bad crc on a later page, an entry of 0 bytes or more bitmaps than the header says refuse it', () => {
    const f = cacheFile(4096, 5, 7n, entries, [bm1, bm2]);
    f[4096 + 5] = (f[4096 + 5] ?? 0) ^ 1;
    expect(decodeSpaceCacheFile(f, 302n, 2n, 4096)).toEqual({ refused: 'the crc of page 1 does not match' });
    expect(decodeSpaceCacheFile(cacheFile(4096, 1, 7n, [[0x100000n, 0n, 1]], []), 1n, 0n, 4096)).toEqual({ refused: 'an entry at 1048576 of 0 bytes' });
    expect(decodeSpaceCacheFile(cacheFile(4096, 5, 7n, entries, [bm1, bm2]), 302n, 1n, 4096)).toEqual({ refused: 'more bitmap entries than the 1 its header says' });
  });
});
