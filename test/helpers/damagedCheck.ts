import { decodeExtentItem } from '../../src/format/items/extent.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../../src/format/treeBlock.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { OverlaySource } from '../../src/io/OverlaySource.js';
import type { Filesystem } from '../../src/tree/Filesystem.js';
import { blockCopies, DamageKit, editSuperblocks, fixBlockCsum, resizeItem } from './damage.js';
import { filesTruth } from './fsTruth.js';
import { openSample, sampleSources } from './samples.js';

/** A finding check must report: its code, where, and whether another copy repairs it. */
export interface ExpectedFinding {
  code: string;
  logical?: bigint;
  copy?: number;
  slot?: number;
  physical?: bigint;
  repairable?: boolean;
}

/** A damaged image built in memory, with the findings written down beside the damage. */
export interface DamageRecipe {
  name: string;
  sources: ByteSource[];
  data: boolean;
  expected: ExpectedFinding[];
  /** Files (truth paths, relative to the top) and offsets that the damage must be said to hurt. */
  hurt?: { path: string; fileOffset?: bigint }[];
  /** Superblock copy that must have been used (0-based). */
  superblockUsed?: number;
}

/**
 * A leaf of subvolume 5 that holds whole inodes of files only (it starts at
 * an INODE_ITEM, the next leaf does too, and it has no directory items), so
 * that what losing it hurts is exactly the files with those inode numbers.
 */
export function fsLeaf(fs: Filesystem): { logical: bigint; minIno: bigint; maxIno: bigint } {
  const root = fs.treeRoot(5n)!;
  const read = (at: bigint) => new TreeBlock(fs.volume.readCopy(at, fs.superblock.nodesize, 0).bytes!, at);
  const node = read(root.bytenr);
  if (node.level !== 1) throw new Error('recipe expects a two-level fs tree');
  for (let slot = 0; slot + 1 < node.nritems; slot++) {
    if (node.keyType(slot) !== 1 || node.keyType(slot + 1) !== 1 || node.keyObjectid(slot) < 257n) continue;
    const leaf = read(node.blockPtr(slot));
    let dirs = false;
    for (let i = 0; i < leaf.nritems; i++) if (leaf.keyType(i) === 84 || leaf.keyType(i) === 96) dirs = true;
    if (!dirs && leaf.nritems > 6) return leafAt(node, slot);
  }
  throw new Error('no leaf of files only');
}

function leafAt(node: TreeBlock, slot: number): { logical: bigint; minIno: bigint; maxIno: bigint } {
  const next = node.key(slot + 1);
  // Inode next.objectid has items in this leaf only when the next leaf starts past its INODE_ITEM.
  const maxIno = next.type > 1 || (next.type === 1 && next.offset > 0n) ? next.objectid : next.objectid - 1n;
  return { logical: node.blockPtr(slot), minIno: node.key(slot).objectid, maxIno };
}

/** Truth files of subvolume 5 whose inode lies in [min, max]: what a lost leaf of that range hurts. */
export function truthFilesInRange(sample: string, min: bigint, max: bigint): string[] {
  return filesTruth(sample)
    .filter((e) => e.subvol_id === 5 && BigInt(e.ino) >= min && BigInt(e.ino) <= max && e.path !== '.')
    .map((e) => e.path)
    .sort();
}

/** Every (path, file offset) whose data is at btrfs logical `at`, from the kernel's FIEMAP (filefrag) truth. */
export function truthUsersOf(sample: string, at: bigint): { path: string; fileOffset: bigint }[] {
  const out: { path: string; fileOffset: bigint }[] = [];
  for (const e of filesTruth(sample)) {
    for (const x of e.filefrag?.extents ?? []) {
      if (x.flags.includes('inline') || x.flags.includes('encoded')) continue;
      if (at >= BigInt(x.physical) && at <= BigInt(x.physical_end)) out.push({ path: e.path, fileOffset: BigInt(x.logical) + at - BigInt(x.physical) });
    }
  }
  return out;
}

const SAMPLE = 'default';

