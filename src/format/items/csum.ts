import type { Key } from '../key.js';

/**
 * EXTENT_CSUM: key (EXTENT_CSUM, EXTENT_CSUM, logical start); the item is an
 * array of per-sector data checksums, csumSize bytes each, covering
 * [start, start + count * sectorsize).
 */
export interface ExtentCsumDecoded {
  kind: 'extent_csum';
  /** Logical address of the first sector covered. */
  start: bigint;
  /** End (exclusive) of the covered range: start + count * sectorsize. */
  end: bigint;
  csumSize: number;
  sectorsize: number;
  /** Number of whole checksums in the item. */
  count: number;
  /** The checksums back to back (count * csumSize bytes, a view of the item). */
  csums: Uint8Array;
  errors?: string[];
}

export function decodeExtentCsum(key: Key, data: Uint8Array, csumSize: number, sectorsize: number): ExtentCsumDecoded {
  const count = csumSize > 0 ? Math.floor(data.length / csumSize) : 0;
  const r: ExtentCsumDecoded = {
    kind: 'extent_csum',
    start: key.offset,
    end: key.offset + BigInt(count) * BigInt(sectorsize),
    csumSize,
    sectorsize,
    count,
    csums: data.subarray(0, count * csumSize),
  };
  if (csumSize <= 0) r.errors = [`unknown checksum size ${csumSize}`];
  else if (data.length % csumSize !== 0) r.errors = [`csum item size ${data.length} is not a multiple of csum size ${csumSize}`];
  return r;
}

/** The checksum of sector `i` of a csum item (a view, no copy). */
export function csumAt(item: ExtentCsumDecoded, i: number): Uint8Array {
  return item.csums.subarray(i * item.csumSize, (i + 1) * item.csumSize);
}

/** Index of the checksum covering logical address `logical`, or -1 when outside the item. */
export function csumIndexOf(item: ExtentCsumDecoded, logical: bigint): number {
  if (logical < item.start || logical >= item.end || item.sectorsize <= 0) return -1;
  return Number((logical - item.start) / BigInt(item.sectorsize));
}
