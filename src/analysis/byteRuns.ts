import type { FsView } from '../fs/FsView.js';
import { fileExtents } from '../fs/fileData.js';
import type { InodeRef } from '../fs/types.js';

/**
 * Where a file's bytes lie: the runs forensic formats record (DFXML's
 * byte_run). A run of an uncompressed extent is cut where the chunk map
 * stops being contiguous (a RAID0/10/5/6 stripe unit), so that each run is
 * one range of one device; a compressed extent is one run of its whole disk
 * extent (its bytes cannot be cut by file offset).
 */
export interface ByteRun {
  fileOffset: bigint;
  /** Bytes of the file this run holds (compressed: bytes on disk). */
  length: bigint;
  /** btrfs logical address (the filesystem's address space). */
  logical?: bigint;
  /** First copy: device and byte offset on it. */
  devid?: bigint;
  physical?: bigint;
  /** Compressed extents: the algorithm and the bytes it expands to. */
  compression?: number;
  uncompressedLength?: bigint;
  /** Bytes stored in the tree leaf (inline extent): no address of their own. */
  inline?: boolean;
  /** A hole or preallocated range: reads as zeros. */
  fill?: 0;
  /** No chunk maps the address (damage, or an image without that chunk). */
  unmapped?: boolean;
}

/** Most runs listed for one file: a hostile file of millions of extents gives a bounded list and `truncated`. */
export const MAX_RUNS_PER_FILE = 100_000;

export function fileByteRuns(view: FsView, ref: InodeRef): { runs: ByteRun[]; truncated: boolean } {
  const runs: ByteRun[] = [];
  const volume = view.fs.volume;
  for (const e of fileExtents(view, ref)) {
    if (runs.length >= MAX_RUNS_PER_FILE) return { runs, truncated: true };
    if (e.kind === 'inline') {
      runs.push({ fileOffset: e.fileOffset, length: e.length, inline: true, ...(e.compression ? { compression: e.compression, uncompressedLength: e.ramBytes } : {}) });
      continue;
    }
    if (e.kind === 'hole' || e.kind === 'prealloc' || e.diskBytenr === 0n) {
      runs.push({ fileOffset: e.fileOffset, length: e.length, fill: 0 });
      continue;
    }
    if (e.compression !== 0) {
      const m = volume.map(e.diskBytenr);
      const c = m?.copies[0];
      runs.push({
        fileOffset: e.fileOffset,
        length: e.diskNumBytes,
        logical: e.diskBytenr,
        compression: e.compression,
        uncompressedLength: e.ramBytes,
        ...(c ? { devid: c.devid, physical: c.physical } : { unmapped: true }),
      });
      continue;
    }
    let logical = e.diskBytenr + e.offset;
    let fileOffset = e.fileOffset;
    let left = e.length;
    while (left > 0n && runs.length < MAX_RUNS_PER_FILE) {
      const m = volume.map(logical);
      const c = m?.copies[0];
      if (!m || !c) {
        runs.push({ fileOffset, length: left, logical, unmapped: true });
        break;
      }
      const n = m.contiguous < left ? m.contiguous : left;
      const prev = runs[runs.length - 1];
      // Pieces that continue the previous run on the same device are one run, as FIEMAP merges them.
      if (
        prev &&
        prev.devid === c.devid &&
        prev.physical !== undefined &&
        prev.compression === undefined &&
        prev.logical !== undefined &&
        prev.fileOffset + prev.length === fileOffset &&
        prev.physical + prev.length === c.physical &&
        prev.logical + prev.length === logical
      )
        prev.length += n;
      else runs.push({ fileOffset, length: n, logical, devid: c.devid, physical: c.physical });
      logical += n;
      fileOffset += n;
      left -= n;
    }
  }
  return { runs, truncated: runs.length >= MAX_RUNS_PER_FILE };
}
