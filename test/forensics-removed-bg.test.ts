import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { ROOT } from './helpers/samples.js';

/**
 * Deleted files whose block group the kernel removed after the delete (test/fixtures/
 * forensics-removed-bg, built by its build.sh: victims/ deleted, then `btrfs balance start
 * -dusage=0` removed the emptied data block groups; late.bin written and deleted afterwards, in
 * the new one). The truth is what the kernel showed before each delete (sha256, filefrag
 * extents) and btrfs-progs' dump-tree of the chunk tree before and after; build.sh read back
 * that every extent's bytes still lie where the old chunk put them.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'forensics-removed-bg');
const IMG = join(DIR, 'dev1.runs.gz');
interface ExtentTruth {
  logical: number;
  length: number;
  chunk_then: number;
  chunk_now: number | null;
  survives: boolean;
}
interface ChunkTruth {
  logical: number;
  length: number;
  type: string;
}
const truth = JSON.parse(readFileSync(join(DIR, 'truth.json'), 'utf8')) as {
  files: Record<string, { size: number; sha256: string; ino: number; extents: ExtentTruth[] }>;
  chunks_before: ChunkTruth[];
  chunks_after: ChunkTruth[];
};
interface Rec {
  ino: number;
  paths: string[];
  size: number;
  source: string;
  data: { state: string; extents: { diskBytenr: number; mapping: { chunk: number; origin: string; generation: number | null } | null }[] };
  writtenTo?: string | null;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('recover: extents of a block group removed after the delete (older chunk maps)', () => {
  const removed = truth.chunks_before.filter((c) => !truth.chunks_after.some((a) => a.logical === c.logical));

  it('the fixture is what it should be: the data block groups of victims/ are gone from the chunk tree, their bytes still on the device', () => {
    expect(removed.map((c) => c.type)).toEqual(['DATA|single', 'DATA|single']);
    const victims = Object.entries(truth.files).filter(([p]) => p.startsWith('victims/'));
    expect(victims.length).toBe(3);
    for (const [, f] of victims)
      for (const e of f.extents) {
        expect(e.chunk_now).toBeNull();
        expect(removed.some((c) => c.logical === e.chunk_then)).toBe(true);
        expect(e.survives).toBe(true);
      }
  });

  it('every deleted file comes back whole, each extent saying which chunk map served it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'removed-bg-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as { files: Rec[]; olderChunks: { logical: number; length: number; origin: string; profile: string }[] };
    // The chunks the filesystem no longer has are learned with their length from the older chunk tree.
    for (const c of removed) expect(doc.olderChunks).toContainEqual(expect.objectContaining({ logical: c.logical, length: c.length, profile: 'SINGLE' }));
    for (const [path, t] of Object.entries(truth.files)) {
      const f = doc.files.find((x) => x.paths.includes(`/${path}`) && x.source === 'older tree');
      expect(f, path).toBeDefined();
      expect(f!.ino).toBe(t.ino);
      expect(f!.size).toBe(t.size);
      expect(f!.data.state, path).toBe('intact');
      // Extent by extent: the kernel's extents (filefrag merges adjacent ones) are covered by ours, each mapped through the chunk that held it then.
      for (const e of t.extents) {
        const mine = f!.data.extents.filter((x) => x.diskBytenr >= e.logical && x.diskBytenr < e.logical + e.length);
        expect(mine.length, path).toBeGreaterThan(0);
        for (const m of mine) {
          expect(m.mapping?.chunk).toBe(e.chunk_then);
          expect(m.mapping?.origin).toBe(e.chunk_now === null ? 'older_chunk_tree' : 'chunk_tree');
        }
      }
      expect(f!.writtenTo, path).toBeTruthy();
      expect(sha(readFileSync(f!.writtenTo!)), path).toBe(t.sha256);
    }
  });

  it('carving by checksum: every deleted extent is free now and its sectors still match the checksums of their generation, claimed by its file', async () => {
    const r = await cli('recover', IMG, '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as {
      carved: { runs: { logical: number; length: number; sectorsMatched: number; sectorsMismatched: number; claimedBy: string[] }[]; truncated: boolean };
    };
    expect(doc.carved.truncated).toBe(false);
    for (const [path, t] of Object.entries(truth.files)) {
      for (const e of t.extents) {
        // Every sector of the kernel's extent lies in a carved run, matched, and the run names this file.
        const runs = doc.carved.runs.filter((x) => x.logical < e.logical + e.length && e.logical < x.logical + x.length);
        const covered = runs.reduce((a, x) => a + Math.min(x.logical + x.length, e.logical + e.length) - Math.max(x.logical, e.logical), 0);
        expect(covered, path).toBe(e.length);
        for (const x of runs) {
          expect(x.sectorsMismatched, path).toBe(0);
          expect(x.claimedBy, path).toContain(`5:${t.ino}`);
        }
      }
    }
  });

  it('says so in the text output', async () => {
    const r = await cli('recover', IMG);
    expect(r.code, r.stderr).toBe(0);
    for (const c of removed) expect(r.stdout).toContain(`read through chunk [${c.logical}, +${c.length}) SINGLE, which the filesystem no longer has (from a chunk-tree leaf of generation `);
  });
});
