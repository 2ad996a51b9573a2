import { BlockGroupFlag, IncompatFlag, ItemType, ObjectId } from '../../src/format/constants.js';
import { raidStride } from '../../src/format/items/misc.js';
import { KEY_SIZE } from '../../src/format/key.js';
import { SUPER_INCOMPAT_FLAGS_OFFSET } from '../../src/format/superblock.js';
import { blockHeader, HEADER_SIZE, ITEM_SIZE, leafItem } from '../../src/format/treeBlock.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { Filesystem } from '../../src/tree/Filesystem.js';
import type { Chunk } from '../../src/volume/ChunkMap.js';
import { DamageKit, editSuperblocks } from './damage.js';
import { openSample, sampleSources } from './samples.js';

/** One RAID_STRIPE item as written into the built image. */
export interface BuiltStripe {
  logical: bigint;
  length: bigint;
  strides: { devid: bigint; physical: bigint }[];
  /** Where the chunk arithmetic places each copy (now zeroed). */
  old: { devid: bigint; physical: bigint }[];
}

/** A built item list for the stripe leaf: key (logical, RAID_STRIPE, length) and raw item bytes. */
export interface LeafItem {
  objectid: bigint;
  type: number;
  offset: bigint;
  data: Uint8Array;
}

export const strideBytes = (strides: { devid: bigint; physical: bigint }[]): Uint8Array => {
  const b = new Uint8Array(strides.length * raidStride.size);
  const v = new DataView(b.buffer);
  strides.forEach((s, i) => {
    v.setBigUint64(i * raidStride.size + raidStride.off.devid, s.devid, true);
    v.setBigUint64(i * raidStride.size + raidStride.off.physical, s.physical, true);
  });
  return b;
};

/** Rewrites a leaf's items (keys in the order given; data packed from the block's end down, as btrfs does). */
export function writeLeafItems(b: Uint8Array, owner: bigint, items: LeafItem[]): void {
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  b.fill(0, HEADER_SIZE);
  v.setBigUint64(blockHeader.off.owner, owner, true);
  v.setUint32(blockHeader.off.nritems, items.length, true);
  let end = b.length - HEADER_SIZE;
  items.forEach((it, i) => {
    const at = HEADER_SIZE + i * ITEM_SIZE;
    v.setBigUint64(at + leafItem.off.key, it.objectid, true);
    v.setUint8(at + leafItem.off.key + 8, it.type);
    v.setBigUint64(at + leafItem.off.key + 9, it.offset, true);
    end -= it.data.length;
    v.setUint32(at + leafItem.off.offset, end, true);
    v.setUint32(at + leafItem.off.size, it.data.length, true);
    b.set(it.data, HEADER_SIZE + end);
  });
  if (HEADER_SIZE + items.length * ITEM_SIZE > HEADER_SIZE + end) throw new Error('items do not fit the leaf');
}

/**
 * A raid-stripe-tree filesystem built in memory from a kernel-made sample
 * (sample-images/raid1 or dup-data), the way a zoned RAID filesystem places
 * data: every data extent's copies are MOVED to other places inside their
 * chunk's device extents (free places of the chunk: copy 1 the lowest that
 * fits, copy 2 the highest) and their old places zeroed, and RAID_STRIPE
 * items (key (logical, RAID_STRIPE, length), one 16-byte stride devid +
 * physical per copy) say where. Only a reader that follows the items gets
 * the kernel's file contents (truth/files.json).
 *
 * The tree itself: the sample's UUID tree (one leaf, one root item, one
 * extent item) becomes the raid stripe tree: its root item's key 9 -> 12
 * (moved past the free space tree's, 10, to keep key order), its leaf's
 * owner 9 -> 12 with the stripe items in place of the UUID items, and its
 * extent item's inline TREE_BLOCK_REF root 9 -> 12; the kernel recreates a
 * missing UUID tree at mount (btrfs_create_uuid_tree). Superblocks get
 * incompat RAID_STRIPE_TREE. `editStripes` may change the items before they
 * are written (the damage recipes).
 */
