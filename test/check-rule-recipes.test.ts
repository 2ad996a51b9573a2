import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckFinding, runCheck } from '../src/analysis/check/index.js';
import { computeCsum } from '../src/format/checksum.js';
import { FileExtentType, ItemType, ObjectId } from '../src/format/constants.js';
import { decodeFileExtent } from '../src/format/items/fileExtent.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { walkFiles } from '../src/fs/walk.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { dumpAllText } from '../src/report/dumpTree.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit, deleteItem, editSuperblocks, resizeItem } from './helpers/damage.js';
import { hashFile } from './helpers/fsTruth.js';
import { ROOT } from './helpers/samples.js';

/**
 * One recipe per finding code that had none: each breaks one on-disk fact of a valid
 * image of test/fixtures/valid-modern (btrfs check v6.19 found no error in any, and
 * neither does check: test/check-valid-modern.test.ts), recomputing every checksum it
 * touches so that only the broken fact is damage, and asserts the exact findings and
 * where they are.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'valid-modern');
const source = (name: string): ByteSource => loadRunsImage(join(DIR, `${name}.runs.gz`));
const open = (name: string) => Filesystem.open([source(name)]);
const damage = (fs: Filesystem, data = false): CheckFinding[] => runCheck(fs, { data }).findings.filter((f) => f.severity !== 'info');
/** code, then the location fields asked for, of each finding. */
const brief = (fs: CheckFinding[], ...fields: (keyof CheckFinding['location'])[]) => fs.map((f) => [f.code, ...fields.map((k) => f.location[k])]);

/** The first leaf of `tree` holding items of `type`, and their slots. */
function leafWith(fs: Filesystem, tree: bigint, type: number): { leaf: TreeBlock; slots: number[] } {
  let out: { leaf: TreeBlock; slots: number[] } | undefined;
  fs.walk(fs.treeRoot(tree)!, {
    block(b: TreeBlock) {
      if (out || !b.isLeaf) return;
      const slots = [...Array(b.nritems).keys()].filter((s) => b.keyType(s) === type);
      if (slots.length) out = { leaf: b, slots };
    },
  });
  if (!out) throw new Error(`no item of type ${type} in tree ${tree}`);
  return out;
}

/** The image with the tree block at `logical` edited on every copy, its checksum recomputed. */
function withBlock(name: string, logical: bigint, edit: (b: Uint8Array, v: DataView) => void): Filesystem {
  const k = new DamageKit(open(name), [source(name)]);
  k.editBlock(logical, (b) => edit(b, new DataView(b.buffer, b.byteOffset, b.length)), { fixCsum: true });
  return Filesystem.open(k.overlays);
}

/** Byte offset of item `slot`'s key offset field (btrfs_item: key objectid u64, type u8, offset u64). */
const keyOffsetAt = (slot: number) => HEADER_SIZE + slot * ITEM_SIZE + 9;

