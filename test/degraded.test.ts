import { describe, expect, it } from 'vitest';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { openSample, sampleSources } from './helpers/samples.js';

function walkAll(fs: Filesystem): { blocks: number; items: number } {
  let blocks = 0,
    items = 0;
  for (const r of [fs.rootTree, fs.chunkTree, ...fs.roots()])
    fs.walk(r, {
      block(b, i) {
        blocks++;
        if (b.isLeaf) items += i.validItems;
      },
    });
  return { blocks, items };
}

/**
 * Degraded arrays: with devices missing, every tree block is still read,
 * from the other mirror or rebuilt from parity, and checksum-verified.
 */
describe('degraded multi-device filesystems', () => {
  it.each([
    ['raid1', [2]],
    ['raid1c3', [1, 3]],
    ['raid10', [2]],
    ['raid5', [2]],
    ['raid6', [1, 3]],
  ] as const)('%s without devices %j: every tree block read, only the missing devices reported', (name, missing) => {
    const full = walkAll(openSample(name));
    const sources = sampleSources(name).filter((_, i) => !(missing as readonly number[]).includes(i + 1));
    const fs = Filesystem.open(sources);
    const got = walkAll(fs);
    expect(got).toEqual(full);
    const errors = fs.findings.items.filter((f) => f.severity === 'error');
    expect(errors.map((f) => f.code).sort()).toEqual(missing.map(() => 'device-missing'));
    expect(errors.map((f) => f.location.devid).sort()).toEqual(missing.map((d) => BigInt(d)));
  });

  it('raid5: a corrupted data stripe of a tree block is rebuilt from parity (copy 2) and passes its checksum', () => {
    const clean = openSample('raid5');
    const extent = clean.treeRoot(2n)!;
    const m = clean.volume.chunks.map(extent.bytenr)!;
    expect(m.chunk.profile).toBe('RAID5');
    const place = m.copies[0]!;
    const overlays = sampleSources('raid5').map((s) => new OverlaySource(s));
    overlays[Number(place.devid) - 1]!.patch(place.physical + 100n, new Uint8Array(64).fill(0xa5));
    const fs = Filesystem.open(overlays);
    expect(walkAll(fs)).toEqual(walkAll(clean));
    const f = fs.findings.items.filter((x) => x.severity === 'error');
    expect(f.map((x) => [x.code, x.location.logical, x.location.copy, x.repairable])).toEqual([['tree-block-csum', extent.bytenr, 0, true]]);
  });

  it('raid6: data whose stripe and P are both bad is rebuilt from Q (copy 3), equal to the clean bytes', () => {
    const clean = openSample('raid6');
    // A data extent in a RAID6 chunk, from the extent tree (EXTENT_ITEM keys are (bytenr, 168, length)).
    let at: bigint | undefined;
    for (const { block, slot } of clean.items(clean.treeRoot(2n)!)) {
      if (block.keyType(slot) !== 168) continue;
      const m = clean.volume.chunks.map(block.keyObjectid(slot));
      if (m?.chunk.profile === 'RAID6' && block.keyOffsetField(slot) >= 4096n) {
        at = block.keyObjectid(slot);
        break;
      }
    }
    expect(at).toBeDefined();
    const want = clean.volume.readCopy(at!, 4096, 0).bytes!;
    const m = clean.volume.chunks.map(at!)!;
    const overlays = sampleSources('raid6').map((s) => new OverlaySource(s));
    const d = m.copies[0]!;
    overlays[Number(d.devid) - 1]!.patch(d.physical, new Uint8Array(4096).fill(0x11));
    const p = m.row!.p;
    overlays[Number(p.devid) - 1]!.patch(p.physical + m.row!.unitOffset, new Uint8Array(4096).fill(0x22));
    const fs = Filesystem.open(overlays);
    expect(fs.volume.copyCount(at!)).toBe(3);
    expect(Buffer.from(fs.volume.readCopy(at!, 4096, 0).bytes!).equals(Buffer.from(want))).toBe(false);
    expect(Buffer.from(fs.volume.readCopy(at!, 4096, 1).bytes!).equals(Buffer.from(want))).toBe(false);
    const viaQ = fs.volume.readCopy(at!, 4096, 2);
    expect(viaQ.rebuilt).toBe(true);
    expect(Buffer.from(viaQ.bytes!).equals(Buffer.from(want))).toBe(true);
  });

  it('raid6 with two devices missing: data still reads, rebuilt from P and Q', () => {
    const clean = openSample('raid6');
    const fs = Filesystem.open(sampleSources('raid6').slice(0, 2));
    let compared = 0;
    for (const { block, slot } of clean.items(clean.treeRoot(2n)!)) {
      if (block.keyType(slot) !== 168) continue;
      const at = block.keyObjectid(slot);
      if (clean.volume.chunks.map(at)?.chunk.profile !== 'RAID6') continue;
      const len = Number(block.keyOffsetField(slot) > 65536n ? 65536n : block.keyOffsetField(slot));
      const want = clean.volume.readCopy(at, len, 0).bytes!;
      const got = fs.volume.read(at, len);
      expect(Buffer.from(got.bytes!).equals(Buffer.from(want)), `extent ${at}`).toBe(true);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });
});
