import CRC32C from 'crc-32/crc32c.js';
import { u32, u64 } from '../bytes.js';
import { ExtentFlag, ItemType } from '../constants.js';
import { readKey, type Key } from '../key.js';
import { addError, tooShort, type InvalidItem } from './common.js';

/** Inline backrefs stored after an extent item (btrfs_extent_inline_ref and what follows). */
export type InlineRef =
  /** Simple-quota owner of a data extent (always first). */
  | { type: 172; kind: 'extent_owner'; root: bigint }
  /** A tree (root id) references the tree block. */
  | { type: 176; kind: 'tree_block'; root: bigint }
  /** The tree block at `parent` references this block (full backref). */
  | { type: 182; kind: 'shared_block'; parent: bigint }
  /** (root, inode objectid, file offset - extent offset) references the data extent `count` times. */
  | { type: 178; kind: 'extent_data'; root: bigint; objectid: bigint; offset: bigint; count: number }
  /** The leaf at `parent` references the data extent `count` times. */
  | { type: 184; kind: 'shared_data'; parent: bigint; count: number };

/** Bytes an inline ref of `type` occupies (btrfs_extent_inline_ref_size), 0 for unknown types. */
export function inlineRefSize(type: number): number {
  switch (type) {
    case ItemType.TREE_BLOCK_REF:
    case ItemType.SHARED_BLOCK_REF:
    case ItemType.EXTENT_OWNER_REF:
      return 9;
    case ItemType.SHARED_DATA_REF:
      return 13;
    case ItemType.EXTENT_DATA_REF:
      return 29;
    default:
      return 0;
  }
}

/** EXTENT_ITEM (key: bytenr, EXTENT_ITEM, length) or skinny METADATA_ITEM (key: bytenr, METADATA_ITEM, level). */
export interface ExtentItemDecoded {
  kind: 'extent_item' | 'metadata_item';
  bytenr: bigint;
  /** EXTENT_ITEM: extent length in bytes (key offset). METADATA_ITEM: undefined (one nodesize). */
  length?: bigint;
  refs: bigint;
  generation: bigint;
  /** ExtentFlag: DATA, TREE_BLOCK, FULL_BACKREF. */
  flags: bigint;
  /** Non-skinny tree block (EXTENT_ITEM with TREE_BLOCK): btrfs_tree_block_info (first key and level). */
  treeBlock?: { key: Key; level: number };
  /** Tree block level: METADATA_ITEM key offset, or treeBlock.level. */
  level?: number;
  inlineRefs: InlineRef[];
  errors?: string[];
}

/** Pre-2.6.31 extent item holding only a u32 ref count (4 bytes). */
export interface ExtentItemV0Decoded {
  kind: 'extent_item_v0';
  bytenr: bigint;
  refs: number;
}

const EXTENT_ITEM_SIZE = 24;
const TREE_BLOCK_INFO_SIZE = 18;

export function decodeExtentItem(key: Key, data: Uint8Array): ExtentItemDecoded | ExtentItemV0Decoded | InvalidItem {
  const metadata = key.type === ItemType.METADATA_ITEM;
  if (!metadata && data.length === 4) return { kind: 'extent_item_v0', bytenr: key.objectid, refs: u32(data, 0) };
  if (data.length < EXTENT_ITEM_SIZE) return tooShort(key.type, 'extent item', EXTENT_ITEM_SIZE, data);
  const flags = u64(data, 16);
  const r: ExtentItemDecoded = {
    kind: metadata ? 'metadata_item' : 'extent_item',
    bytenr: key.objectid,
    refs: u64(data, 0),
    generation: u64(data, 8),
    flags,
    inlineRefs: [],
  };
  let errors: string[] | undefined;
  let p = EXTENT_ITEM_SIZE;
  if (metadata) {
    r.level = Number(key.offset & 0xffn);
    if (key.offset > 255n) errors = addError(errors, `METADATA_ITEM level ${key.offset} out of range`);
  } else {
    r.length = key.offset;
    if (flags & ExtentFlag.TREE_BLOCK) {
      if (data.length < EXTENT_ITEM_SIZE + TREE_BLOCK_INFO_SIZE) {
        return tooShort(key.type, 'tree block extent item', EXTENT_ITEM_SIZE + TREE_BLOCK_INFO_SIZE, data);
      }
      r.treeBlock = { key: readKey(data, p), level: data[p + 17]! };
      r.level = r.treeBlock.level;
      p += TREE_BLOCK_INFO_SIZE;
    }
  }
  const refs = r.inlineRefs;
  while (p < data.length) {
    const type = data[p]!;
    const size = inlineRefSize(type);
    if (size === 0) {
      errors = addError(errors, `unknown inline ref type ${type} at offset ${p}`);
      break;
    }
    if (p + size > data.length) {
      errors = addError(errors, `inline ref type ${type} at offset ${p} needs ${size} bytes, ${data.length - p} left`);
      break;
    }
    switch (type) {
      case ItemType.EXTENT_OWNER_REF: refs.push({ type, kind: 'extent_owner', root: u64(data, p + 1) }); break;
      case ItemType.TREE_BLOCK_REF: refs.push({ type, kind: 'tree_block', root: u64(data, p + 1) }); break;
      case ItemType.SHARED_BLOCK_REF: refs.push({ type, kind: 'shared_block', parent: u64(data, p + 1) }); break;
      case ItemType.SHARED_DATA_REF: refs.push({ type, kind: 'shared_data', parent: u64(data, p + 1), count: u32(data, p + 9) }); break;
      case ItemType.EXTENT_DATA_REF:
        refs.push({ type, kind: 'extent_data', root: u64(data, p + 1), objectid: u64(data, p + 9), offset: u64(data, p + 17), count: u32(data, p + 25) });
        break;
    }
    p += size;
  }
  if (errors) r.errors = errors;
  return r;
}