/** The recipes of issue #5, each with its expected findings. */
export function recipes(): DamageRecipe[] {
  const clean = openSample(SAMPLE);
  const out: DamageRecipe[] = [];
  const kit = () => new DamageKit(clean, sampleSources(SAMPLE));

  {
    const leaf = fsLeaf(clean);
    const k = kit();
    k.editBlock(
      leaf.logical,
      (b) => {
        b[1000]! ^= 0x5a;
      },
      { copies: [0] },
    );
    const c0 = blockCopies(clean, leaf.logical)[0]!;
    out.push({
      name: 'one DUP copy of an fs leaf corrupted',
      sources: k.overlays,
      data: false,
      expected: [{ code: 'tree-block-csum', logical: leaf.logical, copy: 0, physical: c0.physical, repairable: true }],
    });
  }
  {
    const leaf = fsLeaf(clean);
    const k = kit();
    k.editBlock(leaf.logical, (b) => {
      b[1000]! ^= 0x5a;
    });
    out.push({
      name: 'both DUP copies of an fs leaf corrupted',
      sources: k.overlays,
      data: false,
      expected: [0, 1].map((copy) => ({ code: 'tree-block-csum', logical: leaf.logical, copy, repairable: false })),
      hurt: truthFilesInRange(SAMPLE, leaf.minIno, leaf.maxIno).map((path) => ({ path })),
    });
  }
  {
    // A sector of /rich/random-2m.bin (SINGLE data): its place from the kernel's FIEMAP.
    const f = filesTruth(SAMPLE).find((e) => e.path === 'rich/random-2m.bin')!;
    const at = BigInt(f.filefrag!.extents[0]!.physical) + 5n * 4096n;
    const m = clean.volume.chunks.map(at)!;
    const src = sampleSources(SAMPLE).map((s) => new OverlaySource(s));
    const byte = clean.volume.readCopy(at, 1, 0).bytes!;
    src[0]!.patch(m.copies[0]!.physical, Uint8Array.of(byte[0]! ^ 0xff));
    out.push({
      name: 'one data sector flipped',
      sources: src,
      data: true,
      expected: [{ code: 'data-csum', logical: at, copy: 0, physical: m.copies[0]!.physical, repairable: false }],
      hurt: truthUsersOf(SAMPLE, at),
    });
  }
  {
    const s = sampleSources(SAMPLE)[0]!;
    const o = new OverlaySource(s).patch(0x10000n, new Uint8Array(4096));
    out.push({ name: 'primary superblock destroyed', sources: [o], data: false, expected: [{ code: 'super-bad-magic', physical: 0x10000n, copy: 0 }], superblockUsed: 1 });
  }
  {
    const s = sampleSources(SAMPLE)[0]!;
    const b = s.read(0x10000n, 1);
    const o = new OverlaySource(s).patch(0x10000n, Uint8Array.of(b[0]! ^ 1));
    out.push({ name: 'superblock checksum wrong', sources: [o], data: false, expected: [{ code: 'super-bad-csum', physical: 0x10000n, copy: 0 }], superblockUsed: 1 });
  }
  {
    const leaf = fsLeaf(clean);
    const k = kit();
    k.editBlock(
      leaf.logical,
      (b) => {
        const a = HEADER_SIZE + 4 * ITEM_SIZE,
          c = HEADER_SIZE + 5 * ITEM_SIZE;
        const ka = b.slice(a, a + 17);
        b.copyWithin(a, c, c + 17);
        b.set(ka, c);
      },
      { fixCsum: true },
    );
    out.push({
      name: 'keys swapped in an fs leaf, checksum recomputed',
      sources: k.overlays,
      data: false,
      expected: [0, 1].map((copy) => ({ code: 'key-order', logical: leaf.logical, copy, slot: 5, repairable: false })),
      hurt: truthFilesInRange(SAMPLE, leaf.minIno, leaf.maxIno).map((path) => ({ path })),
    });
  }
  {
    const csumRoot = clean.treeRoot(7n)!;
    const k = kit();
    k.editBlock(
      csumRoot.bytenr,
      (b) => {
        new DataView(b.buffer, b.byteOffset).setBigUint64(0x50, csumRoot.generation! - 1n, true);
      },
      { fixCsum: true },
    );
    out.push({
      name: 'csum tree leaf generation changed, checksum recomputed',
      sources: k.overlays,
      data: false,
      expected: [0, 1].map((copy) => ({ code: 'transid-mismatch', logical: csumRoot.bytenr, copy, repairable: false })),
    });
  }
  {
    // Cut the image inside its last data chunk (metadata lies below): only the truncation is damage.
    const s = sampleSources(SAMPLE)[0]!;
    const o = new OverlaySource(s).truncate(150_000_000n);
    out.push({ name: 'truncated image', sources: [o], data: false, expected: [{ code: 'device-truncated', physical: 150_000_000n }] });
  }
  {
    const extentRoot = clean.treeRoot(2n)!;
    const leaf = new TreeBlock(clean.volume.readCopy(extentRoot.bytenr, clean.superblock.nodesize, 0).bytes!, extentRoot.bytenr);
    if (leaf.level !== 0) throw new Error('recipe expects a one-leaf extent tree');
    let slot = 0;
    while (leaf.keyType(slot) !== 169 && leaf.keyType(slot) !== 168) slot++;
    const k = kit();
    k.editBlock(
      extentRoot.bytenr,
      (b) => {
        const v = new DataView(b.buffer, b.byteOffset);
        const off = leaf.itemOffset(slot);
        v.setBigUint64(off, v.getBigUint64(off, true) + 1n, true);
      },
      { fixCsum: true },
    );
    const bytenr = leaf.keyObjectid(slot);
    out.push({
      name: 'extent reference count changed, checksum recomputed',
      sources: k.overlays,
      data: false,
      expected: [
        { code: 'extent-backref-count', logical: bytenr },
        { code: 'extent-ref-count', logical: bytenr },
      ],
    });
  }
  return out;
}

/** RAID1 with one data copy flipped: found on that copy only, repaired by the other. */
export function raid1DataCopy(): DamageRecipe {
  const name = 'raid1';
  const fs = openSample(name);
  const f = filesTruth(name).find((e) => e.type === 'file' && (e.filefrag?.extents.length ?? 0) > 0 && !e.filefrag!.extents[0]!.flags.includes('inline') && e.size >= 65536)!;
  const at = BigInt(f.filefrag!.extents[0]!.physical) + 4096n;
  const m = fs.volume.chunks.map(at)!;
  const c = m.copies[1]!;
  const src = sampleSources(name).map((s) => new OverlaySource(s));
  const byte = fs.volume.readCopy(at, 1, 1).bytes!;
  src[Number(c.devid) - 1]!.patch(c.physical, Uint8Array.of(byte[0]! ^ 0x80));
  return { name: 'one RAID1 data copy flipped', sources: src, data: true, expected: [{ code: 'data-csum', logical: at, copy: 1, physical: c.physical, repairable: true }] };
}

/** RAID5: a data stripe sector flipped (copy 0 bad, the rebuild from P good), or the P stripe under it (the rebuild bad). */
export function raid5DataAndParity(): DamageRecipe[] {
  const name = 'raid5';
  const fs = openSample(name);
  const f = filesTruth(name).find((e) => e.type === 'file' && (e.filefrag?.extents.length ?? 0) > 0 && !e.filefrag!.extents[0]!.flags.includes('inline') && e.size >= 65536)!;
  const at = BigInt(f.filefrag!.extents[0]!.physical) + 8192n;
  const m = fs.volume.chunks.map(at)!;
  const data = m.copies[0]!;
  const p = { devid: m.row!.p.devid, physical: m.row!.p.physical + m.row!.unitOffset };
  const flip = (place: { devid: bigint; physical: bigint }) => {
    const src = sampleSources(name).map((s) => new OverlaySource(s));
    const b = src[Number(place.devid) - 1]!.read(place.physical, 1);
    src[Number(place.devid) - 1]!.patch(place.physical, Uint8Array.of(b[0]! ^ 0x10));
    return src;
  };
  // The same offset in the row's other data stripe (3 devices: 2 data stripes): its rebuild from P reads the flipped byte too.
  const row = m.row!;
  if (row.data.length !== 2) throw new Error('recipe expects 2 data stripes per row');
  const sibling = row.logicalStart + BigInt(1 - row.dataIndex) * m.chunk.stripeLen + row.unitOffset;
  return [
    {
      name: 'RAID5 data stripe sector flipped',
      sources: flip(data),
      data: true,
      expected: [
        { code: 'data-csum', logical: at, copy: 0, physical: data.physical, repairable: true },
        { code: 'data-csum', logical: sibling, copy: 1, physical: p.physical, repairable: true },
      ],
    },
    {
      name: 'RAID5 parity under a data sector flipped',
      sources: flip(p),
      data: true,
      expected: [
        { code: 'data-csum', logical: at, copy: 1, physical: p.physical, repairable: true },
        { code: 'data-csum', logical: sibling, copy: 1, physical: p.physical, repairable: true },
      ],
    },
  ];
}

