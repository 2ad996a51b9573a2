import CRC32C from 'crc-32/crc32c.js';
import { NAME_LEN } from '../format/constants.js';

/**
 * Names in btrfs are byte strings (no encoding is imposed). These helpers
 * hash them as the on-disk format does, check whether a name is safe to
 * create on a host, and show them to people without losing bytes.
 */

const encoder = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const utf8 = new TextDecoder('utf-8');

/**
 * btrfs_name_hash: crc32c seeded with ~1, without the final inversion; the
 * key offset of DIR_ITEM and XATTR_ITEM items. (The crc-32 library computes
 * ~crc(~seed, data), so a raw crc seeded with S is ~lib(data, ~S).)
 */
export function nameHash(name: Uint8Array): bigint {
  return BigInt(~CRC32C.buf(name, 1) >>> 0);
}

export function utf8Bytes(s: string): Uint8Array {
  return encoder.encode(s);
}

export function bytesEqualAll(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Why a directory entry name cannot be created as one path component on a
 * host, or null when it can: empty, "." or "..", containing "/" or NUL, or
 * longer than 255 bytes.
 */
export function unsafeNameReason(name: Uint8Array): string | null {
  if (name.length === 0) return 'empty name';
  if (name.length > NAME_LEN) return `name is ${name.length} bytes, longer than ${NAME_LEN}`;
  if (name.length === 1 && name[0] === 0x2e) return 'name is "."';
  if (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) return 'name is ".."';
  for (let i = 0; i < name.length; i++) {
    if (name[i] === 0x2f) return 'name contains "/"';
    if (name[i] === 0) return 'name contains a NUL byte';
  }
  return null;
}

/** True when the bytes are valid UTF-8. */
export function isUtf8(b: Uint8Array): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/**
 * How byte strings (names, paths, symlink targets, xattr names) become text.
 * ONE rule, in three forms for three readers; every text output goes through
 * it. Bytes that are valid UTF-8 and printable are written as they are; every
 * other byte is written \xNN, so nothing is lost and parsePath reads it back.
 *
 * - `display`: for people (tables, listings, messages, stderr). Also escaped:
 *   control characters (C0, DEL and C1: a newline or an escape sequence in a
 *   name would garble a terminal) and the backslash itself (so a \xNN in the
 *   text always stands for one byte).
 * - `json`: JSON strings escape controls themselves, so only bytes that are not
 *   UTF-8 are escaped; when the text is not the exact bytes a base64 field is
 *   written beside it (see `jsonText`).
 * - `bodyfile`: The Sleuth Kit's body file (fields split at "|"): as `display`,
 *   but the backslash is written as it is (TSK writes names as they are; mactime
 *   shows them so) and "|" is escaped (it would split the line).
 *
 * "/" is never escaped in a byte string: a symlink target holds it. Only a path
 * component (a directory entry name, which btrfs never lets hold "/") escapes a
 * "/" in it, since the joined path would otherwise show a different path.
 */
export type TextStyle = 'display' | 'json' | 'bodyfile';

/** U+200E, U+200F, U+202A..U+202E, U+2066..U+2069 at b[i] (a 3-byte UTF-8 sequence). */
function isBidiControl(b: Uint8Array, i: number): boolean {
  if (b[i] !== 0xe2) return false;
  const x = b[i + 1]!,
    y = b[i + 2]!;
  return (x === 0x80 && (y === 0x8e || y === 0x8f || (y >= 0xaa && y <= 0xae))) || (x === 0x81 && y >= 0xa6 && y <= 0xa9);
}

function escapeBytes(b: Uint8Array, style: TextStyle, component: boolean): string {
  // Built as UTF-8 bytes (escapes as ASCII, valid sequences copied) and decoded once: a string
  // appended a piece at a time is a rope of one node per piece, which a long path multiplies.
  const out = new Uint8Array(4 * b.length);
  let o = 0;
  const hexEscape = (c: number) => {
    out[o++] = 0x5c;
    out[o++] = 0x78;
    out[o++] = HEX_DIGIT[c >> 4]!;
    out[o++] = HEX_DIGIT[c & 15]!;
  };
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      const esc = (component && c === 0x2f) || (style === 'json' ? false : c < 0x20 || c === 0x7f || (style === 'display' ? c === 0x5c : c === 0x7c));
      if (esc) hexEscape(c);
      else out[o++] = c;
      i++;
      continue;
    }
    const n = utf8SeqLen(b, i);
    // U+0080..U+009F (C1 controls) are two bytes, c2 80..c2 9f; the bidirectional controls that can
    // make a terminal show text in another order than it is (U+200E/F, U+202A..E, U+2066..9) are three.
    if (n === 0 || (style !== 'json' && ((c === 0xc2 && b[i + 1]! < 0xa0) || (n === 3 && isBidiControl(b, i))))) {
      const k = n === 0 ? 1 : n;
      for (let j = 0; j < k; j++) hexEscape(b[i + j]!);
      i += k;
    } else {
      for (let j = 0; j < n; j++) out[o++] = b[i + j]!;
      i += n;
    }
  }
  return utf8.decode(out.subarray(0, o));
}

const HEX_DIGIT = new TextEncoder().encode('0123456789abcdef');

/** A byte string (symlink target, xattr name, any name) as text for people; "/" stays "/". */
export function displayText(b: Uint8Array): string {
  return escapeBytes(b, 'display', false);
}

