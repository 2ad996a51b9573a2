/**
 * Text of one tree block exactly as `btrfs inspect-internal dump-tree`
 * prints it (btrfs-progs v6.2 by default; `progs: '6.19'` switches to the
 * differences of newer releases). Written from the observed output format;
 * see the report notes at the end of this file for known differences.
 */
import { toHex, u64, u64n } from '../format/bytes.js';
import { COMPRESSION_NAMES, FileExtentType, INODE_FLAG_MASK, INODE_FLAG_NAMES, INODE_ROOT_ITEM_INIT, ItemType, ObjectId } from '../format/constants.js';
import { blockGroupItem, freeSpaceHeader, freeSpaceInfo } from '../format/items/blockGroup.js';
import { chunkItemSize, chunkNumStripes, chunkItem } from '../format/items/chunk.js';
import { devExtent, devItem } from '../format/items/dev.js';
import { decodeTimespec, nameText, timespecNsec, timespecStruct, type Timespec } from '../format/items/common.js';
import { DIR_ITEM_HEADER_SIZE, dirItem, dirItemType, forEachDirEntry } from '../format/items/dir.js';
import { extentDataRef, extentItem, sharedDataRef, treeBlockInfo } from '../format/items/extent.js';
import { FILE_EXTENT_INLINE_DATA_START, fileExtentCompression, fileExtentItem, fileExtentType } from '../format/items/fileExtent.js';
import { decodeItem, extentDataRefHash, type DecodedItem, type InlineRef, type ItemContext } from '../format/items/index.js';
import { forEachInodeRef, INODE_ITEM_SIZE, INODE_REF_HEADER_SIZE, inodeFlags, inodeGid, inodeItem, inodeMode, inodeNlink, inodeRef, inodeUid } from '../format/items/inode.js';
import { balanceItem, DEV_STAT_VALUES_MAX, devReplaceItem, dirLogItem, remapItem, type BalanceArgs } from '../format/items/misc.js';
import { qgroupInfoItem, qgroupLimitItem, qgroupStatusItem } from '../format/items/qgroup.js';
import { ROOT_ITEM_SIZE, rootRef } from '../format/items/root.js';
import { decodeKey, diskKey, keyTypeAt, type Key } from '../format/key.js';
import { HEADER_SIZE, ITEM_SIZE, KEY_PTR_SIZE, keyPtr, leafItem, leafItemOffset, leafItemSize, type TreeBlock } from '../format/treeBlock.js';

export type ProgsStyle = '6.2' | '6.19';

export interface PrintContext extends ItemContext {
  /** Superblock csum_type (names the csum in --csum-headers output; sizes come from csumSize). */
  csumType: number;
  /** Which btrfs-progs release to imitate; '6.2' (Debian's) by default. */
  progs?: ProgsStyle;
  /** As dump-tree --csum-items: print every data checksum of EXTENT_CSUM items. */
  csumItems?: boolean;
  /** As dump-tree --csum-headers: print the block checksum in the header. */
  csumHeaders?: boolean;
  /** As dump-tree --hide-names: names and xattr values print as HIDDEN. */
  hideNames?: boolean;
  /** Superblock incompat flags; 6.19 prints QGROUP_STATUS enable_gen only with SIMPLE_QUOTA (1 << 16). */
  incompatFlags?: bigint;
  /** Zone of the "(YYYY-MM-DD HH:MM:SS)" after timestamps: dump-tree uses local time; default 'utc'. */
  timeZone?: 'utc' | 'local';
}

const U64_MAX = 0xffffffffffffffffn;

// ---------------------------------------------------------------------------
// Object ids, key types, keys

