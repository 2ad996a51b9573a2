import { describe, expect, it } from 'vitest';
import { asDevId, asLogical, asPhysical } from '../src/format/addresses.js';
import { BlockGroupFlag } from '../src/format/constants.js';
import type { ChunkItem } from '../src/format/items/chunk.js';
import { type Chunk, ChunkMap, chunkFromItem, chunkProblem, dataStripes, stripeSize } from '../src/volume/ChunkMap.js';

const SL = 65536n;
const BASE = (1n << 60n) + 3n * SL; // far beyond 2^53: every value must stay exact

function chunk(profile: keyof typeof BlockGroupFlag | 'SINGLE', n: number, length: bigint, sub = 1): Chunk {
  const type = BlockGroupFlag.DATA | (profile === 'SINGLE' ? 0n : BlockGroupFlag[profile]);
  const item: ChunkItem = {
    length,
    owner: 2n,
    stripeLen: SL,
    type,
    ioAlign: 65536,
    ioWidth: 65536,
    sectorSize: 4096,
    numStripes: n,
    subStripes: sub,
    // Devices 1..n, each stripe at a distinct offset past 2^53 too.
    stripes: Array.from({ length: n }, (_, i) => ({ devid: asDevId(BigInt(i + 1)), offset: asPhysical((1n << 54n) + BigInt(i) * (1n << 40n)), devUuid: '' })),
  };
  return chunkFromItem(BASE, item, 'chunk_tree');
}

/** The profile arithmetic written out longhand, independent of the implementation's structure. */
function expectedPlaces(c: Chunk, logical: bigint): { devid: bigint; physical: bigint }[] {
  const off = logical - c.logical;
  const unit = off / SL,
    within = off % SL;
  const dev = (i: number, phys: bigint) => ({ devid: c.stripes[i]!.devid, physical: c.stripes[i]!.offset + phys });
  switch (c.profile) {
    case 'SINGLE':
    case 'DUP':
    case 'RAID1':
    case 'RAID1C3':
    case 'RAID1C4':
      return c.stripes.map((_, i) => dev(i, off));
    case 'RAID0':
      return [dev(Number(unit % BigInt(c.numStripes)), (unit / BigInt(c.numStripes)) * SL + within)];
    case 'RAID10': {
      const groups = BigInt(c.numStripes / c.subStripes);
      const g = Number(unit % groups);
      return Array.from({ length: c.subStripes }, (_, k) => dev(g * c.subStripes + k, (unit / groups) * SL + within));
    }
    case 'RAID5':
    case 'RAID6': {
      const nd = BigInt(c.numStripes - (c.profile === 'RAID5' ? 1 : 2));
      const row = unit / nd;
      const idx = Number(((unit % nd) + row) % BigInt(c.numStripes));
      return [dev(idx, row * SL + within)];
    }
  }
}

const cases: [string, Chunk][] = [
  ['SINGLE', chunk('SINGLE', 1, 1n << 30n)],
  ['DUP', chunk('DUP', 2, 1n << 30n)],
  ['RAID0 x3', chunk('RAID0', 3, 3n << 30n)],
  ['RAID1', chunk('RAID1', 2, 1n << 30n)],
  ['RAID1C3', chunk('RAID1C3', 3, 1n << 30n)],
  ['RAID1C4', chunk('RAID1C4', 4, 1n << 30n)],
  ['RAID10 x6', chunk('RAID10', 6, 3n << 30n, 2)],
  ['RAID5 x4', chunk('RAID5', 4, 3n << 30n)],
  ['RAID6 x5', chunk('RAID6', 5, 3n << 30n)],
];

describe.each(cases)('mapping beyond 2^53: %s', (_name, c) => {
  const map = new ChunkMap();
  map.add(c);
  // Deterministic spread of addresses: stripe boundaries, row boundaries, the last byte.
  const offsets = [0n, 1n, SL - 1n, SL, SL + 4096n, 7n * SL + 12345n, c.length / 2n + 17n, c.length - 1n];
  for (let i = 0n; i < 40n; i++) offsets.push((i * 1_000_003n * 4096n + i * 977n) % c.length);

  it('has no problem and the per-device size of its profile', () => {
    expect(chunkProblem(c)).toBeNull();
    expect(stripeSize(c) * BigInt(dataStripes(c))).toBe(c.length);
  });

  it('maps every address to the places the profile arithmetic gives, exactly', () => {
    for (const o of offsets) {
      const m = map.map(c.logical + o)!;
      expect(
        m.copies.map((p) => ({ devid: p.devid, physical: p.physical })),
        `offset ${o}`,
      ).toEqual(expectedPlaces(c, c.logical + o));
      const striped = ['RAID0', 'RAID10', 'RAID5', 'RAID6'].includes(c.profile);
      expect(m.contiguous).toBe(striped ? SL - (o % SL) : c.length - o);
    }
  });

  it('maps every physical place back to its logical address', () => {
    for (const o of offsets) {
      for (const p of expectedPlaces(c, c.logical + o)) {
        const back = map.reverse(p.devid, p.physical);
        expect(
          back.map((b) => b.logical),
          `devid ${p.devid} physical ${p.physical}`,
        ).toContain(c.logical + o);
      }
    }
  });

  it('addresses outside the chunk are not mapped', () => {
    expect(map.map(c.logical - 1n)).toBeUndefined();
    expect(map.map(c.logical + c.length)).toBeUndefined();
  });
});

describe('parity rows', () => {
  it('RAID6 rows rotate P and Q one device per row, and parity places map back to no logical address', () => {
    const c = chunk('RAID6', 5, 3n << 30n);
    const map = new ChunkMap();
    map.add(c);
    for (let row = 0n; row < 7n; row++) {
      const m = map.map(c.logical + row * 3n * SL)!;
      const rot = Number(row % 5n);
      expect(m.row!.p.stripeIndex).toBe((3 + rot) % 5);
      expect(m.row!.q!.stripeIndex).toBe((4 + rot) % 5);
      const back = map.reverse(m.row!.p.devid, m.row!.p.physical);
      expect(back).toEqual([expect.objectContaining({ logical: null, role: 'p', rowLogical: c.logical + row * 3n * SL })]);
    }
  });

  it('overlapping chunks are refused', () => {
    const map = new ChunkMap();
    const a = chunk('SINGLE', 1, 1n << 30n);
    map.add(a);
    const b = { ...a, logical: asLogical(a.logical + 4096n) };
    expect(map.add(b)).toBe(a);
    expect(map.all).toHaveLength(1);
  });
});
