/**
 * Numeric constants of the on-disk format, named as the kernel's uapi
 * `btrfs_tree.h` names them (without the BTRFS_ prefix and _KEY suffix).
 * Object ids are bigint because several of them are "negative" u64 values
 * (e.g. TREE_RELOC = -8ULL) that need the full 64-bit range.
 */

/** Superblock magic "_BHRfS_M" read as a little-endian u64. */
export const SUPER_MAGIC = 0x4d5f53665248425fn;
/** Primary superblock and its mirrors live at 64 KiB, 64 MiB and 256 GiB. */
export const SUPER_MIRROR_OFFSETS: readonly bigint[] = [0x10000n, 0x4000000n, 0x4000000000n];
export const SUPER_INFO_SIZE = 4096;
export const SYSTEM_CHUNK_ARRAY_SIZE = 2048;
export const CSUM_SIZE = 32;
export const FSID_SIZE = 16;
export const UUID_SIZE = 16;
export const LABEL_SIZE = 256;
export const NUM_BACKUP_ROOTS = 4;
export const MAX_LEVEL = 8;
/** Largest name in DIR_ITEM/INODE_REF (BTRFS_NAME_LEN). */
export const NAME_LEN = 255;

const u64 = (n: bigint) => BigInt.asUintN(64, n);

/** Tree and special object ids. */
export const ObjectId = {
  DEV_STATS: 0n,
  ROOT_TREE: 1n,
  EXTENT_TREE: 2n,
  CHUNK_TREE: 3n,
  DEV_TREE: 4n,
  FS_TREE: 5n,
  ROOT_TREE_DIR: 6n,
  CSUM_TREE: 7n,
  QUOTA_TREE: 8n,
  UUID_TREE: 9n,
  FREE_SPACE_TREE: 10n,
  BLOCK_GROUP_TREE: 11n,
  RAID_STRIPE_TREE: 12n,
  /** btrfs-progs 6.19 (uapi/btrfs_tree.h BTRFS_REMAP_TREE_OBJECTID): the remap tree. */
  REMAP_TREE: 13n,
  BALANCE: u64(-4n),
  ORPHAN: u64(-5n),
  TREE_LOG: u64(-6n),
  TREE_LOG_FIXUP: u64(-7n),
  TREE_RELOC: u64(-8n),
  DATA_RELOC_TREE: u64(-9n),
  EXTENT_CSUM: u64(-10n),
  FREE_SPACE: u64(-11n),
  FREE_INO: u64(-12n),
  /** Checksum items of the new type while btrfstune --csum converts (BTRFS_CSUM_CHANGE_OBJECTID). */
  CSUM_CHANGE: u64(-13n),
  MULTIPLE: u64(-255n),
  FIRST_FREE: 256n,
  LAST_FREE: u64(-256n),
  FIRST_CHUNK_TREE: 256n,
  DEV_ITEMS: 1n,
  BTREE_INODE: 1n,
  EMPTY_SUBVOL_DIR: 2n,
} as const;

/** Item key types (btrfs_tree.h). */
export const ItemType = {
  INODE_ITEM: 1,
  INODE_REF: 12,
  INODE_EXTREF: 13,
  XATTR_ITEM: 24,
  VERITY_DESC_ITEM: 36,
  VERITY_MERKLE_ITEM: 37,
  ORPHAN_ITEM: 48,
  DIR_LOG_ITEM: 60,
  DIR_LOG_INDEX: 72,
  DIR_ITEM: 84,
  DIR_INDEX: 96,
  EXTENT_DATA: 108,
  EXTENT_CSUM: 128,
  ROOT_ITEM: 132,
  ROOT_BACKREF: 144,
  ROOT_REF: 156,
  EXTENT_ITEM: 168,
  METADATA_ITEM: 169,
  EXTENT_OWNER_REF: 172,
  TREE_BLOCK_REF: 176,
  EXTENT_DATA_REF: 178,
  EXTENT_REF_V0: 180,
  SHARED_BLOCK_REF: 182,
  SHARED_DATA_REF: 184,
  BLOCK_GROUP_ITEM: 192,
  FREE_SPACE_INFO: 198,
  FREE_SPACE_EXTENT: 199,
  FREE_SPACE_BITMAP: 200,
  DEV_EXTENT: 204,
  DEV_ITEM: 216,
  CHUNK_ITEM: 228,
  RAID_STRIPE: 230,
  QGROUP_STATUS: 240,
  QGROUP_INFO: 242,
  QGROUP_LIMIT: 244,
  QGROUP_RELATION: 246,
  /** Also BALANCE_ITEM (objectid BALANCE). */
  TEMPORARY_ITEM: 248,
  /** Also DEV_STATS (objectid DEV_STATS). */
  PERSISTENT_ITEM: 249,
  DEV_REPLACE: 250,
  UUID_KEY_SUBVOL: 251,
  UUID_KEY_RECEIVED_SUBVOL: 252,
  STRING_ITEM: 253,
} as const;