const OBJECTID_NAMES = new Map<bigint, string>([
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
const OBJECTID_NAMES_619 = new Map<bigint, string>([
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

const TYPE_NAMES_62 = new Map<number, string>([
  [1, 'INODE_ITEM'], [12, 'INODE_REF'], [13, 'INODE_EXTREF'], [24, 'XATTR_ITEM'], [36, 'VERITY_DESC_ITEM'],
  [37, 'VERITY_MERKLE_ITEM'], [48, 'ORPHAN_ITEM'], [60, 'DIR_LOG_ITEM'], [72, 'DIR_LOG_INDEX'], [84, 'DIR_ITEM'],
  [96, 'DIR_INDEX'], [108, 'EXTENT_DATA'], [120, 'CSUM_ITEM'], [128, 'EXTENT_CSUM'], [132, 'ROOT_ITEM'],
  [144, 'ROOT_BACKREF'], [156, 'ROOT_REF'], [168, 'EXTENT_ITEM'], [169, 'METADATA_ITEM'], [176, 'TREE_BLOCK_REF'],
  [178, 'EXTENT_DATA_REF'], [180, 'EXTENT_REF_V0'], [182, 'SHARED_BLOCK_REF'], [184, 'SHARED_DATA_REF'],
  [192, 'BLOCK_GROUP_ITEM'], [198, 'FREE_SPACE_INFO'], [199, 'FREE_SPACE_EXTENT'], [200, 'FREE_SPACE_BITMAP'],
  [204, 'DEV_EXTENT'], [216, 'DEV_ITEM'], [228, 'CHUNK_ITEM'], [240, 'QGROUP_STATUS'], [242, 'QGROUP_INFO'],
  [244, 'QGROUP_LIMIT'], [246, 'QGROUP_RELATION'], [248, 'TEMPORARY_ITEM'], [249, 'PERSISTENT_ITEM'],
  [250, 'DEV_REPLACE'], [251, 'UUID_KEY_SUBVOL'], [252, 'UUID_KEY_RECEIVED_SUBVOL'], [253, 'STRING_ITEM'],
]);
const TYPE_NAMES_619 = new Map<number, string>([
  ...TYPE_NAMES_62,
  [172, 'EXTENT_OWNER_REF'], [230, 'RAID_STRIPE'], [234, 'IDENTITY_REMAP'], [235, 'REMAP'], [236, 'REMAP_BACKREF'],
]);

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
const PLAIN_KEY_TYPES = (progs: ProgsStyle) => {
  const names: (string | undefined)[] = new Array(256);
  const skip = new Set<number>([0, ItemType.QGROUP_RELATION, ItemType.QGROUP_INFO, ItemType.QGROUP_LIMIT,
    ItemType.UUID_KEY_SUBVOL, ItemType.UUID_KEY_RECEIVED_SUBVOL, ItemType.CHUNK_ITEM]);
  for (const [t, n] of progs === '6.19' ? TYPE_NAMES_619 : TYPE_NAMES_62) if (!skip.has(t)) names[t] = n;
  return names;
};
const PLAIN_62 = PLAIN_KEY_TYPES('6.2');
const PLAIN_619 = PLAIN_KEY_TYPES('6.19');

/**
 * formatKey of the key at d[off] without decoding it: object ids from 256 up
 * to 2^53 have no name (named ids are below 256 or near 2^64), so the common
 * keys print as two decimals and a type name; every other key goes through
 * formatKey.
 */
function keyText(d: Uint8Array, off: number, progs: ProgsStyle): string {
  const name = (progs === '6.19' ? PLAIN_619 : PLAIN_62)[keyTypeAt(d, off)];
  if (name !== undefined) {
    // u64n is Infinity from 2^53 on: those keys take formatKey's exact path.
    const oid = KEY_NUM.objectid(d, off);
    const koff = KEY_NUM.offset(d, off);
    if (oid >= 256 && oid !== Infinity && koff !== Infinity) return `(${oid} ${name} ${koff})`;
  }
  return formatKey(decodeKey(d, off), progs);
}
const KEY_NUM = diskKey.num;

// ---------------------------------------------------------------------------
// Flags

/** Block group / chunk type as dump-tree prints it ("DATA|single", "METADATA|DUP", "SYSTEM|RAID1"). */
export function blockGroupFlagsToString(flags: bigint, progs: ProgsStyle = '6.2'): string {
  let s = '';
  let empty = true;
  if (flags & 1n) { s = 'DATA'; empty = false; }
  // btrfs-progs never clears `empty` after METADATA or SYSTEM: "METADATASYSTEM" without DATA.
  if (flags & 4n) { if (!empty) s += '|'; s += 'METADATA'; }
  if (flags & 2n) { if (!empty) s += '|'; s += 'SYSTEM'; }
  if (progs === '6.19' && flags & (1n << 12n)) { if (!empty) s += '|'; s += 'METADATA_REMAP'; }
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
  if (flags & 2n) { if (s) s += '|'; s += 'TREE_BLOCK'; }
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

function qgroupStatusFlagsToString(flags: bigint, progs: ProgsStyle): string {
  let s = flags & 1n ? 'ON' : 'OFF';
  if (flags & 2n) s += '|SCANNING';
  if (flags & 4n) s += '|INCONSISTENT';
  if (progs === '6.19') {
    if (flags & 8n) s += '|SIMPLE_MODE';
    if (flags & ~15n) s += `|UNKNOWN(0x${(flags & ~15n).toString(16)})`;
  }
  return s;
}

function headerFlagsToString(flags: bigint): string {
  let s = '';
  if (flags & 1n) s = 'WRITTEN';
  if (flags & 2n) s += (s ? '|' : '') + 'RELOC';
  return s;
}

// ---------------------------------------------------------------------------
// Strings and times

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A name as progs prints it. 6.2: printf("%.*s"), so output stops at the
 * first NUL and other bytes are written raw (decoded here as UTF-8).
 * 6.19: every byte printed, with C-style escapes for \a\b\e\f\n\r\t\v,
 * space and backslash, and \ooo for other unprintable bytes (any >= 0x7f).
 */
function printableName(b: Uint8Array, progs: ProgsStyle): string {
  if (progs === '6.19') {
    let s = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      switch (c) {
        case 7: s += '\\a'; break;
        case 8: s += '\\b'; break;
        case 27: s += '\\e'; break;
        case 12: s += '\\f'; break;
        case 10: s += '\\n'; break;
        case 13: s += '\\r'; break;
        case 9: s += '\\t'; break;
        case 11: s += '\\v'; break;
        case 32: s += '\\ '; break;
        case 92: s += '\\\\'; break;
        default:
          if (c < 32 || c >= 127) s += '\\' + (c >> 6).toString() + ((c >> 3) & 7).toString() + (c & 7).toString();
          else s += String.fromCharCode(c);
      }
    }
    return s;
  }
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return utf8.decode(b.subarray(0, end));
}

/** btrfs-progs prints at most BTRFS_NAME_LEN (255) bytes of a dir/ref name or xattr value. */
function capped(b: Uint8Array): Uint8Array {
  return b.length > 255 ? b.subarray(0, 255) : b;
}

/** A decoded name as progs prints it, reusing the decoder's text when nothing is cut or escaped. */
function shownName(b: Uint8Array, text: string, progs: ProgsStyle): string {
  if (progs === '6.2' && b.length <= 255 && b.indexOf(0) < 0) return text;
  return printableName(capped(b), progs);
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

let lastDay = -1;
let lastDate = '';

/**
 * "YYYY-MM-DD HH:MM:SS" of a signed time_t as strftime("%Y-%m-%d %H:%M:%S")
 * prints it, in UTC (proleptic Gregorian, any range) or local time.
 */
export function formatTime(sec: bigint, timeZone: 'utc' | 'local' = 'utc'): string {
  // Common case (1970..9999 UTC): number arithmetic and the last day's date reused,
  // since a leaf's timestamps cluster. The bigint path below covers every other value.
  if (timeZone === 'utc' && sec >= 0n && sec < 253402300800n) return formatUtcSeconds(Number(sec));
  if (timeZone === 'local' && sec > -8_640_000_000_000n && sec < 8_640_000_000_000n) {
    const d = new Date(Number(sec) * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }
  let days = sec / 86400n;
  let rem = sec % 86400n;
  if (rem < 0n) { rem += 86400n; days -= 1n; }
  const secs = Number(rem);
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), bigint-safe.
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = Number(z - era * 146097n);
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = BigInt(yoe) + era * 400n + (m <= 2 ? 1n : 0n);
  const hms = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`;
  const tmYear = y - 1900n;
  if (tmYear !== BigInt.asIntN(32, tmYear)) {
    // glibc's localtime_r fails with EOVERFLOW after storing the time of day and the
    // int-truncated tm_year; month and day keep what the (zeroed) struct had.
    return `${BigInt.asIntN(32, tmYear) + 1900n}-01-01 ${hms}`;
  }
  return `${y}-${pad2(m)}-${pad2(d)} ${hms}`;
}

/** formatTime's common case, 0 <= n < 253402300800 (1970..9999) in UTC, with number arithmetic. */
function formatUtcSeconds(n: number): string {
  const day = Math.floor(n / 86400);
  const t = n - day * 86400;
  if (day !== lastDay) {
    lastDay = day;
    lastDate = new Date(day * 86400000).toISOString().slice(0, 10);
  }
  return `${lastDate} ${pad2(Math.floor(t / 3600))}:${pad2(Math.floor(t / 60) % 60)}:${pad2(t % 60)}`;
}

/** print_timespec of the btrfs_timespec at d[off] (sec i64, nsec u32). */
function timespecAt(d: Uint8Array, off: number, tz: 'utc' | 'local'): string {
  if (tz === 'utc') {
    // The i64 seconds read as a u64: negative ones come out past 2^53 (Infinity) and take the exact path.
    const sec = u64n(d, off + timespecStruct.off.sec);
    if (sec < 253402300800) return `${sec}.${timespecNsec(d, off)} (${formatUtcSeconds(sec)})`;
  }
  return timespec(decodeTimespec(d, off), tz);
}

/** A u64 field in decimal, exact over the whole range: a number below 2^53, a bigint above. */
function u64Text(d: Uint8Array, off: number): string {
  const n = u64n(d, off);
  if (n !== Infinity) return String(n);
  return u64(d, off).toString();
}

/** print_timespec: "%llu.%u (%s)" — seconds printed unsigned, date from the signed value. */
function timespec(t: Timespec, tz: 'utc' | 'local'): string {
  return `${BigInt.asUintN(64, t.sec)}.${t.nsec} (${formatTime(t.sec, tz)})`;
}

function signed64(v: bigint): string {
  return BigInt.asIntN(64, v).toString();
}

function fileExtentTypeName(t: number): string {
  return t === 0 ? 'inline' : t === 2 ? 'prealloc' : t === 1 ? 'regular' : 'unknown';
}

function compressionName(c: number): string {
  return COMPRESSION_NAMES[c] ?? `UNKNOWN.${c}`;
}

const DIR_TYPE_NAMES = ['', 'FILE', 'DIR', 'CHRDEV', 'BLKDEV', 'FIFO', 'SOCK', 'SYMLINK', 'XATTR'];

function dirTypeName(type: number, progs: ProgsStyle): string {
  const t = progs === '6.19' ? type & ~0x80 : type;
  return DIR_TYPE_NAMES[t] || `DIR_ITEM.${t}`;
}

function balanceArgs(a: BalanceArgs): string {
  return `\t\tprofiles ${a.profiles} devid ${a.devid} target ${a.target} flags ${a.flags}\n` +
    `\t\tusage_min ${a.usageMin} usage_max ${a.usageMax} pstart ${a.pstart} pend ${a.pend}\n` +
    `\t\tvstart ${a.vstart} vend ${a.vend} limit_min ${a.limitMin} limit_max ${a.limitMax}\n` +
    `\t\tstripes_min ${a.stripesMin} stripes_max ${a.stripesMax}\n`;
}

const DEV_REPLACE_STATES = ['NEVER_STARTED', 'STARTED', 'FINISHED', 'CANCELED', 'SUSPENDED'];

// ---------------------------------------------------------------------------
// Items

/**
 * The body lines dump-tree prints under an item's "item N key ..." line,
 * each ending in "\n" ("" when it prints none). `item` is what decodeItem
 * returned for `key`. For a `kind: 'invalid'` item this prints one
 * "\t\t(invalid ...)" line, which dump-tree does not (it reads on past the
 * item); printTreeBlock avoids that where it can by decoding from the leaf.
 */
export function printItem(key: Key, item: DecodedItem, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const tz = ctx.timeZone ?? 'utc';
  const hide = ctx.hideNames === true;
  let s = '';
  switch (item.kind) {
    case 'inode_item':
      return `\t\tgeneration ${item.generation} transid ${item.transid} size ${item.size} nbytes ${item.nbytes}\n` +
        `\t\tblock group ${item.blockGroup} mode ${item.mode.toString(8)} links ${item.nlink} uid ${item.uid} gid ${item.gid} rdev ${item.rdev}\n` +
        `\t\tsequence ${item.sequence} flags 0x${item.flags.toString(16)}(${inodeFlagsToString(item.flags, v)})\n` +
        `\t\tatime ${timespec(item.atime, tz)}\n\t\tctime ${timespec(item.ctime, tz)}\n` +
        `\t\tmtime ${timespec(item.mtime, tz)}\n\t\totime ${timespec(item.otime, tz)}\n`;
    case 'inode_ref':
      for (const r of item.refs) {
        s += `\t\tindex ${r.index} namelen ${r.nameLen} name: ${hide ? 'HIDDEN' : shownName(r.name, r.nameStr, v)}\n`;
      }
      return s;
    case 'inode_extref':
      for (const r of item.refs) {
        s += `\t\tindex ${r.index} parent ${r.parent} namelen ${r.nameLen} name: ${hide ? 'HIDDEN' : shownName(r.name, r.nameStr, v)}\n`;
      }
      return s;
    case 'dir_item':
    case 'dir_index':
    case 'xattr_item': {
      const last = item.entries.length - 1;
      item.entries.forEach((e, i) => {
        s += `\t\tlocation key ${formatKey(e.location, v)} type ${dirTypeName(e.type, v)}\n`;
        // 6.19 stops (with an error on stderr) at an entry whose name and data run past the item.
        if (v === '6.19' && i === last && item.errors && e.name.length + e.data.length < e.nameLen + e.dataLen) return;
        s += `\t\ttransid ${e.transid} data_len ${e.dataLen} name_len ${e.nameLen}\n`;
        s += hide ? '\t\tname: HIDDEN\n' : `\t\tname: ${shownName(e.name, e.nameStr, v)}\n`;
        if (e.dataLen) s += hide ? '\t\tdata HIDDEN\n' : `\t\tdata ${shownName(e.data, e.dataStr, v)}\n`;
      });
      return s;
    }
    case 'dir_log_item':
    case 'dir_log_index':
      return `\t\tdir log end ${item.end}\n`;
    case 'orphan_item':
      return '\t\torphan item\n';
    case 'root_item': {
      s = `\t\tgeneration ${item.generation} root_dirid ${item.rootDirid} bytenr ${item.bytenr} byte_limit ${item.byteLimit} bytes_used ${item.bytesUsed}\n` +
        `\t\tlast_snapshot ${item.lastSnapshot} flags 0x${item.flags.toString(16)}(${item.flags & 1n ? 'RDONLY' : 'none'}) refs ${item.refs}\n` +
        `\t\tdrop_progress key ${formatKey(item.dropProgress, v)} drop_level ${item.dropLevel}\n` +
        `\t\tlevel ${item.level} generation_v2 ${item.generationV2}\n`;
      if (item.generation === item.generationV2) {
        s += `\t\tuuid ${item.uuid}\n\t\tparent_uuid ${item.parentUuid}\n\t\treceived_uuid ${item.receivedUuid}\n` +
          `\t\tctransid ${item.ctransid} otransid ${item.otransid} stransid ${item.stransid} rtransid ${item.rtransid}\n` +
          `\t\tctime ${timespec(item.ctime, tz)}\n\t\totime ${timespec(item.otime, tz)}\n` +
          `\t\tstime ${timespec(item.stime, tz)}\n\t\trtime ${timespec(item.rtime, tz)}\n`;
      }
      return s;
    }
    case 'root_ref':
    case 'root_backref':
      return `\t\troot ${item.kind === 'root_ref' ? 'ref' : 'backref'} key dirid ${item.dirid} sequence ${item.sequence} name ${printableName62(item.name)}\n`;
    case 'extent_item':
    case 'metadata_item': {
      s = `\t\trefs ${item.refs} gen ${item.generation} flags ${extentFlagsToString(item.flags)}\n`;
      if (item.treeBlock) s += `\t\ttree block key ${formatKey(item.treeBlock.key, v)} level ${item.treeBlock.level}\n`;
      else if (item.kind === 'metadata_item') s += `\t\ttree block skinny level ${BigInt.asIntN(32, key.offset)}\n`;
      for (const r of item.inlineRefs) {
        const pre = v === '6.19' ? `(${r.type} 0x${refSeq(r).toString(16)}) ` : '';
        switch (r.kind) {
          case 'tree_block': s += `\t\t${pre}tree block backref root ${objectidToString(r.root, 0, v)}\n`; break;
          case 'shared_block': s += `\t\t${pre}shared block backref parent ${r.parent}\n`; break;
          case 'extent_data':
            s += `\t\t${pre}extent data backref root ${objectidToString(r.root, 0, v)} objectid ${r.objectid} offset ${r.offset} count ${r.count}\n`;
            break;
          case 'shared_data': s += `\t\t${pre}shared data backref parent ${r.parent} count ${r.count}\n`; break;
          case 'extent_owner':
            // btrfs-progs 6.2 does not know this ref and stops printing the item's refs.
            if (v !== '6.19') return s;
            s += `\t${pre}textent owner root ${r.root}\n`;
            break;
        }
      }
      return s;
    }
    case 'extent_item_v0':
      return '';
    case 'tree_block_ref':
      return '\t\ttree block backref\n';
    case 'shared_block_ref':
      return '\t\tshared block backref\n';
    case 'extent_data_ref':
      return `\t\textent data backref root ${objectidToString(item.root, 0, v)} objectid ${item.objectid} offset ${item.offset} count ${item.count}\n`;
    case 'shared_data_ref':
      return `\t\tshared data backref count ${item.count}\n`;
    case 'extent_owner_ref':
      return v === '6.19' ? `\t\textent owner root ${item.root}\n` : '';
    case 'extent_ref_v0':
      return '\t\textent ref v0 (deprecated)\n';
    case 'extent_csum': {
      const size = BigInt.asUintN(32, BigInt(item.count) * BigInt(ctx.sectorsize));
      s = `\t\trange start ${item.start} end ${item.start + size} length ${size}\n`;
      if (ctx.csumItems) s += csumLines(item.start, item.csums, item.count, item.csumSize, ctx.sectorsize);
      return s;
    }
    case 'file_extent': {
      s = `\t\tgeneration ${item.generation} type ${item.type} (${fileExtentTypeName(item.type)})\n`;
      const comp = `${item.compression} (${compressionName(item.compression)})`;
      if (item.body === 'inline') {
        return s + `\t\tinline extent data size ${item.inlineLength} ram_bytes ${item.ramBytes} compression ${comp}\n`;
      }
      if (item.type === 2) {
        return s + `\t\tprealloc data disk byte ${item.diskBytenr} nr ${item.diskNumBytes}\n` +
          `\t\tprealloc data offset ${item.offset} nr ${item.numBytes}\n`;
      }
      return s + `\t\textent data disk byte ${item.diskBytenr} nr ${item.diskNumBytes}\n` +
        `\t\textent data offset ${item.offset} nr ${item.numBytes} ram ${item.ramBytes}\n` +
        `\t\textent compression ${comp}\n`;
    }
    case 'block_group_item':
      return `\t\tblock group used ${item.used} chunk_objectid ${item.chunkObjectid} flags ${blockGroupFlagsToString(item.flags, v)}\n`;
    case 'free_space_info':
      return `\t\tfree space info extent count ${item.extentCount} flags ${item.flags}\n`;
    case 'free_space_extent':
      return '\t\tfree space extent\n';
    case 'free_space_bitmap':
      return '\t\tfree space bitmap\n';
    case 'free_space_header':
      return `\t\tlocation key ${formatKey(item.location, v)}\n` +
        `\t\tcache generation ${item.generation} entries ${item.numEntries} bitmaps ${item.numBitmaps}\n`;
    case 'chunk_item': {
      if (v === '6.2' && item.numStripes < 1) return `invalid num_stripes: ${item.numStripes}\n`;
      s = `\t\tlength ${item.length} owner ${item.owner} stripe_len ${item.stripeLen} type ${blockGroupFlagsToString(item.type, v)}\n` +
        `\t\tio_align ${item.ioAlign} io_width ${item.ioWidth} sector_size ${item.sectorSize}\n` +
        `\t\tnum_stripes ${item.numStripes} sub_stripes ${item.subStripes}\n`;
      item.stripes.forEach((st, i) => {
        s += `\t\t\tstripe ${i} devid ${st.devid} offset ${st.offset}\n\t\t\tdev_uuid ${st.devUuid}\n`;
      });
      return s;
    }
    case 'dev_item':
      return `\t\tdevid ${item.devid} total_bytes ${item.totalBytes} bytes_used ${item.bytesUsed}\n` +
        `\t\tio_align ${item.ioAlign} io_width ${item.ioWidth} sector_size ${item.sectorSize} type ${item.type}\n` +
        `\t\tgeneration ${item.generation} start_offset ${item.startOffset} dev_group ${item.devGroup}\n` +
        `\t\tseek_speed ${item.seekSpeed} bandwidth ${item.bandwidth}\n` +
        `\t\tuuid ${item.uuid}\n\t\tfsid ${item.fsid}\n`;
    case 'dev_extent':
      return `\t\tdev extent chunk_tree ${item.chunkTree}\n` +
        `\t\tchunk_objectid ${item.chunkObjectid} chunk_offset ${item.chunkOffset} length ${item.length}\n` +
        `\t\tchunk_tree_uuid ${item.chunkTreeUuid}\n`;
    case 'qgroup_status': {
      s = `\t\tversion ${item.version} generation ${item.generation} flags ${qgroupStatusFlagsToString(item.flags, v)} scan ${item.rescan}`;
      if (v === '6.19' && ctx.incompatFlags !== undefined && ctx.incompatFlags & (1n << 16n)) s += ` enable_gen ${item.enableGen ?? 0n}`;
      return s + '\n';
    }
    case 'qgroup_info':
      return `\t\tgeneration ${item.generation}\n\t\treferenced ${item.rfer} referenced_compressed ${item.rferCmpr}\n` +
        `\t\texclusive ${item.excl} exclusive_compressed ${item.exclCmpr}\n`;
    case 'qgroup_limit':
      return `\t\tflags ${item.flags.toString(16)}\n\t\tmax_referenced ${signed64(item.maxRfer)} max_exclusive ${signed64(item.maxExcl)}\n` +
        `\t\trsv_referenced ${signed64(item.rsvRfer)} rsv_exclusive ${signed64(item.rsvExcl)}\n`;
    case 'qgroup_relation':
      return '';
    case 'uuid_subvol':
    case 'uuid_received_subvol':
      if (item.raw.length % 8) return `btrfs: uuid item with illegal size ${item.raw.length}!\n`;
      for (const id of item.subvolIds) s += `\t\tsubvol_id ${id}\n`;
      return s;
    case 'string_item':
      return `\t\titem data ${printableName62(item.bytes)}\n`;
    case 'dev_stats': {
      s = `\t\tpersistent item objectid ${objectidToString(key.objectid, ItemType.PERSISTENT_ITEM, v)} offset ${key.offset}\n\t\tdevice stats\n` +
        `\t\twrite_errs ${item.writeErrs} read_errs ${item.readErrs} flush_errs ${item.flushErrs} corruption_errs ${item.corruptionErrs} generation ${item.generationErrs}\n`;
      const size = item.values.length * 8;
      if (size > 40) {
        s += `\t\tunknown stats item bytes ${size - 40}`;
        for (let i = 5; i < item.values.length; i++) s += `\t\tunknown item ${i} offset ${i * 8} value ${item.values[i]}\n`;
      }
      return s;
    }
    case 'persistent_item':
      return `\t\tpersistent item objectid ${objectidToString(key.objectid, ItemType.PERSISTENT_ITEM, v)} offset ${key.offset}\n` +
        `\t\tunknown persistent item objectid ${key.objectid}\n`;
    case 'balance_item':
      return `\t\ttemporary item objectid ${objectidToString(key.objectid, ItemType.TEMPORARY_ITEM, v)} offset ${key.offset}\n` +
        `\t\tbalance status flags ${item.flags}\n` +
        `\t\tDATA\n${balanceArgs(item.data)}\t\tMETADATA\n${balanceArgs(item.meta)}\t\tSYSTEM\n${balanceArgs(item.sys)}`;
    case 'temporary_item': {
      s = `\t\ttemporary item objectid ${objectidToString(key.objectid, ItemType.TEMPORARY_ITEM, v)} offset ${key.offset}\n`;
      if (v === '6.2' && key.objectid === 13n) return s + `\t\tcsum tree tmp root ${key.offset}\n`;
      if (v === '6.19' && key.objectid === BigInt.asUintN(64, -13n)) {
        const names = ['crc32c', 'xxhash64', 'sha256', 'blake2b'];
        return s + (key.offset < 4n ? `\t\ttarget csum type ${names[Number(key.offset)]} (${key.offset})\n` : `\t\tunknown csum type ${key.offset}\n`);
      }
      return s + `\t\tunknown temporary item objectid ${key.objectid}\n`;
    }
    case 'dev_replace': {
      if (v !== '6.19') return '';
      const mode = item.contReadingFromSrcdevMode === 0n ? 'ALWAYS' : item.contReadingFromSrcdevMode === 1n ? 'AVOID' : `unknown(${item.contReadingFromSrcdevMode})`;
      const state = item.replaceState < 5n ? DEV_REPLACE_STATES[Number(item.replaceState)]! : `unknown(${item.replaceState})`;
      // btrfs-progs prints time_started on both time lines.
      return `\t\tsrc devid ${signed64(item.srcDevid)} cursor left ${item.cursorLeft} cursor right ${item.cursorRight} mode ${mode}\n` +
        `\t\tstate ${state} write errors ${item.numWriteErrors} uncorrectable read errors ${item.numUncorrectableReadErrors}\n` +
        `\t\tstart time ${item.timeStarted} (${formatTime(BigInt.asIntN(64, item.timeStarted), tz)})\n` +
        `\t\tstop time ${item.timeStarted} (${formatTime(BigInt.asIntN(64, item.timeStarted), tz)})\n`;
    }
    case 'raid_stripe':
      if (v !== '6.19') return '';
      item.strides.forEach((st, i) => { s += `\t\t\tstripe ${i} devid ${st.devid} physical ${st.physical}\n`; });
      return s;
    case 'verity_desc':
    case 'verity_merkle':
      return '';
    case 'unknown':
      if (item.itemType === 120) return '\t\tcsum item\n';
      if (v === '6.19' && (item.itemType === 235 || item.itemType === 236) && item.raw.length >= remapItem.size) return `\t\taddress ${remapItem.get.address(item.raw, 0)}\n`;
      return '';
    case 'invalid':
      return `\t\t(invalid ${keyTypeToString(key.objectid, key.type, v)} item: ${item.reason})\n`;
  }
}

/** 6.2 "%.*s" of a byte string: stops at NUL (also what 6.19 does for these fields). */
function printableName62(b: Uint8Array): string {
  return printableName(b, '6.2');
}

/** What btrfs-progs 6.19 prints as an inline ref's "sequence": its offset field, or the data ref hash. */
function refSeq(r: InlineRef): bigint {
  switch (r.kind) {
    case 'tree_block':
    case 'extent_owner': return r.root;
    case 'shared_block':
    case 'shared_data': return r.parent;
    case 'extent_data': return extentDataRefHash(r.root, r.objectid, r.offset);
  }
}

/** --csum-items lines: "[offset] 0xCSUM", 4 per line for crc32c, 2 for xxhash, 1 for 32-byte csums. */
function csumLines(start: bigint, csums: Uint8Array, count: number, csumSize: number, sectorsize: number): string {
  const perLine = Math.max(1, Math.floor(32 / csumSize / 2));
  let s = '';
  let cur = perLine;
  let off = start;
  for (let i = 0; i < count; i++) {
    if (cur === perLine) s += '\t\t';
    else if (cur === 0) { cur = perLine; s += '\n\t\t'; }
    else s += ' ';
    s += `[${off}] 0x${toHex(csums, i * csumSize, csumSize)}`;
    off += BigInt(sectorsize);
    cur--;
  }
  return s + '\n';
}

// ---------------------------------------------------------------------------
// Blocks

function headerLines(b: TreeBlock, ctx: PrintContext, v: ProgsStyle, nodesize: number): string {
  const d = b.data;
  const nr = b.nritems;
  const level = b.level;
  const gen = b.generation;
  const owner = objectidToString(b.owner, 0, v);
  let s: string;
  if (level) {
    const ptrs = Math.floor((nodesize - HEADER_SIZE) / KEY_PTR_SIZE);
    s = `node ${b.logical} level ${level} items ${nr} free space ${(ptrs - nr) >>> 0} generation ${gen} owner ${owner}\n`;
  } else {
    s = `leaf ${b.bytenr} items ${nr} free space ${leafFreeSpace(b, nodesize)} generation ${gen} owner ${owner}\n`;
  }
  const rawFlags = b.flags;
  const flags = rawFlags & 0x00ffffffffffffffn;
  let csum = '';
  if (ctx.csumHeaders) csum = ' csum 0x' + toHex(d, 0, Math.min(ctx.csumSize, 32));
  s += `${level ? 'node' : 'leaf'} ${b.bytenr} flags 0x${flags.toString(16)}(${headerFlagsToString(flags)}) backref revision ${Number(rawFlags >> 56n)}${csum}\n`;
  s += `fs uuid ${b.fsid}\nchunk uuid ${b.chunkTreeUuid}\n`;
  return s;
}

/** btrfs_leaf_free_space with progs' C int arithmetic. */
function leafFreeSpace(b: TreeBlock, nodesize: number): number {
  const nr = b.nritems;
  const dataSize = nodesize - HEADER_SIZE;
  if (nr === 0) return dataSize;
  const d = b.data;
  const last = HEADER_SIZE + (nr - 1) * ITEM_SIZE;
  if (last + ITEM_SIZE > d.length) return (dataSize - (nr * ITEM_SIZE | 0)) | 0;
  const end0 = (leafItemOffset(d, HEADER_SIZE) + leafItemSize(d, HEADER_SIZE)) | 0;
  const offLast = leafItemOffset(d, last) | 0;
  return (dataSize - ((end0 - offLast + Math.imul(nr, ITEM_SIZE)) | 0)) | 0;
}

/** Fixed part btrfs-progs reads for an item type regardless of the item's size (for emulating reads past short items). */
function fixedReadSize(key: Key, data: Uint8Array): number {
  switch (key.type) {
    case ItemType.INODE_ITEM: return inodeItem.size;
    case ItemType.DIR_LOG_ITEM:
    case ItemType.DIR_LOG_INDEX: return dirLogItem.size;
    case ItemType.EXTENT_DATA:
      return data.length >= FILE_EXTENT_INLINE_DATA_START && fileExtentType(data, 0) === FileExtentType.INLINE ? FILE_EXTENT_INLINE_DATA_START : fileExtentItem.size;
    case ItemType.ROOT_REF:
    case ItemType.ROOT_BACKREF: return rootRef.size;
    case ItemType.EXTENT_DATA_REF: return extentDataRef.size;
    case ItemType.SHARED_DATA_REF: return sharedDataRef.size;
    case ItemType.BLOCK_GROUP_ITEM: return blockGroupItem.size;
    case ItemType.FREE_SPACE_INFO: return freeSpaceInfo.size;
    case ItemType.DEV_EXTENT: return devExtent.size;
    case ItemType.DEV_ITEM: return devItem.size;
    case ItemType.QGROUP_STATUS: return qgroupStatusItem.off.enableGen;
    case ItemType.QGROUP_INFO: return qgroupInfoItem.size;
    case ItemType.QGROUP_LIMIT: return qgroupLimitItem.size;
    case ItemType.TEMPORARY_ITEM: return key.objectid === ObjectId.BALANCE ? balanceItem.size : 0;
    case ItemType.DEV_REPLACE: return devReplaceItem.size;
    case ItemType.CHUNK_ITEM: return data.length >= CHUNK_NUM_STRIPES_END ? chunkItemSize(chunkNumStripes(data, 0)) : chunkItem.size;
    case 0: return key.objectid === ObjectId.FREE_SPACE ? freeSpaceHeader.size : 0;
    default: return 0;
  }
}
/** A chunk item must reach past num_stripes for its stripes to be counted. */
const CHUNK_NUM_STRIPES_END = chunkItem.off.numStripes + chunkItem.sizeOf.numStripes;

const I = inodeItem.off;
const FE = fileExtentItem.off;
/** btrfs_dev_stats_item: the u64 counters btrfs-progs reads. */
const DEV_STATS_SIZE = DEV_STAT_VALUES_MAX * 8;

/**
 * The body of the commonest items of fs trees, formatted from the bytes
 * without decoding them (a dump of many snapshots prints millions): a full
 * inode item (160 bytes), and a regular, prealloc or inline file extent with
 * all its fixed fields. Undefined for anything else, which printItem prints.
 */
function fastItemText(d: Uint8Array, type: number, o: number, size: number, ctx: PrintContext, v: ProgsStyle): string | undefined {
  const tz = ctx.timeZone ?? 'utc';
  if (type === ItemType.INODE_ITEM && size >= INODE_ITEM_SIZE) {
    const raw = inodeFlags(d, o);
    const flags = raw === 0n ? '0x0(none)' : `0x${raw.toString(16)}(${inodeFlagsToString(raw, v)})`;
    return `\t\tgeneration ${u64Text(d, o + I.generation)} transid ${u64Text(d, o + I.transid)} size ${u64Text(d, o + I.size)} nbytes ${u64Text(d, o + I.nbytes)}\n` +
      `\t\tblock group ${u64Text(d, o + I.blockGroup)} mode ${inodeMode(d, o).toString(8)} links ${inodeNlink(d, o)} uid ${inodeUid(d, o)} gid ${inodeGid(d, o)} rdev ${u64Text(d, o + I.rdev)}\n` +
      `\t\tsequence ${u64Text(d, o + I.sequence)} flags ${flags}\n` +
      `\t\tatime ${timespecAt(d, o + I.atime, tz)}\n\t\tctime ${timespecAt(d, o + I.ctime, tz)}\n` +
      `\t\tmtime ${timespecAt(d, o + I.mtime, tz)}\n\t\totime ${timespecAt(d, o + I.otime, tz)}\n`;
  }
  if (v === '6.2' && !ctx.hideNames) {
    if (type === ItemType.DIR_ITEM || type === ItemType.DIR_INDEX || type === ItemType.XATTR_ITEM) return dirEntriesText(d, o, size);
    if (type === ItemType.INODE_REF) return inodeRefsText(d, o, size);
  }
  if (type === ItemType.EXTENT_DATA && size >= FILE_EXTENT_INLINE_DATA_START) {
    const t = fileExtentType(d, o);
    const c = fileExtentCompression(d, o);
    if (t === FileExtentType.INLINE) {
      return `\t\tgeneration ${u64Text(d, o + FE.generation)} type 0 (inline)\n` +
        `\t\tinline extent data size ${size - FILE_EXTENT_INLINE_DATA_START} ram_bytes ${u64Text(d, o + FE.ramBytes)} compression ${c} (${compressionName(c)})\n`;
    }
    if (size < fileExtentItem.size) return undefined;
    if (t === FileExtentType.PREALLOC) {
      return `\t\tgeneration ${u64Text(d, o + FE.generation)} type 2 (prealloc)\n` +
        `\t\tprealloc data disk byte ${u64Text(d, o + FE.diskBytenr)} nr ${u64Text(d, o + FE.diskNumBytes)}\n` +
        `\t\tprealloc data offset ${u64Text(d, o + FE.offset)} nr ${u64Text(d, o + FE.numBytes)}\n`;
    }
    if (t === FileExtentType.REG) {
      return `\t\tgeneration ${u64Text(d, o + FE.generation)} type 1 (regular)\n` +
        `\t\textent data disk byte ${u64Text(d, o + FE.diskBytenr)} nr ${u64Text(d, o + FE.diskNumBytes)}\n` +
        `\t\textent data offset ${u64Text(d, o + FE.offset)} nr ${u64Text(d, o + FE.numBytes)} ram ${u64Text(d, o + FE.ramBytes)}\n` +
        `\t\textent compression ${c} (${compressionName(c)})\n`;
    }
  }
  return undefined;
}

/** A name or xattr value as 6.2 prints it (printf "%.*s": up to the first NUL, at most 255 bytes). */
function name62(d: Uint8Array, start: number, len: number): string {
  const b = d.subarray(start, start + len);
  return len <= 255 && b.indexOf(0) < 0 ? nameText(d, start, len) : printableName(capped(b), '6.2');
}

/** The entries of a DIR_ITEM, DIR_INDEX or XATTR_ITEM as 6.2 prints them, when they fill the item exactly. */
function dirEntriesText(d: Uint8Array, o: number, size: number): string | undefined {
  dirText = '';
  dirBlock = d;
  const end = forEachDirEntry(d, o, size, dirEntryText);
  dirBlock = EMPTY;
  return end === size && size > 0 ? dirText : undefined;
}
const EMPTY: Uint8Array = new Uint8Array(0);
/** dirEntryText's output and input: one leaf is formatted at a time, so the walk's callback is made once. */
let dirText = '';
let dirBlock = EMPTY;
function dirEntryText(e: number, nameLen: number, dataLen: number): void {
  const d = dirBlock;
  const t = dirItemType(d, e);
  const name = e + DIR_ITEM_HEADER_SIZE;
  dirText += `\t\tlocation key ${keyText(d, e + dirItem.off.location, '6.2')} type ${DIR_TYPE_NAMES[t] || `DIR_ITEM.${t}`}\n` +
    `\t\ttransid ${u64Text(d, e + dirItem.off.transid)} data_len ${dataLen} name_len ${nameLen}\n` +
    `\t\tname: ${name62(d, name, nameLen)}\n`;
  if (dataLen) dirText += `\t\tdata ${name62(d, name + nameLen, dataLen)}\n`;
}

/** The refs of an INODE_REF as 6.2 prints them, when they fill the item exactly. */
function inodeRefsText(d: Uint8Array, o: number, size: number): string | undefined {
  refText = '';
  refBlock = d;
  const end = forEachInodeRef(d, o, size, inodeRefText);
  refBlock = EMPTY;
  return end === size && size > 0 ? refText : undefined;
}
let refText = '';
let refBlock = EMPTY;
function inodeRefText(r: number, nameLen: number): void {
  refText += `\t\tindex ${u64Text(refBlock, r + inodeRef.off.index)} namelen ${nameLen} name: ${name62(refBlock, r + INODE_REF_HEADER_SIZE, nameLen)}\n`;
}

/** Body of leaf slot `i`, reading past a short item into the leaf as btrfs-progs does. */
function printLeafItem(b: TreeBlock, key: Key, off: number, size: number, ctx: PrintContext, v: ProgsStyle): string {
  const data = b.data.subarray(off, off + size);
  let item = decodeItem(key, data, ctx);
  if (key.type === ItemType.ROOT_ITEM && item.kind === 'invalid') {
    // progs copies the item into a zeroed btrfs_root_item.
    const padded = new Uint8Array(ROOT_ITEM_SIZE);
    padded.set(data.subarray(0, ROOT_ITEM_SIZE));
    item = decodeItem(key, padded, ctx);
  } else if (key.type === ItemType.EXTENT_ITEM || key.type === ItemType.METADATA_ITEM) {
    if (size < extentItem.size) return '';
    if (item.kind === 'invalid') {
      // A non-skinny tree block item too short for its tree_block_info: progs reads it from the leaf.
      item = decodeItem(key, window(b.data, off, extentItem.size + treeBlockInfo.size), ctx);
      if (item.kind === 'extent_item') item.inlineRefs = [];
    }
  } else if (key.type === ItemType.CHUNK_ITEM) {
    if (size >= CHUNK_NUM_STRIPES_END) {
      const n = chunkNumStripes(b.data, off);
      const need = chunkItemSize(n);
      if (v === '6.2' && n < 1) return `invalid num_stripes: ${n}\n`;
      if (off + need > b.data.length) return '\t\tchunk item invalid\n';
      if (need > size) item = decodeItem(key, b.data.subarray(off, off + need), ctx);
    }
  } else if (key.type === ItemType.PERSISTENT_ITEM && key.objectid === ObjectId.DEV_STATS && size < DEV_STATS_SIZE) {
    const it = decodeItem(key, window(b.data, off, DEV_STATS_SIZE), ctx);
    if (it.kind === 'dev_stats') { it.values = it.values.slice(0, DEV_STAT_VALUES_MAX); item = it; }
  } else if (item.kind === 'invalid') {
    const need = fixedReadSize(key, data);
    if (need > size) item = decodeItem(key, window(b.data, off, need), ctx);
    if (item.kind === 'file_extent' && item.body === 'inline') item.inlineLength = (size - FILE_EXTENT_INLINE_DATA_START) >>> 0;
  }
  return printItem(key, item, ctx);
}

/** `len` bytes of the block from `off`, zero-filled past its end. */
function window(d: Uint8Array, off: number, len: number): Uint8Array {
  if (off + len <= d.length) return d.subarray(off, off + len);
  const w = new Uint8Array(len);
  w.set(d.subarray(off, Math.min(d.length, off + len)));
  return w;
}

/**
 * The text dump-tree prints for one tree block (header, uuids, then every
 * item with its body or every key pointer), lines joined by "\n" without a
 * trailing newline. Items whose offset/size point outside the leaf end the
 * listing, as in btrfs-progs (which reports that on stderr).
 */
export function printTreeBlock(block: TreeBlock, ctx: PrintContext): string {
  const s = printTreeBlockLines(block, ctx);
  return s.slice(0, -1);
}

/** printTreeBlock with every line ending in "\n", as a dump writes it (no copy to cut the last one). */
export function printTreeBlockLines(block: TreeBlock, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const d = block.data;
  const nodesize = d.length;
  const parts: string[] = [headerLines(block, ctx, v, nodesize)];
  const nr = block.nritems;
  if (block.level) {
    const ptrs = Math.floor((nodesize - HEADER_SIZE) / KEY_PTR_SIZE);
    for (let i = 0; i < nr && i < ptrs; i++) {
      const k = HEADER_SIZE + i * KEY_PTR_SIZE;
      parts.push(`\tkey ${keyText(d, k + keyPtr.off.key, v)} block ${u64Text(d, k + keyPtr.off.blockptr)} gen ${u64Text(d, k + keyPtr.off.generation)}\n`);
    }
  } else {
    const dataSize = nodesize - HEADER_SIZE;
    for (let i = 0; i < nr; i++) {
      const h = HEADER_SIZE + i * ITEM_SIZE;
      if (h + ITEM_SIZE > nodesize) break;
      const off = leafItemOffset(d, h);
      const size = leafItemSize(d, h);
      if (off > dataSize || ((off + size) >>> 0) > dataSize) break;
      const k = h + leafItem.off.key;
      parts.push(`\titem ${i} key ${keyText(d, k, v)} itemoff ${off} itemsize ${size}\n`,
        fastItemText(d, keyTypeAt(d, k), HEADER_SIZE + off, size, ctx, v) ?? printLeafItem(block, block.key(i), HEADER_SIZE + off, size, ctx, v));
    }
  }
  const s = parts.join('');
  return s.endsWith('\n') ? s : s + '\n';
}
