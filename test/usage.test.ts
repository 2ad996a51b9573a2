import { describe, expect, it } from 'vitest';
import { computeUsage } from '../src/analysis/usage.js';
import { cli } from './helpers/cli.js';
import { openSample, sampleNames, truthText } from './helpers/samples.js';

const num = (txt: string, label: string) => {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(txt);
  if (!m) throw new Error(`no "${label}" in usage.txt`);
  return BigInt(m[1]!);
};

describe('usage equals btrfs filesystem df / usage of the kernel', () => {
  for (const name of sampleNames()) {
    it(name, () => {
      const u = computeUsage(openSample(name));
      // df.txt: "Data, single: total=N, used=N" (GlobalReserve is in memory only)
      const df = [...truthText(name, 'df.txt').matchAll(/^(Data|Metadata|System|Data\+Metadata), (\S+): total=(\d+), used=(\d+)$/gm)].map((m) => ({
        type: m[1],
        profile: m[2]!.toLowerCase(),
        size: BigInt(m[3]!),
        used: BigInt(m[4]!),
      }));
      expect(u.groups.map((g) => ({ type: g.type, profile: g.profile.toLowerCase(), size: g.size, used: g.used })).sort((a, b) => a.type!.localeCompare(b.type!))).toEqual(
        df.sort((a, b) => a.type!.localeCompare(b.type!)),
      );
      const us = truthText(name, 'usage.txt');
      expect(u.deviceSize).toBe(num(us, 'Device size'));
      // A sprouted filesystem: btrfs filesystem usage counts the seed's chunks as allocated on the
      // sprout's devices (more than they hold: "Device unallocated" goes negative and the free
      // estimates overflow). Only its per-device lines, below, are the sprout's own.
      const sprouted = /Device unallocated:\s+-/.test(us);
      if (!sprouted) {
        expect(u.allocated).toBe(num(us, 'Device allocated'));
        expect(u.unallocated).toBe(num(us, 'Device unallocated'));
      }
      expect(u.used).toBe(num(us, 'Used'));
      expect(u.dataRatio.toFixed(2)).toBe(/Data ratio:\s+([\d.]+)/.exec(us)![1]);
      expect(u.metadataRatio.toFixed(2)).toBe(/Metadata ratio:\s+([\d.]+)/.exec(us)![1]);
      const free = /Free \(estimated\):\s+(\d+)\s+\(min: (\d+)\)/.exec(us)!;
      // With mixed block groups the kernel also takes the global reserve (in memory, not on disk) off the estimate.
      if (!u.mixed && !sprouted) expect([u.freeEstimated, u.freeMin]).toEqual([BigInt(free[1]!), BigInt(free[2]!)]);
      // btrfs device usage: per device, raw bytes per type/profile and unallocated
      const devBlocks = us.split(/\n(?=\/dev\/\S+, ID: )/).slice(1);
      expect(devBlocks.length).toBe(u.devices.length);
      for (const b of devBlocks) {
        const id = BigInt(/ID: (\d+)/.exec(b)![1]!);
        const d = u.devices.find((x) => x.devid === id)!;
        expect(d.size).toBe(num(b, 'Device size'));
        expect(d.unallocated).toBe(num(b, 'Unallocated'));
        for (const m of b.matchAll(/^\s+(Data|Metadata|System|Data\+Metadata),([A-Za-z0-9]+)(?:\/\d+)?:\s+(\d+)$/gm)) {
          const k = [...d.byGroup.keys()].find((x) => x.toLowerCase() === `${m[1]},${m[2]}`.toLowerCase());
          expect(k && d.byGroup.get(k), `${name} devid ${id} ${m[1]},${m[2]}`).toBe(BigInt(m[3]!));
        }
      }
    });
  }
});

describe('usage CLI', () => {
  it('table and json', async () => {
    const r = await cli('usage', 'sample-images/default/dev1.runs.gz');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`free (estimated)   │ 440786944 (min: 252043264)`);
    const j = await cli('usage', 'sample-images/default/dev1.runs.gz', '--json');
    expect(JSON.parse(j.stdout).unallocated).toBe(377487360);
  });
});
