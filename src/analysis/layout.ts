import { Compression } from '../format/constants.js';
import type { FsView } from '../fs/FsView.js';
import { type FileExtent, fileExtents } from '../fs/fileData.js';
import type { InodeRef } from '../fs/types.js';
import type { PhysicalCopy } from '../volume/ChunkMap.js';
import { bitsOf, isSharedExtent, type SharingResult } from './sharing.js';

/**
 * A file's extent layout: every EXTENT_DATA item with where its bytes are
 * on the devices, and the extents the kernel's FIEMAP would report for it
 * (what `filefrag -v` prints).
 */

export type FiemapFlag = 'last' | 'shared' | 'encoded' | 'inline' | 'not_aligned' | 'unwritten' | 'eof';

/**
 * The order filefrag prints flags in (e2fsprogs print_extent_info: FIEMAP_EXTENT_LAST, ENCODED,
 * NOT_ALIGNED, DATA_INLINE, UNWRITTEN, SHARED, ...), then its own "eof" (the extent reaches
 * st_size). The btrfs FIEMAP sets no others.
 */
const FLAG_ORDER: readonly FiemapFlag[] = ['last', 'encoded', 'not_aligned', 'inline', 'unwritten', 'shared', 'eof'];

function ordered(flags: Iterable<FiemapFlag>): FiemapFlag[] {
  const set = new Set(flags);
  return FLAG_ORDER.filter((f) => set.has(f));
}

/** One FIEMAP extent (byte units; `physical` is the btrfs logical address, 0 for inline). */
export interface FiemapExtent {
  logical: bigint;
  physical: bigint;
  length: bigint;
  /** In filefrag's order, "eof" included. */
  flags: FiemapFlag[];
  /**
   * Where filefrag expected this extent to start when it does not continue the previous one
   * (the previous extent's physical start plus the logical distance), null when it does; such
   * an extent is one more in filefrag's "N extents found".
   */
  expected: bigint | null;
}

export interface LayoutExtent {
  fileOffset: bigint;
  length: bigint;
  kind: FileExtent['kind'];
  compression: number;
  diskBytenr: bigint;
  diskNumBytes: bigint;
  /** Offset of this file range in the (uncompressed) extent. */
  offset: bigint;
  ramBytes: bigint;
  /** Every copy of the range's first byte (device, physical offset); RAID5/6: the data stripe. */
  copies: PhysicalCopy[];
  /** Shared as FIEMAP says, and the subvolumes reaching the extent (when sharing was analysed). */
  shared: boolean | null;
  sharedWith: bigint[];
  otherInodes: boolean;
}

export interface FileLayout {
  extents: LayoutExtent[];
  fiemap: FiemapExtent[];
  /** Runs of file data contiguous on disk (FIEMAP extents after merging), and how many breaks between them. */
  runs: number;
  fragmentation: number;
}

/** Inline extents: FIEMAP gives one block (the kernel rounds the inline data up to sectorsize). */
function fiemapOf(e: FileExtent, sectorsize: bigint, shared: boolean): FiemapExtent | null {
  if (e.kind === 'hole') return null;
  const flags: FiemapFlag[] = [];
  if (e.kind === 'inline') {
    if (e.compression !== Compression.NONE) flags.push('encoded');
    flags.push('not_aligned', 'inline');
    const len = ((e.length + sectorsize - 1n) / sectorsize) * sectorsize;
    return { logical: e.fileOffset, physical: 0n, length: len, flags, expected: null };
  }
  if (shared) flags.push('shared');
  const encoded = e.compression !== Compression.NONE;
  if (encoded) flags.push('encoded');
  if (e.kind === 'prealloc') flags.push('unwritten');
  // A compressed extent cannot be addressed inside: FIEMAP gives its start.
  return { logical: e.fileOffset, physical: encoded ? e.diskBytenr : e.diskBytenr + e.offset, length: e.length, flags: ordered(flags), expected: null };
}

