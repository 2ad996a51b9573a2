import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { ROOT } from './helpers/samples.js';

/**
 * Unclaimed carving evidence (test/fixtures/forensics-carve-unclaimed, built by its build.sh with
 * the kernel): victim.bin written and committed, deleted and committed; then every fs-tree block
 * with an item of its inode zeroed, so nothing says a file was there. The kernel's older csum
 * leaf naming its sectors survives. The truth: the victim's sha256, extents (filefrag) and
 * physical places (btrfs-map-logical) recorded before the delete, and the csum leaves build.sh
 * found on the unmounted image.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'forensics-carve-unclaimed');
const IMG = join(DIR, 'dev1.runs.gz');
const truth = JSON.parse(readFileSync(join(DIR, 'truth.json'), 'utf8')) as {
  victim: { ino: number; size: number; sha256: string; extents: { logical: number; length: number; physical: number }[]; survives: boolean };
  keep: Record<string, string>;
  csum_leaves: { generation: number; item_logical: number; sectors: number }[];
  zeroed_fs_blocks: { bytenr: number }[];
};
interface Run {
  logical: number;
  length: number;
  generation: number;
  sectorsMatched: number;
  sectorsMismatched: number;
  sectorsUnreadable: number;
  claimedBy: string[];
}
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('recover: carving finds a deleted file no inode claims any more', () => {
  it('the fixture is what it should be: the victim is in no tree, an older csum leaf names its sectors, its bytes are still there', () => {
    expect(truth.victim.survives).toBe(true);
    expect(truth.zeroed_fs_blocks.length).toBeGreaterThan(0);
    const [e] = truth.victim.extents;
    expect(truth.victim.extents.length).toBe(1);
    expect(truth.csum_leaves.some((l) => l.item_logical <= e!.logical && l.item_logical + l.sectors * 4096 >= e!.logical + e!.length)).toBe(true);
  });

  it('the free sectors match the surviving checksums, in a run no recovered file claims; its bytes are the victim', async () => {
    const out = mkdtempSync(join(tmpdir(), 'carve-unclaimed-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as { files: { ino: number }[]; carved: { runs: Run[]; truncated: boolean; sectorsChecked: number } };
    // No tree, older root or orphan leaf gives the victim back as a file.
    expect(doc.files.some((f) => f.ino === truth.victim.ino)).toBe(false);
    expect(doc.carved.truncated).toBe(false);
    const e = truth.victim.extents[0]!;
    const runs = doc.carved.runs.filter((x) => x.logical < e.logical + e.length && e.logical < x.logical + x.length);
    expect(runs.length).toBeGreaterThan(0);
    // Every sector of the victim's extent is covered, matched, and claimed by no file.
    let covered = 0;
    for (const x of runs) {
      expect(x.claimedBy).toEqual([]);
      expect(x.sectorsMismatched).toBe(0);
      expect(x.sectorsUnreadable).toBe(0);
      expect(truth.csum_leaves.map((l) => l.generation)).toContain(x.generation);
      const lo = Math.max(x.logical, e.logical);
      const hi = Math.min(x.logical + x.length, e.logical + e.length);
      covered += (hi - lo) / 4096;
    }
    expect(covered).toBe(e.length / 4096);
    expect(runs.reduce((a, x) => a + x.sectorsMatched, 0)).toBeGreaterThanOrEqual(e.length / 4096);
    // The run's bytes, read through the chunk map where btrfs-map-logical put them, are the victim's.
    const fs = Filesystem.open([loadRunsImage(IMG)]);
    const m = fs.volume.map(BigInt(e.logical))!;
    expect(m.copies[0]!.physical).toBe(BigInt(e.physical));
    const bytes = fs.volume.read(BigInt(e.logical), e.length).bytes!;
    expect(createHash('sha256').update(bytes.subarray(0, truth.victim.size)).digest('hex')).toBe(truth.victim.sha256);
  });

  it('the text report says the evidence is unclaimed', async () => {
    const out = mkdtempSync(join(tmpdir(), 'carve-unclaimed-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/carving by checksum: \d+ free sectors that surviving csum items name checked; (\d+) still match, 16 of them in 1 run\(s\) no recovered file claims/);
  });
});
