import { describe, expect, it } from 'vitest';
import { computeCsum } from '../src/format/checksum.js';
import { HEADER_SIZE, ITEM_SIZE } from '../src/format/treeBlock.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { NotBtrfsError } from '../src/volume/assemble.js';
import { blockCopies, DamageKit } from './helpers/damage.js';
import { sampleSources } from './helpers/samples.js';

const SAMPLE = 'default';

function countItems(fs: Filesystem): number {
  let n = 0;
  for (const r of [fs.rootTree, fs.chunkTree, ...fs.roots()])
    fs.walk(r, {
      block(b, i) {
        if (b.isLeaf) n += i.validItems;
      },
    });
  return n;
}

function codes(fs: Filesystem): string[] {
  return [...new Set(fs.findings.items.map((f) => f.code))].sort();
}

describe('damaged input: the damage is reported where it is, and the rest is read', () => {
  const clean = Filesystem.open(sampleSources(SAMPLE));
  const cleanItems = countItems(clean);
  const fsTree = clean.treeRoot(5n)!;

  it('one bad copy of a DUP leaf: reported with its place, marked repairable, every item still read', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const extentRoot = clean.treeRoot(2n)!;
    kit.editBlock(
      extentRoot.bytenr,
      (b) => {
        b[200]! ^= 0xff;
      },
      { copies: [0] },
    );
    const fs = Filesystem.open(kit.overlays);
    expect(countItems(fs)).toBe(cleanItems);
    const f = fs.findings.items.filter((x) => x.code === 'tree-block-csum');
    expect(f).toHaveLength(1);
    const copy0 = blockCopies(clean, extentRoot.bytenr)[0]!;
    expect(f[0]!.location).toMatchObject({ logical: extentRoot.bytenr, copy: 0, devid: 1n, physical: copy0.physical, tree: 2n });
    expect(f[0]!.repairable).toBe(true);
  });

  it('both copies bad: reported unrepairable, the other trees still read in full', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const csumRoot = clean.treeRoot(7n)!;
    let csumItems = 0;
    clean.walk(csumRoot, {
      block(b, i) {
        if (b.isLeaf) csumItems += i.validItems;
      },
    });
    kit.editBlock(csumRoot.bytenr, (b) => {
      b[300]! ^= 0x01;
    });
    const fs = Filesystem.open(kit.overlays);
    expect(countItems(fs)).toBe(cleanItems - csumItems);
    const f = fs.findings.items.filter((x) => x.code === 'tree-block-csum');
    expect(f.map((x) => x.location.copy)).toEqual([0, 1]);
    expect(f.every((x) => !x.repairable)).toBe(true);
  });

  it('a node pointing at itself: level mismatch reported, no loop', () => {
    expect(fsTree.level).toBeGreaterThan(0);
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    kit.editBlock(
      fsTree.bytenr,
      (b) => {
        // Child pointer 0 := the node's own address.
        const v = new DataView(b.buffer, b.byteOffset);
        v.setBigUint64(HEADER_SIZE + 17, fsTree.bytenr, true);
      },
      { fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    let blocks = 0;
    fs.walk(fs.treeRoot(5n)!, {
      block() {
        blocks++;
      },
    });
    expect(blocks).toBeGreaterThan(1);
    expect(codes(fs)).toContain('level-mismatch');
    const f = fs.findings.items.find((x) => x.code === 'level-mismatch')!;
    expect(f.location.logical).toBe(fsTree.bytenr);
  });

  it('keys out of order in a leaf (checksum recomputed): key-order at the slot', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const devRoot = clean.treeRoot(4n)!;
    kit.editBlock(
      devRoot.bytenr,
      (b) => {
        // Swap the keys of items 1 and 2.
        const a = HEADER_SIZE + 1 * ITEM_SIZE,
          c = HEADER_SIZE + 2 * ITEM_SIZE;
        const ka = b.slice(a, a + 17);
        b.copyWithin(a, c, c + 17);
        b.set(ka, c);
      },
      { fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    countItems(fs);
    const f = fs.findings.items.filter((x) => x.code === 'key-order');
    expect(f.length).toBeGreaterThan(0);
    expect(f[0]!.location).toMatchObject({ logical: devRoot.bytenr, slot: 2 });
  });

  it('absurd item count and item offset (checksum recomputed): bounded, reported', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const root = clean.treeRoot(10n)!;
    kit.editBlock(
      root.bytenr,
      (b) => {
        new DataView(b.buffer, b.byteOffset).setUint32(0x60, 0xfffffff0, true);
      },
      { fixCsum: true },
    );
    const uuidRoot = clean.treeRoot(9n)!;
    kit.editBlock(
      uuidRoot.bytenr,
      (b) => {
        new DataView(b.buffer, b.byteOffset).setUint32(HEADER_SIZE + 17, 0x7fffff00, true);
      },
      { fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    countItems(fs);
    expect(codes(fs)).toEqual(expect.arrayContaining(['bad-nritems', 'item-offset']));
  });

  it('a changed leaf generation (checksum recomputed): transid mismatch against the parent', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const root = clean.roots().find((r) => r.tree === 5n)!;
    const rootNode = kit.blockBytes(root.bytenr);
    const child = new DataView(rootNode.buffer).getBigUint64(HEADER_SIZE + 17, true);
    kit.editBlock(
      child,
      (b) => {
        new DataView(b.buffer, b.byteOffset).setBigUint64(0x50, 1234n, true);
      },
      { fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    countItems(fs);
    const f = fs.findings.items.find((x) => x.code === 'transid-mismatch')!;
    expect(f.message).toContain('1234');
    expect(f.location.logical).toBe(child);
  });

  it('a truncated image: blocks past the end are named with device and offset', () => {
    const o = new OverlaySource(sampleSources(SAMPLE)[0]!).truncate(40n * 1024n * 1024n);
    const fs = Filesystem.open([o]);
    countItems(fs);
    const f = fs.findings.items.filter((x) => x.code === 'tree-block-unreadable');
    expect(f.length).toBeGreaterThan(0);
    expect(f[0]!.message).toMatch(/past the end of the device/);
    expect(f[0]!.location.physical).toBeDefined();
  });

  it('primary superblock with wrong magic: the next copy is used and the primary reported', () => {
    const o = new OverlaySource(sampleSources(SAMPLE)[0]!).patch(0x10040n, new TextEncoder().encode('NOTBTRFS'));
    const fs = Filesystem.open([o]);
    expect(fs.superblock.bytenr).toBe(0x4000000n);
    expect(countItems(fs)).toBe(cleanItems);
    expect(codes(fs)).toContain('super-bad-magic');
  });

  it('superblock checksum wrong: reported as bad-csum, the mirror used', () => {
    const o = new OverlaySource(sampleSources(SAMPLE)[0]!).patch(0x10000n + 0x48n, new Uint8Array([0x77]));
    const fs = Filesystem.open([o]);
    expect(fs.superblock.bytenr).toBe(0x4000000n);
    expect(codes(fs)).toContain('super-bad-csum');
  });

  it('no valid superblock anywhere: a clear error naming every copy', () => {
    const o = new OverlaySource(sampleSources(SAMPLE)[0]!).patch(0x10040n, new Uint8Array(8)).patch(0x4000040n, new Uint8Array(8));
    expect(() => Filesystem.open([o])).toThrow(NotBtrfsError);
    expect(() => Filesystem.open([o])).toThrow(/copy 1 at 65536: bad-magic; copy 2 at 67108864: bad-magic/);
  });

  it('garbage sys_chunk_array (superblock checksum fixed): reported, nothing crashes', () => {
    const src = sampleSources(SAMPLE)[0]!;
    const sb = src.read(0x10000n, 4096).slice();
    sb.fill(0xee, 0x32b + 17, 0x32b + 17 + 48);
    sb.fill(0, 0, 32);
    sb.set(computeCsum(0, sb.subarray(32)), 0);
    const o = new OverlaySource(src).patch(0x10000n, sb).patch(0x4000040n, new Uint8Array(8));
    const fs = Filesystem.open([o]);
    expect(codes(fs).some((c) => c.startsWith('chunk') || c === 'sys-chunk-array' || c === 'tree-block-unreadable' || c === 'unmapped-block')).toBe(true);
    expect(() => countItems(fs)).not.toThrow();
  });

  it('item types are decoded only from whole items: a leaf full of garbage is bounded', () => {
    const kit = new DamageKit(clean, sampleSources(SAMPLE));
    const root = clean.treeRoot(2n)!;
    kit.editBlock(
      root.bytenr,
      (b) => {
        for (let i = HEADER_SIZE; i < b.length; i++) b[i] = (i * 31) & 0xff;
      },
      { fixCsum: true },
    );
    const fs = Filesystem.open(kit.overlays);
    expect(() => countItems(fs)).not.toThrow();
    const found = fs.findings.items.filter((f) => f.location.logical === root.bytenr).map((f) => f.code);
    expect(found.some((c) => ['bad-nritems', 'item-offset', 'key-order', 'item-overlap', 'bad-level', 'level-mismatch'].includes(c))).toBe(true);
  });
});