/**
 * FIEMAP merges an extent into the previous one when both the file range
 * and the disk range continue it and the flags are the same
 * (emit_fiemap_extent); the last extent gets `last`. `size` (st_size) gives
 * filefrag's "eof" to each extent reaching it.
 */
export function mergeFiemap(list: FiemapExtent[], size?: bigint): FiemapExtent[] {
  const out: FiemapExtent[] = [];
  for (const x of list) {
    const p = out[out.length - 1];
    if (p && p.physical !== 0n && p.logical + p.length === x.logical && p.physical + p.length === x.physical && p.flags.join() === x.flags.join()) {
      p.length += x.length;
    } else out.push({ ...x, flags: [...x.flags] });
  }
  const last = out[out.length - 1];
  if (last) last.flags = ordered([...last.flags, 'last']);
  if (size !== undefined) for (const f of out) if (f.logical + f.length >= size) f.flags = ordered([...f.flags, 'eof']);
  filefragExpected(out);
  return out;
}

/**
 * filefrag's "expected" column and extent count (e2fsprogs filefrag_fiemap):
 * an extent at a non-zero file offset that starts neither where the previous
 * one's physical start plus the logical distance puts it nor right after the
 * previous one's end is a discontinuity; it shows where it was expected and
 * counts as one more extent. Before the first extent "previous" is all zeros.
 */
function filefragExpected(list: FiemapExtent[]): void {
  let prev = { logical: 0n, physical: 0n, length: 0n };
  for (const f of list) {
    const expected = prev.physical + f.logical - prev.logical;
    f.expected = f.logical !== 0n && f.physical !== expected && f.physical !== prev.physical + prev.length ? expected : null;
    prev = f;
  }
}

/** filefrag's "N extents found": one, plus one per discontinuity; none for no extent. */
export function filefragCount(list: readonly FiemapExtent[]): number {
  if (list.length === 0) return 0;
  const breaks = list.filter((f) => f.expected !== null).length;
  // The first counted extent is either a discontinuity itself or the "1" filefrag starts from.
  return list[0]!.expected !== null ? breaks : breaks + 1;
}

/** The extent layout of one file; `sharing` (from analyzeSharing) adds the shared flags. */
export function fileLayout(view: FsView, ref: InodeRef, sharing: SharingResult | null, size?: bigint): FileLayout {
  const ss = BigInt(view.sectorsize);
  const volume = view.fs.volume;
  const extents: LayoutExtent[] = [];
  const raw: FiemapExtent[] = [];
  for (const e of fileExtents(view, ref)) {
    const use = e.kind === 'regular' || e.kind === 'prealloc' ? sharing?.extents.get(e.diskBytenr) : undefined;
    const shared = use ? isSharedExtent(use) : sharing ? false : null;
    const first = e.kind === 'regular' || e.kind === 'prealloc' ? e.diskBytenr + (e.compression === Compression.NONE ? e.offset : 0n) : null;
    const m = first !== null ? volume.map(first) : undefined;
    extents.push({
      fileOffset: e.fileOffset,
      length: e.length,
      kind: e.kind,
      compression: e.compression,
      diskBytenr: e.diskBytenr,
      diskNumBytes: e.diskNumBytes,
      offset: e.offset,
      ramBytes: e.ramBytes,
      copies: m ? m.copies : [],
      shared,
      sharedWith: use && sharing ? bitsOf(use.mask).map((i) => sharing.subvols[i]!.id) : [],
      otherInodes: use?.multiInode ?? false,
    });
    const f = fiemapOf(e, ss, shared === true);
    if (f) raw.push(f);
  }
  const fiemap = mergeFiemap(raw, size ?? view.inode(ref)?.size);
  let runs = 0;
  for (const f of fiemap) if (!f.flags.includes('inline')) runs++;
  return { extents, fiemap, runs, fragmentation: Math.max(0, runs - 1) };
}
