/**
 * How dump-tree names things: object ids, key types, keys, flags, enum
 * values (per btrfs-progs release where they differ).
 */
import { COMPRESSION_NAMES, INODE_FLAG_MASK, INODE_FLAG_NAMES, INODE_ROOT_ITEM_INIT, ItemType, ObjectId } from '../../format/constants.js';
import { progsTypeNames } from '../../format/items/index.js';
import { decodeKey, diskKey, type Key, keyTypeAt } from '../../format/key.js';
import type { ProgsStyle } from './context.js';

export const U64_MAX = 0xffffffffffffffffn;

// ---------------------------------------------------------------------------
// Object ids, key types, keys

export const OBJECTID_NAMES = new Map<bigint, string>([
  [ObjectId.ROOT_TREE, 'ROOT_TREE'],
  [ObjectId.EXTENT_TREE, 'EXTENT_TREE'],
  [ObjectId.CHUNK_TREE, 'CHUNK_TREE'],
  [ObjectId.DEV_TREE, 'DEV_TREE'],
  [ObjectId.FS_TREE, 'FS_TREE'],
  [ObjectId.ROOT_TREE_DIR, 'ROOT_TREE_DIR'],
  [ObjectId.CSUM_TREE, 'CSUM_TREE'],
  [ObjectId.BALANCE, 'BALANCE'],
  [ObjectId.ORPHAN, 'ORPHAN'],
  [ObjectId.TREE_LOG, 'TREE_LOG'],
  [ObjectId.TREE_LOG_FIXUP, 'LOG_FIXUP'],
  [ObjectId.TREE_RELOC, 'TREE_RELOC'],
  [ObjectId.DATA_RELOC_TREE, 'DATA_RELOC_TREE'],
  [ObjectId.EXTENT_CSUM, 'EXTENT_CSUM'],
  [ObjectId.FREE_SPACE, 'FREE_SPACE'],
  [ObjectId.FREE_INO, 'FREE_INO'],
  [ObjectId.QUOTA_TREE, 'QUOTA_TREE'],
  [ObjectId.UUID_TREE, 'UUID_TREE'],
  [ObjectId.FREE_SPACE_TREE, 'FREE_SPACE_TREE'],
  [ObjectId.MULTIPLE, 'MULTIPLE'],
  [ObjectId.BLOCK_GROUP_TREE, 'BLOCK_GROUP_TREE'],
]);
/** Names only btrfs-progs 6.19 knows. */
export const OBJECTID_NAMES_619 = new Map<bigint, string>([
  [BigInt.asUintN(64, -13n), 'CSUM_CHANGE'],
  [ObjectId.RAID_STRIPE_TREE, 'RAID_STRIPE_TREE'],
  [13n, 'REMAP_TREE'],
]);

/** print_objectid(): how dump-tree names an object id, which depends on the key type. */
export function objectidToString(objectid: bigint, type: number, progs: ProgsStyle = '6.2'): string {
  switch (type) {
    case ItemType.PERSISTENT_ITEM:
      return objectid === ObjectId.DEV_STATS ? 'DEV_STATS' : objectid.toString();
    case ItemType.DEV_EXTENT:
      return objectid.toString();
    case ItemType.QGROUP_RELATION:
      return `${objectid >> 48n}/${objectid & 0xffffffffffffn}`;
    case ItemType.UUID_KEY_SUBVOL:
    case ItemType.UUID_KEY_RECEIVED_SUBVOL:
      return '0x' + objectid.toString(16).padStart(16, '0');
  }
  if (objectid === 1n) return type === ItemType.DEV_ITEM ? 'DEV_ITEMS' : 'ROOT_TREE';
  const name = OBJECTID_NAMES.get(objectid) ?? (progs === '6.19' ? OBJECTID_NAMES_619.get(objectid) : undefined);
  if (name !== undefined) return name;
  if (objectid === U64_MAX) return '-1';
  if (objectid === ObjectId.FIRST_CHUNK_TREE && type === ItemType.CHUNK_ITEM) return 'FIRST_CHUNK_TREE';
  return objectid.toString();
}

