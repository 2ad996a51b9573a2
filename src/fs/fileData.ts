import { rule } from '../findingRules.js';
import { asLogical, type Logical } from '../format/addresses.js';
import { csumMatches } from '../format/checksum.js';
import { describe } from '../format/compression/common.js';
import { decompressExtent, MAX_COMPRESSED } from '../format/compression/index.js';
import { Compression, FileExtentType, InodeFlag, ItemType } from '../format/constants.js';
import { decodeFileExtent } from '../format/items/fileExtent.js';
import { U64_MAX } from '../format/key.js';
import type { ItemRef } from '../tree/walk.js';
import { CsumLookup } from './csums.js';
import { EMPTY_SUBVOL_DIR, type FsView } from './FsView.js';
import { itemsFromAtOrBefore } from './treeSearch.js';
import type { Inode, InodeRef, ItemPlace, Xattr } from './types.js';

/** One file extent item, decoded, with the file range it maps. */
export interface FileExtent {
  /** File offset of the first byte (the key offset). */
  fileOffset: bigint;
  /** Bytes of the file this item maps (num_bytes; inline: the data's size). */
  length: bigint;
  kind: 'inline' | 'regular' | 'prealloc' | 'hole';
  /** 0 none, 1 zlib, 2 lzo, 3 zstd. */
  compression: number;
  encryption: number;
  otherEncoding: number;
  generation: bigint;
  ramBytes: bigint;
  /** Regular/prealloc: the extent on disk (logical address and size) and where in it this range starts. */
  diskBytenr: Logical;
  diskNumBytes: bigint;
  offset: bigint;
  /** Inline: the stored (possibly compressed) bytes. */
  inline?: Uint8Array;
  place: ItemPlace;
  errors?: string[];
}

/** A piece of a file's content, in order. */
export type DataSegment =
  | { kind: 'data'; offset: bigint; bytes: Uint8Array }
  /** Bytes that read as zeros: a hole, a preallocated range, or past the last extent. */
  | { kind: 'zero'; offset: bigint; length: bigint; why: 'hole' | 'prealloc' | 'tail' }
  /** Bytes that could not be read correctly (no good copy, corrupt compressed data, no data in the image). */
  | { kind: 'error'; offset: bigint; length: bigint; logical?: bigint; message: string };

export interface ReadOptions {
  /** Verify data checksums (default true; inodes with NODATASUM are never verified). */
  verify?: boolean;
  /** Largest data segment, in bytes (default 1 MiB). */
  chunkSize?: number;
  /** Counters to add to. */
  stats?: ReadStats;
  /**
   * Bytes of the first copy of [logical, +length) that the caller already
   * holds (read ahead, asynchronously), or null to read them here. What it
   * gives is verified like any read, and never modified.
   */
  supply?: (logical: bigint, length: number) => Uint8Array | null;
  /** The inode's file extent items, all of them in key order, when the caller has them (inodeRecord); else they are looked up. */
  extents?: readonly FileExtent[] | null;
}

export interface ReadStats {
  /** Sectors whose checksum matched (first copy or another). */
  verifiedSectors: number;
  /** Sectors read without a checksum to compare (NODATASUM, --no-verify, or none in the csum tree). */
  unverifiedSectors: number;
  /** Sectors whose first copy was bad and another copy good. */
  repairedSectors: number;
  /** Sectors with no good copy. */
  badSectors: number;
}

export function newReadStats(): ReadStats {
  return { verifiedSectors: 0, unverifiedSectors: 0, repairedSectors: 0, badSectors: 0 };
}

const MiB = 1 << 20;

/** The file extent items of an inode from file offset `from` on (the one covering `from` included). */
export function* fileExtents(view: FsView, ref: InodeRef, from = 0n): Generator<FileExtent> {
  const tree = view.tree(ref.subvol);
  if (!tree) return;
  const start = { objectid: ref.ino, type: ItemType.EXTENT_DATA, offset: from };
  const max = { objectid: ref.ino, type: ItemType.EXTENT_DATA, offset: U64_MAX };
  for (const it of itemsFromAtOrBefore(view.fs, tree, start, max)) {
    if (it.block.keyObjectid(it.slot) !== ref.ino || it.block.keyType(it.slot) !== ItemType.EXTENT_DATA) continue;
    const e = extentAt(view, ref, it);
    if (e) yield e;
  }
}

