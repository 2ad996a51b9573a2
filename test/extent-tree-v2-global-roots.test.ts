import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { carveByChecksum } from '../src/analysis/forensics/carve.js';
import { DataChecker } from '../src/analysis/forensics/dataState.js';
import { scanMetadata } from '../src/analysis/forensics/scan.js';
import { ObjectId } from '../src/format/constants.js';
import { resolveLogical } from '../src/fs/backrefs.js';
import { FsView } from '../src/fs/FsView.js';
import { type ReadStats, readAll } from '../src/fs/fileData.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { blockGroupScene } from '../src/report/heatmap.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { chunk as layoutChunk } from '../web/src/ops/layout.js';
import { cli } from './helpers/cli.js';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { SAMPLES } from './helpers/samples.js';

// sample-images/progs-made/etv2-data (build-progs-made.sh): mkfs.btrfs 6.19 -O extent-tree-v2
// --num-global-roots 4 --rootdir: four extent, csum and free-space trees; mkfs put every extent and
// checksum item in the ones with global id 0, so the trees with the highest ids (what "the" root,
// highest key offset first, would be) are empty. Truth: dump-tree, btrfs check --check-data-csum,
// and the sha256 of btrfs restore's copies.
const DIR = join(SAMPLES, 'progs-made', 'etv2-data');
const truth = (f: string) => {
  const b = readFileSync(join(DIR, 'truth', f));
  return (f.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
};
const open = () => Filesystem.open([loadRunsImage(join(DIR, 'dev1.runs.gz'))]);

describe('extent-tree-v2 with four global roots, files made by mkfs 6.19 --rootdir', () => {
  it('every global root is found, in key order, and every tree block equals dump-tree', () => {
    const fs = open();
    const dump = truth('dump-tree.txt.gz');
    for (const [id, name] of [
      [ObjectId.EXTENT_TREE, 'EXTENT_TREE'],
      [ObjectId.CSUM_TREE, 'CSUM_TREE'],
      [ObjectId.FREE_SPACE_TREE, 'FREE_SPACE_TREE'],
    ] as const) {
      const want = [...dump.matchAll(new RegExp(`^\\t?item \\d+ key \\(${name} ROOT_ITEM (\\d+)\\)`, 'gm'))].map((m) => BigInt(m[1]!));
      expect(want).toEqual([0n, 1n, 2n, 3n]);
      expect(fs.globalRoots(id).map((r) => fs.roots().find((x) => x.tree === id && x.bytenr === r.bytenr)!.key.offset)).toEqual(want);
    }
    const want = parseDumpTree(dump);
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
    expect(fs.findings.items).toEqual([]);
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [bytenr, t] of want) expect(seen.get(bytenr), `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation, entries: t.entries });
  });

  it('check --data verifies every data sector through the csum tree of global id 0: the bytes btrfs check counts, no finding', () => {
    const fs = open();
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    const text = truth('check-data-csum.txt');
    expect(text).toMatch(/# exit code 0/);
    const allocated = BigInt(/file data blocks allocated: (\d+)/.exec(text)![1]!);
    expect(allocated).toBeGreaterThan(0n);
    expect(r.summary.dataBytes).toBe(allocated);
    expect(BigInt(r.summary.dataSectors) * BigInt(fs.superblock.sectorsize)).toBe(allocated);
  });

  it("every file reads as btrfs restore's copy, each sector verified against its checksum", () => {
    const view = new FsView(open());
    const files = truth('files.sha256').trim().split('\n');
    expect(files.length).toBe(5);
    const stats: ReadStats = { verifiedSectors: 0, unverifiedSectors: 0, repairedSectors: 0, badSectors: 0 };
    for (const line of files) {
      const [sha, rel] = line.split(/ {2}/);
      const r = view.resolve(rel!.slice(1));
      if (!r.ok) throw new Error(`${rel} not found`);
      const { bytes, errors } = readAll(view, r.inode, { stats });
      expect(errors, rel).toEqual([]);
      expect(createHash('sha256').update(bytes).digest('hex'), rel).toBe(sha);
    }
    expect(stats.unverifiedSectors).toBe(0);
    expect(stats.verifiedSectors).toBeGreaterThan(300);
  });

  it("resolve finds each data extent in the extent tree of global id 0, with dump-tree's back reference", () => {
    const view = new FsView(open());
    const dump = truth('dump-tree.txt.gz');
    const tree0 = dump.slice(dump.indexOf('extent tree key (EXTENT_TREE ROOT_ITEM 0)'), dump.indexOf('extent tree key (EXTENT_TREE ROOT_ITEM 1)'));
    const items = [...tree0.matchAll(/key \((\d+) EXTENT_ITEM (\d+)\)[^\n]*\n[^\n]*\n\s+\(178 0x[0-9a-f]+\) extent data backref root FS_TREE objectid (\d+) offset (\d+) count (\d+)/g)];
    expect(items.length).toBe(5);
    for (const m of items) {
      const r = resolveLogical(view, BigInt(m[1]!));
      expect(r.extent, m[1]).not.toBeNull();
      expect(r.backrefs).toEqual([{ type: 'extent-data', root: ObjectId.FS_TREE, ino: BigInt(m[3]!), offset: BigInt(m[4]!), count: Number(m[5]), keyed: false }]);
      expect(r.files.length).toBe(1);
    }
  });

  // dump-tree's extent items of every extent tree (all four), by start address.
  const extentItems = () =>
    [...truth('dump-tree.txt.gz').matchAll(/key \((\d+) (EXTENT_ITEM|METADATA_ITEM) (\d+)\)/g)].map((m) => ({
      bytenr: BigInt(m[1]!),
      length: m[2] === 'EXTENT_ITEM' ? BigInt(m[3]!) : BigInt(open().superblock.nodesize),
    }));
  const chunksOfTruth = () =>
    [...truth('dump-tree.txt.gz').matchAll(/key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)[^\n]*\n\s+length (\d+)/g)].map((m) => ({ logical: BigInt(m[1]!), length: BigInt(m[2]!) }));

  it("heatmap and the web layout count each block group's extents from every extent tree, as dump-tree lists them", () => {
    const fs = open();
    const items = extentItems();
    const chunks = chunksOfTruth();
    expect(chunks.length).toBe(3);
    let total = 0;
    for (const c of chunks) {
      const want = items.filter((x) => x.bytenr >= c.logical && x.bytenr < c.logical + c.length);
      total += want.length;
      const scene = blockGroupScene(fs, c.logical);
      if ('error' in scene) throw new Error(scene.error);
      expect(scene.texts[0]!.text, `block group ${c.logical}`).toContain(`, ${want.length} extents`);
      const json = JSON.parse(layoutChunk(fs, c.logical)) as { extentCount: number; extents: { bytenr: string; length: string }[] };
      expect(json.extentCount).toBe(want.length);
      expect(json.extents.map((x) => [BigInt(x.bytenr), BigInt(x.length)])).toEqual(want.slice(0, json.extents.length).map((x) => [x.bytenr, x.length]));
    }
    // The five files' data extents and the tree blocks: all in the extent tree of global id 0.
    expect(total).toBeGreaterThan(5);
  });

  it('recovery data state finds every file extent still allocated in the extent tree of global id 0, each sector verified', () => {
    const fs = open();
    const view = new FsView(fs);
    const checker = new DataChecker(fs, fs.globalRoots(ObjectId.CSUM_TREE));
    const data = [...truth('dump-tree.txt.gz').matchAll(/key \((\d+) EXTENT_ITEM (\d+)\)[^\n]*\n\s+refs \d+ gen \d+ flags DATA/g)].map((m) => ({ bytenr: BigInt(m[1]!), length: BigInt(m[2]!) }));
    let extents = 0;
    for (const line of truth('files.sha256').trim().split('\n')) {
      const rel = line.split(/ {2}/)[1]!;
      const r = view.resolve(rel.slice(1));
      if (!r.ok) throw new Error(`${rel} not found`);
      const st = checker.check(view, r.inode, fs.superblock.generation);
      if (st.state === 'inline') continue;
      expect(st.state, rel).toBe('intact');
      for (const x of st.extents) {
        expect(
          data.some((d) => d.bytenr === x.diskBytenr && d.length === x.diskNumBytes),
          `${rel} extent ${x.diskBytenr}`,
        ).toBe(true);
        expect(x.stillAllocated, `${rel} extent ${x.diskBytenr}`).toBe(true);
        expect(x.reusedBytes).toBe(0n);
        expect(BigInt(x.sectorsOk) * BigInt(fs.superblock.sectorsize)).toBe(x.diskNumBytes);
        extents++;
      }
    }
    expect(extents).toBe(data.length);
  });

  it('carving finds no free sector under a checksum: every csum covers data the extent tree of global id 0 allocates', () => {
    const fs = open();
    const carved = carveByChecksum(fs, scanMetadata(fs), []);
    expect(carved.leavesRead).toBeGreaterThan(0);
    expect(carved.runs).toEqual([]);
    expect(carved.sectorsChecked).toBe(0);
  });

  it('tree --tree extent/csum/free-space prints every global root under its title, the blocks dump-tree lists', async () => {
    const dump = truth('dump-tree.txt.gz');
    for (const [arg, title] of [
      ['extent', 'extent tree'],
      ['csum', 'checksum tree'],
      ['free-space', 'free space tree'],
    ] as const) {
      const r = await cli('tree', join(DIR, 'dev1.runs.gz'), '--tree', arg);
      expect(r.code).toBe(0);
      // dump-tree's section of those trees: from the first title to the next tree's title.
      const sections = dump.split(/\n(?=[a-z][a-z ]* tree( key|\n))/);
      const want = sections.filter((x) => x.startsWith(`${title} key`)).join('\n');
      const blocks = (t: string) => t.split('\n').filter((l) => /^(\S.* tree key |leaf |node )/.test(l));
      expect(blocks(want).filter((l) => l.includes('tree key')).length).toBe(4);
      expect(blocks(r.stdout).map((l) => l.trimEnd())).toEqual(blocks(want).map((l) => l.trimEnd()));
    }
  });
});
