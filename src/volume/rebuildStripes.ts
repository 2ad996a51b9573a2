/**
 * Chunk geometry for the chunk-map rebuild (rebuild.ts): how many copies a mirrored profile
 * keeps, what each stripe holds, the profile's block-group bits, a chunk made from device
 * extents, and the stripe order that the found evidence votes for.
 */
import { asDevId, asLogical, asPhysical } from '../format/addresses.js';
import { BLOCK_GROUP_PROFILE_MASK, BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, type Profile, profileOf } from '../format/constants.js';
import { type Chunk, dataStripes } from './ChunkMap.js';

export const COPIES: Partial<Record<Profile, number>> = { SINGLE: 1, DUP: 2, RAID1: 2, RAID1C3: 3, RAID1C4: 4 };

/** Bytes of the chunk each stripe holds on its device. */
export function perStripe(c: Chunk): bigint {
  return COPIES[c.profile] !== undefined ? c.length : c.length / BigInt(dataStripes(c));
}

/**
 * The device extent for each stripe index that the votes favour most (votes[index][extent]):
 * every order tried up to 8 stripes, greedy past that; ties keep devid order.
 */
export function bestAssignment(votes: number[][]): number[] {
  const n = votes.length;
  if (n > 8) {
    const perm = new Array<number>(n).fill(-1);
    const used = new Set<number>();
    for (let round = 0; round < n; round++) {
      let bi = -1,
        bk = -1,
        bv = -1;
      for (let i = 0; i < n; i++) {
        if (perm[i]! >= 0) continue;
        for (let k = 0; k < n; k++) if (!used.has(k) && votes[i]![k]! > bv) [bi, bk, bv] = [i, k, votes[i]![k]!];
      }
      perm[bi] = bk;
      used.add(bk);
    }
    return perm;
  }
  let best: number[] = [...Array(n).keys()];
  let bestScore = best.reduce((a, k, i) => a + votes[i]![k]!, 0);
  const cur: number[] = [];
  const used = new Array<boolean>(n).fill(false);
  const go = (score: number) => {
    const i = cur.length;
    if (i === n) {
      if (score > bestScore) [best, bestScore] = [[...cur], score];
      return;
    }
    for (let k = 0; k < n; k++) {
      if (used[k]) continue;
      used[k] = true;
      cur.push(k);
      go(score + votes[i]![k]!);
      cur.pop();
      used[k] = false;
    }
  };
  go(0);
  return best;
}

export function profileBits(p: Profile): bigint {
  switch (p) {
    case 'DUP':
      return BlockGroupFlag.DUP;
    case 'RAID1':
      return BlockGroupFlag.RAID1;
    default:
      return 0n;
  }
}

export function synth(logical: bigint, length: bigint, flags: bigint, ext: { devid: bigint; physical: bigint }[]): Chunk {
  return {
    logical: asLogical(logical),
    length,
    type: flags & (BLOCK_GROUP_TYPE_MASK | BLOCK_GROUP_PROFILE_MASK),
    profile: profileOf(flags),
    stripeLen: 65536n,
    numStripes: ext.length,
    // RAID10 mirrors each stripe unit on 2 devices (the kernel's sub_stripes for it); others 1.
    subStripes: profileOf(flags) === 'RAID10' ? 2 : 1,
    stripes: ext.map((e) => ({ devid: asDevId(e.devid), offset: asPhysical(e.physical), devUuid: '' })),
    origin: 'rebuilt',
  };
}
