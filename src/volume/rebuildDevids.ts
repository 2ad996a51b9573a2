import { profileOf } from '../format/constants.js';
import { dataStripes } from './ChunkMap.js';
import type { RebuildDevice } from './rebuild.js';
import { COPIES } from './rebuildStripes.js';

/** Found blocks per device looked at to tell which devid it is. */
const DEVID_EVIDENCE = 4096;

/**
 * Which devid each device is: its superblock's when it has one; else the devid whose device
 * extents put the most found tree blocks where this device holds them. A device extent
 * (devid, physical) of chunk L holds, at physical + r, the block of bytenr X when X's stripe
 * unit row and offset in the unit give r: r = (unit / data stripes) * 64 KiB + X % 64 KiB,
 * unit = (X - L) / 64 KiB (mirrored profiles: r = X - L). Devices whose extents lie at the same
 * places on each (the same layout) cannot be told apart this way and are equivalent for reading.
 */
export function assignDevids(
  devices: RebuildDevice[],
  evidence: Map<bigint, bigint>[],
  devExtents: Map<string, { devid: bigint; physical: bigint; chunkOffset: bigint; length: bigint }>,
  bgs: Map<bigint, { length: bigint; flags: bigint }>,
): bigint[] {
  const known = new Set(devices.map((d) => d.devid).filter((x): x is bigint => x !== null));
  const count = new Map<bigint, number>();
  for (const e of devExtents.values()) count.set(e.chunkOffset, (count.get(e.chunkOffset) ?? 0) + 1);
  const nDataOf = (chunkOffset: bigint): number => {
    const bg = bgs.get(chunkOffset);
    const n = count.get(chunkOffset) ?? 1;
    if (!bg) return 1;
    const profile = profileOf(bg.flags);
    return COPIES[profile] !== undefined ? 1 : dataStripes({ profile, numStripes: n, subStripes: profile === 'RAID10' ? 2 : 1 });
  };
  const sl = 65536n;
  const candidates = [...new Set([...devExtents.values()].map((e) => e.devid))].filter((id) => !known.has(id)).sort((a, b) => (a < b ? -1 : 1));
  const scores: { i: number; id: bigint; s: number }[] = [];
  devices.forEach((d, i) => {
    if (d.devid !== null) return;
    const score = new Map<bigint, number>();
    let looked = 0;
    for (const [phys, bytenr] of evidence[i]!) {
      if (looked++ >= DEVID_EVIDENCE) break;
      for (const e of devExtents.values()) {
        if (known.has(e.devid) || phys < e.physical || phys >= e.physical + e.length || bytenr < e.chunkOffset) continue;
        const off = bytenr - e.chunkOffset;
        const unit = off / sl;
        if (phys - e.physical === (unit / BigInt(nDataOf(e.chunkOffset))) * sl + (off % sl)) score.set(e.devid, (score.get(e.devid) ?? 0) + 1);
      }
    }
    for (const id of candidates) scores.push({ i, id, s: score.get(id) ?? 0 });
  });
  // Best-scoring pairs first; a devid and a device are each taken once.
  scores.sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : a.id > b.id ? 1 : a.i - b.i));
  const out = devices.map((d) => d.devid);
  for (const { i, id } of scores) {
    if (out[i] !== null || known.has(id)) continue;
    out[i] = id;
    known.add(id);
  }
  // A device no extent names: the next unused devid.
  let next = 1n;
  return out.map((id) => {
    if (id !== null) return id;
    while (known.has(next)) next++;
    known.add(next);
    return next;
  });
}
