import { ItemType } from '../constants.js';
import { decodeKey, KEY_SIZE, type Key, keyObjectidAt, keyTypeAt } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { addError, type InvalidItem, nameText, tooShort } from './common.js';

/** btrfs_dir_item: the 30-byte header of one directory entry or xattr; the name, then the data, follow it. */
export const dirItem = defineStruct('btrfs_dir_item', 30, [
  ['location', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['transid', 'u64'],
  ['dataLen', 'u16'],
  ['nameLen', 'u16'],
  ['type', 'u8'],
]);
export const DIR_ITEM_HEADER_SIZE = dirItem.size;
export const { transid: dirItemTransid, dataLen: dirItemDataLen, nameLen: dirItemNameLen, type: dirItemType } = dirItem.get;
const LOCATION = dirItem.off.location;

/** The location key of the entry at buf[off]: what the name points to. */
export function dirItemLocation(buf: Uint8Array, off: number): Key {
  return decodeKey(buf, off + LOCATION);
}
/** The location key's objectid (the inode, or the subvolume for a subvolume link). */
export function dirItemLocationObjectid(buf: Uint8Array, off: number): bigint {
  return keyObjectidAt(buf, off + LOCATION);
}
/** The location key's type: INODE_ITEM, ROOT_ITEM for a subvolume link, 0 for an xattr. */
export function dirItemLocationType(buf: Uint8Array, off: number): number {
  return keyTypeAt(buf, off + LOCATION);
}

/**
 * Walks the entries packed in buf[off, off + size) (a DIR_ITEM, DIR_INDEX or
 * XATTR_ITEM item): `fn(entry, nameLen, dataLen)` gets the absolute offset
 * of each whole entry's header; its name starts DIR_ITEM_HEADER_SIZE after
 * that, its data nameLen after the name. The walk stops at an entry whose
 * header or body runs past the item, or when fn returns false. Returns
 * where it stopped, relative to `off`: `size` when every entry fit.
 */
export function forEachDirEntry(buf: Uint8Array, off: number, size: number, fn: (entry: number, nameLen: number, dataLen: number) => boolean | void): number {
  let p = 0;
  while (p + DIR_ITEM_HEADER_SIZE <= size) {
    const e = off + p;
    const nameLen = dirItemNameLen(buf, e),
      dataLen = dirItemDataLen(buf, e);
    const end = p + DIR_ITEM_HEADER_SIZE + nameLen + dataLen;
    if (end > size) return p;
    p = end;
    if (fn(e, nameLen, dataLen) === false) return p;
  }
  return p;
}

/**
 * One btrfs_dir_item entry (30-byte header, then name, then data). DIR_ITEM
 * and XATTR_ITEM items may pack several entries whose names hash alike;
 * DIR_INDEX items hold one.
 */
export interface DirEntry {
  /** What the name points to: (inode, INODE_ITEM, 0), (subvol, ROOT_ITEM, -1), or zero for xattrs. */
  location: Key;
  transid: bigint;
  dataLen: number;
  nameLen: number;
  /** Raw btrfs_dir_item.type: BTRFS_FT_* in the low bits, 0x80 = encrypted. */
  type: number;
  /** Exactly the stored name bytes (shorter than nameLen only in a truncated item). */
  name: Uint8Array;
  /** Xattr value (XATTR_ITEM) or empty. */
  data: Uint8Array;
  /** Display forms (invalid UTF-8 becomes U+FFFD; use the bytes for anything exact). */
  nameStr: string;
  dataStr: string;
}

/** DIR_ITEM (key offset = name hash), DIR_INDEX (key offset = index), XATTR_ITEM (key offset = name hash). */
export interface DirItemDecoded {
  kind: 'dir_item' | 'dir_index' | 'xattr_item';
  entries: DirEntry[];
  errors?: string[];
}

export function decodeDirItem(key: Key, data: Uint8Array): DirItemDecoded | InvalidItem {
  if (data.length < DIR_ITEM_HEADER_SIZE) return tooShort(key.type, 'dir item', DIR_ITEM_HEADER_SIZE, data);
  const kind = key.type === ItemType.DIR_INDEX ? 'dir_index' : key.type === ItemType.XATTR_ITEM ? 'xattr_item' : 'dir_item';
  const entries: DirEntry[] = [];
  let errors: string[] | undefined;
  let p = 0;
  while (p < data.length) {
    if (p + DIR_ITEM_HEADER_SIZE > data.length) {
      errors = addError(errors, `dir entry at ${p}: ${data.length - p} trailing bytes, header needs ${DIR_ITEM_HEADER_SIZE}`);
      break;
    }
    const location = dirItemLocation(data, p);
    const transid = dirItemTransid(data, p);
    const dataLen = dirItemDataLen(data, p);
    const nameLen = dirItemNameLen(data, p);
    const type = dirItemType(data, p);
    const nameStart = p + DIR_ITEM_HEADER_SIZE;
    const nameEnd = Math.min(nameStart + nameLen, data.length);
    const dataEnd = Math.min(nameStart + nameLen + dataLen, data.length);
    if (nameStart + nameLen + dataLen > data.length) {
      errors = addError(errors, `dir entry at ${p}: name_len ${nameLen} + data_len ${dataLen} run past the item end`);
    }
    entries.push({
      location,
      transid,
      dataLen,
      nameLen,
      type,
      name: data.subarray(nameStart, nameEnd),
      data: data.subarray(nameEnd, dataEnd),
      nameStr: nameText(data, nameStart, nameEnd - nameStart),
      dataStr: dataEnd > nameEnd ? nameText(data, nameEnd, dataEnd - nameEnd) : '',
    });
    p = nameStart + nameLen + dataLen;
  }
  if (kind === 'dir_index' && entries.length > 1) errors = addError(errors, `DIR_INDEX item holds ${entries.length} entries, expected 1`);
  const r: DirItemDecoded = { kind, entries };
  if (errors) r.errors = errors;
  return r;
}
