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
      logical: Number(c.logical), length: Number(c.length), num_stripes: c.numStripes, sub_stripes: c.subStripes, stripe_len: Number(c.stripeLen),
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
        let place;
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
      expect(back.some((b) => b.logical === BigInt(first.logical)), `reverse of devid ${first.devid} physical ${first.physical}`).toBe(true);
    }
  });
});