/** TREE_BLOCK_REF item: key (bytenr, TREE_BLOCK_REF, root); no body. */
export interface TreeBlockRefDecoded { kind: 'tree_block_ref'; bytenr: bigint; root: bigint; errors?: string[] }
/** SHARED_BLOCK_REF item: key (bytenr, SHARED_BLOCK_REF, parent block); no body. */
export interface SharedBlockRefDecoded { kind: 'shared_block_ref'; bytenr: bigint; parent: bigint; errors?: string[] }
/** EXTENT_DATA_REF item: key (bytenr, EXTENT_DATA_REF, hash(root, objectid, offset)); btrfs_extent_data_ref. */
export interface ExtentDataRefDecoded {
  kind: 'extent_data_ref';
  bytenr: bigint;
  /** The key offset: extentDataRefHash(root, objectid, offset) for a consistent item. */
  hash: bigint;
  root: bigint;
  objectid: bigint;
  offset: bigint;
  count: number;
  errors?: string[];
}
/** SHARED_DATA_REF item: key (bytenr, SHARED_DATA_REF, parent leaf); btrfs_shared_data_ref. */
export interface SharedDataRefDecoded { kind: 'shared_data_ref'; bytenr: bigint; parent: bigint; count: number; errors?: string[] }
/** EXTENT_OWNER_REF as a standalone item (btrfs_extent_owner_ref). */
export interface ExtentOwnerRefDecoded { kind: 'extent_owner_ref'; bytenr: bigint; root: bigint; errors?: string[] }
/** Obsolete EXTENT_REF_V0 (btrfs_extent_ref_v0: root, generation, objectid u64, count u32); kept raw too. */
export interface ExtentRefV0Decoded {
  kind: 'extent_ref_v0';
  bytenr: bigint;
  root?: bigint;
  generation?: bigint;
  objectid?: bigint;
  count?: number;
  raw: Uint8Array;
}

function sizeError(what: string, data: Uint8Array, want: number): string[] | undefined {
  return data.length === want ? undefined : [`${what} has ${data.length} bytes, expected ${want}`];
}

export function decodeTreeBlockRef(key: Key, data: Uint8Array): TreeBlockRefDecoded {
  const r: TreeBlockRefDecoded = { kind: 'tree_block_ref', bytenr: key.objectid, root: key.offset };
  const e = sizeError('tree block ref', data, 0);
  if (e) r.errors = e;
  return r;
}

export function decodeSharedBlockRef(key: Key, data: Uint8Array): SharedBlockRefDecoded {
  const r: SharedBlockRefDecoded = { kind: 'shared_block_ref', bytenr: key.objectid, parent: key.offset };
  const e = sizeError('shared block ref', data, 0);
  if (e) r.errors = e;
  return r;
}

export function decodeExtentDataRef(key: Key, data: Uint8Array): ExtentDataRefDecoded | InvalidItem {
  if (data.length < 28) return tooShort(key.type, 'extent data ref', 28, data);
  const r: ExtentDataRefDecoded = {
    kind: 'extent_data_ref', bytenr: key.objectid, hash: key.offset,
    root: u64(data, 0), objectid: u64(data, 8), offset: u64(data, 16), count: u32(data, 24),
  };
  const e = sizeError('extent data ref', data, 28);
  if (e) r.errors = e;
  return r;
}

export function decodeSharedDataRef(key: Key, data: Uint8Array): SharedDataRefDecoded | InvalidItem {
  if (data.length < 4) return tooShort(key.type, 'shared data ref', 4, data);
  const r: SharedDataRefDecoded = { kind: 'shared_data_ref', bytenr: key.objectid, parent: key.offset, count: u32(data, 0) };
  const e = sizeError('shared data ref', data, 4);
  if (e) r.errors = e;
  return r;
}

export function decodeExtentOwnerRef(key: Key, data: Uint8Array): ExtentOwnerRefDecoded | InvalidItem {
  if (data.length < 8) return tooShort(key.type, 'extent owner ref', 8, data);
  const r: ExtentOwnerRefDecoded = { kind: 'extent_owner_ref', bytenr: key.objectid, root: u64(data, 0) };
  const e = sizeError('extent owner ref', data, 8);
  if (e) r.errors = e;
  return r;
}

export function decodeExtentRefV0(key: Key, data: Uint8Array): ExtentRefV0Decoded {
  const r: ExtentRefV0Decoded = { kind: 'extent_ref_v0', bytenr: key.objectid, raw: data };
  if (data.length >= 28) {
    r.root = u64(data, 0);
    r.generation = u64(data, 8);
    r.objectid = u64(data, 16);
    r.count = u32(data, 24);
  }
  return r;
}

const le64 = new Uint8Array(8);
function crcU64(v: bigint, seed: number): number {
  for (let i = 0; i < 8; i++) { le64[i] = Number(v & 0xffn); v >>= 8n; }
  return CRC32C.buf(le64, seed) >>> 0;
}

/**
 * The key offset of an EXTENT_DATA_REF item (the kernel's
 * hash_extent_data_ref): crc32c of root in the high part, crc32c of
 * objectid then offset in the low part, both seeded with ~0 and not inverted.
 */
export function extentDataRefHash(root: bigint, objectid: bigint, offset: bigint): bigint {
  // The library computes ~crc(~seed, data); a raw crc seeded with ~0 is ~lib(data, 0).
  const high = ~crcU64(root, 0) >>> 0;
  const low = ~crcU64(offset, crcU64(objectid, 0) | 0) >>> 0;
  return BigInt.asUintN(64, (BigInt(high) << 31n) ^ BigInt(low));
}
