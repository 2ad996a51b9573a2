import { MAX_EXACT as SAFE } from '../../format/bytes.js';
import { ItemType } from '../../format/constants.js';
import { INODE_ITEM_SIZE, inodeGeneration as inodeGenerationAt } from '../../format/items/inode.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { TreeRoot } from '../../tree/walk.js';

/** Remembered "no inode item of full size": generations are never negative. */
const NONE = -1;

/**
 * Which inodes a tree has, and at which generation (btrfs_inode_item's
 * u64 generation @0, the transaction that created the inode), answered
 * from the tree once per inode number and then from memory. The recovery
 * asks about the same inodes once per older root (thousands of roots
 * cover the same key ranges), and the tree does not change meanwhile.
 * Numbers and generations are kept as doubles (exact below 2^53; larger
 * ones are looked up every time), and at most `limit` of them: past that
 * the memory starts over, so a subvolume of any size stays bounded.
 */
export class LiveInodes {
  private readonly known = new Map<number, number>();

  constructor(
    private readonly fs: Filesystem,
    private readonly root: TreeRoot,
    private readonly limit = 1 << 19,
  ) {}

  /** The tree has `ino` as an inode item of full size (160 bytes) whose generation is `generation`. */
  has(ino: bigint, generation: bigint): boolean {
    if (ino > SAFE || generation > SAFE) return this.read(ino) === generation;
    const k = Number(ino);
    let g = this.known.get(k);
    if (g === undefined) {
      const now = this.read(ino);
      if (now !== null && now > SAFE) return false;
      if (this.known.size >= this.limit) this.known.clear();
      this.known.set(k, (g = now === null ? NONE : Number(now)));
    }
    return g === Number(generation);
  }

  /** What a lookup of (ino, INODE_ITEM, 0) finds: an item shorter than btrfs_inode_item is no inode (FsView.inode says null too). */
  private read(ino: bigint): bigint | null {
    const it = this.fs.find(this.root, { objectid: ino, type: ItemType.INODE_ITEM, offset: 0n });
    if (!it) return null;
    return inodeGeneration(it.block.itemData(it.slot)) ?? null;
  }
}

/** An INODE_ITEM's generation (btrfs_inode_item: u64 @0 of 160 bytes); undefined for an item too short to be one. */
export function inodeGeneration(item: Uint8Array): bigint | undefined {
  return item.length < INODE_ITEM_SIZE ? undefined : inodeGenerationAt(item, 0);
}