/** Decodes the file extent item of `ref` at `it`; null, with a finding, when it is damaged. */
function extentAt(view: FsView, ref: InodeRef, { block, slot }: ItemRef): FileExtent | null {
  const k = block.key(slot);
  const place = { tree: ref.subvol, block: block.logical, slot };
  const d = decodeFileExtent(k, block.itemData(slot));
  if (d.kind === 'invalid') {
    view.finding({ ...rule('item-invalid'), message: `inode ${ref.ino} of subvolume ${ref.subvol}: file extent at offset ${k.offset}: ${d.reason}`, location: { ...place, key: k } });
    return null;
  }
  const common = {
    fileOffset: k.offset,
    compression: d.compression,
    encryption: d.encryption,
    otherEncoding: d.otherEncoding,
    generation: d.generation,
    ramBytes: d.ramBytes,
    place,
    ...(d.errors ? { errors: d.errors } : {}),
  };
  if (d.body === 'inline') {
    const length = d.compression === Compression.NONE ? BigInt(d.inlineLength) : d.ramBytes;
    return { ...common, kind: 'inline', length, diskBytenr: asLogical(0n), diskNumBytes: 0n, offset: 0n, inline: d.data };
  }
  const kind = d.type === FileExtentType.PREALLOC ? 'prealloc' : d.diskBytenr === 0n ? 'hole' : 'regular';
  return { ...common, kind, length: d.numBytes, diskBytenr: d.diskBytenr, diskNumBytes: d.diskNumBytes, offset: d.offset };
}

/**
 * An inode's items as one pass over its keys finds them: the inode item, its
 * xattrs and its file extent items (all keyed by its objectid, so adjacent in
 * the tree: one search and mostly one leaf, where looking each kind up on its
 * own costs a search from the root each). `xattrs` or `extents` is null when
 * the pass stopped before them: more than RECORD_EXTENTS extent items, or more
 * than RECORD_OTHER items of other kinds (names of a much-linked inode, a
 * directory's entries), or xattrs past RECORD_OTHER entries or RECORD_XATTR_BYTES
 * (a value can be nearly a leaf: records read ahead for many inodes must not hold
 * thousands of them); the caller then looks them up (view.eachXattr,
 * fileExtents), and the memory a record holds stays bounded.
 */
export interface InodeRecord {
  inode: Inode | null;
  xattrs: Xattr[] | null;
  extents: FileExtent[] | null;
}

const RECORD_EXTENTS = 64;
const RECORD_OTHER = 64;
const RECORD_XATTR_BYTES = 64 << 10;

export function inodeRecord(view: FsView, ref: InodeRef): InodeRecord {
  const tree = view.tree(ref.subvol);
  if (!tree || ref.ino === EMPTY_SUBVOL_DIR) return { inode: view.inode(ref, { remember: false }), xattrs: null, extents: null };
  let inode: Inode | null = null;
  let xattrs: Xattr[] | null = [];
  let extents: FileExtent[] | null = [];
  let other = 0;
  let xattrBytes = 0;
  // The type the pass stopped at (none: it went through every item of the inode).
  let stopped = -1;
  for (const it of view.fs.items(tree, { objectid: ref.ino, type: 0, offset: 0n }, { objectid: ref.ino, type: 255, offset: U64_MAX })) {
    const type = it.block.keyType(it.slot);
    if (type === ItemType.INODE_ITEM && it.block.keyOffsetField(it.slot) === 0n) {
      // fs.find looks up (ino, INODE_ITEM, 0) exactly: an inode item at another offset is not the inode.
      inode = view.inodeAt(ref, it);
    } else if (type === ItemType.XATTR_ITEM) {
      if (xattrs.length >= RECORD_OTHER || xattrBytes >= RECORD_XATTR_BYTES) {
        stopped = type;
        break;
      }
      const from = xattrs.length;
      view.xattrsAt(ref, it, xattrs);
      for (let i = from; i < xattrs.length; i++) xattrBytes += xattrs[i]!.name.length + xattrs[i]!.value.length;
    } else if (type === ItemType.EXTENT_DATA && extents.length < RECORD_EXTENTS) {
      const e = extentAt(view, ref, it);
      if (e) extents.push(e);
    } else if (type === ItemType.EXTENT_DATA || ++other > RECORD_OTHER) {
      stopped = type;
      break;
    }
  }
  if (stopped >= 0) {
    extents = null;
    if (stopped <= ItemType.XATTR_ITEM) xattrs = null;
    if (stopped <= ItemType.INODE_ITEM) inode = view.inode(ref, { remember: false });
  }
  return { inode, xattrs, extents };
}

