import { bytesEqual } from './bytes.js';
import { defineStruct } from './struct.js';

/** btrfs_disk_key: objectid u64, type u8, offset u64 (17 bytes, little-endian). */
export interface Key {
  objectid: bigint;
  type: number;
  offset: bigint;
}

/** btrfs_disk_key as stored in leaves, nodes, dir items, root items, ... */
export const diskKey = defineStruct('btrfs_disk_key', 17, [
  ['objectid', 'u64'],
  ['type', 'u8'],
  ['offset', 'u64'],
]);
export const KEY_SIZE = diskKey.size;
export const U64_MAX = 0xffffffffffffffffn;

export const { objectid: keyObjectidAt, type: keyTypeAt, offset: keyOffsetAt } = diskKey.get;
const KEY_TYPE = diskKey.off.type;
const KEY_OFFSET = diskKey.off.offset;

export function decodeKey(buf: Uint8Array, off: number): Key {
  return { objectid: keyObjectidAt(buf, off), type: buf[off + KEY_TYPE]!, offset: keyOffsetAt(buf, off) };
}

/** True when the key at buf[off] has offset == objectid (compared byte-wise, exact, without a bigint). */
export function keyOffsetIsObjectid(buf: Uint8Array, off: number): boolean {
  return bytesEqual(buf, off + diskKey.off.objectid, buf, off + KEY_OFFSET, 8);
}

/** @deprecated The old name of decodeKey (read* is for I/O). */
export const readKey = decodeKey;

export function compareKeys(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.offset !== b.offset) return a.offset < b.offset ? -1 : 1;
  return 0;
}

/**
 * Compares the key stored at buf[off] with `k` without allocating: u64s are
 * compared from the most significant byte down (they are little-endian on disk).
 */
export function compareKeyAt(buf: Uint8Array, off: number, k: Key): number {
  const c = compareU64At(buf, off, k.objectid);
  if (c !== 0) return c;
  const t = buf[off + KEY_TYPE]!;
  if (t !== k.type) return t < k.type ? -1 : 1;
  return compareU64At(buf, off + KEY_OFFSET, k.offset);
}

/** Compares two stored keys byte-wise (objectid, type, offset), without allocating. */
export function compareKeysAt(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  // Each u64 as two u32 halves, most significant first (every block's key order check runs this per slot).
  const c = compareU64s(a, aOff + KEY_OBJECTID, b, bOff + KEY_OBJECTID);
  if (c !== 0) return c;
  const x = a[aOff + KEY_TYPE]!,
    y = b[bOff + KEY_TYPE]!;
  if (x !== y) return x < y ? -1 : 1;
  return compareU64s(a, aOff + KEY_OFFSET, b, bOff + KEY_OFFSET);
}
const KEY_OBJECTID = diskKey.off.objectid;

/** Compares two stored little-endian u64s as numbers (high halves, then low halves; each half exact as a double). */
function compareU64s(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  const ah = u32At(a, aOff + 4),
    bh = u32At(b, bOff + 4);
  if (ah !== bh) return ah < bh ? -1 : 1;
  const al = u32At(a, aOff),
    bl = u32At(b, bOff);
  if (al !== bl) return al < bl ? -1 : 1;
  return 0;
}

const u32At = (buf: Uint8Array, off: number) => (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 0x1000000;

function compareU64At(buf: Uint8Array, off: number, v: bigint): number {
  // Split v into two u32 halves once; compare high then low halves as numbers.
  const hi = Number(v >> 32n);
  const lo = Number(v & 0xffffffffn);
  const bh = u32At(buf, off + 4);
  if (bh !== hi) return bh < hi ? -1 : 1;
  const bl = u32At(buf, off);
  if (bl !== lo) return bl < lo ? -1 : 1;
  return 0;
}

export function key(objectid: bigint, type: number, offset: bigint): Key {
  return { objectid, type, offset };
}

export const MIN_KEY: Key = { objectid: 0n, type: 0, offset: 0n };
export const MAX_KEY: Key = { objectid: U64_MAX, type: 255, offset: U64_MAX };