/**
 * The first INODE_ITEM of a files-only leaf that `pick` accepts (its item
 * bytes), edited by `edit` on both copies with the checksum recomputed: the
 * one finding `code` at that item is expected.
 */
function inodeItemEdited(name: string, code: string, pick: (item: DataView) => boolean, edit: (item: DataView, sectorsize: number) => void): DamageRecipe & { ino: bigint } {
  const clean = openSample(SAMPLE);
  const leaf = fsLeaf(clean);
  const block = new TreeBlock(clean.volume.readCopy(leaf.logical, clean.superblock.nodesize, 0).bytes!, leaf.logical);
  const itemView = (bytes: Uint8Array, slot: number) => new DataView(bytes.buffer, bytes.byteOffset + block.itemOffset(slot), block.itemSize(slot));
  let slot = 0;
  while (block.keyType(slot) !== 1 || !pick(itemView(block.data, slot))) slot++;
  const ino = block.keyObjectid(slot);
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(leaf.logical, (b) => edit(itemView(b, slot), clean.superblock.sectorsize), { fixCsum: true });
  return { name, sources: k.overlays, data: false, expected: [{ code, logical: leaf.logical, slot }], ino };
}

/** An inode's nlink (u32 at 40) raised: only the nlink finding. */
export function nlinkChanged(): DamageRecipe & { ino: bigint } {
  return inodeItemEdited(
    'inode nlink raised, checksum recomputed',
    'nlink',
    () => true,
    (v) => v.setUint32(40, v.getUint32(40, true) + 1, true),
  );
}

/** A regular file's (mode at 52, S_IFREG) nbytes (u64 at 24) raised by a sector: only the nbytes finding. */
export function nbytesChanged(): DamageRecipe & { ino: bigint } {
  return inodeItemEdited(
    'file nbytes raised, checksum recomputed',
    'inode-nbytes',
    (v) => (v.getUint32(52, true) & 0o170000) === 0o100000,
    (v, ss) => v.setBigUint64(24, v.getBigUint64(24, true) + BigInt(ss), true),
  );
}

/**
 * The superblock's totals changed on every copy (btrfs_super_block: total_bytes
 * at 0x70, bytes_used at 0x78, num_devices at 0x88), checksums recomputed:
 * each breaks one total the kernel or btrfs check compares with the trees.
 */
export function superblockTotals(): DamageRecipe[] {
  const clean = openSample(SAMPLE);
  const sb = clean.superblock;
  const ss = BigInt(sb.sectorsize);
  const src = sampleSources(SAMPLE)[0]!;
  const edited = (edit: (v: DataView) => void) => [editSuperblocks(src, sb.csumType, edit), ...sampleSources(SAMPLE).slice(1)];
  const u64 = (off: number, f: (x: bigint) => bigint) => (v: DataView) => v.setBigUint64(off, f(v.getBigUint64(off, true)), true);
  const at = { physical: 0x10000n };
  return [
    { name: 'superblock num_devices raised', sources: edited(u64(0x88, (x) => x + 1n)), data: false, expected: [{ code: 'super-num-devices', ...at }] },
    { name: 'superblock total_bytes below the device size', sources: edited(u64(0x70, (x) => x - ss)), data: false, expected: [{ code: 'super-total-bytes', ...at }] },
    { name: 'superblock total_bytes not sector aligned', sources: edited(u64(0x70, (x) => x + 1n)), data: false, expected: [{ code: 'device-size-alignment', ...at }] },
    { name: 'superblock bytes_used off by a sector', sources: edited(u64(0x78, (x) => x + ss)), data: false, expected: [{ code: 'super-bytes-used', ...at }] },
    devItemUnaligned(),
  ];
}

/** The dev item's total_bytes (btrfs_dev_item: u64 at 8) lowered by one byte in the chunk tree leaf, checksum recomputed. */
function devItemUnaligned(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.chunkTree;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf chunk tree');
  let slot = 0;
  while (leaf.keyType(slot) !== 216) slot++;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    root.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot), leaf.itemSize(slot));
      v.setBigUint64(8, v.getBigUint64(8, true) - 1n, true);
    },
    { fixCsum: true },
  );
  return { name: 'dev item total_bytes not sector aligned', sources: k.overlays, data: false, expected: [{ code: 'device-size-alignment' }] };
}

/** S_IFMT of a mode (btrfs_inode_item.mode, u32 at 52); 0o170000 itself is none of the seven file types. */
const S_IFMT = 0o170000;

/** A regular file's mode given file type bits 0o170000: only the mode finding. */
export function modeInvalid(): DamageRecipe & { ino: bigint } {
  return inodeItemEdited(
    'file mode of no file type, checksum recomputed',
    'inode-mode',
    (v) => (v.getUint32(52, true) & S_IFMT) === 0o100000,
    (v) => v.setUint32(52, v.getUint32(52, true) | S_IFMT, true),
  );
}

/** The root tree's inode item (the directory inode 6 the default subvolume's name hangs on) given mode 0. */
export function rootTreeModeInvalid(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.rootTree;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf root tree');
  let slot = 0;
  while (leaf.keyType(slot) !== 1) slot++;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(root.bytenr, (b) => new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot), leaf.itemSize(slot)).setUint32(52, 0, true), { fixCsum: true });
  return { name: 'root tree inode mode 0, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'inode-mode', logical: root.bytenr, slot }] };
}

/**
 * A FREE_SPACE_EXTENT key of the free space tree given type DEV_EXTENT (204),
 * which belongs in the device tree only; the checksum is recomputed. The key
 * order holds (the next key has a larger objectid), so only the type is wrong.
 */
