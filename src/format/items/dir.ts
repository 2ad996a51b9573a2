import { u16, u64 } from '../bytes.js';
import { ItemType } from '../constants.js';
import { readKey, type Key } from '../key.js';
import { addError, nameText, tooShort, type InvalidItem } from './common.js';

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

export const DIR_ITEM_HEADER_SIZE = 30;

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
    const location = readKey(data, p);
    const transid = u64(data, p + 17);
    const dataLen = u16(data, p + 25);
    const nameLen = u16(data, p + 27);
    const type = data[p + 29]!;
    const nameStart = p + DIR_ITEM_HEADER_SIZE;
    const nameEnd = Math.min(nameStart + nameLen, data.length);
    const dataEnd = Math.min(nameStart + nameLen + dataLen, data.length);
    if (nameStart + nameLen + dataLen > data.length) {
      errors = addError(errors, `dir entry at ${p}: name_len ${nameLen} + data_len ${dataLen} run past the item end`);
    }
    entries.push({
      location, transid, dataLen, nameLen, type,
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