/** Key type names by release, from the item registry. */
export const TYPE_NAMES_62 = progsTypeNames('6.2');
export const TYPE_NAMES_619 = progsTypeNames('6.19');

/** print_key_type(): a key type's name, UNTYPED for the v1 space cache header, else UNKNOWN.N. */
export function keyTypeToString(objectid: bigint, type: number, progs: ProgsStyle = '6.2'): string {
  if (type === 0 && objectid === ObjectId.FREE_SPACE) return 'UNTYPED';
  return (progs === '6.19' ? TYPE_NAMES_619 : TYPE_NAMES_62).get(type) ?? `UNKNOWN.${type}`;
}

/** A key as dump-tree prints it inside "key (...)": "(256 INODE_ITEM 0)", "(FS_TREE ROOT_ITEM 0)", "(0 QGROUP_INFO 0/5)". */
export function formatKey(key: Key, progs: ProgsStyle = '6.2'): string {
  const { objectid, type, offset } = key;
  let off: string;
  switch (type) {
    case ItemType.QGROUP_RELATION:
    case ItemType.QGROUP_INFO:
    case ItemType.QGROUP_LIMIT:
      off = `${offset >> 48n}/${offset & 0xffffffffffffn}`;
      break;
    case ItemType.UUID_KEY_SUBVOL:
    case ItemType.UUID_KEY_RECEIVED_SUBVOL:
      off = '0x' + offset.toString(16).padStart(16, '0');
      break;
    case ItemType.ROOT_ITEM:
      off = objectid === ObjectId.TREE_RELOC ? objectidToString(offset, type, progs) : offset.toString();
      break;
    default:
      off = offset === U64_MAX ? '-1' : offset.toString();
  }
  return `(${objectidToString(objectid, type, progs)} ${keyTypeToString(objectid, type, progs)} ${off})`;
}

/** Key types whose objectid and offset print as plain decimals (when the objectid is not a named one). */
export const PLAIN_KEY_TYPES = (progs: ProgsStyle) => {
  const names: (string | undefined)[] = new Array(256);
  const skip = new Set<number>([0, ItemType.QGROUP_RELATION, ItemType.QGROUP_INFO, ItemType.QGROUP_LIMIT, ItemType.UUID_KEY_SUBVOL, ItemType.UUID_KEY_RECEIVED_SUBVOL, ItemType.CHUNK_ITEM]);
  for (const [t, n] of progs === '6.19' ? TYPE_NAMES_619 : TYPE_NAMES_62) if (!skip.has(t)) names[t] = n;
  return names;
};
export const PLAIN_62 = PLAIN_KEY_TYPES('6.2');
export const PLAIN_619 = PLAIN_KEY_TYPES('6.19');

/**
 * formatKey of the key at d[off] without decoding it: object ids from 256 up
 * to 2^53 have no name (named ids are below 256 or near 2^64), so the common
 * keys print as two decimals and a type name; every other key goes through
 * formatKey.
 */
export function keyText(d: Uint8Array, off: number, progs: ProgsStyle): string {
  const name = (progs === '6.19' ? PLAIN_619 : PLAIN_62)[keyTypeAt(d, off)];
  if (name !== undefined) {
    // u64n is Infinity from 2^53 on: those keys take formatKey's exact path.
    const oid = KEY_NUM.objectid(d, off);
    const koff = KEY_NUM.offset(d, off);
    if (oid >= 256 && oid !== Infinity && koff !== Infinity) return `(${oid} ${name} ${koff})`;
  }
  return formatKey(decodeKey(d, off), progs);
}
export const KEY_NUM = diskKey.num;

// ---------------------------------------------------------------------------
// Flags

