/**
 * check reports two copies of a DUP tree block that are both valid but differ: built in memory
 * from the default sample (DUP metadata, kernel-made) by rewriting one byte of a leaf's free
 * space (between the item headers and the item data, which no reader looks at) in its second
 * copy only, and recomputing that copy's checksum.
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../src/format/treeBlock.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { blockCopies, DamageKit } from './helpers/damage.js';
import { sampleNames, sampleSources } from './helpers/samples.js';

describe.runIf(sampleNames().includes('default'))('check: valid copies that differ', () => {
  const clean = Filesystem.open(sampleSources('default'));

  it('the clean sample has none', () => {
    expect(runCheck(clean).findings.filter((f) => f.code === 'tree-block-copies-differ')).toEqual([]);
  });

  it("a leaf whose second copy differs in its free space: a warning with the block, tree and both copies' places", () => {
    const root = clean.treeRoot(2n)!;
    const copies = blockCopies(clean, root.bytenr);
    expect(copies).toHaveLength(2);
    const kit = new DamageKit(clean, sampleSources('default'));
    const leaf = new TreeBlock(kit.blockBytes(root.bytenr), root.bytenr);
    expect(leaf.isLeaf).toBe(true);
    // The free space of a leaf: after the last item header, before the lowest item data offset.
    const freeStart = HEADER_SIZE + leaf.nritems * ITEM_SIZE;
    const freeEnd = HEADER_SIZE + Math.min(...Array.from({ length: leaf.nritems }, (_, i) => leaf.itemOffset(i)));
    expect(freeEnd - freeStart).toBeGreaterThan(16);
    const at = freeStart + 8;
    kit.editBlock(
      root.bytenr,
      (b) => {
        b[at]! ^= 0x5a;
      },
      { copies: [1], fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    const r = runCheck(fs);
    const f = r.findings.filter((x) => x.code === 'tree-block-copies-differ');
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.location).toMatchObject({ logical: root.bytenr, block: root.bytenr, tree: 2n, copy: 1, devid: copies[1]!.devid, physical: copies[1]!.physical });
    expect(f[0]!.message).toContain(`physical ${copies[0]!.physical}`);
    expect(f[0]!.message).toContain(`physical ${copies[1]!.physical}`);
    expect(f[0]!.message).toContain(`first at byte ${at}`);
    // Nothing else: both copies are valid.
    expect(r.findings.filter((x) => x.severity === 'error')).toEqual(runCheck(clean).findings.filter((x) => x.severity === 'error'));
  });
});
