import { describe, expect, it } from 'vitest';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { openSample, sampleNames, truthText } from './helpers/samples.js';

const names = sampleNames();

describe.each(names)('trees of sample %s', (name) => {
  it('every block, key, item offset and size and child pointer equals dump-tree, with no finding', () => {
    const truth = parseDumpTree(truthText(name, 'dump-tree.txt'));
    expect(truth.size).toBeGreaterThan(5);
    const fs = openSample(name);
    const log = fs.logRootTree;
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...(log ? [log] : []), ...fs.roots(), ...fs.logTrees()]);
    expect(fs.findings.items).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [bytenr, t] of truth) {
      const ours = seen.get(bytenr)!;
      expect({ level: ours.level, nritems: ours.nritems, generation: ours.generation }, `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation });
      expect(ours.entries, `block ${bytenr}`).toEqual(t.entries);
    }
  });
});