/** Block group / chunk type as dump-tree prints it ("DATA|single", "METADATA|DUP", "SYSTEM|RAID1"). */
export function blockGroupFlagsToString(flags: bigint, progs: ProgsStyle = '6.2'): string {
  let s = '';
  let empty = true;
  if (flags & 1n) {
    s = 'DATA';
    empty = false;
  }
  // btrfs-progs never clears `empty` after METADATA or SYSTEM: "METADATASYSTEM" without DATA.
  if (flags & 4n) {
    if (!empty) s += '|';
    s += 'METADATA';
  }
  if (flags & 2n) {
    if (!empty) s += '|';
    s += 'SYSTEM';
  }
  if (progs === '6.19' && flags & (1n << 12n)) {
    if (!empty) s += '|';
    s += 'METADATA_REMAP';
  }
  // btrfs_bg_flags_to_raid_index order; SINGLE's upper_name is "single", which is printed.
  let profile: string;
  if (flags & (1n << 6n)) profile = 'RAID10';
  else if (flags & (1n << 4n)) profile = 'RAID1';
  else if (flags & (1n << 9n)) profile = 'RAID1C3';
  else if (flags & (1n << 10n)) profile = 'RAID1C4';
  else if (flags & (1n << 5n)) profile = 'DUP';
  else if (flags & (1n << 3n)) profile = 'RAID0';
  else if (flags & (1n << 7n)) profile = 'RAID5';
  else if (flags & (1n << 8n)) profile = 'RAID6';
  else profile = 'single';
  return s + '|' + profile;
}

/** Extent item flags: "DATA", "TREE_BLOCK", "TREE_BLOCK|FULL_BACKREF" (and progs' "|FULL_BACKREF" quirk). */
export function extentFlagsToString(flags: bigint): string {
  let s = '';
  if (flags & 1n) s = 'DATA';
  if (flags & 2n) {
    if (s) s += '|';
    s += 'TREE_BLOCK';
  }
  if (flags & (1n << 8n)) s += '|FULL_BACKREF';
  return s;
}

/** Inode flags: "NODATASUM|NODATACOW", or "none". */
export function inodeFlagsToString(flags: bigint, progs: ProgsStyle = '6.2'): string {
  let s = '';
  for (const [bit, name] of INODE_FLAG_NAMES) if (flags & bit) s += (s ? '|' : '') + name;
  if (progs === '6.19') {
    if (flags & INODE_ROOT_ITEM_INIT) s += (s ? '|' : '') + 'ROOT_ITEM_INIT';
    const unknown = flags & ~INODE_FLAG_MASK;
    if (unknown) s += (s ? '|' : '') + `UNKNOWN: 0x${unknown.toString(16)}`;
  }
  return s || 'none';
}

export function qgroupStatusFlagsToString(flags: bigint, progs: ProgsStyle): string {
  let s = flags & 1n ? 'ON' : 'OFF';
  if (flags & 2n) s += '|SCANNING';
  if (flags & 4n) s += '|INCONSISTENT';
  if (progs === '6.19') {
    if (flags & 8n) s += '|SIMPLE_MODE';
    if (flags & ~15n) s += `|UNKNOWN(0x${(flags & ~15n).toString(16)})`;
  }
  return s;
}

export function headerFlagsToString(flags: bigint): string {
  let s = '';
  if (flags & 1n) s = 'WRITTEN';
  if (flags & 2n) s += (s ? '|' : '') + 'RELOC';
  return s;
}

export function signed64(v: bigint): string {
  return BigInt.asIntN(64, v).toString();
}

export function fileExtentTypeName(t: number): string {
  return t === 0 ? 'inline' : t === 2 ? 'prealloc' : t === 1 ? 'regular' : 'unknown';
}

export function compressionName(c: number): string {
  return COMPRESSION_NAMES[c] ?? `UNKNOWN.${c}`;
}

export const DIR_TYPE_NAMES = ['', 'FILE', 'DIR', 'CHRDEV', 'BLKDEV', 'FIFO', 'SOCK', 'SYMLINK', 'XATTR'];

export function dirTypeName(type: number, progs: ProgsStyle): string {
  const t = progs === '6.19' ? type & ~0x80 : type;
  return DIR_TYPE_NAMES[t] || `DIR_ITEM.${t}`;
}

export const DEV_REPLACE_STATES = ['NEVER_STARTED', 'STARTED', 'FINISHED', 'CANCELED', 'SUSPENDED'];
