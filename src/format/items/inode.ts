import { u16, u32, u64 } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { addError, nameText, readTimespec, tooShort, type InvalidItem, type Timespec } from './common.js';

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
export const INODE_ITEM_SIZE = 160;

/** Decodes the 160 bytes at buf[off] (caller checks the size). */
export function readInodeItem(buf: Uint8Array, off: number): InodeItem {
  return {
    generation: u64(buf, off),
    transid: u64(buf, off + 8),
    size: u64(buf, off + 16),
    nbytes: u64(buf, off + 24),
    blockGroup: u64(buf, off + 32),
    nlink: u32(buf, off + 40),
    uid: u32(buf, off + 44),
    gid: u32(buf, off + 48),
    mode: u32(buf, off + 52),
    rdev: u64(buf, off + 56),
    flags: u64(buf, off + 64),
    sequence: u64(buf, off + 72),
    // 4 reserved u64 at 80..111
    atime: readTimespec(buf, off + 112),
    ctime: readTimespec(buf, off + 124),
    mtime: readTimespec(buf, off + 136),
    otime: readTimespec(buf, off + 148),
  };
}

export interface InodeItemDecoded extends InodeItem {
  kind: 'inode_item';
  errors?: string[];
}

export function decodeInodeItem(data: Uint8Array): InodeItemDecoded | InvalidItem {
  if (data.length < INODE_ITEM_SIZE) return tooShort(ItemType.INODE_ITEM, 'inode item', INODE_ITEM_SIZE, data);
  const it: InodeItemDecoded = { kind: 'inode_item', ...readInodeItem(data, 0) };
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

const INODE_REF_HEADER = 10;

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
    const index = u64(data, p);
    const nameLen = u16(data, p + 8);
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

const INODE_EXTREF_HEADER = 18;

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
    const parent = u64(data, p);
    const index = u64(data, p + 8);
    const nameLen = u16(data, p + 16);
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
