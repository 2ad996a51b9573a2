/**
 * Chunk geometry for the chunk-map rebuild (rebuild.ts): how many copies a mirrored profile
 * keeps, what each stripe holds, the profile's block-group bits, a chunk made from device
 * extents, and the stripe order that the found evidence votes for.
 */
import { asDevId, asLogical, asPhysical } from '../format/addresses.js';
import { csumMatches, csumSizeOf } from '../format/checksum.js';
import { BLOCK_GROUP_PROFILE_MASK, BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, type Profile, profileOf } from '../format/constants.js';
import type { ByteSource } from '../io/ByteSource.js';
import { type Chunk, dataStripes, mapInChunk } from './ChunkMap.js';

/** Votes looked at per stripe index before its order is taken as settled. */
const MAX_VOTES = 64;
/** Csum samples read per chunk while voting its stripe order (each reads one sector per stripe). */
const MAX_SAMPLES_PER_CHUNK = 256;

/** What the device scan found, by devid: the evidence a mapping is checked against. */
export interface MappingEvidence {
  /** physical -> bytenr of the valid tree blocks found on the device of this devid. */
  blocksOn(devid: bigint): Map<bigint, bigint> | undefined;
  sourceOf(devid: bigint): ByteSource | undefined;
  nodesize: number;
  csumType: number;
  sectorsize: number;
  /** Data checksums (logical address, csum of the sector there), sorted by address. */
  csumSamples: [bigint, { csum: Uint8Array }][];
}

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

/** How many found blocks lie where a chunk says their bytenr maps (every profile: the chunk's own address arithmetic). */
export function confirmingBlocks(c: Chunk, ev: MappingEvidence): number {
  let n = 0;
  const per = perStripe(c);
  c.stripes.forEach((s, i) => {
    const blocks = ev.blocksOn(s.devid);
    if (!blocks) return;
    for (let p: bigint = s.offset; p < s.offset + per; p += BigInt(ev.nodesize)) {
      const b = blocks.get(p);
      if (b === undefined || b < c.logical || b >= c.logical + c.length) continue;
      if (mapInChunk(c, b).copies.some((x) => x.stripeIndex === i && x.physical === p)) n++;
    }
  });
  return n;
}

export interface VotedOrder {
  chunk: Chunk;
  /** Tree blocks and data sectors that voted. */
  blocks: number;
  sectors: number;
  /** Every stripe placed by a vote (RAID10: all but one mirror pair's worth). */
  settled: boolean;
}

/**
 * Which device extent is which stripe index of a striped chunk. Votes come from tree blocks (a
 * block of bytenr X found at offset o of extent k, where X maps to offset o of index i: k is
 * index i) and, when no tree block lies in the chunk, from data sectors whose checksum a csum
 * item holds (the same test on content).
 */
export function voteStripeOrder(c: Chunk, ev: MappingEvidence): VotedOrder {
  const n = c.stripes.length;
  const votes = c.stripes.map(() => new Array<number>(n).fill(0));
  const per = perStripe(c);
  let blocks = 0;
  let sectors = 0;
  c.stripes.forEach((s, k) => {
    const found = ev.blocksOn(s.devid);
    if (!found) return;
    for (let p: bigint = s.offset; p < s.offset + per; p += BigInt(ev.nodesize)) {
      const b = found.get(p);
      if (b === undefined || b < c.logical || b >= c.logical + c.length) continue;
      let hit = false;
      for (const x of mapInChunk(c, b).copies)
        if (x.physical - c.stripes[x.stripeIndex]!.offset === p - s.offset) {
          votes[x.stripeIndex]![k]!++;
          hit = true;
        }
      if (hit) blocks++;
    }
  });
  if (blocks === 0) sectors = voteFromCsums(c, ev, votes);
  const perm = bestAssignment(votes);
  const unvoted = perm.filter((k, i) => votes[i]![k]! === 0).length;
  const chunk = { ...c, stripes: perm.map((k) => c.stripes[k]!) };
  return { chunk, blocks, sectors, settled: unvoted <= (c.profile === 'RAID10' ? c.subStripes : 1) };
}

/** Adds the votes of data sectors in the chunk whose content matches a sampled csum; returns how many matched. */
function voteFromCsums(c: Chunk, ev: MappingEvidence, votes: number[][]): number {
  const size = csumSizeOf(ev.csumType);
  const want = new Array<number>(c.stripes.length).fill(0);
  const samples = ev.csumSamples;
  let sectors = 0;
  // The samples in the chunk's range (binary search in the sorted list), a bounded number of them.
  let lo = 0,
    hi = samples.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (samples[mid]![0] < c.logical) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo, taken = 0; i < samples.length && taken < MAX_SAMPLES_PER_CHUNK; i++, taken++) {
    const [logical, { csum }] = samples[i]!;
    if (logical >= c.logical + c.length) break;
    const m = mapInChunk(c, logical);
    if (m.copies.some((x) => want[x.stripeIndex]! >= MAX_VOTES)) continue;
    const rel = m.copies[0]!.physical - c.stripes[m.copies[0]!.stripeIndex]!.offset;
    c.stripes.forEach((s, k) => {
      const src = ev.sourceOf(s.devid);
      if (!src || s.offset + rel + BigInt(ev.sectorsize) > src.size) return;
      if (!csumMatches(ev.csumType, src.read(s.offset + rel, ev.sectorsize), csum.subarray(0, size), 0)) return;
      for (const x of m.copies) {
        votes[x.stripeIndex]![k]!++;
        want[x.stripeIndex]!++;
      }
      sectors++;
    });
  }
  return sectors;
}
