import { ItemType, ObjectId } from '../../format/constants.js';
import { decodeDirItem } from '../../format/items/dir.js';
import { fileExtentGeneration, fileExtentItem } from '../../format/items/fileExtent.js';
import { decodeInodeItem, decodeInodeRef, type InodeItem } from '../../format/items/inode.js';
import { compareKeys, type Key } from '../../format/key.js';
import { isFsTreeId } from '../../fs/fileKinds.js';
import type { Filesystem, ItemOverlay } from '../../tree/Filesystem.js';
import type { ItemRef, TreeRoot } from '../../tree/walk.js';
import type { ScanResult } from './scan.js';

/** A valid leaf of a subvolume's tree that no root searched reaches. */
export interface OrphanLeaf {
  owner: bigint;
  logical: bigint;
  generation: bigint;
}

/**
 * Leaves the metadata scan found for each subvolume tree that none of
 * `roots` (by tree) reaches. A parent names each child by address and
 * generation (btrfs_key_ptr blockptr, generation): a leaf is reached when
 * some node of a searched root points at that address with that
 * generation. Only nodes are read (a hundredth of the blocks); a node
 * shared by many roots is read once.
 */
export function unreachedLeaves(fs: Filesystem, scan: ScanResult, roots: Map<bigint, TreeRoot[]>): OrphanLeaf[] {
  const out: OrphanLeaf[] = [];
  for (const [owner, leaves] of scan.leaves) {
    if (!isFsTreeId(owner)) continue;
    const reached = new Set<string>();
    const visited = new Set<string>();
    for (const root of roots.get(owner) ?? []) {
      if (root.level === 0) {
        reached.add(`${root.bytenr}:${root.generation}`);
        continue;
      }
      const stack = [{ logical: root.bytenr, level: root.level, generation: root.generation }];
      while (stack.length) {
        const e = stack.pop()!;
        const k = `${e.logical}:${e.generation}`;
        if (visited.has(k)) continue;
        visited.add(k);
        const r = fs.reader.read({ logical: e.logical, level: e.level, ...(e.generation !== undefined ? { generation: e.generation } : {}) });
        if (!r.block || r.block.isLeaf) continue;
        const b = r.block;
        for (let i = 0; i < r.validItems; i++) {
          if (b.level === 1) reached.add(`${b.blockPtr(i)}:${b.ptrGeneration(i)}`);
          else stack.push({ logical: b.blockPtr(i), level: b.level - 1, generation: b.ptrGeneration(i) });
        }
      }
    }
    for (const l of leaves) if (!reached.has(`${l.logical}:${l.generation}`)) out.push({ owner, logical: l.logical, generation: l.generation });
  }
  return out;
}

/** The items of one inode found in one orphan leaf. */
export interface OrphanGroup {
  subvol: bigint;
  ino: bigint;
  /** The generation of the leaf the items were read from (the transaction that wrote it). */
  generation: bigint;
  /** Item references in key order. */
  items: ItemRef[];
  /** The address of the leaf. */
  leaf: bigint;
  /** The leaf ends with this inode's items: the inode may go on in the next leaf. */
  continues: boolean;
}

/** Item types an inode is rebuilt from: the inode item, its names, its data, and (for directories) the names of its entries. */
const MINED = new Set<number>([ItemType.INODE_ITEM, ItemType.INODE_REF, ItemType.INODE_EXTREF, ItemType.XATTR_ITEM, ItemType.DIR_INDEX, ItemType.EXTENT_DATA]);

/**
 * Groups the items of orphan leaves by (tree, inode, leaf). One leaf is one
 * moment: a transaction can write a leaf several times (a tree is written
 * more than once per commit), so two leaves of one generation may hold an
 * inode in two states, and only items of the same leaf surely belong
 * together. Newest generation first, then tree, inode, most items.
 */
export function groupOrphanItems(fs: Filesystem, leaves: OrphanLeaf[]): OrphanGroup[] {
  const out: OrphanGroup[] = [];
  for (const l of leaves) {
    const r = fs.reader.read({ logical: l.logical, level: 0, generation: l.generation });
    if (!r.block?.isLeaf) continue;
    const b = r.block;
    let g: OrphanGroup | undefined;
    for (let s = 0; s < r.validItems; s++) {
      if (!MINED.has(b.keyType(s))) continue;
      const ino = b.keyObjectid(s);
      if (ino < ObjectId.FIRST_FREE || ino > ObjectId.LAST_FREE) continue;
      if (!g || g.ino !== ino) out.push((g = { subvol: l.owner, ino, generation: l.generation, items: [], leaf: l.logical, continues: false }));
      g.items.push({ block: b, slot: s });
      g.continues = s === r.validItems - 1;
    }
  }
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => cmp(b.generation, a.generation) || cmp(a.subvol, b.subvol) || cmp(a.ino, b.ino) || b.items.length - a.items.length);
}

