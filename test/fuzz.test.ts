import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkOutcome } from '../fuzz/check.js';
import { DEFAULT_LIMITS, type Failure, QUICK_SAMPLES, runFuzz } from '../fuzz/harness.js';
import { mutate } from '../fuzz/mutate.js';
import { REGRESSIONS } from '../fuzz/regressions.js';
import { Rng } from '../fuzz/rng.js';
import { decodeTargets } from '../fuzz/targets.js';
import { SAMPLES, sampleNames } from './helpers/samples.js';

const samples = QUICK_SAMPLES.filter((s) => sampleNames().includes(s));
// A fixed number of cases sized for npm test's budget; `npm run fuzz` runs the long campaign.
const CASES = Number(process.env['FUZZ_CASES'] ?? 250);
// The suite may run on a loaded machine: time limits here only catch hangs (a command still
// running after minutes), never slowness; `npm run fuzz` keeps the strict 10 s per command.
const SUITE_LIMITS = { limits: { commandMs: 120_000 }, hangMs: 180_000 };
const regressions = REGRESSIONS.filter((r) => sampleNames().includes(r.sample));
const describeFailures = (fs: Failure[]) =>
  fs.map((f) => `case ${f.index} [${f.sample}] ${f.mutation.join('; ')}\n  ${f.argv?.join(' ') ?? ''}\n  ${f.problems.join('; ')}\n  ${f.stderr ?? ''}`).join('\n');

describe('fuzz harness', () => {
  it('flags what the pass rule forbids', () => {
    const ok = { argv: ['x'], code: 1, ms: 5, stdoutBytes: 0, stderr: 'btrfs-inspect: tree block 123: bad csum\n', rssGrowth: 0 };
    expect(checkOutcome(ok, DEFAULT_LIMITS)).toEqual([]);
    expect(checkOutcome({ ...ok, code: 3 }, DEFAULT_LIMITS)).toEqual(['exit code 3']);
    expect(checkOutcome({ ...ok, stderr: '' }, DEFAULT_LIMITS)).toEqual(['exit 1 with no message']);
    expect(checkOutcome({ ...ok, stderr: 'btrfs-inspect: x\nError: y\n    at foo (/a/b.ts:1:2)\n' }, DEFAULT_LIMITS)).toContain('stack trace on stderr');
    expect(checkOutcome({ ...ok, stderr: "btrfs-inspect: Cannot read properties of undefined (reading 'x')\n" }, DEFAULT_LIMITS)[0]).toMatch(/^engine error/);
    expect(checkOutcome({ ...ok, ms: 60_000 }, DEFAULT_LIMITS)[0]).toMatch(/^took/);
    expect(checkOutcome({ ...ok, rssGrowth: 2 ** 30 }, DEFAULT_LIMITS)[0]).toMatch(/^RSS grew 1024 MiB/);
  });

  it('finds mutation targets by decoding the image, and replays a case exactly', () => {
    const t = decodeTargets('csum-xxhash', { files: [], dirs: ['/'] });
    // One primary superblock at 64 KiB on a 256 MiB device (the mirror at 64 MiB too).
    expect(t.supers.map((s) => s.offset)).toEqual([0x10000, 0x4000000]);
    expect(t.sysArrayEntries.length).toBeGreaterThan(0);
    expect(t.blocks.some((b) => b.tree === 5n && b.items.some((i) => i.type === 108))).toBe(true);
    for (let i = 0; i < 50; i++) {
      const a = mutate(t, Rng.forCase(7, i));
      const b = mutate(t, Rng.forCase(7, i));
      expect(b.desc).toEqual(a.desc);
      expect(b.patches.map((p) => Buffer.from(p.bytes).toString('hex'))).toEqual(a.patches.map((p) => Buffer.from(p.bytes).toString('hex')));
    }
  });

  it.skipIf(regressions.length === 0)(
    'replays the cases that once failed',
    async () => {
      for (const r of regressions) {
        const s = await runFuzz({ seed: r.seed, first: r.index, cases: 1, samples: [r.sample], workers: 1, ...SUITE_LIMITS });
        expect(describeFailures(s.failures), r.why).toBe('');
        expect(s.cases).toBe(1);
      }
    },
    600_000,
  );

  // ~0.4 s of CPU per case (all 21 commands); two children share the run.
  it.skipIf(samples.length === 0)(
    `runs every command on ${CASES} mutated images without a crash, hang, memory blow-up or stray write`,
    async () => {
      const s = await runFuzz({ seed: 20251121, cases: CASES, samples, workers: 2, ...SUITE_LIMITS });
      expect(describeFailures(s.failures)).toBe('');
      expect(s.cases).toBe(CASES);
      // The mutations reach damage handling: many runs end in exit 1 or 2, not only 0.
      if (CASES >= 100) expect((s.exitCodes['1'] ?? 0) + (s.exitCodes['2'] ?? 0)).toBeGreaterThan(s.commands / 10);
    },
    600_000 + CASES * 1000,
  );

  // The quick samples are all made by this host's kernel with a single extent tree: a fixed run
  // on the images of newer features reaches their structures' mutations: extent-tree-v2 (several
  // global roots, mkfs.btrfs 6.19), fs-verity items and a zoned device's superblock log (made
  // under another kernel in a VM).
  const newer = ['progs-made/etv2-data', 'vm-made/fsverity', 'vm-made/zoned-nullblk'].filter((s) => existsSync(join(SAMPLES, s, 'dev1.runs.gz')));
  it.skipIf(newer.length === 0)(
    'runs every command on mutated images of newer features (global roots, fs-verity, zoned) without a crash',
    async () => {
      const s = await runFuzz({ seed: 19, cases: 5 * newer.length, samples: newer, workers: 2, ...SUITE_LIMITS });
      expect(describeFailures(s.failures)).toBe('');
      expect(s.cases).toBe(5 * newer.length);
    },
    600_000,
  );
});
