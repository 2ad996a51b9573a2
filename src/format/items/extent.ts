import CRC32C from 'crc-32/crc32c.js';
import { ExtentFlag, ItemType } from '../constants.js';
import { decodeKey, KEY_SIZE, type Key } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { addError, type InvalidItem, tooShort } from './common.js';

/** btrfs_extent_item: key (bytenr, EXTENT_ITEM, length) or (bytenr, METADATA_ITEM, level); inline refs follow. */
export const extentItem = defineStruct('btrfs_extent_item', 24, [
  ['refs', 'u64'],
  ['generation', 'u64'],
  ['flags', 'u64'],
]);
export const { refs: extentRefs, generation: extentGeneration, flags: extentFlags } = extentItem.get;

/** btrfs_extent_item_v0 (before 2.6.31): a lone refs count. */
export const extentItemV0 = defineStruct('btrfs_extent_item_v0', 4, [['refs', 'u32']]);

/** btrfs_tree_block_info: after a non-skinny tree block's extent item. */
export const treeBlockInfo = defineStruct('btrfs_tree_block_info', 18, [
  ['key', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['level', 'u8'],
]);

/** btrfs_extent_inline_ref: type, then the ref's offset field (root or parent), or a btrfs_extent_data_ref in its place. */
export const extentInlineRef = defineStruct('btrfs_extent_inline_ref', 9, [
  ['type', 'u8'],
  ['offset', 'u64'],
]);
const IR = extentInlineRef.get;

/** btrfs_extent_data_ref: an EXTENT_DATA_REF item's body, and inline in place of extent_inline_ref.offset. */
export const extentDataRef = defineStruct('btrfs_extent_data_ref', 28, [
  ['root', 'u64'],
  ['objectid', 'u64'],
  ['offset', 'u64'],
  ['count', 'u32'],
]);
export const { root: extentDataRefRoot, objectid: extentDataRefObjectid, offset: extentDataRefOffset, count: extentDataRefCount } = extentDataRef.get;

/** btrfs_shared_data_ref: a SHARED_DATA_REF item's body, and inline after the parent. */
export const sharedDataRef = defineStruct('btrfs_shared_data_ref', 4, [['count', 'u32']]);
export const { count: sharedDataRefCount } = sharedDataRef.get;

/** btrfs_extent_owner_ref: an EXTENT_OWNER_REF item's body (simple quotas). */
export const extentOwnerRef = defineStruct('btrfs_extent_owner_ref', 8, [['root', 'u64']]);

/** btrfs_extent_ref_v0 (obsolete EXTENT_REF_V0). */
export const extentRefV0 = defineStruct('btrfs_extent_ref_v0', 28, [
  ['root', 'u64'],
  ['generation', 'u64'],
  ['objectid', 'u64'],
  ['count', 'u32'],
]);
const V0 = extentRefV0.get;

/** Where an inline data ref's btrfs_extent_data_ref starts: in place of the inline ref's offset field. */
const INLINE_DATA_REF = extentInlineRef.off.offset;

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
      return extentInlineRef.size;
    case ItemType.SHARED_DATA_REF:
      return extentInlineRef.size + sharedDataRef.size;
    case ItemType.EXTENT_DATA_REF:
      return INLINE_DATA_REF + extentDataRef.size;
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

const EXTENT_ITEM_SIZE = extentItem.size;
const TREE_BLOCK_INFO_SIZE = treeBlockInfo.size;

export function decodeExtentItem(key: Key, data: Uint8Array): ExtentItemDecoded | ExtentItemV0Decoded | InvalidItem {
  const metadata = key.type === ItemType.METADATA_ITEM;
  if (!metadata && data.length === extentItemV0.size) return { kind: 'extent_item_v0', bytenr: key.objectid, refs: extentItemV0.get.refs(data, 0) };
  if (data.length < EXTENT_ITEM_SIZE) return tooShort(key.type, 'extent item', EXTENT_ITEM_SIZE, data);
  const flags = extentFlags(data, 0);
  const r: ExtentItemDecoded = {
    kind: metadata ? 'metadata_item' : 'extent_item',
    bytenr: key.objectid,
    refs: extentRefs(data, 0),
    generation: extentGeneration(data, 0),
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
      r.treeBlock = { key: decodeKey(data, p + treeBlockInfo.off.key), level: treeBlockInfo.get.level(data, p) };
      r.level = r.treeBlock.level;
      p += TREE_BLOCK_INFO_SIZE;
    }
  }
  const refs = r.inlineRefs;
  while (p < data.length) {
    const type = IR.type(data, p);
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
      case ItemType.EXTENT_OWNER_REF:
        refs.push({ type, kind: 'extent_owner', root: IR.offset(data, p) });
        break;
      case ItemType.TREE_BLOCK_REF:
        refs.push({ type, kind: 'tree_block', root: IR.offset(data, p) });
        break;
      case ItemType.SHARED_BLOCK_REF:
        refs.push({ type, kind: 'shared_block', parent: IR.offset(data, p) });
        break;
      case ItemType.SHARED_DATA_REF:
        refs.push({ type, kind: 'shared_data', parent: IR.offset(data, p), count: sharedDataRefCount(data, p + extentInlineRef.size) });
        break;
      case ItemType.EXTENT_DATA_REF: {
        const d = p + INLINE_DATA_REF;
        refs.push({ type, kind: 'extent_data', root: extentDataRefRoot(data, d), objectid: extentDataRefObjectid(data, d), offset: extentDataRefOffset(data, d), count: extentDataRefCount(data, d) });
        break;
      }
    }
    p += size;
  }
  if (errors) r.errors = errors;
  return r;
}