export function keyTypeWrongTree(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.treeRoot(10n)!;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf free space tree');
  let slot = 0;
  while (!(leaf.keyType(slot) === 199 && (slot + 1 === leaf.nritems || leaf.keyObjectid(slot + 1) > leaf.keyObjectid(slot)))) slot++;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  // btrfs_disk_key in the item header: objectid (8 bytes), then the type byte.
  k.editBlock(
    root.bytenr,
    (b) => {
      b[HEADER_SIZE + slot * ITEM_SIZE + 8] = 204;
    },
    { fixCsum: true },
  );
  return { name: 'free space tree key given a device tree type, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'key-type-tree', logical: root.bytenr, slot }] };
}

/** The first DIR_ITEM (key type 84) of a subvolume-5 leaf of the default sample, with its leaf. */
function firstDirItem(clean: Filesystem): { leaf: TreeBlock; slot: number } {
  let found: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(5n)!, {
    block(b: TreeBlock) {
      if (found || !b.isLeaf) return;
      for (let s = 0; s < b.nritems && !found; s++) if (b.keyType(s) === 84) found = { leaf: b, slot: s };
    },
  });
  if (!found) throw new Error('no DIR_ITEM');
  return found;
}

/** A DIR_ITEM's key offset (its name hash) raised by one; the next key stays above it. Checksum recomputed. */
export function dirItemHashChanged(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const { leaf, slot } = firstDirItem(clean);
  if (slot + 1 < leaf.nritems && leaf.compareKey(slot + 1, { ...leaf.key(slot), offset: leaf.keyOffsetField(slot) + 1n }) <= 0) throw new Error('next key too close');
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  // btrfs_disk_key: objectid (8), type (1), offset (8) at byte 9 of the item header.
  k.editBlock(
    leaf.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(at, v.getBigUint64(at, true) + 1n, true);
    },
    { fixCsum: true },
  );
  return { name: 'DIR_ITEM key offset no longer the name hash, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'dir-item-hash', logical: leaf.logical, slot }] };
}

/**
 * A DIR_ITEM given a second copy of its own entry (a hash-collision slot
 * holding one name twice), the leaf's data moved to make room and the
 * checksum recomputed. The directory's size then counts the name once more
 * than its DIR_INDEX items do (dir-isize) — the consequence btrfs check
 * reports too.
 */
export function dirItemDuplicateName(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const { leaf, slot } = firstDirItem(clean);
  const item = leaf.itemData(slot);
  const doubled = new Uint8Array(item.length * 2);
  doubled.set(item, 0);
  doubled.set(item, item.length);
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(leaf.logical, (b) => resizeItem(b, slot, doubled), { fixCsum: true });
  return {
    name: 'DIR_ITEM holding one name twice, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [{ code: 'dir-item-duplicate', logical: leaf.logical, slot }, { code: 'dir-isize' }],
  };
}

/**
 * The first two inline EXTENT_DATA_REFs of an extent item swapped (each is
 * the type byte and a 28-byte btrfs_extent_data_ref), checksum recomputed:
 * the kernel keeps them in descending hash order, so the swap puts them out
 * of order while every count stays right.
 */
export function inlineRefsSwapped(): DamageRecipe {
  const clean = openSample(SAMPLE);
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(2n)!, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 0; s < b.nritems && !at; s++) {
        const d = decodeExtentItem(b.key(s), b.itemData(s));
        if (b.keyType(s) === 168 && d.kind === 'extent_item' && d.inlineRefs.length >= 2 && d.inlineRefs[0]!.kind === 'extent_data' && d.inlineRefs[1]!.kind === 'extent_data')
          at = { leaf: b, slot: s };
      }
    },
  });
  if (!at) throw new Error('no extent item with two inline data refs');
  const { leaf, slot } = at;
  // btrfs_extent_item (24 bytes: refs, generation, flags), then the inline refs of 29 bytes each.
  const first = leaf.itemOffset(slot) + 24;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    leaf.logical,
    (b) => {
      const a = b.slice(first, first + 29);
      b.copyWithin(first, first + 29, first + 58);
      b.set(a, first + 29);
    },
    { fixCsum: true },
  );
  return { name: 'inline back references swapped, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'extent-inline-ref-order', logical: leaf.logical, slot }] };
}

/**
 * The default sample (made with NO_HOLES, so its sparse files have no hole
 * extents) with the NO_HOLES bit (1 << 9 of incompat_flags, u64 at 0xbc)
 * cleared on every superblock copy: every regular file with a hole below its
 * size then lacks the extents that would cover it. Which files those are,
 * and where their first hole starts, comes from the kernel's FIEMAP truth.
 */
export function noHolesCleared(): { sources: ByteSource[]; gaps: { subvol: bigint; ino: bigint; offset: bigint }[] } {
  const clean = openSample(SAMPLE);
  const src = sampleSources(SAMPLE);
  const o = editSuperblocks(src[0]!, clean.superblock.csumType, (v) => v.setBigUint64(0xbc, v.getBigUint64(0xbc, true) & ~(1n << 9n), true));
  const gaps: { subvol: bigint; ino: bigint; offset: bigint }[] = [];
  for (const e of filesTruth(SAMPLE)) {
    if (e.type !== 'file' || e.size === 0) continue;
    let covered = 0;
    for (const x of [...(e.filefrag?.extents ?? [])].sort((a, b) => a.logical - b.logical)) {
      if (x.logical > covered) break;
      covered = Math.max(covered, x.logical + x.length);
    }
    if (covered < e.size) gaps.push({ subvol: BigInt(e.subvol_id), ino: BigInt(e.ino), offset: BigInt(covered) });
  }
  return { sources: [o, ...src.slice(1)], gaps };
}

/**
 * The first item of key type `type` in tree `tree` (that `pick` accepts)
 * edited in place by `edit` (a DataView of its data) on every copy of its
 * leaf, checksum recomputed. `expected(leaf, slot)` lists the findings.
 */
