import type { Timespec } from '../format/items/common.js';
import type { InodeItem } from '../format/items/inode.js';
import type { RootItemDecoded } from '../format/items/root.js';
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

/** One name of an inode: its parent directory and the name in it. */
export interface InodeName {
  /** The directory holding the name (in `parentSubvol` when that is set, else in the inode's own subvolume). */
  parent: bigint;
  name: Uint8Array;
  index: bigint;
  source: 'INODE_REF' | 'INODE_EXTREF' | 'ROOT_BACKREF';
  /** For a subvolume's root directory: the subvolume whose directory `parent` links it (ROOT_BACKREF). */
  parentSubvol?: bigint;
}

export interface Xattr {
  name: Uint8Array;
  value: Uint8Array;
}

/** A subvolume or snapshot (a ROOT_ITEM of an fs tree) with where it is linked. */
export interface SubvolumeInfo {
  id: bigint;
  /** Path from the top of the filesystem (subvolume 5), as components; null when unlinked. */
  path: Uint8Array[] | null;
  /** The subvolume holding the link (ROOT_BACKREF), and the directory and name there. */
  parentId: bigint | null;
  dirId: bigint | null;
  name: Uint8Array | null;
  /** The DIR_INDEX index of that link (the ROOT_BACKREF's sequence). */
  dirIndex: bigint | null;
  item: RootItemDecoded;
  generation: bigint;
  /** Generation at creation (otransid, "cgen"). */
  otransid: bigint;
  ctransid: bigint;
  uuid: string | null;
  parentUuid: string | null;
  receivedUuid: string | null;
  readOnly: boolean;
  isDefault: boolean;
  /** ROOT_ITEM refs 0, SUBVOL_DEAD, or an orphan item: deleted, not yet cleaned up. */
  deleted: boolean;
  /** An (ORPHAN, ORPHAN_ITEM, id) item names it. */
  orphan: boolean;
  /** The subvolume whose uuid is our parent uuid (we are its snapshot), when present. */
  snapshotOf: bigint | null;
  rootDirId: bigint;
  place: ItemPlace;
}

export type ResolveResult =
  | { ok: true; ref: InodeRef; inode: Inode; path: Uint8Array[]; entry: DirEntry | null }
  /** `unreadable`: the inode a name leads to cannot be read (damage, not a wrong path). */
  | { ok: false; error: string; path: Uint8Array[]; unreadable?: InodeRef };
