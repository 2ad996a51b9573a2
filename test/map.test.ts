import { describe, expect, it } from 'vitest';
import { openSample, sampleNames, truthJson } from './helpers/samples.js';

interface MapTruth {
  device_paths: Record<string, number>;
  chunks: { logical: number; length: number; type: string; num_stripes: number; sub_stripes: number; stripe_len: number; stripes: { stripe: number; devid: number; offset: number }[] }[];
  lookups: { ok: boolean; logical: number; chunk: number; why: string; mirrors: { mirror: number; logical: number; physical: number; devid: number }[] }[];
}

describe.each(sampleNames())('address mapping of sample %s', (name) => {
  const truth = truthJson<MapTruth>(name, 'map-logical.json');

  it('has every chunk of the chunk tree with its stripes', () => {
    const fs = openSample(name);
    const ours = fs.volume.chunks.all.map((c) => ({
      logical: Number(c.logical),
      length: Number(c.length),
      num_stripes: c.numStripes,
      sub_stripes: c.subStripes,
      stripe_len: Number(c.stripeLen),
      stripes: c.stripes.map((s, i) => ({ stripe: i, devid: Number(s.devid), offset: Number(s.offset) })),
    }));
    expect(ours).toEqual(truth.chunks.map(({ logical, length, num_stripes, sub_stripes, stripe_len, stripes }) => ({ logical, length, num_stripes, sub_stripes, stripe_len, stripes })));
  });

  it('maps every address btrfs-map-logical mapped to the same devices and offsets', () => {
    const fs = openSample(name);
    const looked = truth.lookups.filter((l) => l.ok);
    expect(looked.length).toBeGreaterThan(10);
    for (const l of looked) {
      for (const m of l.mirrors) {
        const mapping = fs.volume.chunks.map(BigInt(m.logical))!;
        expect(mapping, `logical ${m.logical}`).toBeDefined();
        let place: { devid: bigint; physical: bigint };
        if (mapping.row) {
          // btrfs-map-logical numbers RAID5/6 copies: 1 the data stripe, 2 the P stripe, 3 the Q stripe.
          const p = m.mirror === 1 ? mapping.copies[0]! : m.mirror === 2 ? mapping.row.p : mapping.row.q!;
          place = { devid: p.devid, physical: m.mirror === 1 ? p.physical : p.physical + mapping.row.unitOffset };
        } else {
          place = mapping.copies[m.mirror - 1]!;
        }
        expect({ devid: Number(place.devid), physical: Number(place.physical) }, `${name} logical ${m.logical} mirror ${m.mirror}`).toEqual({ devid: m.devid, physical: m.physical });
      }
      // And back: each physical place maps to the logical address.
      const first = l.mirrors[0]!;
      const back = fs.volume.chunks.reverse(BigInt(first.devid), BigInt(first.physical));
      expect(
        back.some((b) => b.logical === BigInt(first.logical)),
        `reverse of devid ${first.devid} physical ${first.physical}`,
      ).toBe(true);
    }
  });
});

describe('reading into a caller buffer', () => {
  it.each(['raid0', 'raid10', 'raid1', 'default'].filter((n) => sampleNames().includes(n)))(
    '%s: every copy of every chunk read into a reused buffer, across stripe units, equals a fresh read',
    async (name) => {
      const { SliceSource } = await import('../src/io/SliceSource.js');
      const { sampleSources } = await import('./helpers/samples.js');
      // A window over each device implements readInto, so the reads land in the buffer itself.
      const fs = openSample(
        name,
        sampleSources(name).map((s) => new SliceSource(s, 0n, undefined, s.name)),
      );
      const into = new Uint8Array(1 << 20);
      let compared = 0;
      for (const c of fs.volume.chunks.all) {
        // 1 MiB from 96 KiB into the chunk: crosses 64 KiB stripe units of striped profiles.
        const at = c.logical + 96n * 1024n,
          n = Number(c.length - 96n * 1024n < BigInt(into.length) ? c.length - 96n * 1024n : BigInt(into.length));
        for (let copy = 0; copy < fs.volume.copyCount(at); copy++) {
          const fresh = fs.volume.readCopy(at, n, copy);
          const reused = fs.volume.readCopy(at, n, copy, into);
          // Compared as Buffers: a deep equal of 1 MiB arrays element by element takes seconds.
          expect(reused.bytes && fresh.bytes && Buffer.compare(reused.bytes, fresh.bytes)).toBe(0);
          expect(reused.places).toEqual(fresh.places);
          if (reused.bytes) expect(reused.bytes.buffer).toBe(into.buffer);
          compared++;
        }
      }
      expect(compared).toBeGreaterThanOrEqual(fs.volume.chunks.all.length);
    },
  );
});