function itemEdited(
  name: string,
  tree: bigint,
  type: number,
  edit: (item: DataView, sectorsize: number) => void,
  expected: (logical: bigint, slot: number) => ExpectedFinding[],
  pick: (leaf: TreeBlock, slot: number) => boolean = () => true,
): DamageRecipe {
  const clean = openSample(SAMPLE);
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(tree)!, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 0; s < b.nritems && !at; s++) if (b.keyType(s) === type && pick(b, s)) at = { leaf: b, slot: s };
    },
  });
  if (!at) throw new Error(`no item of type ${type} in tree ${tree}`);
  const { leaf, slot } = at;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(leaf.logical, (b) => edit(new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot), leaf.itemSize(slot)), clean.superblock.sectorsize), { fixCsum: true });
  return { name, sources: k.overlays, data: false, expected: expected(leaf.logical, slot) };
}

/** A tree block header field rewritten on both copies of an fs leaf, checksum recomputed: the block is refused on both. */
function headerEdited(name: string, code: string, edit: (b: Uint8Array) => void): DamageRecipe {
  const clean = openSample(SAMPLE);
  const leaf = fsLeaf(clean);
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(leaf.logical, edit, { fixCsum: true });
  return {
    name,
    sources: k.overlays,
    data: false,
    expected: [0, 1].map((copy) => ({ code, logical: leaf.logical, copy, repairable: false })),
    hurt: truthFilesInRange(SAMPLE, leaf.minIno, leaf.maxIno).map((path) => ({ path })),
  };
}

/** Recipes for codes that had none: each edits one field (offsets from btrfs_tree.h) and names the findings it must cause. */
export function fieldRecipes(): DamageRecipe[] {
  const chunks = openSample(SAMPLE).volume.chunks;
  const inChunk = (logical: bigint) => chunks.map(logical) !== undefined;
  const u64add = (off: number, d: (ss: number) => bigint) => (v: DataView, ss: number) => v.setBigUint64(off, v.getBigUint64(off, true) + d(ss), true);
  return [
    // btrfs_header: bytenr at 0x30; owner (u64 at 0x58) 5 -> 7, the csum tree: no subvolume owns the leaf any more.
    headerEdited('fs leaf header bytenr changed, checksum recomputed', 'bytenr-mismatch', (b) => {
      b[0x30]! ^= 0x10;
    }),
    headerEdited('fs leaf owner changed to a non-subvolume tree, checksum recomputed', 'owner-mismatch', (b) => {
      b[0x58]! ^= 0x02;
    }),
    // btrfs_inode_item.nlink (u32 at 40) set to 0 on a file: unlinked, yet no orphan item.
    itemEdited(
      'file nlink 0 without an orphan item, checksum recomputed',
      5n,
      1,
      (v) => v.setUint32(40, 0, true),
      (logical, slot) => [{ code: 'orphan-missing', logical, slot }],
      (b, s) => b.keyObjectid(s) > 256n,
    ),
    // btrfs_block_group_item.used (u64 at 0) raised by a sector: also the superblock's bytes_used no longer adds up.
    itemEdited(
      'block group used raised, checksum recomputed',
      2n,
      192,
      u64add(0, (ss) => BigInt(ss)),
      (_l, _s) => [{ code: 'block-group-used' }, { code: 'super-bytes-used' }],
    ),
    // btrfs_dev_item.bytes_used (u64 at 16) raised by a sector in the chunk tree.
    itemEdited(
      'dev item bytes_used raised, checksum recomputed',
      3n,
      216,
      u64add(16, (ss) => BigInt(ss)),
      () => [{ code: 'dev-bytes-used' }],
    ),
    // btrfs_file_extent_item.type (u8 at 20) of a regular extent (53 bytes) set to 3: none of inline, regular, prealloc.
    itemEdited(
      'file extent type 3, checksum recomputed',
      5n,
      108,
      (v) => v.setUint8(20, 3),
      (logical, slot) => [{ code: 'file-extent', logical, slot }],
      (b, s) => b.itemSize(s) === 53,
    ),
    // btrfs_dir_item.type (u8 at 29) of a DIR_INDEX entry set to 0 (BTRFS_FT_UNKNOWN): no file type.
    itemEdited(
      'DIR_INDEX entry of file type 0, checksum recomputed',
      5n,
      96,
      (v) => v.setUint8(29, 0),
      (logical, slot) => [{ code: 'dir-item', logical, slot }],
    ),
    // btrfs_dev_extent.chunk_offset (u64 at 16) moved by a sector: the stripe's device extent names another chunk.
    itemEdited(
      'dev extent chunk_offset moved, checksum recomputed',
      4n,
      204,
      u64add(16, (ss) => BigInt(ss)),
      () => [{ code: 'dev-extent-mismatch' }],
    ),
    // A ROOT_REF's name (after dirid, sequence, name_len: 18 bytes) changed: it and its ROOT_BACKREF no longer pair.
    itemEdited(
      'ROOT_REF name changed, checksum recomputed',
      1n,
      156,
      (v) => v.setUint8(18, v.getUint8(18) ^ 0x20),
      () => [{ code: 'root-ref' }, { code: 'root-ref' }],
    ),
    // btrfs_file_extent_item.offset (u64 at 37) of a regular extent moved past its disk extent's end.
    itemEdited(
      'file extent offset past its disk extent, checksum recomputed',
      5n,
      108,
      (v) => v.setBigUint64(37, v.getBigUint64(29, true), true),
      (logical, slot) => [{ code: 'file-extent-range', logical, slot }],
      (b, s) => b.itemSize(s) === 53 && new DataView(b.data.buffer, b.data.byteOffset + b.itemOffset(s)).getBigUint64(21, true) !== 0n,
    ),
    // A file's INODE_REF name (after index u64 and name_len u16: byte 10) changed: its directory entry has no ref, the ref no entry.
    itemEdited(
      'INODE_REF name changed, checksum recomputed',
      5n,
      12,
      (v) => v.setUint8(10, v.getUint8(10) ^ 0x20),
      () => [{ code: 'inode-ref-missing' }, { code: 'dir-entry-missing' }],
      (b, s) => b.keyObjectid(s) > 256n && b.itemSize(s) > 10,
    ),
    freeSpaceIntoExtent(),
    // btrfs_dev_extent.length (u64 at 24) one sector longer where the next device extent follows directly: the two overlap,
    // the extent no longer matches its chunk stripe, and the device's bytes_used no longer adds up.
    itemEdited(
      'device extent one sector longer, checksum recomputed',
      4n,
      204,
      u64add(24, (ss) => BigInt(ss)),
      () => [{ code: 'dev-extent-overlap' }, { code: 'dev-extent-mismatch' }, { code: 'dev-bytes-used' }],
      (b, s) =>
        s + 1 < b.nritems &&
        b.keyType(s + 1) === 204 &&
        b.keyObjectid(s + 1) === b.keyObjectid(s) &&
        b.keyOffsetField(s) + new DataView(b.data.buffer, b.data.byteOffset + b.itemOffset(s)).getBigUint64(24, true) === b.keyOffsetField(s + 1),
    ),
    emptiedNode(),
    // An INODE_REF's name_len (u16 at 8) one more than its bytes: the name runs past the item, and that name is then
    // not counted (its directory entry has no ref). The first such inode is a directory, whose nlink is not compared.
    itemEdited(
      'INODE_REF name running past its item, checksum recomputed',
      5n,
      12,
      (v) => v.setUint16(8, v.getUint16(8, true) + 1, true),
      (logical, slot) => [{ code: 'inode-ref', logical, slot }, { code: 'inode-ref-missing' }],
      (b, s) => b.keyObjectid(s) > 256n,
    ),
    fileExtentMovedBack(),
    itemResized('inode item one byte longer, checksum recomputed', 5n, 1, 1, 'item-size'),
    itemResized('csum item one byte longer, checksum recomputed', 7n, 128, 1, 'csum-item'),
    uuidRootItemCut(),
    freeSpaceInfoMoved(),
    extentLengthened(),
    // btrfs_free_space_info.extent_count (u32 at 0) one more than the free extents of its block group (one of a chunk:
    // mkfs 6.2 leaves infos of its removed temporary chunks, which are notes).
    itemEdited(
      'free space info extent_count one more, checksum recomputed',
      10n,
      198,
      (v) => v.setUint32(0, v.getUint32(0, true) + 1, true),
      (_l, slot) => [{ code: 'free-space-count', slot }],
      (b, s) => inChunk(b.keyObjectid(s)),
    ),
    // btrfs_free_space_info.flags (u32 at 4) given USING_BITMAPS (1) where the block group's items are extents.
    itemEdited(
      'free space info flagged bitmaps over extent items, checksum recomputed',
      10n,
      198,
      (v) => v.setUint32(4, 1, true),
      () => [{ code: 'free-space-count' }],
      (b, s) => inChunk(b.keyObjectid(s)) && s + 1 < b.nritems && b.keyType(s + 1) === 199,
    ),
    freeSpaceShortened(),
  ];
}