/**
 * Reads a file's bytes as a sequence of segments covering [0, i_size):
 * inline, regular and compressed extents, shared and partial references,
 * holes (implicit and explicit), preallocated ranges and a size cut. Data
 * checksums are verified sector by sector unless the inode has NODATASUM or
 * `verify` is false; a bad sector is read from the next copy (RAID5/6:
 * rebuilt from parity), and when no copy is good the range is an `error`
 * segment naming its logical address. Never throws for bad data.
 */
export function* readFile(view: FsView, inode: Inode, opts: ReadOptions = {}): Generator<DataSegment> {
  const r = new DataReader(view, inode, opts);
  yield* r.segments();
}

class DataReader {
  private readonly verify: boolean;
  private readonly chunk: number;
  private readonly stats: ReadStats;
  private readonly ss: number;
  private readonly csums: CsumLookup;
  private readonly supply: ReadOptions['supply'];
  private readonly extents: readonly FileExtent[] | null;
  private lastCompressed: { key: string; bytes: Uint8Array } | null = null;
  private missingReported = false;

  constructor(
    private readonly view: FsView,
    private readonly inode: Inode,
    opts: ReadOptions,
  ) {
    this.csums = new CsumLookup(view.fs);
    // A btrfs-image dump's csum items are zeroed (also with -d): there is nothing to verify against.
    this.verify = opts.verify !== false && (inode.flags & InodeFlag.NODATASUM) === 0n && this.csums.available && !view.isMetadump;
    this.ss = view.sectorsize;
    const want = opts.chunkSize ?? MiB;
    this.chunk = Math.max(this.ss, Math.floor(want / this.ss) * this.ss);
    this.stats = opts.stats ?? newReadStats();
    this.supply = opts.supply;
    this.extents = opts.extents ?? null;
  }

  private get where(): string {
    return `inode ${this.inode.ino} of subvolume ${this.inode.subvol}`;
  }

  *segments(): Generator<DataSegment> {
    const size = this.inode.size;
    let pos = 0n;
    if (size === 0n) return;
    for (const e of this.extents ?? fileExtents(this.view, this.inode, 0n)) {
      if (e.fileOffset >= size) break;
      const end0 = e.fileOffset + e.length;
      const end = end0 < size ? end0 : size;
      if (end <= pos) continue; // overlapping or empty item: its range is already served
      if (e.fileOffset > pos) {
        yield { kind: 'zero', offset: pos, length: e.fileOffset - pos, why: 'hole' };
        pos = e.fileOffset;
      }
      // [pos, end) is served by this extent; `skip` bytes of it are already done.
      const skip = pos - e.fileOffset;
      yield* this.extent(e, skip, end - pos);
      pos = end;
    }
    if (pos < size) yield { kind: 'zero', offset: pos, length: size - pos, why: 'tail' };
  }

  private *extent(e: FileExtent, skip: bigint, len: bigint): Generator<DataSegment> {
    const at = e.fileOffset + skip;
    if (e.kind === 'hole') {
      yield { kind: 'zero', offset: at, length: len, why: 'hole' };
      return;
    }
    if (e.kind === 'prealloc') {
      yield { kind: 'zero', offset: at, length: len, why: 'prealloc' };
      return;
    }
    if (this.view.isMetadump && (e.kind === 'inline' || !this.view.metadumpHasData)) {
      const message =
        e.kind === 'inline'
          ? 'no inline file data: btrfs-image zeroes inline extents (also with -d)'
          : 'no file data: the image was made by btrfs-image (METADUMP) without -d, which keeps metadata only';
      yield { kind: 'error', offset: at, length: len, message };
      return;
    }
    if (e.encryption !== 0 || e.otherEncoding !== 0) {
      yield {
        kind: 'error',
        offset: at,
        length: len,
        message: `${this.where}: extent at file offset ${e.fileOffset} is encrypted or encoded (encryption ${e.encryption}, other_encoding ${e.otherEncoding}); not supported`,
      };
      return;
    }
    if (e.kind === 'inline') {
      yield* this.inline(e, skip, len);
      return;
    }
    if (e.compression !== Compression.NONE) {
      yield* this.compressed(e, skip, len);
      return;
    }
    yield* this.plain(e, skip, len);
  }

