import { describe, expect, it } from 'vitest';
import { type CheckFinding, runCheck } from '../src/analysis/check/index.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { mapReport } from '../src/report/map.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { filesTruth, hashFile } from './helpers/fsTruth.js';
import { type BuiltStripe, buildRstImage, type LeafItem, strideBytes } from './helpers/rstImage.js';

/**
 * The raid stripe tree (incompat RAID_STRIPE_TREE, tree 12): data of DUP, RAID1* , RAID0 and
 * RAID10 data block groups lives where its RAID_STRIPE items say, not where the chunk's
 * arithmetic puts it. No tool here writes stripe items (this kernel refuses the feature; mkfs
 * 6.19 writes none for --rootdir data), so each image is built in memory from a kernel-made
 * sample (test/helpers/rstImage.ts): every data extent's copies moved elsewhere in their chunk,
 * their old places zeroed, items saying where. The kernel's file hashes (truth/files.json) are
 * then only read by a reader that follows the items.
 */

/** Files of the sample with content, read through `fs`: how many match the kernel's sha256, and the read errors. */
function readAll(fs: Filesystem, sample: string): { ok: number; wrong: string[]; errors: string[] } {
  const view = new FsView(fs);
  const out = { ok: 0, wrong: [] as string[], errors: [] as string[] };
  for (const t of filesTruth(sample)) {
    if (t.type !== 'file' || !t.sha256) continue;
    const r = view.resolve(`/${t.path}`);
    if (!r.ok) throw new Error(r.error);
    const h = hashFile(view, r.inode);
    out.errors.push(...h.errors.map((e) => `${t.path}: ${e}`));
    if (h.sha256 === t.sha256) out.ok++;
    else out.wrong.push(t.path);
  }
  return out;
}

const damage = (fs: Filesystem): CheckFinding[] => runCheck(fs).findings.filter((f) => f.severity !== 'info');
const brief = (fs: CheckFinding[]) => fs.map((f) => [f.code, f.location.tree, f.location.slot, f.location.logical]);