/** The first item of `type` in `tree` made `grow` bytes longer (zeros appended), the leaf rearranged and its checksum recomputed. */
function itemResized(name: string, tree: bigint, type: number, grow: number, code: string): DamageRecipe {
  const clean = openSample(SAMPLE);
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(tree)!, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 0; s < b.nritems && !at; s++) if (b.keyType(s) === type && (tree !== 5n || b.keyObjectid(s) > 256n)) at = { leaf: b, slot: s };
    },
  });
  if (!at) throw new Error(`no item of type ${type} in tree ${tree}`);
  const { leaf, slot } = at;
  const data = new Uint8Array(leaf.itemSize(slot) + grow);
  data.set(leaf.itemData(slot));
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(leaf.logical, (b) => resizeItem(b, slot, data), { fixCsum: true });
  return { name, sources: k.overlays, data: false, expected: [{ code, logical: leaf.logical, slot }] };
}

/**
 * The fs tree root node's key for its second child raised by one in the key
 * offset (still below the third), checksum recomputed: the child's first key
 * no longer is the parent's (the kernel refuses such a child).
 */
export function parentKeyChanged(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.treeRoot(5n)!;
  const node = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (node.level !== 1 || node.nritems < 3) throw new Error('recipe expects a two-level fs tree of 3+ leaves');
  const child = node.blockPtr(1);
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  // btrfs_key_ptr: a 17-byte key (offset u64 at 9), blockptr, generation; 33 bytes each after the header.
  k.editBlock(
    root.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + 33 + 9;
      v.setBigUint64(at, v.getBigUint64(at, true) + 1n, true);
    },
    { fixCsum: true },
  );
  return { name: 'parent key of an fs leaf changed, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'first-key-mismatch', logical: child }] };
}

/** One superblock copy (btrfs_super_block at `at`) rewritten by `edit`, checksum recomputed. */
function superCopyEdited(src: ByteSource, csumType: number, at: bigint, edit: (v: DataView) => void): OverlaySource {
  const b = src.read(at, 4096).slice();
  edit(new DataView(b.buffer, b.byteOffset, 4096));
  return new OverlaySource(src).patch(at, fixBlockCsum(b, csumType));
}

/** Superblock copies and device sets that do not fit together: each names its finding. */
export function deviceRecipes(): DamageRecipe[] {
  const clean = openSample(SAMPLE);
  const csumType = clean.superblock.csumType;
  const src = sampleSources(SAMPLE)[0]!;
  if (sampleSources(SAMPLE).length !== 1 || src.size < 0x4000000n + 4096n) throw new Error('recipe expects one device with a copy at 64 MiB');
  const mirror = 0x4000000n;
  const zeroed = new OverlaySource(src);
  for (const at of [0x10000n, mirror]) zeroed.patch(at, new Uint8Array(4096));
  return [
    // btrfs_super_block.generation (u64 at 0x48) of the 64 MiB copy lowered: an older copy.
    {
      name: 'second superblock copy of an older generation',
      sources: [superCopyEdited(src, csumType, mirror, (v) => v.setBigUint64(0x48, v.getBigUint64(0x48, true) - 1n, true))],
      data: false,
      expected: [{ code: 'super-older', physical: mirror, copy: 1 }],
    },
    // bytes_used (u64 at 0x78) of the 64 MiB copy changed, generation kept: copies of one generation disagree.
    {
      name: 'second superblock copy disagreeing at the same generation',
      sources: [superCopyEdited(src, csumType, mirror, (v) => v.setBigUint64(0x78, v.getBigUint64(0x78, true) + 4096n, true))],
      data: false,
      expected: [{ code: 'super-mirror-mismatch', physical: mirror, copy: 1 }],
    },
    { name: 'the same device given twice', sources: [src, src], data: false, expected: [{ code: 'device-duplicate' }] },
    // Its primary copy, zeroed, is also said to have no magic.
    { name: 'a second device with no superblock', sources: [src, zeroed], data: false, expected: [{ code: 'device-not-btrfs' }, { code: 'super-bad-magic', physical: 0x10000n }] },
    { name: 'a device of another filesystem given too', sources: [src, sampleSources('mixed')[0]!], data: false, expected: [{ code: 'device-other-fs' }] },
  ];
}