describe('check: recipes for the codes no test emitted', () => {
  it('csum-orphan: the last checksum item one checksum longer, reaching a sector no data extent holds', () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.CSUM_TREE, ItemType.EXTENT_CSUM);
    const slot = slots.at(-1)!;
    const cs = fs.superblock.csumSize;
    const data = new Uint8Array(leaf.itemSize(slot) + cs);
    data.set(leaf.itemData(slot));
    const end = leaf.keyOffsetField(slot) + BigInt(leaf.itemSize(slot) / cs) * BigInt(fs.superblock.sectorsize);
    const got = damage(withBlock('rootdir-default', leaf.logical, (b) => resizeItem(b, slot, data)));
    expect(brief(got, 'tree', 'block', 'slot', 'logical')).toEqual([['csum-orphan', ObjectId.CSUM_TREE, leaf.logical, slot, end]]);
    expect(got[0]!.message).toBe(`checksums for logical ${end} +${fs.superblock.sectorsize} belong to no data extent`);
  });

  it('csum-unmapped: a checksum item moved to a logical address no chunk maps (with --data); its data left without checksums', () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.CSUM_TREE, ItemType.EXTENT_CSUM);
    const slot = slots.at(-1)!;
    const away = 1n << 50n;
    expect(fs.volume.chunks.map(away)).toBeUndefined();
    const moved = leaf.keyOffsetField(slot);
    const covered = BigInt(leaf.itemSize(slot) / fs.superblock.csumSize) * BigInt(fs.superblock.sectorsize);
    const got = damage(
      withBlock('rootdir-default', leaf.logical, (_b, v) => v.setBigUint64(keyOffsetAt(slot), away, true)),
      true,
    );
    const unmapped = got.filter((f) => f.code === 'csum-unmapped');
    expect(brief(unmapped, 'tree', 'block', 'slot', 'logical')).toEqual([['csum-unmapped', ObjectId.CSUM_TREE, leaf.logical, slot, away]]);
    // The moved checksums belong to no data extent, and the data they covered has none now: nothing else.
    expect(
      brief(
        got.filter((f) => f.code === 'csum-orphan'),
        'slot',
        'logical',
      ),
    ).toEqual([['csum-orphan', slot, away]]);
    const missing = got.filter((f) => f.code === 'data-csum-missing');
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.every((f) => f.location.logical! >= moved && f.location.logical! < moved + covered)).toBe(true);
    expect(got.length).toBe(2 + missing.length);
  });

  it('block-group-missing and extent-outside-block-group: the system block group item removed from the block group tree', () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.BLOCK_GROUP_TREE, ItemType.BLOCK_GROUP_ITEM);
    const sys = fs.volume.chunks.all.find((c) => (c.type & 2n) !== 0n)!; // BTRFS_BLOCK_GROUP_SYSTEM
    const slot = slots.find((s) => leaf.keyObjectid(s) === sys.logical)!;
    expect(slot).toBeDefined();
    const got = damage(withBlock('rootdir-default', leaf.logical, (b) => deleteItem(b, slot)));
    expect(
      brief(
        got.filter((f) => f.code === 'block-group-missing'),
        'logical',
      ),
    ).toEqual([['block-group-missing', sys.logical]]);
    // The system chunk holds the chunk tree's block: its extent item now lies in no block group.
    const chunkRoot = fs.superblock.chunkRoot;
    expect(
      brief(
        got.filter((f) => f.code === 'extent-outside-block-group'),
        'tree',
        'logical',
      ),
    ).toEqual([['extent-outside-block-group', ObjectId.EXTENT_TREE, chunkRoot]]);
    // And what follows from the group's absence: the superblock's bytes_used against the groups, the group's free-space entries.
    expect([...new Set(got.map((f) => f.code))].sort()).toEqual(['block-group-missing', 'extent-outside-block-group', 'free-space-orphan', 'super-bytes-used']);
    expect(got.filter((f) => f.code === 'free-space-orphan').every((f) => f.location.logical! >= sys.logical && f.location.logical! < sys.logical + sys.length)).toBe(true);
  });

  it('chunk-item-size: the system chunk item of the chunk tree cut to 40 bytes (the sys_chunk_array copy still maps it)', () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.CHUNK_TREE, ItemType.CHUNK_ITEM);
    const sys = fs.volume.chunks.all.find((c) => (c.type & 2n) !== 0n)!;
    const slot = slots.find((s) => leaf.keyOffsetField(s) === sys.logical)!;
    const got = damage(withBlock('rootdir-default', leaf.logical, (b) => resizeItem(b, slot, leaf.itemData(slot).slice(0, 40))));
    expect(brief(got, 'tree', 'block', 'slot', 'logical')).toEqual([['chunk-item-size', ObjectId.CHUNK_TREE, leaf.logical, slot, sys.logical]]);
    expect(got[0]!.message).toBe(`chunk item for logical ${sys.logical} has 40 bytes`);
  });

  it("sys-chunk-mismatch: the superblock's sys_chunk_array chunk twice as long as the chunk tree's (superblock checksums recomputed)", () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.CHUNK_TREE, ItemType.CHUNK_ITEM);
    const sys = fs.volume.chunks.all.find((c) => (c.type & 2n) !== 0n)!;
    const slot = slots.find((s) => leaf.keyOffsetField(s) === sys.logical)!;
    // sys_chunk_array at 0x32b: a 17-byte key, then btrfs_chunk, whose first field is the length (u64).
    const o = editSuperblocks(source('rootdir-default'), fs.superblock.csumType, (v) => v.setBigUint64(0x32b + 17, sys.length * 2n, true));
    const got = damage(Filesystem.open([o]));
    expect(brief(got, 'tree', 'block', 'slot', 'logical')).toEqual([['sys-chunk-mismatch', ObjectId.CHUNK_TREE, leaf.logical, slot, sys.logical]]);
    expect(got[0]!.message).toMatch(new RegExp(`length ${sys.length * 2n}\\) differs from the chunk tree's \\(length ${sys.length}\\)`));
  });

  it('dir-entry-location: a DIR_INDEX whose location key type is XATTR_ITEM, neither an inode nor a subvolume', () => {
    const fs = open('rootdir-default');
    const { leaf, slots } = leafWith(fs, ObjectId.FS_TREE, ItemType.DIR_INDEX);
    const slot = slots[0]!;
    // btrfs_dir_item: location key first (objectid u64, type u8 at byte 8).
    const broken = withBlock('rootdir-default', leaf.logical, (b) => {
      b[leaf.itemOffset(slot) + 8] = ItemType.XATTR_ITEM;
    });
    const view = new FsView(broken);
    const names = [...view.readdir({ subvol: 5n, ino: leaf.keyObjectid(slot) })].length;
    expect(names).toBe([...new FsView(fs).readdir({ subvol: 5n, ino: leaf.keyObjectid(slot) })].length - 1);
    const seen = broken.findings.items.filter((f) => f.code === 'dir-entry-location');
    expect(seen.map((f) => [f.location.tree, f.location.block, f.location.slot])).toEqual([[ObjectId.FS_TREE, leaf.logical, slot]]);
    // check reads the directories too: the same finding, and the item check's and the name triples' findings beside it.
    const got = damage(broken);
    expect(
      brief(
        got.filter((f) => f.code === 'dir-entry-location'),
        'tree',
        'block',
        'slot',
      ),
    ).toEqual([['dir-entry-location', ObjectId.FS_TREE, leaf.logical, slot]]);
    expect(
      brief(
        got.filter((f) => f.code === 'dir-item'),
        'block',
        'slot',
      ),
    ).toEqual([['dir-item', leaf.logical, slot]]);
  });

  it('subvolume-loop: the two subvolumes of rootdir-subvols each made the parent of the other (ROOT_BACKREF key offsets)', () => {
    const fs = open('rootdir-subvols');
    const { leaf, slots } = leafWith(fs, ObjectId.ROOT_TREE, ItemType.ROOT_BACKREF);
    expect(slots.map((s) => [leaf.keyObjectid(s), leaf.keyOffsetField(s)])).toEqual([
      [256n, 5n],
      [257n, 5n],
    ]);
    const broken = withBlock('rootdir-subvols', leaf.logical, (_b, v) => {
      v.setBigUint64(keyOffsetAt(slots[0]!), 257n, true);
      v.setBigUint64(keyOffsetAt(slots[1]!), 256n, true);
    });
    const subs = new FsView(broken).subvolumes();
    expect(subs.filter((s) => s.id !== 5n).map((s) => [s.id, s.parentId, s.path])).toEqual([
      [256n, 257n, null],
      [257n, 256n, null],
    ]);
    expect(broken.findings.items.map((f) => [f.code, f.location.tree, f.message])).toEqual([
      ['subvolume-loop', ObjectId.ROOT_TREE, 'subvolume 256: the chain of ROOT_BACKREFs loops at subvolume 256'],
      ['subvolume-loop', ObjectId.ROOT_TREE, 'subvolume 257: the chain of ROOT_BACKREFs loops at subvolume 257'],
    ]);
    // check: the loop, and the ROOT_REFs of subvolume 5 that no backref answers any more (and the reverse).
    expect([...new Set(damage(broken).map((f) => f.code))].sort()).toEqual(['root-ref', 'subvolume-loop']);
  });

  it('block-reached-twice: a node whose second pointer names the block of its first (dump-tree dumps it once)', () => {
    const name = 'snapshot-deleted';
    const fs = open(name);
    // A node of some tree (4 KiB nodes: the subvolume of 1000 files has one).
    let node: { tree: bigint; block: TreeBlock } | undefined;
    for (const r of fs.roots()) {
      if (node || r.level === 0) continue;
      const b = new TreeBlock(fs.volume.readCopy(r.bytenr, fs.superblock.nodesize, 0).bytes!, r.bytenr);
      if (b.nritems >= 2) node = { tree: r.tree, block: b };
    }
    if (!node) throw new Error('no node with two children');
    const { tree, block } = node;
    const first = block.blockPtr(0);
    // btrfs_key_ptr: key (17 bytes), blockptr u64, generation u64.
    const broken = withBlock(name, block.logical, (_b, v) => {
      v.setBigUint64(HEADER_SIZE + 33 + 17, first, true);
      v.setBigUint64(HEADER_SIZE + 33 + 25, block.ptrGeneration(0), true);
    });
    const out: string[] = [];
    dumpAllText(broken, (t) => out.push(t));
    expect(out.join('')).toContain(`node ${block.logical} `);
    const twice = broken.findings.items.filter((f) => f.code === 'block-reached-twice');
    expect(twice.map((f) => [f.location.tree, f.location.block, f.location.logical])).toEqual([[tree, first, first]]);
    expect(twice[0]!.message).toBe(`tree block ${first} (slot 1 of ${block.logical}) is reached a second time in tree ${tree}: not dumped again`);
  });

  it('decompress-failed: the first sector of a zstd extent zeroed, its checksum recomputed: the file read names the extent', () => {
    const name = 'rootdir-zstd';
    const fs = open(name);
    let at: { ino: bigint; diskBytenr: bigint } | undefined;
    fs.walk(fs.treeRoot(ObjectId.FS_TREE)!, {
      block(b: TreeBlock) {
        if (!b.isLeaf) return;
        for (let s = 0; s < b.nritems && !at; s++) {
          if (b.keyType(s) !== ItemType.EXTENT_DATA) continue;
          const d = decodeFileExtent(b.key(s), b.itemData(s));
          if (d.kind !== 'invalid' && d.body === 'disk' && d.type === FileExtentType.REG && d.compression === 3 && d.diskBytenr !== 0n) at = { ino: b.keyObjectid(s), diskBytenr: d.diskBytenr };
        }
      },
    });
    if (!at) throw new Error('no zstd extent');
    const ss = fs.superblock.sectorsize;
    const zeros = new Uint8Array(ss);
    // The sector's checksum in the csum tree, made that of the zeros.
    const csum = leafWith(fs, ObjectId.CSUM_TREE, ItemType.EXTENT_CSUM);
    const slot = [...csum.slots].reverse().find((s) => csum.leaf.keyOffsetField(s) <= at!.diskBytenr)!;
    const index = Number((at.diskBytenr - csum.leaf.keyOffsetField(slot)) / BigInt(ss));
    expect(index * fs.superblock.csumSize).toBeLessThan(csum.leaf.itemSize(slot));
    const k = new DamageKit(fs, [source(name)]);
    k.editBlock(csum.leaf.logical, (b) => b.set(computeCsum(fs.superblock.csumType, zeros), csum.leaf.itemOffset(slot) + index * fs.superblock.csumSize), { fixCsum: true });
    for (const c of fs.volume.chunks.map(at.diskBytenr)!.copies) k.overlays[Number(c.devid) - 1]!.patch(c.physical, zeros);
    const broken = Filesystem.open(k.overlays);
    const view = new FsView(broken);
    const h = hashFile(view, view.inode({ subvol: 5n, ino: at.ino })!, { verify: true });
    expect(h.errors.length).toBeGreaterThan(0);
    const failed = broken.findings.items.filter((f) => f.code === 'decompress-failed');
    expect(failed.map((f) => [f.location.tree, f.location.logical])).toEqual([[ObjectId.FS_TREE, at.diskBytenr]]);
    // Nothing else: the checksums match, every block reads.
    expect(broken.findings.items.filter((f) => f.code !== 'decompress-failed')).toEqual([]);
  });

  it('directory-too-deep: a walk bounded at one level enters dir/ of rootdir-default, not dir/sub/', () => {
    const fs = open('rootdir-default');
    const view = new FsView(fs);
    const paths = [...walkFiles(view, { subvol: 5n, ino: 256n }, { maxDepth: 1 })].map((w) => new TextDecoder().decode(w.path.at(-1) ?? new Uint8Array()));
    expect(paths).toContain('dir');
    expect(paths).toContain('hardlink');
    expect(paths).toContain('sub');
    const deep = fs.findings.items.filter((f) => f.code === 'directory-too-deep');
    expect(deep.map((f) => [f.location.tree, f.message])).toEqual([[ObjectId.FS_TREE, '/dir/sub: deeper than 1 levels; not entered']]);
  });

  it('item-invalid: an inode item cut to 100 bytes, met when the view reads that inode', () => {
    const name = 'rootdir-default';
    const fs = open(name);
    const { leaf, slots } = leafWith(fs, ObjectId.FS_TREE, ItemType.INODE_ITEM);
    const slot = slots.at(-1)!;
    const ino = leaf.keyObjectid(slot);
    const broken = withBlock(name, leaf.logical, (b) => resizeItem(b, slot, leaf.itemData(slot).slice(0, 100)));
    expect(new FsView(broken).inode({ subvol: 5n, ino })).toBeNull();
    expect(broken.findings.items.map((f) => [f.code, f.location.tree, f.location.block, f.location.slot, f.location.key?.objectid])).toEqual([
      ['item-invalid', ObjectId.FS_TREE, leaf.logical, slot, ino],
    ]);
  });

  it('a snapshot dropped half-way: a leaf past its drop_progress is still checked (its checksum broken: tree-block-csum on both copies)', () => {
    const name = 'snapshot-drop-progress';
    const fs = open(name);
    const root = fs.roots().find((r) => r.tree === 257n)!;
    expect(root.level).toBeGreaterThan(0);
    // The last leaf of the snapshot's tree: its keys come after drop_progress (inode 19324 of 20000 and more).
    let b = new TreeBlock(fs.volume.readCopy(root.bytenr, fs.superblock.nodesize, 0).bytes!, root.bytenr);
    while (!b.isLeaf) {
      const child = b.blockPtr(b.nritems - 1);
      b = new TreeBlock(fs.volume.readCopy(child, fs.superblock.nodesize, 0).bytes!, child);
    }
    const progress = BigInt(/drop_progress key \((\d+) /.exec(readFileSync(join(DIR, `${name}.drop.txt`), 'utf8'))![1]!);
    expect(b.keyObjectid(0)).toBeGreaterThan(progress);
    const k = new DamageKit(fs, [source(name)]);
    k.editBlock(b.logical, (x) => {
      x[200] = x[200]! ^ 0xff;
    });
    const got = damage(Filesystem.open(k.overlays));
    expect(brief(got, 'tree', 'logical', 'copy')).toEqual([
      ['tree-block-csum', 257n, b.logical, 0],
      ['tree-block-csum', 257n, b.logical, 1],
    ]);
  });
});
