import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { addError, decodeTimespec, type InvalidItem, nameText, TIMESPEC, type Timespec, tooShort } from './common.js';

/** btrfs_inode_item (160 bytes): stat data of a file, directory, ... */
export interface InodeItem {
  generation: bigint;
  transid: bigint;
  size: bigint;
  nbytes: bigint;
  blockGroup: bigint;
  nlink: number;
  uid: number;
  gid: number;
  mode: number;
  rdev: bigint;
  /** BTRFS_INODE_* flags; the upper 32 bits are the read-only-compat flags (RO_VERITY). */
  flags: bigint;
  sequence: bigint;
  atime: Timespec;
  ctime: Timespec;
  mtime: Timespec;
  otime: Timespec;
}

/** btrfs_inode_item, field by field (btrfs_tree.h). */
export const inodeItem = defineStruct('btrfs_inode_item', 160, [
  ['generation', 'u64'],
  ['transid', 'u64'],
  ['size', 'u64'],
  ['nbytes', 'u64'],
  ['blockGroup', 'u64'],
  ['nlink', 'u32'],
  ['uid', 'u32'],
  ['gid', 'u32'],
  ['mode', 'u32'],
  ['rdev', 'u64'],
  ['flags', 'u64'],
  ['sequence', 'u64'],
  ['reserved', bytes(32, '__le64[4]')],
  ['atime', TIMESPEC],
  ['ctime', TIMESPEC],
  ['mtime', TIMESPEC],
  ['otime', TIMESPEC],
]);
export const INODE_ITEM_SIZE = inodeItem.size;

export const {
  generation: inodeGeneration,
  transid: inodeTransid,
  size: inodeSize,
  nbytes: inodeNbytes,
  blockGroup: inodeBlockGroup,
  nlink: inodeNlink,
  uid: inodeUid,
  gid: inodeGid,
  mode: inodeMode,
  rdev: inodeRdev,
  flags: inodeFlags,
  sequence: inodeSequence,
} = inodeItem.get;

const T = inodeItem.off;

/** Decodes the 160 bytes of a btrfs_inode_item at buf[off] (caller checks the size). */
export function decodeInodeItemAt(buf: Uint8Array, off: number): InodeItem {
  return {
    generation: inodeGeneration(buf, off),
    transid: inodeTransid(buf, off),
    size: inodeSize(buf, off),
    nbytes: inodeNbytes(buf, off),
    blockGroup: inodeBlockGroup(buf, off),
    nlink: inodeNlink(buf, off),
    uid: inodeUid(buf, off),
    gid: inodeGid(buf, off),
    mode: inodeMode(buf, off),
    rdev: inodeRdev(buf, off),
    flags: inodeFlags(buf, off),
    sequence: inodeSequence(buf, off),
    atime: decodeTimespec(buf, off + T.atime),
    ctime: decodeTimespec(buf, off + T.ctime),
    mtime: decodeTimespec(buf, off + T.mtime),
    otime: decodeTimespec(buf, off + T.otime),
  };
}

export interface InodeItemDecoded extends InodeItem {
  kind: 'inode_item';
  errors?: string[];
}

export function decodeInodeItem(data: Uint8Array): InodeItemDecoded | InvalidItem {
  if (data.length < INODE_ITEM_SIZE) return tooShort(ItemType.INODE_ITEM, 'inode item', INODE_ITEM_SIZE, data);
  const it: InodeItemDecoded = { kind: 'inode_item', ...decodeInodeItemAt(data, 0) };
  if (data.length !== INODE_ITEM_SIZE) it.errors = [`inode item has ${data.length} bytes, expected ${INODE_ITEM_SIZE}`];
  return it;
}

/** One name of an inode in its parent directory (btrfs_inode_ref + name). */
export interface InodeRefEntry {
  /** The DIR_INDEX offset of the name in the parent. */
  index: bigint;
  nameLen: number;
  /** Exactly the stored name bytes (may be shorter than nameLen if the item is truncated). */
  name: Uint8Array;
  /** The name for display (invalid UTF-8 becomes U+FFFD). */
  nameStr: string;
}

/** INODE_REF: key (inode, INODE_REF, parent dir); several refs may be packed in one item. */
export interface InodeRefDecoded {
  kind: 'inode_ref';
  /** Parent directory inode (the key offset). */
  parent: bigint;
  refs: InodeRefEntry[];
  errors?: string[];
}

/** btrfs_inode_ref: the 10-byte header of one name of an inode; the name follows. */
export const inodeRef = defineStruct('btrfs_inode_ref', 10, [
  ['index', 'u64'],
  ['nameLen', 'u16'],
]);
export const { index: inodeRefIndex, nameLen: inodeRefNameLen } = inodeRef.get;
const INODE_REF_HEADER = inodeRef.size;
export const INODE_REF_HEADER_SIZE = inodeRef.size;