/**
 * A free space extent (key: start, FREE_SPACE_EXTENT, length) made one sector
 * longer where the next key is another free extent further on: the bytes
 * between two free extents of a block group are allocated, so the longer one
 * now covers an allocated extent. Checksum recomputed.
 */
function freeSpaceIntoExtent(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const ss = BigInt(clean.superblock.sectorsize);
  const root = clean.treeRoot(10n)!;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf free space tree');
  let slot = 0;
  while (!(leaf.keyType(slot) === 199 && leaf.keyType(slot + 1) === 199 && leaf.keyObjectid(slot + 1) > leaf.keyObjectid(slot) + leaf.keyOffsetField(slot) + ss)) slot++;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    root.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(at, v.getBigUint64(at, true) + ss, true);
    },
    { fixCsum: true },
  );
  return { name: 'free space extent reaching into an allocated extent, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'free-space-overlap' }] };
}

/**
 * A free space extent's key length (start, FREE_SPACE_EXTENT, length) one
 * sector shorter, checksum recomputed: that sector is then neither free nor
 * allocated (the extent count is unchanged), found at its block group's
 * FREE_SPACE_INFO.
 */
function freeSpaceShortened(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const ss = BigInt(clean.superblock.sectorsize);
  const root = clean.treeRoot(10n)!;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf free space tree');
  let info = -1,
    slot = 0;
  for (; slot < leaf.nritems; slot++) {
    if (leaf.keyType(slot) === 198) info = slot;
    // In a block group of a chunk (mkfs 6.2 leaves free space of its removed temporary chunks: notes).
    if (leaf.keyType(slot) === 199 && leaf.keyOffsetField(slot) > ss && clean.volume.chunks.map(leaf.keyObjectid(slot))) break;
  }
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    root.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(at, v.getBigUint64(at, true) - ss, true);
    },
    { fixCsum: true },
  );
  return {
    name: 'free space extent one sector shorter, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [{ code: 'free-space-total', logical: leaf.keyObjectid(info), slot: info }],
  };
}

/** The fs tree's root node given nritems 0 (btrfs_header.nritems, u32 at 0x60) on both copies, checksum recomputed. */
function emptiedNode(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.treeRoot(5n)!;
  if (root.level === 0) throw new Error('recipe expects a node at the top of the fs tree');
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(root.bytenr, (b) => new DataView(b.buffer, b.byteOffset).setUint32(0x60, 0, true), { fixCsum: true });
  return { name: 'fs tree root node with no pointers, checksum recomputed', sources: k.overlays, data: false, expected: [0, 1].map((copy) => ({ code: 'empty-node', logical: root.bytenr, copy })) };
}

/**
 * The second file extent of a file (key: ino, EXTENT_DATA, file offset) moved
 * one sector back into the first, which is longer than a sector; checksum
 * recomputed. Key order holds; the two extents now overlap.
 */
function fileExtentMovedBack(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const ss = BigInt(clean.superblock.sectorsize);
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(5n)!, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 1; s < b.nritems && !at; s++) {
        if (b.keyType(s) !== 108 || b.keyType(s - 1) !== 108 || b.keyObjectid(s) !== b.keyObjectid(s - 1) || b.itemSize(s - 1) !== 53) continue;
        // btrfs_file_extent_item.num_bytes (u64 at 45) of the first extent.
        const len = new DataView(b.data.buffer, b.data.byteOffset + b.itemOffset(s - 1)).getBigUint64(45, true);
        if (len > ss && b.keyOffsetField(s - 1) + len === b.keyOffsetField(s)) at = { leaf: b, slot: s };
      }
    },
  });
  if (!at) throw new Error('no file with two adjacent regular extents');
  const { leaf, slot } = at;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    leaf.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const p = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(p, v.getBigUint64(p, true) - ss, true);
    },
    { fixCsum: true },
  );
  return { name: 'file extent moved back into the previous one, checksum recomputed', sources: k.overlays, data: false, expected: [{ code: 'file-extent-overlap', logical: leaf.logical, slot }] };
}

/**
 * The uuid tree's ROOT_ITEM (in the root tree) cut to 200 bytes, shorter than
 * the 239 that reach its bytenr and level; checksum recomputed. The tree can
 * no longer be found, so its one leaf's extent item has no referrer left.
 */
function uuidRootItemCut(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const root = clean.rootTree;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf root tree');
  let slot = 0;
  while (!(leaf.keyType(slot) === 132 && leaf.keyObjectid(slot) === 9n)) slot++;
  const uuidRoot = clean.treeRoot(9n)!;
  if (uuidRoot.level !== 0) throw new Error('recipe expects a one-leaf uuid tree');
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(root.bytenr, (b) => resizeItem(b, slot, leaf.itemData(slot).slice(0, 200)), { fixCsum: true });
  return {
    name: 'uuid tree root item cut short, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [
      { code: 'root-item-size', slot },
      { code: 'item-size', logical: root.bytenr, slot },
      { code: 'extent-unreferenced', logical: uuidRoot.bytenr },
    ],
  };
}

/**
 * A FREE_SPACE_INFO key (block group start, FREE_SPACE_INFO, length) moved one
 * sector up, where the block group's first free extent starts further on (key
 * order holds); checksum recomputed. The block group has no info any more,
 * and the info names no block group.
 */
function freeSpaceInfoMoved(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const ss = BigInt(clean.superblock.sectorsize);
  const root = clean.treeRoot(10n)!;
  const leaf = new TreeBlock(clean.volume.readCopy(root.bytenr, clean.superblock.nodesize, 0).bytes!, root.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf free space tree');
  let slot = 0;
  while (!(leaf.keyType(slot) === 198 && slot + 1 < leaf.nritems && leaf.keyObjectid(slot + 1) > leaf.keyObjectid(slot) + ss)) slot++;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    root.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + slot * ITEM_SIZE;
      v.setBigUint64(at, v.getBigUint64(at, true) + ss, true);
    },
    { fixCsum: true },
  );
  return {
    name: 'free space info moved off its block group, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [
      { code: 'free-space-orphan', logical: leaf.keyObjectid(slot) + ss, slot },
      { code: 'free-space-missing', logical: leaf.keyObjectid(slot) },
    ],
  };
}

