import { describe, expect, it } from 'vitest';
import { HEADER_SIZE } from '../src/format/treeBlock.js';
import { openSample, sampleNames, truthText } from './helpers/samples.js';
import { keyString, parseDumpTree } from './helpers/dumpTreeTruth.js';

const names = sampleNames();

describe.each(names)('trees of sample %s', (name) => {
  it('every block, key, item offset and size and child pointer equals dump-tree, with no finding', () => {
    const truth = parseDumpTree(truthText(name, 'dump-tree.txt'));
    expect(truth.size).toBeGreaterThan(5);
    const fs = openSample(name);
    const seen = new Map<bigint, { level: number; nritems: number; generation: bigint; entries: string[] }>();
    const log = fs.logRootTree;
    for (const root of [fs.rootTree, fs.chunkTree, ...(log ? [log] : []), ...fs.roots(), ...fs.logTrees()]) {
      fs.walk(root, {
        block(b) {
          if (seen.has(b.logical)) return false;
          const entries: string[] = [];
          for (let i = 0; i < b.nritems; i++) {
            const k = b.key(i);
            const ks = keyString(k.objectid, k.type, k.offset);
            entries.push(b.isLeaf ? `${ks} off ${b.itemOffset(i) - HEADER_SIZE} size ${b.itemSize(i)}` : `${ks} block ${b.blockPtr(i)} gen ${b.ptrGeneration(i)}`);
          }
          seen.set(b.logical, { level: b.level, nritems: b.nritems, generation: b.generation, entries });
          return true;
        },
      });
    }
    expect(fs.findings.items).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...truth.keys()].sort());
    for (const [bytenr, t] of truth) {
      const ours = seen.get(bytenr)!;
      expect({ level: ours.level, nritems: ours.nritems, generation: ours.generation }, `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation });
      expect(ours.entries, `block ${bytenr}`).toEqual(t.entries);
    }
  });
});
