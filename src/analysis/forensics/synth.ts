import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../../format/treeBlock.js';
import type { Key } from '../../format/key.js';
import type { ItemRef } from '../../tree/walk.js';

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/**
 * An in-memory leaf holding one item, for items an overlay makes up (a
 * trimmed file extent, a directory entry a log INODE_REF implies). It is
 * never written; `logical` is the block the item was derived from, so
 * places reported for it point at real on-disk evidence.
 */
export function synthItem(logical: bigint, owner: bigint, generation: bigint, k: Key, data: Uint8Array): ItemRef {
  const bytes = new Uint8Array(HEADER_SIZE + ITEM_SIZE + data.length);
  const v = dv(bytes);
  v.setBigUint64(0x30, logical, true);
  v.setBigUint64(0x50, generation, true);
  v.setBigUint64(0x58, owner, true);
  v.setUint32(0x60, 1, true);
  bytes[0x64] = 0;
  const ko = HEADER_SIZE;
  v.setBigUint64(ko, k.objectid, true);
  bytes[ko + 8] = k.type;
  v.setBigUint64(ko + 9, k.offset, true);
  v.setUint32(ko + 17, ITEM_SIZE, true);
  v.setUint32(ko + 21, data.length, true);
  bytes.set(data, HEADER_SIZE + ITEM_SIZE);
  return { block: new TreeBlock(bytes, logical), slot: 0 };
}

/** A copy of `data` with u64 `value` at `off` (little-endian). */
export function withU64(data: Uint8Array, off: number, value: bigint): Uint8Array {
  const c = data.slice();
  dv(c).setBigUint64(off, value, true);
  return c;
}

/** btrfs_dir_item bytes for one entry (location key, transid, data_len 0, name_len, type, name). */
export function dirItemBytes(location: Key, transid: bigint, type: number, name: Uint8Array): Uint8Array {
  const b = new Uint8Array(30 + name.length);
  const v = dv(b);
  v.setBigUint64(0, location.objectid, true);
  b[8] = location.type;
  v.setBigUint64(9, location.offset, true);
  v.setBigUint64(17, transid, true);
  v.setUint16(25, 0, true);
  v.setUint16(27, name.length, true);
  b[29] = type;
  b.set(name, 30);
  return b;
}

/** The raw entries of a DIR_ITEM/DIR_INDEX item's data, with their names (stops at the first that does not fit). */
export function dirItemEntries(data: Uint8Array): { raw: Uint8Array; name: Uint8Array }[] {
  const out: { raw: Uint8Array; name: Uint8Array }[] = [];
  const v = dv(data);
  let o = 0;
  while (o + 30 <= data.length) {
    const dataLen = v.getUint16(o + 25, true);
    const nameLen = v.getUint16(o + 27, true);
    const end = o + 30 + nameLen + dataLen;
    if (end > data.length) break;
    out.push({ raw: data.subarray(o, end), name: data.subarray(o + 30, o + 30 + nameLen) });
    o = end;
  }
  return out;
}
