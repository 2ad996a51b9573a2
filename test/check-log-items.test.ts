import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckFinding, runCheck } from '../src/analysis/check/index.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../src/format/treeBlock.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { ROOT } from './helpers/samples.js';

/**
 * Log tree items that do not fit, built in memory from the valid unreplayed log of
 * test/fixtures/valid-modern/log-tree-fsync (btrfs check v6.19: no error): an item whose
 * key type has no place in a log (the kernel's tree-log.c writes only a subvolume's
 * items, dir-log ranges and checksums into a log tree, and only root items into the log
 * root tree), and an item whose data overruns its leaf (tree-checker.c check_leaf).
 */
const IMAGE = join(ROOT, 'test', 'fixtures', 'valid-modern', 'log-tree-fsync.runs.gz');
const damage = (fs: Filesystem): CheckFinding[] => runCheck(fs, {}).findings.filter((f) => f.severity !== 'info');

function logLeaf(fs: Filesystem): TreeBlock {
  const lt = fs.logTrees()[0]!;
  const leaf = new TreeBlock(fs.volume.readCopy(lt.bytenr, fs.superblock.nodesize, 0).bytes!, lt.bytenr);
  if (!leaf.isLeaf) throw new Error('expects a one-leaf log tree');
  return leaf;
}

/** The image with the leaf at `logical` edited (key bytes, item headers), its checksum recomputed. */
function edited(logical: bigint, edit: (v: DataView) => void): Filesystem {
  const clean = Filesystem.open([loadRunsImage(IMAGE)]);
  const k = new DamageKit(clean, [loadRunsImage(IMAGE)]);
  k.editBlock(logical, (b) => edit(new DataView(b.buffer, b.byteOffset, b.length)), { fixCsum: true });
  return Filesystem.open(k.overlays);
}

describe('check: log tree items that do not fit', () => {
  const clean = Filesystem.open([loadRunsImage(IMAGE)]);
  it('the log is clean as made', () => {
    expect(damage(clean)).toEqual([]);
    expect(clean.logTrees().length).toBe(1);
  });

  it('a log tree item given the root item key type: log-item-type at that slot, nothing else', () => {
    const leaf = logLeaf(clean);
    // The last file extent item of an inode whose next item is another inode's: its type can rise to ROOT_ITEM (132) with the keys still in order.
    const slot = [...Array(leaf.nritems - 1).keys()].find((s) => leaf.keyType(s) === ItemType.EXTENT_DATA && leaf.keyObjectid(s + 1) > leaf.keyObjectid(s))!;
    expect(slot).toBeDefined();
    const fs = edited(leaf.logical, (v) => v.setUint8(HEADER_SIZE + slot * ITEM_SIZE + 8, ItemType.ROOT_ITEM));
    const got = damage(fs);
    expect(got.map((f) => [f.code, f.location.tree, f.location.block, f.location.slot, f.location.key?.type])).toEqual([['log-item-type', ObjectId.TREE_LOG, leaf.logical, slot, ItemType.ROOT_ITEM]]);
    expect(got[0]!.message).toMatch(/ROOT_ITEM \(132\) does not belong in a subvolume's log tree/);
  });

  it('a log root tree item given a file extent key type: log-item-type there, and the log tree it named is not read', () => {
    const lr = clean.logRootTree!;
    const fs = edited(lr.bytenr, (v) => v.setUint8(HEADER_SIZE + 0 * ITEM_SIZE + 8, ItemType.EXTENT_DATA));
    expect(fs.logTrees()).toEqual([]);
    const got = damage(fs);
    expect(got.map((f) => [f.code, f.location.tree, f.location.block, f.location.slot])).toEqual([['log-item-type', ObjectId.TREE_LOG, lr.bytenr, 0]]);
    expect(got[0]!.message).toMatch(/EXTENT_DATA \(108\) does not belong in the log root tree/);
  });

  it('an item whose data overruns the log leaf: item-offset on both copies, at that slot', () => {
    const leaf = logLeaf(clean);
    const sizeAt = HEADER_SIZE + 0 * ITEM_SIZE + 21;
    // Item 0's data is the last in the leaf: 64 bytes more reach past the block's end.
    expect(leaf.itemOffset(0) + leaf.itemSize(0)).toBe(clean.superblock.nodesize);
    const fs = edited(leaf.logical, (v) => v.setUint32(sizeAt, v.getUint32(sizeAt, true) + 64, true));
    const got = damage(fs);
    expect(got.map((f) => [f.code, f.location.tree, f.location.logical, f.location.copy, f.location.slot])).toEqual([
      ['item-offset', ObjectId.TREE_LOG, leaf.logical, 0, 0],
      ['item-offset', ObjectId.TREE_LOG, leaf.logical, 1, 0],
    ]);
  });
});
