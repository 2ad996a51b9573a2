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
  const m = new FiemapMerger(size, (f) => out.push(f));
  for (const x of list) m.push(x);
  m.end();
  return out;
}

/**
 * mergeFiemap one extent at a time: each merged extent goes to `emit` once nothing can join it,
 * so a file of a million extents is never held whole. Also filefrag's "expected" column
 * (e2fsprogs filefrag_fiemap): an extent at a non-zero file offset that starts neither where
 * the previous one's physical start plus the logical distance puts it nor right after the
 * previous one's end is a discontinuity; it shows where it was expected and counts as one more
 * extent. Before the first extent "previous" is all zeros.
 */
export class FiemapMerger {
  private pending: FiemapExtent | undefined;
  private prev = { logical: 0n, physical: 0n, length: 0n };
  /** Merged extents emitted, those not inline (runs on disk), and discontinuities. */
  count = 0;
  runs = 0;
  private breaks = 0;
  private firstBreaks = false;
  constructor(
    private readonly size: bigint | undefined,
    private readonly emit: (f: FiemapExtent) => void = () => {},
  ) {}

  push(x: FiemapExtent): void {
    const p = this.pending;
    if (p && p.physical !== 0n && p.logical + p.length === x.logical && p.physical + p.length === x.physical && p.flags.join() === x.flags.join()) {
      p.length += x.length;
      return;
    }
    if (p) this.out(p, false);
    this.pending = { ...x, flags: [...x.flags] };
  }

  end(): void {
    if (this.pending) this.out(this.pending, true);
    this.pending = undefined;
  }

  /** filefrag's "N extents found" (filefragCount of what was emitted). */
  get filefragCount(): number {
    if (this.count === 0) return 0;
    return this.firstBreaks ? this.breaks : this.breaks + 1;
  }

  private out(f: FiemapExtent, last: boolean): void {
    if (last) f.flags = ordered([...f.flags, 'last']);
    if (this.size !== undefined && f.logical + f.length >= this.size) f.flags = ordered([...f.flags, 'eof']);
    const prev = this.prev;
    const expected = prev.physical + f.logical - prev.logical;
    f.expected = f.logical !== 0n && f.physical !== expected && f.physical !== prev.physical + prev.length ? expected : null;
    this.prev = f;
    if (f.expected !== null) {
      this.breaks++;
      if (this.count === 0) this.firstBreaks = true;
    }
    this.count++;
    if (!f.flags.includes('inline')) this.runs++;
    this.emit(f);
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
  const extents: LayoutExtent[] = [];
  const fiemap: FiemapExtent[] = [];
  const m = streamLayout(
    view,
    ref,
    sharing,
    size ?? view.inode(ref)?.size,
    (e) => extents.push(e),
    (f) => fiemap.push(f),
  );
  return { extents, fiemap, runs: m.runs, fragmentation: Math.max(0, m.runs - 1) };
}

/**
 * fileLayout one extent at a time: each EXTENT_DATA item's layout to `onExtent` (when given),
 * each merged FIEMAP extent to `onFiemap`; the merger that is returned has the counts (runs,
 * filefrag's extent count). Nothing is kept per extent: memory does not grow with the file's
 * extent count (a deduplicated file can have millions).
 */
export function streamLayout(
  view: FsView,
  ref: InodeRef,
  sharing: SharingResult | null,
  size: bigint | undefined,
  onExtent?: (e: LayoutExtent) => void,
  onFiemap?: (f: FiemapExtent) => void,
): FiemapMerger {
  const ss = BigInt(view.sectorsize);
  const volume = view.fs.volume;
  const merger = new FiemapMerger(size, onFiemap);
  for (const e of fileExtents(view, ref)) {
    const use = e.kind === 'regular' || e.kind === 'prealloc' ? sharing?.extents.get(e.diskBytenr) : undefined;
    const shared = use ? isSharedExtent(use) : sharing ? false : null;
    const first = e.kind === 'regular' || e.kind === 'prealloc' ? e.diskBytenr + (e.compression === Compression.NONE ? e.offset : 0n) : null;
    const m = first !== null && onExtent ? volume.map(first) : undefined;
    onExtent?.({
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
    if (f) merger.push(f);
  }
  merger.end();
  return merger;
}