const typeNames = new Map<number, string>(Object.entries(ItemType).map(([k, v]) => [v, k]));
/** Name of an item type as dump-tree prints it; unknown types print as UNKNOWN.N. */
export function itemTypeName(type: number): string {
  return typeNames.get(type) ?? `UNKNOWN.${type}`;
}

/** Block group / chunk type flags. */
export const BlockGroupFlag = {
  DATA: 1n << 0n,
  SYSTEM: 1n << 1n,
  METADATA: 1n << 2n,
  RAID0: 1n << 3n,
  RAID1: 1n << 4n,
  DUP: 1n << 5n,
  RAID10: 1n << 6n,
  RAID5: 1n << 7n,
  RAID6: 1n << 8n,
  RAID1C3: 1n << 9n,
  RAID1C4: 1n << 10n,
  /** btrfs-progs 6.19 (uapi/btrfs_tree.h, remap tree): a block group whose ranges were relocated through the remap tree; it may have no stripes left. */
  REMAPPED: 1n << 11n,
  /** btrfs-progs 6.19 (remap tree): the block group type that holds the remap tree's own blocks. */
  METADATA_REMAP: 1n << 12n,
} as const;
/** The chunk type bits (btrfs_tree.h BTRFS_BLOCK_GROUP_TYPE_MASK; METADATA_REMAP since 6.19). */
export const BLOCK_GROUP_TYPE_MASK = BlockGroupFlag.DATA | BlockGroupFlag.SYSTEM | BlockGroupFlag.METADATA | BlockGroupFlag.METADATA_REMAP;
export const BLOCK_GROUP_PROFILE_MASK =
  BlockGroupFlag.RAID0 | BlockGroupFlag.RAID1 | BlockGroupFlag.DUP | BlockGroupFlag.RAID10 | BlockGroupFlag.RAID5 | BlockGroupFlag.RAID6 | BlockGroupFlag.RAID1C3 | BlockGroupFlag.RAID1C4;

export type Profile = 'SINGLE' | 'DUP' | 'RAID0' | 'RAID1' | 'RAID1C3' | 'RAID1C4' | 'RAID10' | 'RAID5' | 'RAID6';

/** The single profile named by a chunk's type flags (several set bits are a corruption; first wins). */
export function profileOf(type: bigint): Profile {
  if (type & BlockGroupFlag.RAID0) return 'RAID0';
  if (type & BlockGroupFlag.RAID1) return 'RAID1';
  if (type & BlockGroupFlag.DUP) return 'DUP';
  if (type & BlockGroupFlag.RAID10) return 'RAID10';
  if (type & BlockGroupFlag.RAID5) return 'RAID5';
  if (type & BlockGroupFlag.RAID6) return 'RAID6';
  if (type & BlockGroupFlag.RAID1C3) return 'RAID1C3';
  if (type & BlockGroupFlag.RAID1C4) return 'RAID1C4';
  return 'SINGLE';
}

/** Incompatible feature flags (superblock incompat_flags). */
export const IncompatFlag = {
  MIXED_BACKREF: 1n << 0n,
  DEFAULT_SUBVOL: 1n << 1n,
  MIXED_GROUPS: 1n << 2n,
  COMPRESS_LZO: 1n << 3n,
  COMPRESS_ZSTD: 1n << 4n,
  BIG_METADATA: 1n << 5n,
  EXTENDED_IREF: 1n << 6n,
  RAID56: 1n << 7n,
  SKINNY_METADATA: 1n << 8n,
  NO_HOLES: 1n << 9n,
  METADATA_UUID: 1n << 10n,
  RAID1C34: 1n << 11n,
  ZONED: 1n << 12n,
  EXTENT_TREE_V2: 1n << 13n,
  RAID_STRIPE_TREE: 1n << 14n,
  SIMPLE_QUOTA: 1n << 16n,
  /** btrfs-progs 6.19 (kernel-shared/uapi/btrfs.h): relocation by a remap tree instead of moving extents. */
  REMAP_TREE: 1n << 17n,
} as const;

/** Read-only-compatible feature flags (superblock compat_ro_flags). */
export const CompatRoFlag = {
  FREE_SPACE_TREE: 1n << 0n,
  FREE_SPACE_TREE_VALID: 1n << 1n,
  VERITY: 1n << 2n,
  BLOCK_GROUP_TREE: 1n << 3n,
} as const;