/** One path component (a directory entry name) as text for people; a "/" in it (never in a sound image) is \x2f. */
export function displayName(b: Uint8Array): string {
  return escapeBytes(b, 'display', true);
}

/** A JSON string of a byte string, and whether it is the exact bytes (else give base64 beside it). */
export function jsonText(b: Uint8Array, component = false): { text: string; exact: boolean } {
  const text = escapeBytes(b, 'json', component);
  // With no \xNN written the text is the bytes decoded: exact. A literal "\x" in a name is exact too.
  return { text, exact: isUtf8(b) && !(component && b.includes(0x2f)) };
}

/** A path as a JSON string, and whether it is exact. */
export function jsonPath(components: readonly Uint8Array[]): { text: string; exact: boolean } {
  if (components.length === 0) return { text: '/', exact: true };
  let exact = true;
  const text =
    '/' +
    components
      .map((c) => {
        const t = jsonText(c, true);
        exact &&= t.exact;
        return t.text;
      })
      .join('/');
  return { text, exact };
}

/** A byte string for a TSK body-file field ("|" and controls escaped, backslash as is). */
export function bodyfileText(b: Uint8Array): string {
  return escapeBytes(b, 'bodyfile', false);
}

/** A path for a TSK body-file field. */
export function bodyfilePath(components: readonly Uint8Array[]): string {
  if (components.length === 0) return '/';
  return '/' + components.map((c) => escapeBytes(c, 'bodyfile', true)).join('/');
}

/** Any text of ours (a message, a placeholder) made safe for a body-file field. */
export function bodyfileString(s: string): string {
  return bodyfileText(encoder.encode(s));
}

/** Length of the valid UTF-8 sequence starting at b[i] (2..4), or 0. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i]!;
  let n: number, min: number;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    min = 0x80;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    min = 0x800;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    min = 0x10000;
  } else return 0;
  if (i + n > b.length) return 0;
  let cp = c & (n === 2 ? 0x1f : n === 3 ? 0x0f : 0x07);
  for (let k = 1; k < n; k++) {
    const x = b[i + k]!;
    if ((x & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (x & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/** Joins path components (bytes) with "/" for people; the root is "/". */
export function displayPath(components: readonly Uint8Array[]): string {
  if (components.length === 0) return '/';
  return '/' + components.map(displayName).join('/');
}

/** The bytes of a path: components joined with "/". */
export function pathBytes(components: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of components) n += c.length + 1;
  const out = new Uint8Array(Math.max(0, n - 1));
  let p = 0;
  components.forEach((c, i) => {
    if (i > 0) out[p++] = 0x2f;
    out.set(c, p);
    p += c.length;
  });
  return out;
}

/**
 * Splits a path typed by a person into components (bytes). "/" separates
 * components; empty components and "." are dropped; ".." is kept (the
 * resolver walks back up). A \xNN escape stands for one byte, so names that
 * are not UTF-8 can be typed as `displayName` shows them; "\\" is a backslash.
 */
export function parsePath(s: string, opts: { escapes?: boolean } = {}): Uint8Array[] {
  const parts = s.split('/');
  const out: Uint8Array[] = [];
  for (const p of parts) {
    if (p === '' || p === '.') continue;
    out.push(opts.escapes ? unescapeName(p) : utf8Bytes(p));
  }
  return out;
}

/** True when a typed path uses \xNN escapes (so a second, unescaped reading may differ). */
export function hasEscapes(s: string): boolean {
  return /\\x[0-9a-fA-F]{2}|\\\\/.test(s);
}

function unescapeName(p: string): Uint8Array {
  const bytes: number[] = [];
  let i = 0;
  while (i < p.length) {
    if (p[i] === '\\' && p[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(p.slice(i + 2, i + 4))) {
      bytes.push(parseInt(p.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (p[i] === '\\' && p[i + 1] === '\\') {
      bytes.push(0x5c);
      i += 2;
    } else {
      const cp = p.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      for (const b of encoder.encode(ch)) bytes.push(b);
      i += ch.length;
    }
  }
  return Uint8Array.from(bytes);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (with padding), without Node's Buffer. */
export function toBase64(b: Uint8Array): string {
  // Written as ASCII bytes and decoded once (a flat string, not a rope of one node per 4 characters).
  const out = new Uint8Array(4 * Math.ceil(b.length / 3));
  let o = 0;
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out[o++] = B64_BYTES[n >> 18]!;
    out[o++] = B64_BYTES[(n >> 12) & 63]!;
    out[o++] = B64_BYTES[(n >> 6) & 63]!;
    out[o++] = B64_BYTES[n & 63]!;
  }
  const rest = b.length - i;
  if (rest > 0) {
    const n = (b[i]! << 16) | (rest === 2 ? b[i + 1]! << 8 : 0);
    out[o++] = B64_BYTES[n >> 18]!;
    out[o++] = B64_BYTES[(n >> 12) & 63]!;
    out[o++] = rest === 2 ? B64_BYTES[(n >> 6) & 63]! : 0x3d;
    out[o++] = 0x3d;
  }
  return utf8.decode(out);
}

const B64_BYTES = new TextEncoder().encode(B64);

/** Bytes of standard base64 (padding optional); characters outside the alphabet are skipped. */
export function fromBase64(s: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of s) {
    const v = B64.indexOf(ch);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}
