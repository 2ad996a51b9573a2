import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadRunsImage } from '../src/io/node/runs.js';
import { readBlockGroupsAt } from '../src/tree/blockGroups.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { ChunkedSource } from '../web/src/chunked.js';
import { CORPUS, hasTruth, openSample, sampleNames, sampleSources, truthText } from './helpers/samples.js';

/**
 * Block groups found by key (one search per chunk start) against what
 * `btrfs inspect-internal dump-tree` printed for the same image: every
 * BLOCK_GROUP_ITEM, from the extent tree, or from the block group tree where
 * that feature is on (the shared corpus's modern images).
 */
function truthBlockGroups(dump: string): Map<bigint, { length: bigint; used: bigint; chunkObjectid: bigint }> {
  const out = new Map<bigint, { length: bigint; used: bigint; chunkObjectid: bigint }>();
  const re = /key \((\d+) BLOCK_GROUP_ITEM (\d+)\) itemoff \d+ itemsize \d+\n\s+block group used (\d+) chunk_objectid (\d+)/g;
  for (const m of dump.matchAll(re)) out.set(BigInt(m[1]!), { length: BigInt(m[2]!), used: BigInt(m[3]!), chunkObjectid: BigInt(m[4]!) });
  return out;
}

function found(fs: Filesystem) {
  const got = readBlockGroupsAt(
    fs,
    fs.volume.chunks.all.map((c) => c.logical),
  );
  return new Map([...got].map(([k, b]) => [k, { length: b.length, used: b.used, chunkObjectid: b.chunkObjectid }]));
}

describe('block groups by key match dump-tree', () => {
  const samples = sampleNames().filter((n) => hasTruth(n, 'dump-tree.txt'));
  it.each(samples)('%s', (name) => {
    const truth = truthBlockGroups(truthText(name, 'dump-tree.txt'));
    expect(truth.size).toBeGreaterThan(0);
    expect(found(openSample(name))).toEqual(truth);
  });

  const modern = join(CORPUS, 'modern');
  it.skipIf(!existsSync(modern))('block-group-tree images (btrfs-progs 6.19)', () => {
    for (const name of ['bgt-squota', 'raid1c3-bgt']) {
      const dir = join(modern, name);
      const devs = ['dev1', 'dev2', 'dev3'].filter((d) => existsSync(join(dir, `${d}.runs.gz`)));
      const fs = Filesystem.open(devs.map((d) => loadRunsImage(join(dir, `${d}.runs.gz`))));
      const truth = truthBlockGroups(gunzipSync(readFileSync(join(dir, 'dump-tree.txt.gz'))).toString('latin1'));
      expect(truth.size, name).toBeGreaterThan(0);
      expect(found(fs), name).toEqual(truth);
    }
  });

  it('through a source that batches (the web app over serve): no block read alone, at most one batch per tree level', () => {
    // The same searches without batches ask the medium for blocks one by one on some samples: the batches replaced those reads.
    let alone = 0;
    for (const name of samples) {
      for (const batching of [false, true]) {
        const batches: number[] = [];
        let singles = 0;
        const sources = sampleSources(name).map(
          (inner) =>
            new ChunkedSource(
              inner.name,
              inner.size,
              (offset, length) => {
                singles++;
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
        const fs = openSample(name, sources);
        const root = fs.treeRoot(2n)!;
        const before = singles;
        expect(found(fs), name).toEqual(truthBlockGroups(truthText(name, 'dump-tree.txt')));
        if (!batching) alone += singles - before;
        else {
          expect(singles - before, name).toBe(0);
          expect(batches.length, name).toBeLessThanOrEqual((root.level + 1) * sources.length);
        }
      }
    }
    expect(alone).toBeGreaterThan(0);
  });

  it('a logical start without a block group, or past 2^64, is left out', () => {
    const name = sampleNames()[0]!;
    const fs = openSample(name);
    expect(readBlockGroupsAt(fs, [1n, -1n, 1n << 64n]).size).toBe(0);
  });
});