/** Superblock and tree block header flags. */
export const HeaderFlag = {
  WRITTEN: 1n << 0n,
  RELOC: 1n << 1n,
  /** The top byte of a header's flags holds the backref revision. */
  BACKREF_REV_SHIFT: 56n,
} as const;
export const SuperFlag = {
  ERROR: 1n << 2n,
  SEEDING: 1n << 32n,
  METADUMP: 1n << 33n,
  METADUMP_V2: 1n << 34n,
  CHANGING_FSID: 1n << 35n,
  CHANGING_FSID_V2: 1n << 36n,
  CHANGING_BG_TREE: 1n << 38n,
  CHANGING_DATA_CSUM: 1n << 39n,
  CHANGING_META_CSUM: 1n << 40n,
} as const;

/** Checksum algorithms (superblock csum_type). */
export const CsumType = { CRC32: 0, XXHASH: 1, SHA256: 2, BLAKE2: 3 } as const;
export type CsumTypeId = (typeof CsumType)[keyof typeof CsumType];

/** File extent types (btrfs_file_extent_item.type). */
export const FileExtentType = { INLINE: 0, REG: 1, PREALLOC: 2 } as const;
/** Compression types (btrfs_file_extent_item.compression). */
export const Compression = { NONE: 0, ZLIB: 1, LZO: 2, ZSTD: 3 } as const;
/** btrfs_file_extent_item.compression values by name ("none", "zlib", "lzo", "zstd"): the one name table. */
export const COMPRESSION_NAMES: Readonly<Record<number, 'none' | 'zlib' | 'lzo' | 'zstd'>> = Object.fromEntries(
  Object.entries(Compression).map(([name, value]) => [value, name.toLowerCase()]),
) as Record<number, 'none' | 'zlib' | 'lzo' | 'zstd'>;

/** Extent item flags. */
export const ExtentFlag = { DATA: 1n << 0n, TREE_BLOCK: 1n << 1n, FULL_BACKREF: 1n << 8n } as const;

/** Directory entry file types (btrfs_dir_item.type). */
export const FileType = {
  UNKNOWN: 0,
  REG_FILE: 1,
  DIR: 2,
  CHRDEV: 3,
  BLKDEV: 4,
  FIFO: 5,
  SOCK: 6,
  SYMLINK: 7,
  XATTR: 8,
} as const;

/** Inode flags (btrfs_inode_item.flags). */
export const InodeFlag = {
  NODATASUM: 1n << 0n,
  NODATACOW: 1n << 1n,
  READONLY: 1n << 2n,
  NOCOMPRESS: 1n << 3n,
  PREALLOC: 1n << 4n,
  SYNC: 1n << 5n,
  IMMUTABLE: 1n << 6n,
  APPEND: 1n << 7n,
  NODUMP: 1n << 8n,
  NOATIME: 1n << 9n,
  DIRSYNC: 1n << 10n,
  COMPRESS: 1n << 11n,
  /** Upper 32 bits hold the read-only-compat inode flags; VERITY is bit 0 there. */
  RO_VERITY: 1n << 32n,
} as const;

/**
 * BTRFS_INODE_ROOT_ITEM_INIT (bit 31): set in a root item's embedded inode
 * once the root item was initialised; not an inode flag of files.
 */
export const INODE_ROOT_ITEM_INIT = 1n << 31n;
/** Inode flags (BTRFS_INODE_*, low 32 bits) by name, in bit order: the one name table. */
export const INODE_FLAG_NAMES: readonly (readonly [bigint, string])[] = Object.entries(InodeFlag)
  .filter(([, bit]) => bit < 1n << 32n)
  .map(([name, bit]) => [bit, name] as const);
/** Every inode flag the kernel knows in the low 32 bits (btrfs_inode.h BTRFS_INODE_FLAG_MASK). */
export const INODE_FLAG_MASK = INODE_FLAG_NAMES.reduce((m, [bit]) => m | bit, INODE_ROOT_ITEM_INIT);

/** Root item flags. */
export const RootFlag = { SUBVOL_RDONLY: 1n << 0n, SUBVOL_DEAD: 1n << 48n } as const;

/** Free space info flags. */
export const FreeSpaceFlag = { USING_BITMAPS: 1 } as const;

/** Qgroup status flags. */
export const QgroupStatusFlag = { ON: 1n << 0n, RESCAN: 1n << 1n, INCONSISTENT: 1n << 2n, SIMPLE_MODE: 1n << 3n } as const;