  private *inline(e: FileExtent, skip: bigint, len: bigint): Generator<DataSegment> {
    const at = e.fileOffset + skip;
    let data = e.inline!;
    if (e.compression !== Compression.NONE) {
      try {
        data = decompressExtent(e.compression, data, Number(e.ramBytes > 0x7fffffffn ? 0x7fffffffn : e.ramBytes), this.ss);
      } catch (x) {
        this.view.finding({ ...rule('decompress-failed'), message: `${this.where}: inline extent at file offset ${e.fileOffset}: ${describe(x)}`, location: { ...e.place } });
        yield { kind: 'error', offset: at, length: len, message: `${this.where}: inline extent at file offset ${e.fileOffset}: ${describe(x)}` };
        return;
      }
    }
    const s = Number(skip);
    const n = Number(len);
    const have = Math.max(0, Math.min(n, data.length - s));
    if (have > 0) yield { kind: 'data', offset: at, bytes: data.subarray(s, s + have) };
    if (have < n) yield { kind: 'zero', offset: at + BigInt(have), length: BigInt(n - have), why: 'tail' };
  }

  private *compressed(e: FileExtent, skip: bigint, len: bigint): Generator<DataSegment> {
    const at = e.fileOffset + skip;
    const fail = (message: string, logical?: bigint): DataSegment => ({ kind: 'error', offset: at, length: len, message, ...(logical !== undefined ? { logical } : {}) });
    if (e.diskNumBytes > BigInt(MAX_COMPRESSED) || e.diskNumBytes === 0n) {
      yield fail(`${this.where}: compressed extent at logical ${e.diskBytenr} has disk_num_bytes ${e.diskNumBytes}, outside 1..${MAX_COMPRESSED}`, e.diskBytenr);
      return;
    }
    const from = e.offset + skip;
    if (from + len > e.ramBytes) {
      yield fail(`${this.where}: extent at file offset ${e.fileOffset} references [${e.offset}, +${e.length}) of a compressed extent of ${e.ramBytes} bytes`, e.diskBytenr);
      return;
    }
    const key = `${e.diskBytenr}:${e.diskNumBytes}:${e.compression}:${e.ramBytes}`;
    let plain = this.lastCompressed?.key === key ? this.lastCompressed.bytes : null;
    if (!plain) {
      const r = this.readSectors(e.diskBytenr, Number(e.diskNumBytes));
      if ('error' in r) {
        yield fail(r.error, r.logical);
        return;
      }
      if (r.bad.length) {
        const b = r.bad[0]!;
        yield fail(`${this.where}: checksum mismatch on every copy of compressed extent at logical ${e.diskBytenr} (sector at logical ${b})`, b);
        return;
      }
      try {
        plain = decompressExtent(e.compression, r.bytes, Number(e.ramBytes), this.ss);
      } catch (x) {
        this.view.finding({ ...rule('decompress-failed'), message: `${this.where}: compressed extent at logical ${e.diskBytenr}: ${describe(x)}`, location: { ...e.place, logical: e.diskBytenr } });
        yield fail(`${this.where}: compressed extent at logical ${e.diskBytenr}: ${describe(x)}`, e.diskBytenr);
        return;
      }
      this.lastCompressed = { key, bytes: plain };
    }
    const s = Number(from);
    const total = Number(len);
    for (let o = 0; o < total; o += this.chunk) {
      const n = Math.min(this.chunk, total - o);
      yield { kind: 'data', offset: at + BigInt(o), bytes: plain.subarray(s + o, s + o + n) };
    }
  }

