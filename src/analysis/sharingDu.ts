import { Compression } from '../format/constants.js';
import { popcount, type SharingResult } from './sharing.js';

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

/** The subvolume and every subvolume linked (directly or not) below it. */
export function subvolumesBelow(r: SharingResult, id: bigint): bigint[] {
  const out: bigint[] = [];
  for (const s of r.subvols) {
    let cur: bigint | null = s.id;
    const seen = new Set<bigint>();
    while (cur !== null && !seen.has(cur)) {
      if (cur === id) {
        out.push(s.id);
        break;
      }
      seen.add(cur);
      cur = r.subvols.find((x) => x.id === cur)?.parentId ?? null;
    }
  }
  return out;
}

/** 2^32, for (hi, lo) halves of a u64 sum kept as two exact numbers. */
const TWO32 = 0x100000000;

/**
 * The FIEMAP view per set of subvolumes: Total and Exclusive summed per set
 * once, and the shared ranges of every set in one list sorted by start, so
 * that each du() is a single merging pass over the sets it includes. A
 * range's ends are kept as (hi, lo) halves in typed arrays: exact (a sum of
 * two u64 stays below 2^65, so hi below 2^33) and sortable as numbers,
 * without a bigint pair per reference.
 */
export class DuCalculator {
  private readonly total: bigint[];
  private readonly exclusive: bigint[];
  private readonly order: Uint32Array;
  private readonly startHi: Float64Array;
  private readonly startLo: Uint32Array;
  private readonly endHi: Float64Array;
  private readonly endLo: Uint32Array;
  private readonly rangeMask: Uint32Array;

  constructor(private readonly r: SharingResult) {
    const { refs, extents, masks } = r;
    this.total = new Array<bigint>(masks.length).fill(0n);
    this.exclusive = new Array<bigint>(masks.length).fill(0n);
    // FIEMAP's SHARED flag (isSharedExtent): another subvolume reaches the extent, or another inode refers to it.
    const manySubvols = masks.map((m) => (m & (m - 1n)) !== 0n);
    const shared = new Uint8Array(extents.size);
    for (let e = 0; e < extents.size; e++) shared[e] = extents.multiInode[e] || manySubvols[extents.maskId[e]!] ? 1 : 0;
    let n = 0;
    for (let i = 0; i < refs.length; i++) {
      const m = refs.maskId[i]!;
      if (!m) continue;
      const len = refs.numBytes[i]!;
      this.total[m]! += len;
      if (shared[refs.extent[i]!]) n++;
      else this.exclusive[m]! += len;
    }
    this.startHi = new Float64Array(n);
    this.startLo = new Uint32Array(n);
    this.endHi = new Float64Array(n);
    this.endLo = new Uint32Array(n);
    this.rangeMask = new Uint32Array(n);
    const order = new Uint32Array(n);
    for (let i = 0, k = 0; i < refs.length; i++) {
      const m = refs.maskId[i]!;
      if (!m || !shared[refs.extent[i]!]) continue;
      // FIEMAP's physical address: into the extent when uncompressed, its start when compressed.
      const phys = refs.compression[i] === Compression.NONE ? refs.diskBytenr[i]! + refs.offset[i]! : refs.diskBytenr[i]!;
      const end = phys + refs.numBytes[i]!;
      this.startHi[k] = Number(phys >> 32n);
      this.startLo[k] = Number(phys & 0xffffffffn);
      this.endHi[k] = Number(end >> 32n);
      this.endLo[k] = Number(end & 0xffffffffn);
      this.rangeMask[k] = m;
      order[k] = k;
      k++;
    }
    const sh = this.startHi,
      sl = this.startLo;
    this.order = order.sort((a, b) => sh[a]! - sh[b]! || sl[a]! - sl[b]!);
  }

  /** fi du -s of the subvolumes `ids` (each subvolume's files counted once per subvolume). */
  du(ids: bigint[]): DuTotals {
    let want = 0n;
    for (const id of ids) {
      const b = this.r.bit.get(id);
      if (b !== undefined) want |= 1n << BigInt(b);
    }
    const masks = this.r.masks;
    const hit = new Uint8Array(masks.length);
    let total = 0n,
      exclusive = 0n;
    for (let m = 1; m < masks.length; m++) {
      const n = popcount(masks[m]! & want);
      if (!n) continue;
      hit[m] = 1;
      total += this.total[m]! * BigInt(n);
      exclusive += this.exclusive[m]! * BigInt(n);
    }
    return { total, exclusive, setShared: this.unionLength(hit) };
  }

  /** Length of the union of the shared ranges of the sets in `hit`. */
  private unionLength(hit: Uint8Array): bigint {
    const { order, startHi: sh, startLo: sl, endHi: eh, endLo: el, rangeMask } = this;
    let total = 0n,
      acc = 0,
      open = false;
    let curSH = 0,
      curSL = 0,
      curEH = 0,
      curEL = 0;
    for (let j = 0; j < order.length; j++) {
      const k = order[j]!;
      if (!hit[rangeMask[k]!]) continue;
      const aH = sh[k]!,
        aL = sl[k]!,
        bH = eh[k]!,
        bL = el[k]!;
      if (!open || aH > curEH || (aH === curEH && aL > curEL)) {
        if (open) {
          const dh = curEH - curSH;
          // Below 2^19 × 2^32 the run's length is exact as a number, and so is acc below 2^52 plus it.
          if (dh < 0x80000) {
            acc += dh * TWO32 + (curEL - curSL);
            if (acc >= 2 ** 52) {
              total += BigInt(acc);
              acc = 0;
            }
          } else total += spanOf(curSH, curSL, curEH, curEL);
        }
        curSH = aH;
        curSL = aL;
        curEH = bH;
        curEL = bL;
        open = true;
      } else if (bH > curEH || (bH === curEH && bL > curEL)) {
        curEH = bH;
        curEL = bL;
      }
    }
    if (open) total += spanOf(curSH, curSL, curEH, curEL);
    return total + BigInt(acc);
  }
}

function spanOf(sH: number, sL: number, eH: number, eL: number): bigint {
  return (BigInt(eH) << 32n) + BigInt(eL) - ((BigInt(sH) << 32n) + BigInt(sL));
}
