import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, readAll } from '../src/fs/fileData.js';
import { seedDevices } from '../src/report/seeds.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { sampleSources, truthText } from './helpers/samples.js';

// The `seed` sample (sample-images/build.sh): dev1 made a seed with btrfstune -S 1, dev2 added
// to it with btrfs device add and written. Truth: dump-super of each device, the sprout's
// dump-tree, and the files as the kernel showed them, mounted from the sprout.
const field = (text: string, name: string) => new RegExp(`^${name.replace('.', '\\.')}\\s+(\\S+)`, 'm').exec(text)![1]!;
const SEED_FSID = field(truthText('seed', 'dump-super-dev1.txt'), 'fsid');
const SPROUT_FSID = field(truthText('seed', 'dump-super-dev2.txt'), 'fsid');
const [seedSrc, sproutSrc] = sampleSources('seed') as [ReturnType<typeof sampleSources>[0], ReturnType<typeof sampleSources>[0]];

describe('a filesystem sprouted from a seed device', () => {
  it('the two devices have different fsids, and the seed has the SEEDING flag (dump-super)', () => {
    expect(SEED_FSID).not.toBe(SPROUT_FSID);
    expect(BigInt(field(truthText('seed', 'dump-super-dev1.txt'), 'flags')) & (1n << 32n)).toBe(1n << 32n);
  });

  it.each([
    ['seed first', () => [seedSrc, sproutSrc]],
    ['sprout first', () => [sproutSrc, seedSrc]],
  ])('assembled as the sprout with the seed (%s), no finding', (_, order) => {
    const fs = Filesystem.open(order());
    expect(fs.superblock.fsid).toBe(SPROUT_FSID);
    expect(fs.findings.items).toEqual([]);
    expect(seedDevices(fs).map((s) => ({ devid: s.devid, fsid: s.fsid }))).toEqual([{ devid: 1n, fsid: SEED_FSID }]);
    expect(fs.volume.devices.get(2n)?.seed).toBeUndefined();
  });

  it("a file written on the seed and partly overwritten on the sprout reads from both devices and equals the kernel's", () => {
    const fs = Filesystem.open([seedSrc, sproutSrc]);
    const view = new FsView(fs);
    const r = view.resolve('/on-seed/pattern-big.bin');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const devids = new Set<bigint>();
    for (const e of fileExtents(view, r.inode)) {
      if (e.kind !== 'regular') continue;
      const m = fs.volume.chunks.map(e.diskBytenr);
      for (const c of m!.copies) devids.add(c.devid);
    }
    expect([...devids].sort()).toEqual([1n, 2n]);
    const got = readAll(view, r.inode);
    expect(got.errors).toEqual([]);
    const t = filesTruth('seed').find((x) => x.path === 'on-seed/pattern-big.bin')!;
    expect(createHash('sha256').update(got.bytes).digest('hex')).toBe(t.sha256);
  });

  it('the sprout alone: the seed is named missing (devid, uuid, its fsid); files written after the sprout still read', () => {
    const fs = Filesystem.open([sproutSrc]);
    const missing = fs.findings.items.filter((f) => f.code === 'device-missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.message).toContain(SEED_FSID);
    const view = new FsView(fs);
    const r = view.resolve('/on-sprout/pattern-big.bin');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const t = filesTruth('seed').find((x) => x.path === 'on-sprout/pattern-big.bin')!;
    expect(createHash('sha256').update(readAll(view, r.inode).bytes).digest('hex')).toBe(t.sha256);
  });

  it('the seed alone is its own filesystem, from before the sprout (no on-sprout/)', () => {
    const fs = Filesystem.open([seedSrc]);
    expect(fs.superblock.fsid).toBe(SEED_FSID);
    expect(fs.findings.items).toEqual([]);
    const view = new FsView(fs);
    expect(view.resolve('/on-sprout').ok).toBe(false);
    expect(view.resolve('/on-seed/exact-4096.bin').ok).toBe(true);
  });

  it('chunks, subvolumes and super --json say which device is the seed', async () => {
    const args = ['sample-images/seed/dev1.runs.gz', '--device', 'sample-images/seed/dev2.runs.gz', '--json'];
    for (const cmd of ['chunks', 'subvolumes']) {
      const r = await cli(cmd, ...args);
      expect(r.code, cmd).toBe(0);
      const j = parseJsonExact(r.stdout) as { seedDevices: { devid: unknown; fsid: string }[] };
      expect(
        j.seedDevices.map((s) => [Number(s.devid), s.fsid]),
        cmd,
      ).toEqual([[1, SEED_FSID]]);
    }
    const s = await cli('super', ...args);
    const j = parseJsonExact(s.stdout) as { superblock: { fsid: string }; devices: { name: string; seed?: boolean }[] };
    expect(j.superblock.fsid).toBe(SPROUT_FSID);
    expect(j.devices.map((d) => d.seed ?? false)).toEqual([true, false]);
  });
});