  private *plain(e: FileExtent, skip: bigint, len: bigint): Generator<DataSegment> {
    yield* this.plainRange(e.fileOffset + skip, e.diskBytenr + e.offset + skip, len, BigInt(this.chunk));
  }

  /**
   * File bytes [fileAt, +len) stored uncompressed at logical [logical, +len),
   * read in pieces of at most `piece` bytes. A piece that cannot be read at
   * all is read again stripe by stripe (a missing device holds only some
   * stripes); what still fails is an error segment naming its address.
   */
  private *plainRange(fileAt: bigint, logical: bigint, len: bigint, piece: bigint): Generator<DataSegment> {
    const ss = BigInt(this.ss);
    let left = len;
    while (left > 0n) {
      // Read whole sectors: [aStart, aEnd) covers [logical, logical + n).
      const aStart = logical - (logical % ss);
      const room = piece - (logical - aStart);
      const n = left < room ? left : room > 0n ? room : ss - (logical - aStart);
      const aEnd0 = logical + n;
      const aEnd = aEnd0 % ss === 0n ? aEnd0 : aEnd0 + ss - (aEnd0 % ss);
      const r = this.readSectors(aStart, Number(aEnd - aStart));
      if ('error' in r) {
        const m = this.view.fs.volume.map(logical);
        if (!m) {
          // Unmapped: so is the rest of this extent (one error, not one per piece).
          yield { kind: 'error', offset: fileAt, length: left, logical, message: r.error };
          return;
        }
        if (m.contiguous > 0n && m.contiguous < n) {
          // Several stripes: read each one alone (each such read stays inside one stripe, so
          // when it fails it is an error below, never another split).
          let fa = fileAt,
            lg = logical,
            rem = n;
          while (rem > 0n) {
            const c = this.view.fs.volume.map(lg)?.contiguous ?? rem;
            const k = c > 0n && c < rem ? c : rem;
            yield* this.plainRange(fa, lg, k, k + ss);
            fa += k;
            lg += k;
            rem -= k;
          }
        } else {
          yield { kind: 'error', offset: fileAt, length: n, logical, message: r.error };
        }
      } else {
        const lo = Number(logical - aStart);
        const hi = lo + Number(n);
        if (r.bad.length === 0) {
          yield { kind: 'data', offset: fileAt, bytes: r.bytes.subarray(lo, hi) };
        } else {
          // Serve the good runs, and an error for each bad sector.
          const bad = new Set(r.bad.map((b) => Number((b - aStart) / ss)));
          let runStart = lo;
          for (let p = lo; p < hi; ) {
            const sec = Math.floor(p / this.ss);
            const secEnd = Math.min(hi, (sec + 1) * this.ss);
            if (bad.has(sec)) {
              if (p > runStart) yield { kind: 'data', offset: fileAt + BigInt(runStart - lo), bytes: r.bytes.subarray(runStart, p) };
              const bl = aStart + BigInt(sec) * ss;
              yield {
                kind: 'error',
                offset: fileAt + BigInt(p - lo),
                length: BigInt(secEnd - p),
                logical: bl,
                message: `${this.where}: checksum mismatch on every copy of the sector at logical ${bl} (file offset ${fileAt + BigInt(p - lo)})`,
              };
              runStart = secEnd;
            }
            p = secEnd;
          }
          if (hi > runStart) yield { kind: 'data', offset: fileAt + BigInt(runStart - lo), bytes: r.bytes.subarray(runStart, hi) };
        }
      }
      fileAt += n;
      logical += n;
      left -= n;
    }
  }

