import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { featureGaps } from '../src/report/featureSupport.js';
import { superFlagNames } from '../src/report/superblock.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { openSample, SAMPLES } from './helpers/samples.js';

// Filesystems only btrfs-progs 6.19 makes, which this kernel refuses to mount
// (sample-images/build-progs-made.sh); truth: that btrfs-progs' dump-super, dump-tree and check.
const DIR = join(SAMPLES, 'progs-made', 'raid-stripe-tree');
const truth = (f: string) => {
  const b = readFileSync(join(DIR, 'truth', f));
  return (f.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
};
const devs = () => [1, 2].map((i) => loadRunsImage(join(DIR, `dev${i}.runs.gz`)));

describe('raid-stripe-tree filesystem made by mkfs.btrfs 6.19 (RAID1 on two devices, block-group tree)', () => {
  it('every tree block equals btrfs-progs 6.19 dump-tree, the raid stripe tree (12) among them, with no finding', () => {
    const fs = Filesystem.open(devs());
    const want = parseDumpTree(truth('dump-tree.txt.gz'));
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
    expect(fs.findings.items).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [bytenr, t] of want) expect(seen.get(bytenr), `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation, entries: t.entries });
    expect(fs.treeRoot(12n)).toBeDefined();
  });

  it('check is clean, as btrfs check 6.19 says, over the same tree bytes', () => {
    const fs = Filesystem.open(devs());
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    const text = truth('check.txt');
    expect(text).toMatch(/# exit code 0/);
    expect(BigInt(r.summary.treeBlocks) * BigInt(fs.superblock.nodesize)).toBe(BigInt(/total tree bytes: (\d+)/.exec(text)![1]!));
  });

  it('feature flags by the names dump-super gives; RAID_STRIPE_TREE is handled (data reads follow the stripe items: test/raid-stripe-tree.test.ts), so super names no gap', async () => {
    const fs = Filesystem.open(devs());
    const ds = truth('dump-super-dev1.txt');
    const names = (field: string) =>
      /\(([^)]*)\)/
        .exec(new RegExp(`^${field}\\s+0x[0-9a-f]+\\s*\\n?\\s*(\\([^)]*\\))`, 'm').exec(ds)![1]!)![1]!
        .split('|')
        .map((s) => s.trim());
    const ours = superFlagNames(fs.superblock);
    expect(ours.incompatFlags.sort()).toEqual(names('incompat_flags').sort());
    expect(ours.compatRoFlags.sort()).toEqual(names('compat_ro_flags').sort());
    expect(featureGaps(fs.superblock)).toEqual([]);
    const r = await cli('super', join(DIR, 'dev1.runs.gz'), '--device', join(DIR, 'dev2.runs.gz'), '--json');
    const j = parseJsonExact(r.stdout) as { featureGaps?: { flag: string; commands: string[] }[] };
    expect(j.featureGaps ?? []).toEqual([]);
  });
});

// One device each: zoned on emulated zones (256 MiB, conventional: the superblocks stay at their
// fixed offsets, no superblock log) and extent-tree-v2 (global roots: two extent and two csum
// trees; block group items whose chunk_objectid is the global root id).
describe.each([
  ['zoned', 'ZONED'],
  ['extent-tree-v2', 'EXTENT_TREE_V2'],
])('%s filesystem made by mkfs.btrfs 6.19', (name, flag) => {
  const ZDIR = join(SAMPLES, 'progs-made', name);
  const ztruth = (f: string) => {
    const b = readFileSync(join(ZDIR, 'truth', f));
    return (f.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
  };
  const open = () => Filesystem.open([loadRunsImage(join(ZDIR, 'dev1.runs.gz'))]);

  it('the superblock dump-super reads (bytenr 65536), every tree block equal to dump-tree, no finding', () => {
    const fs = open();
    expect(ztruth('dump-super-dev1.txt')).toMatch(/^superblock: bytenr=65536,/);
    expect(fs.superblock.generation).toBe(BigInt(/^generation\s+(\d+)/m.exec(ztruth('dump-super-dev1.txt'))![1]!));
    expect(superFlagNames(fs.superblock).incompatFlags).toContain(flag);
    const want = parseDumpTree(ztruth('dump-tree.txt.gz'));
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
    expect(fs.findings.items).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [bytenr, t] of want) expect(seen.get(bytenr), `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation, entries: t.entries });
  });

  it('check is clean, as btrfs check 6.19 says, over the same tree bytes; super still names the feature as partly handled', () => {
    const fs = open();
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    const text = ztruth('check.txt');
    expect(text).toMatch(/# exit code 0/);
    expect(BigInt(r.summary.treeBlocks) * BigInt(fs.superblock.nodesize)).toBe(BigInt(/total tree bytes: (\d+)/.exec(text)![1]!));
    expect(featureGaps(fs.superblock).map((g) => g.flag)).toEqual([flag]);
  });
});

describe('super names the feature bits it does not fully understand', () => {
  it('none for a default filesystem; an unknown bit is named unknown, with every command', () => {
    const sb = openSample('default').superblock;
    expect(featureGaps(sb)).toEqual([]);
    const gaps = featureGaps({ ...sb, incompatFlags: sb.incompatFlags | (1n << 40n), compatRoFlags: sb.compatRoFlags | 4n });
    expect(gaps.map((g) => [g.field, g.flag, g.support])).toEqual([
      ['incompat_flags', 'unknown 0x10000000000', 'unknown'],
      ['compat_ro_flags', 'VERITY', 'partial'],
    ]);
    expect(gaps[0]!.commands).toEqual(['every command']);
  });
});
