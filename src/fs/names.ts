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
  return BigInt((~CRC32C.buf(name, 1)) >>> 0);
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

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/**
 * A name as text: valid UTF-8 stays as it is; every byte that is not part
 * of valid UTF-8 becomes \xNN, and so do "/" and NUL (which a name cannot
 * hold). With `controls`, C0 controls, DEL and the backslash are escaped too (for tables and terminals, where a newline or an
 * escape sequence in a name would garble the output).
 */
export function displayName(b: Uint8Array, opts: { controls?: boolean } = {}): string {
  const controls = opts.controls ?? false;
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      // "/" and NUL cannot be in a name: shown escaped, so a path made of names stays unambiguous.
      if (c === 0x2f || c === 0 || (controls && (c < 0x20 || c === 0x7f || c === 0x5c))) out += `\\x${hex2(c)}`;
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = utf8SeqLen(b, i);
    if (n === 0) {
      out += `\\x${hex2(c)}`;
      i++;
    } else {
      out += utf8.decode(b.subarray(i, i + n));
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at b[i] (2..4), or 0. */
function utf8SeqLen(b: Uint8Array, i: number): number {
  const c = b[i]!;
  let n: number, min: number;
  if (c >= 0xc2 && c <= 0xdf) { n = 2; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { n = 3; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { n = 4; min = 0x10000; }
  else return 0;
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

/** Joins path components (bytes) with "/" for display; the root is "/". */
export function displayPath(components: readonly Uint8Array[], opts: { controls?: boolean } = {}): string {
  if (components.length === 0) return '/';
  return '/' + components.map((c) => displayName(c, opts)).join('/');
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
  let out = '';
  let i = 0;
  for (; i + 2 < b.length; i += 3) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + B64[n & 63]!;
  }
  const rest = b.length - i;
  if (rest === 1) {
    const n = b[i]! << 16;
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + '==';
  } else if (rest === 2) {
    const n = (b[i]! << 16) | (b[i + 1]! << 8);
    out += B64[n >> 18]! + B64[(n >> 12) & 63]! + B64[(n >> 6) & 63]! + '=';
  }
  return out;
}

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