/**
 * Walks the names packed in an INODE_REF item at buf[off, off + size):
 * `fn(ref, nameLen)` gets the absolute offset of each whole ref's header
 * (the name starts INODE_REF_HEADER_SIZE after it). Stops at a ref that runs
 * past the item or when fn returns false; returns where it stopped, relative to `off`.
 */
export function forEachInodeRef(buf: Uint8Array, off: number, size: number, fn: (ref: number, nameLen: number) => boolean | void): number {
  let p = 0;
  while (p + INODE_REF_HEADER <= size) {
    const r = off + p;
    const nameLen = inodeRefNameLen(buf, r);
    if (p + INODE_REF_HEADER + nameLen > size) return p;
    p += INODE_REF_HEADER + nameLen;
    if (fn(r, nameLen) === false) return p;
  }
  return p;
}

export function decodeInodeRef(key: Key, data: Uint8Array): InodeRefDecoded | InvalidItem {
  if (data.length < INODE_REF_HEADER) return tooShort(ItemType.INODE_REF, 'inode ref', INODE_REF_HEADER, data);
  const refs: InodeRefEntry[] = [];
  let errors: string[] | undefined;
  let p = 0;
  while (p < data.length) {
    if (p + INODE_REF_HEADER > data.length) {
      errors = addError(errors, `inode ref at ${p}: ${data.length - p} trailing bytes, header needs ${INODE_REF_HEADER}`);
      break;
    }
    const index = inodeRefIndex(data, p);
    const nameLen = inodeRefNameLen(data, p);
    const start = p + INODE_REF_HEADER;
    let end = start + nameLen;
    if (end > data.length) {
      errors = addError(errors, `inode ref at ${p}: name_len ${nameLen} runs past the item end`);
      end = data.length;
    }
    refs.push({ index, nameLen, name: data.subarray(start, end), nameStr: nameText(data, start, end - start) });
    p = start + nameLen;
  }
  const r: InodeRefDecoded = { kind: 'inode_ref', parent: key.offset, refs };
  if (errors) r.errors = errors;
  return r;
}

/** One name of an inode (btrfs_inode_extref + name), used when INODE_REF overflows. */
export interface InodeExtrefEntry {
  parent: bigint;
  index: bigint;
  nameLen: number;
  name: Uint8Array;
  nameStr: string;
}

/** INODE_EXTREF: key (inode, INODE_EXTREF, crc32c hash of parent and name). */
export interface InodeExtrefDecoded {
  kind: 'inode_extref';
  /** The key offset: btrfs_extref_hash(parent, name). */
  hash: bigint;
  refs: InodeExtrefEntry[];
  errors?: string[];
}

/** btrfs_inode_extref: the 18-byte header of one name of an inode in INODE_EXTREF; the name follows. */
export const inodeExtref = defineStruct('btrfs_inode_extref', 18, [
  ['parent', 'u64'],
  ['index', 'u64'],
  ['nameLen', 'u16'],
]);
export const { parent: inodeExtrefParent, index: inodeExtrefIndex, nameLen: inodeExtrefNameLen } = inodeExtref.get;
const INODE_EXTREF_HEADER = inodeExtref.size;
export const INODE_EXTREF_HEADER_SIZE = inodeExtref.size;

export function decodeInodeExtref(key: Key, data: Uint8Array): InodeExtrefDecoded | InvalidItem {
  if (data.length < INODE_EXTREF_HEADER) return tooShort(ItemType.INODE_EXTREF, 'inode extref', INODE_EXTREF_HEADER, data);
  const refs: InodeExtrefEntry[] = [];
  let errors: string[] | undefined;
  let p = 0;
  while (p < data.length) {
    if (p + INODE_EXTREF_HEADER > data.length) {
      errors = addError(errors, `inode extref at ${p}: ${data.length - p} trailing bytes, header needs ${INODE_EXTREF_HEADER}`);
      break;
    }
    const parent = inodeExtrefParent(data, p);
    const index = inodeExtrefIndex(data, p);
    const nameLen = inodeExtrefNameLen(data, p);
    const start = p + INODE_EXTREF_HEADER;
    let end = start + nameLen;
    if (end > data.length) {
      errors = addError(errors, `inode extref at ${p}: name_len ${nameLen} runs past the item end`);
      end = data.length;
    }
    refs.push({ parent, index, nameLen, name: data.subarray(start, end), nameStr: nameText(data, start, end - start) });
    p = start + nameLen;
  }
  const r: InodeExtrefDecoded = { kind: 'inode_extref', hash: key.offset, refs };
  if (errors) r.errors = errors;
  return r;
}
