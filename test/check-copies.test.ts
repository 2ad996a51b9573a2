/**
 * check reports two copies of a DUP tree block that are both valid but differ: built in memory
 * from the default sample (DUP metadata, kernel-made) by rewriting one byte of a leaf's free
 * space (between the item headers and the item data, which no reader looks at) in its second
 * copy only, and recomputing that copy's checksum; and superblock copies of one generation
 * that differ beyond what each copy has of its own (bytenr, checksum, log root).
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../src/format/treeBlock.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { blockCopies, DamageKit, fixBlockCsum } from './helpers/damage.js';
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

describe.runIf(sampleNames().includes('default'))('check: superblock copies that differ', () => {
  const clean = Filesystem.open(sampleSources('default'));
  /** The default sample with its second superblock copy (at 64 MiB) edited and re-checksummed. */
  const withSecondCopy = (edit: (v: DataView) => void) => {
    const src = sampleSources('default')[0]!;
    const at = 0x4000000n;
    expect(src.size).toBeGreaterThan(at + 4096n);
    const b = src.read(at, 4096).slice();
    edit(new DataView(b.buffer, b.byteOffset, 4096));
    const o = new OverlaySource(src);
    o.patch(at, fixBlockCsum(b, clean.superblock.csumType));
    return Filesystem.open([o]);
  };
  const differ = (fs: Filesystem) => runCheck(fs).findings.filter((f) => f.code === 'super-copies-differ');

  it('the clean sample has none', () => {
    expect(differ(clean)).toEqual([]);
  });

  it('a label byte changed in copy 2: a warning at that copy, naming the byte', () => {
    // btrfs_super_block.label is at 0x12b, 256 bytes; the sample's label is short, so byte 0x12b + 200 is a zero.
    const f = differ(withSecondCopy((v) => v.setUint8(0x12b + 200, 0x41)));
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.location).toMatchObject({ physical: 0x4000000n, copy: 1 });
    expect(f[0]!.message).toContain(`at byte ${0x12b + 200}`);
  });

  it('a log root written to one copy only (as an fsync log commit does) is no difference', () => {
    // log_root (u64 at 0x60) and log_root_level (u8 at 0xc8): what btrfs_sync_log writes to the primary copy alone.
    const fs = withSecondCopy((v) => {
      v.setBigUint64(0x60, 0x1234000n, true);
      v.setUint8(0xc8, 1);
    });
    expect(differ(fs)).toEqual([]);
  });
});
