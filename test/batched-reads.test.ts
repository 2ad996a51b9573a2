import { describe, expect, it } from 'vitest';
import { scanOf, surveyRoots } from '../src/analysis/forensics/roots.js';
import { scanMetadata } from '../src/analysis/forensics/scan.js';
import { ChunkedSource } from '../web/src/chunked.js';
import { openSample, sampleSources, truthText } from './helpers/samples.js';

/**
 * The forensics metadata scan through a source that batches (the web app
 * over `serve`): it reads the metadata chunks in windows fetched together,
 * never block by block, and finds what it finds without batches, including
 * every leaf btrfs-progs' dump-tree printed for the image.
 */
describe('metadata scan through batched reads', () => {
  it('default sample: every copy in batches, every dump-tree leaf found, the same counts', () => {
    const run = (batching: boolean) => {
      let singles = 0;
      // Plain range reads of more than one 64 KiB chunk: the scan's windows, warmed as one run.
      let runs = 0;
      const batches: number[] = [];
      const sources = sampleSources('default').map(
        (inner) =>
          new ChunkedSource(
            inner.name,
            inner.size,
            (offset, length) => {
              if (length > 65536) runs++;
              else singles++;
              return inner.read(BigInt(offset), length);
            },
            batching
              ? (ranges) => {
                  batches.push(ranges.length);
                  return ranges.map((r) => inner.read(BigInt(r.offset), r.length));
                }
              : undefined,
          ),
      );
      const fs = openSample('default', sources);
      const before = singles;
      const scan = scanMetadata(fs);
      const afterScan = singles;
      // The old roots' completeness walk: level-1 nodes' leaves come in batches too.
      const roots = surveyRoots(fs, scanOf(fs)).map((r) => `${r.tree}:${r.generation}:${r.root.bytenr}:${r.intact}:${r.missing}`);
      return { scan, singles: afterScan - before, surveySingles: singles - afterScan, requests: runs + batches.length, roots };
    };
    const plain = run(false);
    const batched = run(true);
    // Without batches the scan asks for each 64 KiB chunk of each copy; with them, for none alone:
    // each window of each copy is one range request.
    expect(plain.singles).toBeGreaterThan(100);
    expect(batched.singles).toBe(0);
    expect(batched.requests).toBeLessThan(plain.singles / 64);
    expect(batched.roots).toEqual(plain.roots);
    expect(batched.surveySingles).toBeLessThan(plain.surveySingles);
    const counts = (s: typeof plain.scan) => [s.chunks, s.copiesRead, s.validCopies, s.validBlocks];
    expect(counts(batched.scan)).toEqual(counts(plain.scan));
    const leaves = new Set([...batched.scan.leaves.values()].flatMap((l) => l.map((x) => x.logical)));
    const dump = [...truthText('default', 'dump-tree.txt').matchAll(/^leaf (\d+) items/gm)].map((m) => BigInt(m[1]!));
    expect(dump.length).toBeGreaterThan(5);
    for (const l of dump) expect(leaves.has(l), `leaf ${l}`).toBe(true);
  });
});
