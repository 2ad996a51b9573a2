import { Compression } from '../format/constants.js';
import { bitsOf, isSharedExtent, type SharingResult } from './sharing.js';

/**
 * `btrfs filesystem du -s` of a subvolume, from the sharing analysis: it
 * sums, over every file below the path (nested subvolumes included), the
 * FIEMAP extents of the file (inline ones skipped): Total is all of them,
 * Exclusive those without the SHARED flag, and Set shared the union of the
 * disk ranges [physical, +length) of the shared ones over the whole set.
 */
export interface DuTotals {
  total: bigint;
  exclusive: bigint;
  setShared: bigint;
}

interface MaskDu {
  total: bigint;
  exclusive: bigint;
  /** Shared ranges, flattened [start, end, ...]. */
  shared: bigint[];
}

/** The subvolume and every subvolume linked (directly or not) below it. */
export function subvolumesBelow(r: SharingResult, id: bigint): bigint[] {
  const out: bigint[] = [];
  for (const s of r.subvols) {
    let cur: bigint | null = s.id;
    const seen = new Set<bigint>();
    while (cur !== null && !seen.has(cur)) {
      if (cur === id) { out.push(s.id); break; }
      seen.add(cur);
      cur = r.subvols.find((x) => x.id === cur)?.parentId ?? null;
    }
  }
  return out;
}

export class DuCalculator {
  private readonly byMask = new Map<bigint, MaskDu>();

  constructor(private readonly r: SharingResult) {
    for (const l of r.leaves) {
      let d = this.byMask.get(l.mask);
      if (!d) { d = { total: 0n, exclusive: 0n, shared: [] }; this.byMask.set(l.mask, d); }
      for (const ref of l.data.refs) {
        const e = r.extents.get(ref.diskBytenr)!;
        d.total += ref.numBytes;
        if (!isSharedExtent(e)) { d.exclusive += ref.numBytes; continue; }
        const phys = ref.compression === Compression.NONE ? ref.diskBytenr + ref.offset : ref.diskBytenr;
        d.shared.push(phys, phys + ref.numBytes);
      }
    }
  }

  /** fi du -s of the subvolumes `ids` (each subvolume's files counted once per subvolume). */
  du(ids: bigint[]): DuTotals {
    const want = new Set(ids.map((id) => this.r.bit.get(id)).filter((b): b is number => b !== undefined));
    let total = 0n, exclusive = 0n;
    const ranges: bigint[] = [];
    for (const [m, d] of this.byMask) {
      const n = bitsOf(m).filter((b) => want.has(b)).length;
      if (!n) continue;
      total += d.total * BigInt(n);
      exclusive += d.exclusive * BigInt(n);
      for (const x of d.shared) ranges.push(x);
    }
    return { total, exclusive, setShared: unionLength(ranges) };
  }
}

function unionLength(flat: bigint[]): bigint {
  const pairs: [bigint, bigint][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0n, s = 0n, e = -1n;
  for (const [a, b] of pairs) {
    if (a > e) { if (e > s) total += e - s; s = a; e = b; } else if (b > e) e = b;
  }
  if (e > s) total += e - s;
  return total;
}
