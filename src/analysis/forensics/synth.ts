import { DIR_ITEM_HEADER_SIZE, dirItem, forEachDirEntry } from '../../format/items/dir.js';
import { forEachInodeRef, INODE_REF_HEADER_SIZE } from '../../format/items/inode.js';
import { diskKey, type Key } from '../../format/key.js';
import { blockHeader, HEADER_SIZE, ITEM_SIZE, leafItem, TreeBlock } from '../../format/treeBlock.js';
import type { ItemRef } from '../../tree/walk.js';

const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** Writes a btrfs_disk_key at b[off]. */
function putKey(b: Uint8Array, off: number, k: Key): void {
  const v = dv(b);
  v.setBigUint64(off + diskKey.off.objectid, k.objectid, true);
  b[off + diskKey.off.type] = k.type;
  v.setBigUint64(off + diskKey.off.offset, k.offset, true);
}

/**
 * An in-memory leaf holding one item, for items an overlay makes up (a
 * trimmed file extent, a directory entry a log INODE_REF implies). It is
 * never written; `logical` is the block the item was derived from, so
 * places reported for it point at real on-disk evidence.
 */
export function synthItem(logical: bigint, owner: bigint, generation: bigint, k: Key, data: Uint8Array): ItemRef {
  const bytes = new Uint8Array(HEADER_SIZE + ITEM_SIZE + data.length);
  const v = dv(bytes);
  const H = blockHeader.off;
  v.setBigUint64(H.bytenr, logical, true);
  v.setBigUint64(H.generation, generation, true);
  v.setBigUint64(H.owner, owner, true);
  v.setUint32(H.nritems, 1, true);
  bytes[H.level] = 0;
  const item = HEADER_SIZE;
  putKey(bytes, item + leafItem.off.key, k);
  // Item data offsets count from the end of the header: the data follows the one item header.
  v.setUint32(item + leafItem.off.offset, ITEM_SIZE, true);
  v.setUint32(item + leafItem.off.size, data.length, true);
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
  const b = new Uint8Array(DIR_ITEM_HEADER_SIZE + name.length);
  const v = dv(b);
  const D = dirItem.off;
  putKey(b, D.location, location);
  v.setBigUint64(D.transid, transid, true);
  v.setUint16(D.dataLen, 0, true);
  v.setUint16(D.nameLen, name.length, true);
  b[D.type] = type;
  b.set(name, DIR_ITEM_HEADER_SIZE);
  return b;
}

/** The raw entries of a DIR_ITEM/DIR_INDEX item's data, with their names (stops at the first that does not fit). */
export function dirItemEntries(data: Uint8Array): { raw: Uint8Array; name: Uint8Array }[] {
  const out: { raw: Uint8Array; name: Uint8Array }[] = [];
  forEachDirEntry(data, 0, data.length, (e, nameLen, dataLen) => {
    const name = e + DIR_ITEM_HEADER_SIZE;
    out.push({ raw: data.subarray(e, name + nameLen + dataLen), name: data.subarray(name, name + nameLen) });
  });
  return out;
}

/** The raw refs of an INODE_REF item's data, with their names (stops at the first that does not fit). */
export function inodeRefEntries(data: Uint8Array): { raw: Uint8Array; name: Uint8Array }[] {
  const out: { raw: Uint8Array; name: Uint8Array }[] = [];
  forEachInodeRef(data, 0, data.length, (r, nameLen) => {
    const name = r + INODE_REF_HEADER_SIZE;
    out.push({ raw: data.subarray(r, name + nameLen), name: data.subarray(name, name + nameLen) });
  });
  return out;
}
