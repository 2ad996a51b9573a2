/**
 * What dedup tools and hole punching make, kernel-written (test/fixtures/dedup/build.sh):
 * /clones is 5,000 clone ranges of one 4 KiB block, /punched 1,024 references into one
 * extent. The layout equals the kernel's filefrag -v, and the per-extent reference ranges
 * (as many as the extent's references) are never built for a layout: looking each clone's
 * extent up must not cost the extent's whole reference list.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fileLayout } from '../src/analysis/layout.js';
import { analyzeSharing } from '../src/analysis/sharing.js';
import { ExtentTable } from '../src/analysis/sharingTables.js';
import { FsView } from '../src/fs/FsView.js';
import { parsePath } from '../src/fs/names.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';

const DIR = join(import.meta.dirname, 'fixtures', 'dedup');

/** filefrag -v -b1 lines: "ext: a..b: p..q: length: [expected:] flags". */
function filefrag(name: string): { logical: bigint; physical: bigint; length: bigint; shared: boolean }[] {
  const out = [];
  for (const line of readFileSync(join(DIR, `filefrag-${name}.txt`), 'utf8').split('\n')) {
    const m = /^\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+):.*?([a-z,]*)\s*$/.exec(line);
    if (m) out.push({ logical: BigInt(m[1]!), physical: BigInt(m[2]!), length: BigInt(m[3]!), shared: m[4]!.split(',').includes('shared') });
  }
  return out;
}

describe('deduplicated and hole-punched files', () => {
  afterEach(() => vi.restoreAllMocks());
  const view = new FsView(Filesystem.open([loadRunsImage(join(DIR, 'dedup.runs.gz'))]));
  const sharing = analyzeSharing(view);

  it.each([
    ['clones', 5000],
    ['punched', 1024],
  ])('%s: the layout equals filefrag -v, and no reference list is built', (name, count) => {
    const res = view.resolve(parsePath(`/${name}`));
    if (!res.ok) throw new Error(res.error);
    const ranges = vi.spyOn(ExtentTable.prototype, 'ranges');
    const lay = fileLayout(view, res.ref, sharing);
    expect(ranges).not.toHaveBeenCalled();
    const want = filefrag(name);
    expect(want.length).toBeGreaterThanOrEqual(count);
    expect(lay.fiemap.map((f) => ({ logical: f.logical, physical: f.physical, length: f.length, shared: f.flags.includes('shared') }))).toEqual(want);
  });

  it("the shared extent's reference ranges are still there when asked for", () => {
    const block = view.resolve(parsePath('/block'));
    if (!block.ok) throw new Error(block.error);
    const lay = fileLayout(view, block.ref, sharing);
    const use = sharing.extents.get(lay.extents[0]!.diskBytenr)!;
    // /block's own reference and the 5,000 clones: each covers the whole 4 KiB block.
    expect(use.ranges.length).toBe(2 * 5001);
    expect(use.ranges.every((v, i) => v === (i % 2 === 0 ? 0n : 4096n))).toBe(true);
  });
});
