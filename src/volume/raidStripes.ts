import { asLogical, asPhysical, type DevId, type Logical, type Physical } from '../format/addresses.js';
import { BlockGroupFlag } from '../format/constants.js';
import type { Chunk, Mapping, PhysicalCopy } from './ChunkMap.js';

/** One RAID_STRIPE item: logical [logical, +length) lives at each stride's physical start on its device. */
export interface StripeExtent {
  logical: Logical;
  length: bigint;
  strides: { devid: DevId; physical: Physical }[];
  /** Where the item is (raid stripe tree leaf and slot). */
  at: { block: bigint; slot: number };
}

/**
 * Whether data in `chunk` is placed through the raid stripe tree: data block
 * groups of the profiles the kernel's btrfs_need_stripe_tree_update names
 * (DUP, RAID1/1C3/1C4, RAID0, RAID10; not SINGLE, not RAID5/6). Metadata is
 * never placed through it.
 */
export function stripeTreeApplies(chunk: Chunk): boolean {
  // Mixed block groups hold tree blocks too, which are never placed through the tree: left to the chunk arithmetic.
  if ((chunk.type & BlockGroupFlag.DATA) === 0n || (chunk.type & BlockGroupFlag.METADATA) !== 0n) return false;
  switch (chunk.profile) {
    case 'DUP':
    case 'RAID1':
    case 'RAID1C3':
    case 'RAID1C4':
    case 'RAID0':
    case 'RAID10':
      return true;
    default:
      return false;
  }
}

/**
 * The raid stripe tree's items in logical order, without overlaps (the
 * loader reports and leaves out an item that overlaps an earlier one), for
 * the lookups of every data read.
 */
export class RaidStripeIndex {
  private readonly starts: bigint[];
  constructor(readonly extents: readonly StripeExtent[]) {
    this.starts = extents.map((e) => e.logical);
  }

  /** The item whose range holds `logical`, as the kernel's btrfs_get_raid_extent_offset finds it. */
  find(logical: bigint): StripeExtent | undefined {
    let lo = 0,
      hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= logical) lo = mid + 1;
      else hi = mid;
    }
    const e = this.extents[lo - 1];
    return e && logical < e.logical + e.length ? e : undefined;
  }

  /**
   * The logical address whose copy a stride puts at `physical` on `devid`,
   * among the items of `chunk` (for DUP the stride of stripe `stripeIndex`);
   * null when no item places data there. A linear scan of the chunk's items.
   */
  logicalAt(chunk: Chunk, stripeIndex: number, devid: bigint, physical: bigint): Logical | null {
    const end = chunk.logical + chunk.length;
    for (const e of this.extents) {
      if (e.logical < chunk.logical || e.logical >= end) continue;
      for (const [i, s] of e.strides.entries()) {
        if (s.devid !== devid || (chunk.profile === 'DUP' && i !== stripeIndex)) continue;
        if (physical >= s.physical && physical < s.physical + e.length) return asLogical(e.logical + (physical - s.physical));
      }
    }
    return null;
  }

  /** The sub-ranges of [start, end) no item covers. */
  gaps(start: bigint, end: bigint): { start: bigint; end: bigint }[] {
    const out: { start: bigint; end: bigint }[] = [];
    let at = start;
    while (at < end) {
      const e = this.find(at);
      if (e) {
        at = e.logical + e.length;
        continue;
      }
      // The next item starting after `at`, or the end.
      let lo = 0,
        hi = this.starts.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.starts[mid]! <= at) lo = mid + 1;
        else hi = mid;
      }
      const next = this.starts[lo];
      const stop = next !== undefined && next < end ? next : end;
      out.push({ start: at, end: stop });
      at = stop;
    }
    return out;
  }
}

/**
 * The chunk mapping `m` of `logical` with each copy's physical place taken
 * from the stripe item instead of the chunk's arithmetic: the chunk says
 * which device (stripe) serves the copy, the item where on that device the
 * bytes were written (stride physical + offset into the item). For DUP both
 * strides name the same device: copy i is stride i. A copy whose device the
 * item does not name is left out; with no item at all there is no copy, and
 * `unmapped` says why.
 */
export function mapThroughStripes(m: Mapping, logical: bigint, e: StripeExtent | undefined): Mapping {
  if (!e) return { ...m, copies: [], unmapped: `no raid stripe item maps logical ${logical} (raid stripe tree)` };
  const into = logical - e.logical;
  const copies: PhysicalCopy[] = [];
  m.copies.forEach((c, i) => {
    const s = m.chunk.profile === 'DUP' ? (e.strides[i]?.devid === c.devid ? e.strides[i] : undefined) : e.strides.find((x) => x.devid === c.devid);
    if (s) copies.push({ ...c, physical: asPhysical(s.physical + into) });
  });
  const left = e.logical + e.length - logical;
  return {
    ...m,
    contiguous: left < m.contiguous ? left : m.contiguous,
    copies,
    stripeExtent: { logical: e.logical, length: e.length },
    ...(copies.length ? {} : { unmapped: `the raid stripe item at logical ${e.logical} names none of the chunk's devices for logical ${logical}` }),
  };
}