/**
 * A data extent item's key length (bytenr, EXTENT_ITEM, length) one sector
 * longer where the next extent follows directly; checksum recomputed. It
 * overlaps the next; its block group's extents add up to a sector more than
 * its used bytes; the file extent naming it gives the old length.
 */
function extentLengthened(): DamageRecipe {
  const clean = openSample(SAMPLE);
  const ss = BigInt(clean.superblock.sectorsize);
  const root = clean.treeRoot(2n)!;
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(root, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 0; s + 1 < b.nritems && !at; s++) {
        if (b.keyType(s) !== 168 || b.keyType(s + 1) !== 168 || b.keyObjectid(s) + b.keyOffsetField(s) !== b.keyObjectid(s + 1)) continue;
        // btrfs_extent_item.flags (u64 at 16): DATA (1).
        if (new DataView(b.data.buffer, b.data.byteOffset + b.itemOffset(s)).getBigUint64(16, true) === 1n) at = { leaf: b, slot: s };
      }
    },
  });
  if (!at) throw new Error('no data extent followed directly by another');
  const { leaf, slot } = at;
  const k = new DamageKit(clean, sampleSources(SAMPLE));
  k.editBlock(
    leaf.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const p = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(p, v.getBigUint64(p, true) + ss, true);
    },
    { fixCsum: true },
  );
  const next = leaf.keyObjectid(slot + 1);
  return {
    name: 'data extent one sector longer, into the next, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [{ code: 'extent-overlap', logical: next }, { code: 'block-group-used' }, { code: 'file-extent-range' }],
  };
}

/**
 * The last checksum item of the `log-tree` sample's log (key EXTENT_CSUM,
 * EXTENT_CSUM, bytenr) moved 1 GiB up, checksum recomputed (key order
 * holds: it stays last): the file extents of the log whose data it covered
 * (btrfs_file_extent_item.disk_bytenr, u64 at 21, equal to its bytenr) have
 * no checksums in the log any more.
 */
export function logCsumMoved(): DamageRecipe {
  const name = 'log-tree';
  const clean = openSample(name);
  const lt = clean.logTrees()[0]!;
  const leaf = new TreeBlock(clean.volume.readCopy(lt.bytenr, clean.superblock.nodesize, 0).bytes!, lt.bytenr);
  if (leaf.level !== 0) throw new Error('recipe expects a one-leaf log tree');
  let slot = leaf.nritems - 1;
  while (leaf.keyType(slot) !== 128) slot--;
  const bytenr = leaf.keyOffsetField(slot);
  const users: number[] = [];
  for (let s = 0; s < leaf.nritems; s++) {
    if (leaf.keyType(s) !== 108 || leaf.itemSize(s) !== 53) continue;
    if (new DataView(leaf.data.buffer, leaf.data.byteOffset + leaf.itemOffset(s)).getBigUint64(21, true) === bytenr) users.push(s);
  }
  if (users.length === 0) throw new Error('no logged extent uses the last csum item');
  const k = new DamageKit(clean, sampleSources(name));
  k.editBlock(
    lt.bytenr,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset);
      const at = HEADER_SIZE + slot * ITEM_SIZE + 9;
      v.setBigUint64(at, v.getBigUint64(at, true) + (1n << 30n), true);
    },
    { fixCsum: true },
  );
  return {
    name: 'log tree checksum item moved away, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: users.map((s) => ({ code: 'log-csum-missing', logical: bytenr, slot: s })),
  };
}

/**
 * A csum item of the `nodesize64k` sample whose next item starts right where
 * it ends, made one checksum longer (a zero checksum appended), the leaf
 * rearranged and its checksum recomputed: its range now reaches one sector
 * into the next item's, and no sector loses its checksum.
 */
export function csumItemIntoNext(): DamageRecipe {
  const name = 'nodesize64k';
  const clean = openSample(name);
  const ss = BigInt(clean.superblock.sectorsize),
    cs = clean.superblock.csumSize;
  let at: { leaf: TreeBlock; slot: number } | undefined;
  clean.walk(clean.treeRoot(7n)!, {
    block(b: TreeBlock) {
      if (at || !b.isLeaf) return;
      for (let s = 0; s + 1 < b.nritems && !at; s++) {
        if (b.keyOffsetField(s) + BigInt(b.itemSize(s) / cs) * ss === b.keyOffsetField(s + 1)) at = { leaf: b, slot: s };
      }
    },
  });
  if (!at) throw new Error('no csum item followed directly by another in one leaf');
  const { leaf, slot } = at;
  const data = new Uint8Array(leaf.itemSize(slot) + cs);
  data.set(leaf.itemData(slot));
  const k = new DamageKit(clean, sampleSources(name));
  k.editBlock(leaf.logical, (b) => resizeItem(b, slot, data), { fixCsum: true });
  return {
    name: 'csum item one checksum longer, into the next item, checksum recomputed',
    sources: k.overlays,
    data: false,
    expected: [{ code: 'csum-overlap', logical: leaf.keyOffsetField(slot + 1), slot: slot + 1 }],
  };
}

/**
 * The `default` sample's qgroup 0/5 (key 0, QGROUP_INFO, 5) given one tree
 * block more referenced bytes (btrfs_qgroup_info_item.rfer, u64 at 8),
 * checksum recomputed: the kernel's numbers, which the clean sample
 * matches, are off by a node.
 */
export function qgroupReferencedRaised(): DamageRecipe {
  const clean = openSample(SAMPLE);
  return itemEdited(
    'qgroup 0/5 referenced raised by a node, checksum recomputed',
    8n,
    242,
    (v) => v.setBigUint64(8, v.getBigUint64(8, true) + BigInt(clean.superblock.nodesize), true),
    (_l, slot) => [{ code: 'qgroup-count', slot }],
    (b, s) => b.keyOffsetField(s) === 5n,
  );
}