  /**
   * Reads whole sectors [logical, +length) from the first readable copy and
   * verifies each against the csum tree; a bad sector is read again from the
   * other copies. Returns the bytes and the sectors with no good copy.
   */
  private readSectors(logical: bigint, length: number): { bytes: Uint8Array; bad: bigint[] } | { error: string; logical: bigint } {
    const vol = this.view.fs.volume;
    const copies = vol.copyCount(logical);
    if (copies === 0) return { error: `${this.where}: logical ${logical} is not in any chunk`, logical };
    let bytes: Uint8Array | null = this.supply?.(logical, length) ?? null;
    if (bytes && bytes.length !== length) bytes = null;
    let used = bytes ? 0 : -1;
    let why = '';
    for (let c = 0; c < copies && !bytes; c++) {
      const r = vol.readCopy(logical, length, c);
      if (r.bytes) {
        bytes = r.bytes;
        used = c;
      } else why = r.error ?? 'unreadable';
    }
    if (!bytes) {
      this.view.finding({ ...rule('data-unreadable'), message: `${this.where}: data at logical ${logical} +${length}: ${why}`, location: { logical } });
      return { error: `${this.where}: data at logical ${logical} cannot be read: ${why}`, logical };
    }
    const sectors = Math.ceil(length / this.ss);
    if (!this.verify) {
      this.stats.unverifiedSectors += sectors;
      return { bytes, bad: [] };
    }
    const cs = this.csums.lookup(logical, sectors);
    const type = this.view.fs.superblock.csumType;
    const bad: bigint[] = [];
    let missing = 0;
    let mended = false;
    for (let i = 0; i < sectors; i++) {
      if (!cs.present[i]) {
        missing++;
        continue;
      }
      const sec = bytes.subarray(i * this.ss, (i + 1) * this.ss);
      if (csumMatches(type, sec, cs.csums, i * cs.csumSize)) {
        this.stats.verifiedSectors++;
        continue;
      }
      const at = logical + BigInt(i * this.ss);
      let fixed = false;
      const n = vol.copyCount(at);
      for (let c = 0; c < n && !fixed; c++) {
        if (c === used) continue;
        const r = vol.readCopy(at, this.ss, c);
        if (r.bytes && csumMatches(type, r.bytes, cs.csums, i * cs.csumSize)) {
          // A source may hand out its own memory (an in-memory image): mend a private copy, never the source.
          if (!mended) {
            bytes = bytes.slice();
            mended = true;
          }
          bytes.set(r.bytes, i * this.ss);
          fixed = true;
          this.stats.repairedSectors++;
          this.stats.verifiedSectors++;
          this.view.finding({
            ...rule('data-csum', 'warning'),
            repairable: true,
            message: `${this.where}: data checksum mismatch at logical ${at} copy ${used + 1}; copy ${c + 1}${r.rebuilt ? ' (rebuilt from parity)' : ''} is good`,
            location: { logical: at, copy: used },
          });
        }
      }
      if (!fixed) {
        bad.push(at);
        this.stats.badSectors++;
        this.view.finding({ ...rule('data-csum'), message: `${this.where}: data checksum mismatch at logical ${at} on every copy (${n})`, location: { logical: at } });
      }
    }
    if (missing) {
      this.stats.unverifiedSectors += missing;
      if (!this.missingReported) {
        this.missingReported = true;
        this.view.finding({
          ...rule('data-csum-missing', 'warning'),
          message: `${this.where}: no data checksum for ${missing} sector(s) from logical ${logical} (the inode does not have NODATASUM)`,
          location: { logical },
        });
      }
    }
    return { bytes, bad };
  }
}

/** A file's whole content in memory (for small things: symlink targets, tests); stops at `max` bytes. */
export function readAll(view: FsView, inode: Inode, opts: ReadOptions & { max?: number } = {}): { bytes: Uint8Array; errors: DataSegment[] } {
  const max = opts.max ?? 64 * MiB;
  const size = inode.size < BigInt(max) ? Number(inode.size) : max;
  const out = new Uint8Array(size);
  const errors: DataSegment[] = [];
  for (const s of readFile(view, inode, opts)) {
    if (s.offset >= BigInt(size)) break;
    const o = Number(s.offset);
    if (s.kind === 'data') out.set(s.bytes.subarray(0, size - o), o);
    else if (s.kind === 'error') errors.push(s);
  }
  return { bytes: out, errors };
}

/** A symlink's target (null when the inode is not a symlink or the target is unreadable). */
export function symlinkTarget(view: FsView, inode: Inode | null): Uint8Array | null {
  if (inode?.kind !== 'symlink') return null;
  const r = readAll(view, inode, { max: 65536 });
  return r.errors.length ? null : r.bytes;
}