/** TREE_BLOCK_REF item: key (bytenr, TREE_BLOCK_REF, root); no body. */
export interface TreeBlockRefDecoded {
  kind: 'tree_block_ref';
  bytenr: bigint;
  root: bigint;
  errors?: string[];
}
/** SHARED_BLOCK_REF item: key (bytenr, SHARED_BLOCK_REF, parent block); no body. */
export interface SharedBlockRefDecoded {
  kind: 'shared_block_ref';
  bytenr: bigint;
  parent: bigint;
  errors?: string[];
}
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
export interface SharedDataRefDecoded {
  kind: 'shared_data_ref';
  bytenr: bigint;
  parent: bigint;
  count: number;
  errors?: string[];
}
/** EXTENT_OWNER_REF as a standalone item (btrfs_extent_owner_ref). */
export interface ExtentOwnerRefDecoded {
  kind: 'extent_owner_ref';
  bytenr: bigint;
  root: bigint;
  errors?: string[];
}
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
  const size = extentDataRef.size;
  if (data.length < size) return tooShort(key.type, 'extent data ref', size, data);
  const r: ExtentDataRefDecoded = {
    kind: 'extent_data_ref',
    bytenr: key.objectid,
    hash: key.offset,
    root: extentDataRefRoot(data, 0),
    objectid: extentDataRefObjectid(data, 0),
    offset: extentDataRefOffset(data, 0),
    count: extentDataRefCount(data, 0),
  };
  const e = sizeError('extent data ref', data, size);
  if (e) r.errors = e;
  return r;
}

export function decodeSharedDataRef(key: Key, data: Uint8Array): SharedDataRefDecoded | InvalidItem {
  const size = sharedDataRef.size;
  if (data.length < size) return tooShort(key.type, 'shared data ref', size, data);
  const r: SharedDataRefDecoded = { kind: 'shared_data_ref', bytenr: key.objectid, parent: key.offset, count: sharedDataRefCount(data, 0) };
  const e = sizeError('shared data ref', data, size);
  if (e) r.errors = e;
  return r;
}

export function decodeExtentOwnerRef(key: Key, data: Uint8Array): ExtentOwnerRefDecoded | InvalidItem {
  const size = extentOwnerRef.size;
  if (data.length < size) return tooShort(key.type, 'extent owner ref', size, data);
  const r: ExtentOwnerRefDecoded = { kind: 'extent_owner_ref', bytenr: key.objectid, root: extentOwnerRef.get.root(data, 0) };
  const e = sizeError('extent owner ref', data, size);
  if (e) r.errors = e;
  return r;
}

export function decodeExtentRefV0(key: Key, data: Uint8Array): ExtentRefV0Decoded {
  const r: ExtentRefV0Decoded = { kind: 'extent_ref_v0', bytenr: key.objectid, raw: data };
  if (data.length >= extentRefV0.size) {
    r.root = V0.root(data, 0);
    r.generation = V0.generation(data, 0);
    r.objectid = V0.objectid(data, 0);
    r.count = V0.count(data, 0);
  }
  return r;
}

const le64 = new Uint8Array(8);
function crcU64(v: bigint, seed: number): number {
  for (let i = 0; i < 8; i++) {
    le64[i] = Number(v & 0xffn);
    v >>= 8n;
  }
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
