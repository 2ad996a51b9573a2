import type { FsView } from '../../../src/fs/FsView.js';
import { readAll, symlinkTarget } from '../../../src/fs/fileData.js';
import type { Located } from '../../../src/fs/select.js';
import type { Inode } from '../../../src/fs/types.js';
import { walkFiles } from '../../../src/fs/walk.js';

/**
 * A directory as a POSIX tar (pax interchange format, POSIX.1-2001): a ustar
 * header per entry, each preceded by a pax extended header carrying the exact
 * name bytes (any length, not UTF-8 too: hdrcharset=BINARY), the
 * nanosecond mtime and sizes past ustar's 8 GiB. Regular files, directories,
 * symlinks and fifos; device nodes and sockets are listed as skipped (their
 * numbers are not a browser download's business). Hard links are written as
 * copies. Built in memory, bounded by `max` bytes of file data.
 */

const BLOCK = 512;
const enc = new TextEncoder();

/** An octal field of `width` bytes: digits, zero-padded, then a NUL. */
function octal(h: Uint8Array, off: number, width: number, v: bigint | number): void {
  const s = BigInt(v)
    .toString(8)
    .padStart(width - 1, '0');
  // Too large for the field: the pax header carries the value; ustar readers see 0.
  h.set(enc.encode(s.length > width - 1 ? '0'.repeat(width - 1) : s), off);
}

function ascii(h: Uint8Array, off: number, width: number, b: Uint8Array): void {
  h.set(b.subarray(0, width), off);
}

/** One pax record: "<length> <key>=<value>\n", the length counting itself. */
function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const body = value.length + key.length + 3; // ' ', '=', '\n'
  let n = body + String(body).length;
  if (String(n).length !== String(body).length) n = body + String(n).length;
  const out = new Uint8Array(n);
  out.set(enc.encode(`${n} ${key}=`), 0);
  out.set(value, n - value.length - 1);
  out[n - 1] = 0x0a;
  return out;
}

/** The ustar header: name (truncated; the pax header has it whole), mode, owner, size, mtime, type, link, checksum. */
function header(name: Uint8Array, type: string, mode: number, uid: number, gid: number, size: bigint, mtime: bigint, link: Uint8Array = new Uint8Array(0)): Uint8Array {
  const h = new Uint8Array(BLOCK);
  ascii(h, 0, 100, name);
  octal(h, 100, 8, mode & 0o7777);
  octal(h, 108, 8, uid);
  octal(h, 116, 8, gid);
  octal(h, 124, 12, size);
  octal(h, 136, 12, mtime < 0n ? 0n : mtime);
  h.fill(0x20, 148, 156);
  h[156] = type.charCodeAt(0);
  ascii(h, 157, 100, link);
  h.set(enc.encode('ustar\u000000'), 257);
  let sum = 0;
  for (const b of h) sum += b;
  h.set(enc.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return h;
}

const pad = (n: number) => (BLOCK - (n % BLOCK)) % BLOCK;

function isUtf8(b: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

function join(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, -1));
  let o = 0;
  parts.forEach((p, i) => {
    if (i) out[o++] = 0x2f;
    out.set(p, o);
    o += p.length;
  });
  return out;
}

export interface TarResult {
  bytes: Uint8Array;
  entries: number;
  skipped: string[];
  /** Files with ranges no copy reads correctly (written as zeros there). */
  unreadable: string[];
}

export function tarOf(view: FsView, at: Extract<Located, { ok: true }>, rootName: Uint8Array, max: number): TarResult {
  const out: Uint8Array[] = [];
  let total = 0;
  let entries = 0;
  const skipped: string[] = [];
  const unreadable: string[] = [];
  const dec = new TextDecoder();
  const push = (b: Uint8Array) => {
    out.push(b);
    total += b.length;
  };
  const entry = (path: Uint8Array, inode: Inode, type: string, data: Uint8Array | null, link?: Uint8Array) => {
    const name = type === '5' ? new Uint8Array([...path, 0x2f]) : path;
    const size = data ? BigInt(data.length) : 0n;
    const records: Uint8Array[] = [paxRecord('path', name), paxRecord('mtime', enc.encode(`${inode.mtime.sec}.${String(inode.mtime.nsec).padStart(9, '0')}`))];
    if (link) records.push(paxRecord('linkpath', link));
    if (!isUtf8(name) || (link && !isUtf8(link))) records.unshift(paxRecord('hdrcharset', enc.encode('BINARY')));
    if (size >= 8n ** 11n) records.push(paxRecord('size', enc.encode(String(size))));
    const pax = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    let o = 0;
    for (const r of records) {
      pax.set(r, o);
      o += r.length;
    }
    push(header(enc.encode(`PaxHeader/${entries}`), 'x', 0o644, 0, 0, BigInt(pax.length), inode.mtime.sec));
    push(pax);
    push(new Uint8Array(pad(pax.length)));
    push(header(name, type, inode.mode, inode.uid, inode.gid, size, inode.mtime.sec, link));
    if (data) {
      push(data);
      push(new Uint8Array(pad(data.length)));
    }
    entries++;
  };
  let dataBytes = 0;
  for (const item of walkFiles(view, at.ref)) {
    const path = join([rootName, ...item.path]);
    const inode = item.inode;
    if (!inode) {
      skipped.push(`${dec.decode(path)}: inode unreadable`);
      continue;
    }
    switch (inode.kind) {
      case 'dir':
        entry(path, inode, '5', null);
        break;
      case 'file': {
        dataBytes += Number(inode.size);
        if (dataBytes > max) throw new Error(`more than ${max} bytes of file data below this directory: use "btrfs-inspect extract" for it`);
        const r = readAll(view, inode, { max: Number(inode.size) });
        if (r.errors.length) unreadable.push(dec.decode(path));
        entry(path, inode, '0', r.bytes);
        break;
      }
      case 'symlink':
        entry(path, inode, '2', null, symlinkTarget(view, inode) ?? new Uint8Array(0));
        break;
      case 'fifo':
        entry(path, inode, '6', null);
        break;
      default:
        skipped.push(`${dec.decode(path)}: ${inode.kind}`);
    }
  }
  // The end of the archive: two zero blocks.
  push(new Uint8Array(2 * BLOCK));
  const bytes = new Uint8Array(total);
  let o = 0;
  for (const b of out) {
    bytes.set(b, o);
    o += b.length;
  }
  return { bytes, entries, skipped, unreadable };
}