/** The inode item of a group (decoded), or null when its leaf did not keep one. */
export function groupInode(g: OrphanGroup): InodeItem | null {
  const it = g.items.find((x) => x.block.keyType(x.slot) === ItemType.INODE_ITEM);
  if (!it) return null;
  const d = decodeInodeItem(it.block.itemData(it.slot));
  return d.kind === 'invalid' ? null : d;
}

/**
 * The group's file extents were all written no later than its inode item
 * (btrfs_file_extent_item.generation <= btrfs_inode_item.transid). A leaf
 * written inside a transaction can hold an inode halfway through a change:
 * new extents, the inode item not yet updated. Such a group is no version.
 */
export function groupConsistent(g: OrphanGroup, transid: bigint): boolean {
  for (const it of g.items) {
    if (it.block.keyType(it.slot) !== ItemType.EXTENT_DATA) continue;
    const d = it.block.itemData(it.slot);
    if (d.length >= fileExtentItem.off.generation + fileExtentItem.sizeOf.generation && fileExtentGeneration(d, 0) > transid) return false;
  }
  return true;
}

/** The names a group's INODE_REF items give: (parent directory, name). */
export function groupRefs(g: OrphanGroup): { parent: bigint; name: Uint8Array }[] {
  const out: { parent: bigint; name: Uint8Array }[] = [];
  for (const it of g.items) {
    if (it.block.keyType(it.slot) !== ItemType.INODE_REF) continue;
    const d = decodeInodeRef(it.block.key(it.slot), it.block.itemData(it.slot));
    if (d.kind === 'invalid') continue;
    for (const r of d.refs) out.push({ parent: d.parent, name: r.name.slice() });
  }
  return out;
}

/** The entries a directory group's DIR_INDEX items name: child inode and name. */
export function groupEntries(g: OrphanGroup): { child: bigint; name: Uint8Array }[] {
  const out: { child: bigint; name: Uint8Array }[] = [];
  for (const it of g.items) {
    if (it.block.keyType(it.slot) !== ItemType.DIR_INDEX) continue;
    const k = it.block.key(it.slot);
    const d = decodeDirItem(k, it.block.itemData(it.slot));
    if (d.kind === 'invalid') continue;
    for (const e of d.entries) if (e.location.type === ItemType.INODE_ITEM) out.push({ child: e.location.objectid, name: e.name.slice() });
  }
  return out;
}

/**
 * Serves one subvolume's items from a fixed list in key order (the items
 * of orphan leaves), in place of its tree: an inode rebuilt from them reads as the
 * leaves had it. A range starting inside the file extents of an inode
 * starts at the extent item at or before it, as a search of a tree would
 * (the extent covering an offset is keyed by its start).
 */
export class OrphanItems implements ItemOverlay {
  constructor(
    readonly subvol: bigint,
    private readonly list: ItemRef[],
  ) {}

  covers(tree: bigint): boolean {
    return tree === this.subvol;
  }

  /** A subvolume deleted since has no root item: its orphan leaf stands for its root (a key search reads that leaf, items come from the list). */
  rootOf(tree: bigint): TreeRoot | undefined {
    const first = this.list[0];
    return first ? { tree, bytenr: first.block.logical, level: 0, generation: first.block.generation } : undefined;
  }

  *items(_base: unknown, _root: TreeRoot, min: Key, max: Key): Generator<ItemRef> {
    let i = this.list.findIndex((x) => compareKeys(x.block.key(x.slot), min) >= 0);
    if (i < 0) i = this.list.length;
    if (min.type === ItemType.EXTENT_DATA && i > 0) {
      const prev = this.list[i - 1]!.block.key(this.list[i - 1]!.slot);
      if (prev.objectid === min.objectid && prev.type === ItemType.EXTENT_DATA) i--;
    }
    for (; i < this.list.length; i++) {
      const x = this.list[i]!;
      if (compareKeys(x.block.key(x.slot), max) > 0) return;
      yield x;
    }
  }
}