describe.each(['raid1', 'dup-data'] as const)('raid stripe tree over %s (built in memory)', (sample) => {
  it('every file equals the kernel sha256 through the stripe items; read by chunk arithmetic alone, moved files are wrong', () => {
    const img = buildRstImage(sample);
    expect(img.stripes.length).toBeGreaterThan(5);
    const got = readAll(img.open(), sample);
    expect(got.errors).toEqual([]);
    expect(got.wrong).toEqual([]);
    expect(got.ok).toBeGreaterThan(5);
    // The same bytes with the stripe tree ignored: what a reader that does not follow it gets.
    const blind = Filesystem.open(img.sources);
    blind.volume.raidStripes = null;
    const naive = readAll(blind, sample);
    expect(naive.wrong.length).toBeGreaterThanOrEqual(5);
  });

  it('check --data: no error or warning, every data sector of every copy verified through the items', () => {
    const r = runCheck(buildRstImage(sample).open(), { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.summary.dataChecked).toBe(true);
    expect(r.summary.dataSectorCopies).toBe(r.summary.dataSectors * 2);
  });

  it('map: each copy of a data address at its stride (physical + offset into the item), not at the chunk arithmetic place', () => {
    const img = buildRstImage(sample);
    const fs = img.open();
    for (const s of img.stripes) {
      const at = s.logical + s.length / 2n - ((s.length / 2n) % 4096n);
      const r = mapReport(fs.volume, at, fs.volume.map(at)!);
      expect(r.stripeExtent).toEqual({ logical: s.logical, length: s.length });
      expect(r.copies.map((c) => [c.devid, c.physical])).toEqual(s.strides.map((t) => [t.devid, t.physical + (at - s.logical)]));
      expect(r.copies.map((c) => c.physical)).not.toEqual(s.old.map((o) => o.physical + (at - s.logical)));
      expect(r.contiguous).toBe(s.logical + s.length - at);
      // And back (map --physical): each stride's place holds the address; the chunk arithmetic place of a moved copy holds nothing.
      for (const [i, t] of s.strides.entries()) {
        const back = fs.volume.reverse(t.devid, t.physical + (at - s.logical)).filter((h) => h.stripeIndex === i || sample !== 'dup-data');
        expect(back.map((h) => h.logical)).toEqual([at]);
      }
      const stale = fs.volume.reverse(s.old[0]!.devid, s.old[0]!.physical);
      if (!img.stripes.some((x) => x.strides.some((t) => t.devid === s.old[0]!.devid && s.old[0]!.physical >= t.physical && s.old[0]!.physical < t.physical + x.length)))
        expect(stale.filter((h) => h.stripeIndex === 0).map((h) => [h.logical, h.unplaced])).toEqual([[null, true]]);
    }
  });
});

describe('raid stripe tree damage (raid1 built in memory): each rule, its finding and place', () => {
  /** The image with the items changed by `edit`; k: the stripe of the largest extent (a file's). */
  const pick = (stripes: BuiltStripe[]) => stripes.reduce((a, b, i) => (b.length > stripes[a]!.length ? i : a), 0);
  const build = (edit: (items: LeafItem[], k: number, stripes: BuiltStripe[]) => LeafItem[]) => buildRstImage('raid1', (items, stripes) => edit(items, pick(stripes), stripes));

  it('rst-missing: an extent whose item is gone cannot be read; check names the range and the file extent', () => {
    let gone: BuiltStripe | undefined;
    const img = build((items, k, stripes) => {
      gone = stripes[k];
      return items.filter((_, i) => i !== k);
    });
    const fs = img.open();
    const got = damage(fs);
    expect(got.map((f) => [f.code, f.location.logical])).toEqual([['rst-missing', gone!.logical]]);
    expect(got[0]!.location.tree).toBe(ObjectId.FS_TREE);
    expect(got[0]!.message).toBe(
      `file data at logical ${gone!.logical} +${gone!.length} (RAID1 data chunk ${fs.volume.chunks.find(gone!.logical)!.logical}) has no raid stripe item: it cannot be read`,
    );
    // The file is read in 1 MiB pieces: each one fails, saying why.
    const read = readAll(fs, 'raid1');
    const pieces = [...Array(Number(gone!.length >> 20n)).keys()].map((i) => gone!.logical + (BigInt(i) << 20n));
    expect(read.errors).toEqual(pieces.map((at) => `small/pattern-big.bin: inode 263 of subvolume 5: data at logical ${at} cannot be read: no raid stripe item maps logical ${at} (raid stripe tree)`));
  });

  it('rst-overlap: a second item over part of an earlier one is reported and not used', () => {
    const img = build((items, k, stripes) => {
      const s = stripes[k]!;
      const extra: LeafItem = {
        objectid: s.logical + 4096n,
        type: ItemType.RAID_STRIPE,
        offset: s.length - 4096n,
        data: strideBytes(s.strides.map((t) => ({ devid: t.devid, physical: t.physical + 4096n + 65536n }))),
      };
      return [...items.slice(0, k + 1), extra, ...items.slice(k + 1)];
    });
    const s = img.stripes[pick(img.stripes)]!;
    expect(brief(damage(img.open()))).toEqual([['rst-overlap', ObjectId.RAID_STRIPE_TREE, pick(img.stripes) + 1, s.logical + 4096n]]);
    expect(readAll(img.open(), 'raid1').wrong).toEqual([]);
  });

  it('rst-item-size: an item 8 bytes longer than its two strides', () => {
    const img = build((items, k) => items.map((it, i) => (i === k ? { ...it, data: new Uint8Array([...it.data, 0, 0, 0, 0, 0, 0, 0, 0]) } : it)));
    const k = pick(img.stripes);
    const got = damage(img.open());
    expect(brief(got)).toEqual([['rst-item-size', ObjectId.RAID_STRIPE_TREE, k, img.stripes[k]!.logical]]);
    expect(got[0]!.message).toBe(`raid stripe item (${img.stripes[k]!.logical} RAID_STRIPE ${img.stripes[k]!.length}) is 40 bytes, not a whole number of 16-byte strides`);
  });

  it('rst-key: an item whose logical start is not sector aligned is not used (tree-checker), so its extent has no item', () => {
    const img = build((items, k) => items.map((it, i) => (i === k ? { ...it, objectid: it.objectid + 512n } : it)));
    const k = pick(img.stripes);
    const s = img.stripes[k]!;
    expect(brief(damage(img.open()))).toEqual([
      ['rst-key', ObjectId.RAID_STRIPE_TREE, k, s.logical + 512n],
      ['rst-missing', ObjectId.FS_TREE, expect.any(Number), s.logical],
    ]);
  });

  it('rst-stride: a stride on a device the chunk does not use, and one outside the device extent', () => {
    const k0 = (img: { stripes: BuiltStripe[] }) => pick(img.stripes);
    const foreign = build((items, k, stripes) =>
      items.map((it, i) => (i === k ? { ...it, data: strideBytes([stripes[k]!.strides[0]!, { devid: 3n, physical: stripes[k]!.strides[1]!.physical }]) } : it)),
    );
    const got = damage(foreign.open());
    expect(brief(got)).toEqual([['rst-stride', ObjectId.RAID_STRIPE_TREE, k0(foreign), foreign.stripes[k0(foreign)]!.logical]]);
    expect(got[0]!.message).toMatch(/stride 1 names devid 3, which chunk \d+ does not use$/);
    const outside = build((items, k, stripes) => items.map((it, i) => (i === k ? { ...it, data: strideBytes([stripes[k]!.strides[0]!, { devid: 2n, physical: 1n << 40n }]) } : it)));
    const got2 = damage(outside.open());
    expect(got2.map((f) => f.code)).toEqual(['rst-stride']);
    expect(got2[0]!.message).toMatch(/stride 1 \(devid 2 physical 1099511627776 \+\d+\) is outside the chunk's device extent on that device/);
  });

  it("rst-feature: the tree without the superblock's incompat bit (the data is then read by chunk arithmetic)", () => {
    const img = buildRstImage('raid1', undefined, { featureBit: false });
    const fs = img.open();
    expect(fs.volume.raidStripes).toBeNull();
    const got = damage(fs);
    expect(got.map((f) => [f.code, f.location.tree])).toEqual([['rst-feature', ObjectId.ROOT_TREE]]);
  });
});
