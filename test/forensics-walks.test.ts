import { describe, expect, it } from 'vitest';
import { LiveInodes } from '../src/analysis/forensics/liveInodes.js';
import { CompletenessMemo, completeness, scanOf, surveyRoots } from '../src/analysis/forensics/roots.js';
import { ObjectId } from '../src/format/constants.js';
import { parseDumpTree, parseKeyPart, type TruthBlock } from './helpers/dumpTreeTruth.js';
import { openSample, truthText } from './helpers/samples.js';

/**
 * The bounded helpers recover uses on big images (subtree tallies kept
 * between older roots, the current tree's inodes remembered by number)
 * answer what btrfs-progs' dump-tree of the sample says, with and without
 * what they remember, and also when their bound makes them start over.
 */

/** Blocks reachable from `root` through the node pointers dump-tree printed ("key (..) block B gen G"). */
function truthBlockCount(blocks: Map<bigint, TruthBlock>, root: bigint): number {
  const b = blocks.get(root);
  if (!b) throw new Error(`no block ${root} in dump-tree`);
  let n = 1;
  for (const e of b.entries) {
    const m = / block (\d+) gen \d+$/.exec(e);
    if (m) n += truthBlockCount(blocks, BigInt(m[1]!));
  }
  return n;
}

/** INODE_ITEM generations of the top-level fs tree, from the "generation G transid T" line under each "key (INO INODE_ITEM 0)". */
function truthInodeGenerations(text: string): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('fs tree key (FS_TREE ROOT_ITEM 0)'));
  for (let i = start + 1; i < lines.length && !/^\S.* tree key /.test(lines[i]!); i++) {
    const k = /^\titem \d+ key \((\S+) INODE_ITEM 0\) itemoff \d+ itemsize 160$/.exec(lines[i]!);
    const g = k ? /^\t\tgeneration (\d+) transid/.exec(lines[i + 1]!) : null;
    if (k && g) out.set(parseKeyPart(k[1]!), BigInt(g[1]!));
  }
  return out;
}

describe('completeness with a memo of walked subtrees (mixed sample: 4 KiB nodes, fs tree of level 2)', () => {
  const fs = openSample('mixed');
  const blocks = parseDumpTree(truthText('mixed', 'dump-tree.txt'));
  const fsTree = fs.treeRoot(ObjectId.FS_TREE)!;
  const total = truthBlockCount(blocks, fsTree.bytenr);

  it('counts every block dump-tree shows under each current root, from the memo the second time', () => {
    expect(fsTree.level).toBe(2);
    const memo = new CompletenessMemo();
    for (const pass of [1, 2]) {
      for (const r of fs.roots()) {
        if (!blocks.has(r.bytenr)) continue;
        const c = completeness(fs, r, undefined, memo);
        expect({ pass, tree: r.tree, intact: c.intact, missing: c.missing, truncated: c.truncated }).toEqual({
          pass,
          tree: r.tree,
          intact: truthBlockCount(blocks, r.bytenr),
          missing: 0,
          truncated: false,
        });
      }
    }
  });

  it('stops at the block limit where a walk without memo stops, whatever the memo holds', () => {
    const memo = new CompletenessMemo();
    completeness(fs, fsTree, undefined, memo);
    for (const max of [1, 2, 3, 40, total - 1, total, total + 1]) {
      const c = completeness(fs, fsTree, max, memo);
      expect({ max, intact: c.intact, truncated: c.truncated }).toEqual({ max, intact: Math.min(total, max), truncated: total > max });
    }
  });

  it('a memo bounded to one node and one leaf starts over and still counts right', () => {
    const memo = new CompletenessMemo(1, 1);
    for (let i = 0; i < 3; i++) expect(completeness(fs, fsTree, undefined, memo).intact).toBe(total);
  });

  it('older roots the scan found (some with blocks reused since): the same counts and losses with one memo across all of them', () => {
    let lost = 0;
    for (const name of ['mixed', 'deleted', 'generations', 'log-tree']) {
      const f = name === 'mixed' ? fs : openSample(name);
      const memo = new CompletenessMemo();
      for (const r of surveyRoots(f, scanOf(f))) {
        const c = completeness(f, r.root, undefined, memo);
        expect(c, `${name} tree ${r.tree} gen ${r.generation}`).toEqual(completeness(f, r.root));
        lost += c.lost.length;
      }
    }
    expect(lost).toBeGreaterThan(0);
  });
});

describe('LiveInodes (mixed sample: 2,500 files)', () => {
  const fs = openSample('mixed');
  const gens = truthInodeGenerations(truthText('mixed', 'dump-tree.txt'));
  const root = fs.treeRoot(ObjectId.FS_TREE)!;

  it('has every inode at the generation dump-tree shows, and not at another; a number not in the tree is no inode', () => {
    expect(gens.size).toBeGreaterThan(2500);
    for (const live of [new LiveInodes(fs, root), new LiveInodes(fs, root, 3)]) {
      for (let pass = 0; pass < 2; pass++) {
        for (const [ino, g] of gens) {
          expect(live.has(ino, g), `${ino} gen ${g}`).toBe(true);
          expect(live.has(ino, g + 1n)).toBe(false);
        }
      }
      const past = [...gens.keys()].reduce((a, b) => (a > b ? a : b)) + 1n;
      expect(live.has(past, 0n)).toBe(false);
      expect(live.has(past, 7n)).toBe(false);
    }
  });
});
