import type { Timespec } from '../format/items/common.js';
import type { InodeItem } from '../format/items/inode.js';
import type { Key } from '../format/key.js';

/** An inode of a subvolume: the pair that names a file in btrfs. */
export interface InodeRef {
  subvol: bigint;
  ino: bigint;
}

export type FileKind = 'file' | 'dir' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock' | 'unknown';

/** Where an item was read (for findings and stat). */
export interface ItemPlace {
  tree: bigint;
  block: bigint;
  slot: number;
}

/** An inode item, decoded, with where it lives. */
export interface Inode extends InodeItem {
  subvol: bigint;
  ino: bigint;
  kind: FileKind;
  /**
   * True for the empty directory the kernel shows where a snapshot holds the
   * link of a subvolume nested in its source (inode 2, no item on disk).
   */
  placeholder?: boolean;
  place?: ItemPlace;
}

/** How a directory entry leads to its target. */
export type Crossing =
  /** An inode of the same subvolume. */
  | 'none'
  /** The root directory of another subvolume (a subvolume linked here). */
  | 'subvolume'
  /** A subvolume link without a matching ROOT_REF (e.g. copied into a snapshot): an empty directory. */
  | 'placeholder';

/** One entry of a directory. */
export interface DirEntry {
  /** The directory holding the entry. */
  dir: InodeRef;
  /** The name's exact bytes. */
  name: Uint8Array;
  /** DIR_INDEX sequence number (or the name hash when read from DIR_ITEM). */
  index: bigint;
  /** btrfs_dir_item.type (BTRFS_FT_*). */
  ftype: number;
  /** The stored location key: (ino, INODE_ITEM, 0) or (subvol, ROOT_ITEM, -1). */
  location: Key;
  /** What the entry leads to once subvolume links are followed. */
  target: InodeRef;
  crossing: Crossing;
  place: ItemPlace;
}

export type { Timespec };
