/**
 * Little-endian field readers over a Uint8Array at explicit offsets.
 * All btrfs on-disk integers are little-endian (btrfs_tree.h uses __le*).
 * u64 values are returned as bigint so addresses and object ids stay exact.
 */

export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export function u8(buf: Uint8Array, off: number): number {
  return buf[off]!;
}

export function u16(buf: Uint8Array, off: number): number {
  return buf[off]! | (buf[off + 1]! << 8);
}

export function u32(buf: Uint8Array, off: number): number {
  return (buf[off]! | (buf[off + 1]! << 8) | (buf[off + 2]! << 16)) + buf[off + 3]! * 0x1000000;
}

/** The largest u64 a double holds exactly (2^53 - 1): below it, a number may stand for the bigint. */
export const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

export function u64(buf: Uint8Array, off: number): bigint {
  const hi = u32(buf, off + 4);
  const lo = u32(buf, off);
  // Below 2^53 the value is exact as a double: one BigInt instead of three (hot path).
  if (hi < 0x200000) return BigInt(hi * 0x100000000 + lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

export function i64(buf: Uint8Array, off: number): bigint {
  return BigInt.asIntN(64, u64(buf, off));
}

/**
 * A u64 known to be small (sizes, counts) as a number; values past 2^53 are
 * clamped to Infinity so callers' range checks fail instead of losing bits.
 */
export function u64n(buf: Uint8Array, off: number): number {
  const hi = u32(buf, off + 4);
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY;
  return hi * 0x100000000 + u32(buf, off);
}

const hex: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** ASCII codes of the 16 hex digits, for toHex's long path. */
const hexDigits = new TextEncoder().encode('0123456789abcdef');
const ascii = new TextDecoder();
/** toHex's scratch: the digits of a long run, decoded to a string at once (grown as needed, never shrunk). */
let hexScratch = new Uint8Array(4096);
/** From this many bytes on, toHex writes digits into hexScratch and decodes them once. */
const HEX_SCRATCH_FROM = 24;

export function toHex(buf: Uint8Array, off = 0, len = buf.length - off): string {
  if (len < HEX_SCRATCH_FROM || off + len > buf.length) {
    let s = '';
    for (let i = 0; i < len; i++) s += hex[buf[off + i]!];
    return s;
  }
  // A long run (inline file data, checksum arrays: a dump writes gigabytes of them): one string
  // of 2·len ASCII digits made natively, not 2·len concatenations (a rope the writer flattens again).
  if (hexScratch.length < 2 * len) hexScratch = new Uint8Array(2 * len);
  const out = hexScratch;
  for (let i = 0, j = 0; i < len; i++, j += 2) {
    const b = buf[off + i]!;
    out[j] = hexDigits[b >> 4]!;
    out[j + 1] = hexDigits[b & 15]!;
  }
  return ascii.decode(out.subarray(0, 2 * len));
}

/** A 16-byte UUID in the canonical 8-4-4-4-12 form. */
export function uuidAt(buf: Uint8Array, off: number): string {
  const h = toHex(buf, off, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The 16 bytes a uuid string (as uuidAt spells it) stands for; undefined when it is not one. */
export function uuidBytes(s: string): Uint8Array | undefined {
  const h = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(h)) return undefined;
  const out = new Uint8Array(16);
  for (let i = 0; i < 16; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function isZero(buf: Uint8Array, off = 0, len = buf.length - off): boolean {
  for (let i = 0; i < len; i++) if (buf[off + i] !== 0) return false;
  return true;
}

export function bytesEqual(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Bytes of a name as text for display; invalid UTF-8 becomes U+FFFD (use the raw bytes for anything exact). */
export function utf8At(buf: Uint8Array, off: number, len: number): string {
  return utf8.decode(buf.subarray(off, off + len));
}

/** A NUL-terminated or fixed-size label field. */
export function cStringAt(buf: Uint8Array, off: number, max: number): string {
  let end = off;
  while (end < off + max && buf[end] !== 0) end++;
  return utf8.decode(buf.subarray(off, end));
}

export function latin1At(buf: Uint8Array, off: number, len: number): string {
  return latin1.decode(buf.subarray(off, off + len));
}

/** The first offset from `from` on where two byte arrays differ (the shorter one's length when one is a prefix of the other), or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array, from: number): number {
  const n = Math.min(a.length, b.length);
  let start = from;
  // Word by word where both are aligned (check compares every copy of every tree block: a byte loop would cost seconds on large images).
  if ((a.byteOffset | b.byteOffset | from) % 4 === 0) {
    const words = (n - from) >> 2;
    const wa = new Uint32Array(a.buffer, a.byteOffset + from, words);
    const wb = new Uint32Array(b.buffer, b.byteOffset + from, words);
    let w = 0;
    // Four words a step while all four agree (the common answer: identical copies), then one by one.
    while (w + 4 <= words && wa[w] === wb[w] && wa[w + 1] === wb[w + 1] && wa[w + 2] === wb[w + 2] && wa[w + 3] === wb[w + 3]) w += 4;
    while (w < words && wa[w] === wb[w]) w++;
    start = from + w * 4;
  }
  for (let i = start; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