export function buildRstImage(sample: 'raid1' | 'dup-data', editStripes?: (items: LeafItem[], stripes: BuiltStripe[]) => LeafItem[], opts: { featureBit?: boolean } = {}) {
  const fs = openSample(sample);
  const sb = fs.superblock;
  const kit = new DamageKit(fs, sampleSources(sample));
  const dev = (devid: bigint) => kit.overlays[Number(devid) - 1]!;

  // Data extents (EXTENT_ITEM in data chunks), by chunk.
  const byChunk = new Map<Chunk, { logical: bigint; length: bigint }[]>();
  for (const { block, slot } of fs.items(fs.treeRoot(ObjectId.EXTENT_TREE)!)) {
    if (block.keyType(slot) !== ItemType.EXTENT_ITEM) continue;
    const logical = block.keyObjectid(slot);
    const c = fs.volume.chunks.find(logical)!;
    if ((c.type & BlockGroupFlag.DATA) === 0n) continue;
    let list = byChunk.get(c);
    if (!list) byChunk.set(c, (list = []));
    list.push({ logical, length: block.keyOffsetField(slot) });
  }
  const stripes: BuiltStripe[] = [];
  for (const [c, list] of byChunk) {
    list.sort((a, b) => (a.logical < b.logical ? -1 : 1));
    // The chunk's free ranges (relative to its start): new places are taken from them, per copy.
    const free: { start: bigint; end: bigint }[] = [];
    let at = 0n;
    for (const e of list) {
      if (e.logical - c.logical > at) free.push({ start: at, end: e.logical - c.logical });
      at = e.logical + e.length - c.logical;
    }
    if (at < c.length) free.push({ start: at, end: c.length });
    const frees = c.stripes.map(() => free.map((f) => ({ ...f })));
    for (const e of list) {
      const rel = e.logical - c.logical;
      const old = c.stripes.map((s) => ({ devid: s.devid as bigint, physical: s.offset + rel }));
      // Copy 0 takes the lowest free place that fits, the other copies the highest: the copies' places share no arithmetic.
      const strides = c.stripes.map((s, i) => {
        const fl = frees[i]!;
        const f = i === 0 ? fl.find((x) => x.end - x.start >= e.length) : [...fl].reverse().find((x) => x.end - x.start >= e.length);
        if (!f) throw new Error('no free place in the chunk');
        let place: bigint;
        if (i === 0) {
          place = f.start;
          f.start += e.length;
        } else {
          f.end -= e.length;
          place = f.end;
        }
        return { devid: s.devid as bigint, physical: s.offset + place };
      });
      stripes.push({ logical: e.logical, length: e.length, strides, old });
    }
  }
  stripes.sort((a, b) => (a.logical < b.logical ? -1 : 1));
  // Read every copy before writing any (new places are free ones: never an old place).
  const bytes = stripes.map((s) => s.old.map((o) => dev(o.devid).read(o.physical, Number(s.length)).slice()));
  stripes.forEach((s, i) => {
    for (const o of s.old) dev(o.devid).patch(o.physical, new Uint8Array(Number(s.length)));
    s.strides.forEach((t, j) => dev(t.devid).patch(t.physical, bytes[i]![j]!));
  });

  let items: LeafItem[] = stripes.map((s) => ({ objectid: s.logical, type: ItemType.RAID_STRIPE, offset: s.length, data: strideBytes(s.strides) }));
  if (editStripes) items = editStripes(items, stripes);

  // The UUID tree becomes the raid stripe tree.
  const uuid = fs.treeRoot(ObjectId.UUID_TREE)!;
  if (uuid.level !== 0) throw new Error('UUID tree is not one leaf');
  kit.editBlock(uuid.bytenr, (b) => writeLeafItems(b, ObjectId.RAID_STRIPE_TREE, items), { fixCsum: true });
  const rootRef = fs.find(fs.rootTree, { objectid: ObjectId.UUID_TREE, type: ItemType.ROOT_ITEM, offset: 0n })!;
  kit.editBlock(
    rootRef.block.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      const keyAt = (slot: number) => HEADER_SIZE + slot * ITEM_SIZE + leafItem.off.key;
      let slot = rootRef.slot;
      v.setBigUint64(keyAt(slot), ObjectId.RAID_STRIPE_TREE, true);
      // Bubble the item past smaller keys (the free space tree's root item, 10): swap keys and the equal-sized data.
      while (slot + 1 < rootRef.block.nritems && v.getBigUint64(keyAt(slot + 1), true) < ObjectId.RAID_STRIPE_TREE) {
        const a = keyAt(slot),
          c = keyAt(slot + 1);
        const ka = b.slice(a, a + KEY_SIZE);
        b.copyWithin(a, c, c + KEY_SIZE);
        b.set(ka, c);
        const da = HEADER_SIZE + v.getUint32(a - leafItem.off.key + leafItem.off.offset, true);
        const dc = HEADER_SIZE + v.getUint32(c - leafItem.off.key + leafItem.off.offset, true);
        const n = v.getUint32(a - leafItem.off.key + leafItem.off.size, true);
        if (n !== v.getUint32(c - leafItem.off.key + leafItem.off.size, true)) throw new Error('root items of different sizes');
        const tmp = b.slice(da, da + n);
        b.copyWithin(da, dc, dc + n);
        b.set(tmp, dc);
        slot++;
      }
    },
    { fixCsum: true },
  );
  const ext = fs.find(fs.treeRoot(ObjectId.EXTENT_TREE)!, { objectid: uuid.bytenr, type: ItemType.METADATA_ITEM, offset: 0n });
  if (!ext) throw new Error('no skinny METADATA_ITEM for the UUID leaf');
  kit.editBlock(
    ext.block.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      const data = HEADER_SIZE + v.getUint32(HEADER_SIZE + ext.slot * ITEM_SIZE + leafItem.off.offset, true);
      // btrfs_extent_item (refs, generation, flags: 24 bytes), then the inline ref: type u8, root u64.
      if (v.getUint8(data + 24) !== ItemType.TREE_BLOCK_REF || v.getBigUint64(data + 25, true) !== ObjectId.UUID_TREE) throw new Error('unexpected inline ref');
      v.setBigUint64(data + 25, ObjectId.RAID_STRIPE_TREE, true);
    },
    { fixCsum: true },
  );
  const sources: ByteSource[] =
    opts.featureBit === false
      ? kit.overlays
      : kit.overlays.map((o) =>
          editSuperblocks(o, sb.csumType, (v) => v.setBigUint64(SUPER_INCOMPAT_FLAGS_OFFSET, v.getBigUint64(SUPER_INCOMPAT_FLAGS_OFFSET, true) | IncompatFlag.RAID_STRIPE_TREE, true)),
        );
  return { sources, stripes, leaf: uuid.bytenr, open: () => Filesystem.open(sources) };
}
