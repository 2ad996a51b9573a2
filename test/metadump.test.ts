import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Rng } from '../fuzz/rng.js';
import { runCheck } from '../src/analysis/check/index.js';
import { ITEMS_PER_CLUSTER, metaClusterHeader, metaClusterItem } from '../src/format/metadump.js';
import { FsView } from '../src/fs/FsView.js';
import { newReadStats, readAll, readFile, symlinkTarget } from '../src/fs/fileData.js';
import { pathBytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { dumpAllText } from '../src/report/dumpTree.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { NotBtrfsError } from '../src/volume/assemble.js';
import { MetadumpDeviceSource, MetadumpImage } from '../src/volume/metadump.js';
import { readSuperblocks } from '../src/volume/superblocks.js';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { b64, filesTruth } from './helpers/fsTruth.js';
import { SAMPLES, truthText } from './helpers/samples.js';

// Dumps made by btrfs-image (btrfs-progs 6.19) of the samples `default` and `raid1`
// (sample-images/build-metadump.sh); truth: dump-tree and btrfs check of `btrfs-image -r`.
const DIR = join(SAMPLES, 'metadump');
const dumpBytes = (file: string): Uint8Array => {
  const b = readFileSync(join(DIR, file));
  return new Uint8Array(file.endsWith('.gz') ? gunzipSync(b) : b);
};
const DUMPS = [
  { file: 'default.dump.gz', sample: 'default', restored: 'default.dump-tree.txt.gz', check: 'default.check.txt' },
  { file: 'default-c9.dump', sample: 'default', restored: 'default.dump-tree.txt.gz', check: 'default-c9.check.txt' },
  { file: 'raid1-c9.dump', sample: 'raid1', restored: null, check: 'raid1-c9.check.txt' },
];
const open = (file: string) => Filesystem.open([new MemorySource(dumpBytes(file), file)]);
const restoredTruth = (file: string) => gunzipSync(readFileSync(join(DIR, 'truth', file))).toString('utf8');

/** Every block the trees reach, as the dump-tree helper writes them. */
function blocksOf(fs: Filesystem) {
  return walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
}

function expectBlocks(fs: Filesystem, truthText: string): void {
  const truth = parseDumpTree(truthText);
  const seen = blocksOf(fs);
  expect([...seen.keys()].sort()).toEqual([...truth.keys()].sort());
  for (const [bytenr, t] of truth) {
    const ours = seen.get(bytenr)!;
    expect({ level: ours.level, nritems: ours.nritems, generation: ours.generation, entries: ours.entries }, `block ${bytenr}`).toEqual({
      level: t.level,
      nritems: t.nritems,
      generation: t.generation,
      entries: t.entries,
    });
  }
}

describe.each(DUMPS)('btrfs-image dump $file read in place', ({ file, sample, restored, check }) => {
  it("every tree block equals the dumped sample's dump-tree (and the restored dump's), with no finding", () => {
    const fs = open(file);
    expect(fs.assembly.metadump).toMatchObject({ version: 0, data: false, compressed: file.includes('-c9') });
    expectBlocks(fs, truthText(sample, 'dump-tree.txt'));
    if (restored) expectBlocks(fs, restoredTruth(restored));
    expect(fs.findings.items).toEqual([]);
  });

  it('check: clean, the dump named, data not checked, and the free-space entries btrfs check flags are the notes', () => {
    const fs = open(file);
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.findings.some((f) => f.code === 'metadump')).toBe(true);
    expect(r.summary.dataChecked).toBe(false);
    expect(r.summary.dataSkipped).toMatch(/btrfs-image/);
    const text = readFileSync(join(DIR, 'truth', check), 'utf8');
    // btrfs check of the restored dump: "total tree bytes" is every tree block once.
    expect(BigInt(r.summary.treeBlocks) * BigInt(fs.superblock.nodesize)).toBe(BigInt(/total tree bytes: (\d+)/.exec(text)![1]!));
    const progs = [...text.matchAll(/Space key logical (\d+) length (\d+) has no corresponding block group/g)].map((m) => BigInt(m[1]!)).sort();
    const ours = [...new Set(r.findings.filter((f) => f.code === 'free-space-orphan').map((f) => f.location.logical!))].sort();
    expect(ours).toEqual(progs);
  });

  it('every name of the sample is there; file contents are absent, said so, never zeros', () => {
    const fs = open(file);
    const view = new FsView(fs);
    expect(view.isMetadump).toBe(true);
    const truth = new Set(filesTruth(sample).map((t) => t.path_b64));
    const seen = new Set<string>();
    let contentChecked = 0;
    for (const it of walkFiles(view, view.rootOf(5n))) {
      seen.add(b64(pathBytes(it.path)));
      const ino = it.inode;
      if (ino?.kind === 'file' && ino.size > 0n) {
        const segs = [...readFile(view, ino)];
        expect(segs.some((s) => s.kind === 'data')).toBe(false);
        // Holes and preallocated ranges are zeros by the metadata alone; everything else is absent.
        if (segs.some((s) => s.kind === 'error' && /btrfs-image/.test(s.message))) contentChecked++;
        else
          expect(
            segs.every((s) => s.kind === 'zero'),
            Buffer.from(pathBytes(it.path)).toString(),
          ).toBe(true);
      }
    }
    expect(contentChecked).toBeGreaterThan(5);
    expect([...truth].filter((p) => !seen.has(p)).map((p) => Buffer.from(p, 'base64').toString())).toEqual([]);
  });
});

describe('btrfs-image dump format', () => {
  it('struct sizes as btrfs-progs image/metadump.h packs them (u64 magic, u64 bytenr, u32 nritems, u8 compress; u64 bytenr, u32 size)', () => {
    expect([metaClusterHeader.size, metaClusterItem.size, ITEMS_PER_CLUSTER]).toEqual([21, 12, (1024 - 21 - ((1024 - 21) % 12)) / 12]);
    // The raid1 dump's index, read by hand: 4 ranges (the superblock first), zlib.
    const b = dumpBytes('raid1-c9.dump');
    const dv = new DataView(b.buffer, b.byteOffset);
    expect([dv.getBigUint64(0, true), dv.getBigUint64(8, true), dv.getUint32(16, true), b[20]]).toEqual([0xbd5c25e27295668bn, 0n, 4, 1]);
    expect(dv.getBigUint64(21, true)).toBe(65536n);
  });

  it('the plain and zlib dumps hold the same superblock and the same logical ranges', () => {
    const a = MetadumpImage.open(new MemorySource(dumpBytes('default.dump.gz')))!;
    const b = MetadumpImage.open(new MemorySource(dumpBytes('default-c9.dump')))!;
    expect(a.superblock).toEqual(b.superblock);
    expect(a.info.bytes).toBe(b.info.bytes);
    expect(a.info.compressed).toBe(false);
    // 47 tree blocks of 16 KiB (btrfs check of the restored dump counts 770048 tree bytes).
    expect(a.info.bytes).toBe(770048);
  });

  it('only the primary superblock copy is in a dump; the others are missing, not damaged', () => {
    const d = MetadumpImage.open(new MemorySource(dumpBytes('default-c9.dump')))!;
    const s = readSuperblocks(new MetadumpDeviceSource(d));
    expect(s.mirrors.map((m) => m.state)).toEqual(['ok', 'missing', 'missing']);
  });

  it('a dump without its superblock range: metadump-super, and nothing to open', () => {
    const b = dumpBytes('default-c9.dump');
    // The first range is the superblock (bytenr 65536): name it another address.
    new DataView(b.buffer, b.byteOffset).setBigUint64(21, 0x20000n, true);
    const d = MetadumpImage.open(new MemorySource(b))!;
    expect(d.superblock).toBeNull();
    expect(d.findings.map((f) => f.code)).toEqual(['metadump-super']);
    expect(() => Filesystem.open([new MemorySource(b, 'nosuper.dump')])).toThrow(NotBtrfsError);
  });

  it('a --device given beside a dump is not read: device-ignored, the dump still opens clean', () => {
    const fs = Filesystem.open([new MemorySource(dumpBytes('raid1-c9.dump'), 'raid1.dump'), new MemorySource(new Uint8Array(1 << 20), 'other')]);
    expect(fs.findings.items.map((f) => [f.code, f.severity, f.location.device])).toEqual([['device-ignored', 'warning', 'other']]);
    expect(fs.volume.devices.size).toBe(2);
  });

  it('a file that is not a dump is not taken for one', () => {
    expect(MetadumpImage.open(new MemorySource(new Uint8Array(4096)))).toBeNull();
  });

  it('bytes after the last cluster that are not a cluster: a finding at their offset, the dump still read', () => {
    const bytes = dumpBytes('default.dump.gz');
    const broken = new Uint8Array(bytes.length + 1024);
    broken.set(bytes);
    broken.fill(0x55, bytes.length);
    const d = MetadumpImage.open(new MemorySource(broken))!;
    expect(d.info.clusters).toBe(1);
    expect(d.findings.map((f) => f.code)).toEqual(['metadump-cluster']);
    expect(d.findings[0]!.location.physical).toBe(BigInt(bytes.length));
    const fs = Filesystem.open([new MemorySource(broken, 'broken.dump')]);
    expect(fs.findings.items.map((f) => f.code)).toEqual(['metadump-cluster']);
    expect(
      runCheck(fs)
        .findings.filter((f) => f.severity === 'error')
        .map((f) => f.code),
    ).toEqual(['metadump-cluster']);
  });

  it('a dump cut short: the ranges past the end are a finding, blocks they held are unreadable, nothing throws', () => {
    const bytes = dumpBytes('default.dump.gz');
    const cut = bytes.subarray(0, bytes.length - 100_000);
    const d = MetadumpImage.open(new MemorySource(cut))!;
    expect(d.findings.map((f) => f.code)).toEqual(['metadump-range']);
    expect(d.superblock).not.toBeNull();
    const fs = Filesystem.open([new MemorySource(cut, 'cut.dump')]);
    const r = runCheck(fs);
    expect(r.findings.some((f) => f.severity === 'error' && f.code !== 'metadump-range')).toBe(true);
  });
});

describe('a dump whose names btrfs-image -s sanitised', () => {
  it("reads with the sample's tree structure; the names failing their hash make check fold name findings into notes, no damage", () => {
    const fs = open('default-c9-sanitized.dump');
    expectBlocks(fs, truthText('default', 'dump-tree.txt'));
    const r = runCheck(fs);
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.findings.filter((f) => f.code === 'metadump-sanitized')).toHaveLength(1);
    // btrfs-image -s rewrites the name of (nearly) every DIR_ITEM the sample's dump-tree lists; a random name matching its hash is a 1-in-2^32 chance.
    const dirItems = (truthText('default', 'dump-tree.txt').match(/key \(\d+ DIR_ITEM \d+\)/g) ?? []).length;
    const hashes = r.summary.byCode['dir-item-hash'] ?? 0;
    expect(hashes).toBeGreaterThan(dirItems * 0.99);
  });

  it('an unsanitised dump has no name finding at all', () => {
    const r = runCheck(open('default-c9.dump'));
    expect(r.findings.filter((f) => f.code === 'dir-item-hash' || f.code === 'metadump-sanitized')).toEqual([]);
  });
});

describe('hostile dumps: the index, the ranges and the compressed streams mutated (seeded)', () => {
  // Cluster header fields, range index entries (address and stored size), and bytes inside the
  // ranges (zlib streams of a -c9 dump, raw tree blocks and data of a plain one), with a seeded
  // generator: opening, checking, listing, reading files and dumping trees never throw and every
  // finding has a location.
  const cases = [
    { file: 'default-c9.dump', n: 60 },
    { file: 'default.dump.gz', n: 20 },
    { file: 'raid1-c9.dump', n: 40 },
    // -d dumps: the ranges hold data extents too, which file reads now take their bytes from.
    { file: 'holes-d-c9.dump', n: 40 },
    { file: 'holes-d.dump.gz', n: 20 },
  ];
  it.each(cases)('$file: $n cases', ({ file, n }) => {
    const clean = dumpBytes(file);
    const dv = new DataView(clean.buffer, clean.byteOffset);
    const items = dv.getUint32(16, true);
    for (let c = 0; c < n; c++) {
      const rng = Rng.forCase(19, c);
      const b = clean.slice();
      const bv = new DataView(b.buffer);
      const what = rng.int(4);
      const item = 21 + rng.int(items) * 12;
      if (what === 0) bv.setUint32(16, rng.chance(0.5) ? rng.int(200) : rng.u32(), true);
      else if (what === 1) bv.setBigUint64(item, BigInt(rng.u32()) << BigInt(rng.int(33)), true);
      else if (what === 2) bv.setUint32(item + 8, rng.chance(0.5) ? rng.int(1 << 20) : rng.u32(), true);
      else for (let k = 0; k < 1 + rng.int(8); k++) b[1024 + rng.int(b.length - 1024)]! ^= 1 << rng.int(8);
      let fs: Filesystem;
      try {
        fs = Filesystem.open([new MemorySource(b, `case ${c}`)]);
      } catch (e) {
        expect(e, `case ${c} (${what})`).toBeInstanceOf(NotBtrfsError);
        continue;
      }
      const r = runCheck(fs);
      for (const f of r.findings) expect(f.location, `case ${c}: ${f.code}`).toBeDefined();
      const view = new FsView(fs);
      // Only a -d dump's files have bytes to read; the others' reads are one error per extent.
      for (const it of walkFiles(view, view.rootOf(5n))) if (view.metadumpHasData && it.inode?.kind === 'file') readAll(view, it.inode, { max: 1 << 20 });
      dumpAllText(fs, () => {});
    }
  });
});

// btrfs-image -d (btrfs-progs 6.19, experimental build) of the sample `holes`: format 1, the data
// extents too. Truth: the sample's own files.json (sha256 of each file through a kernel mount) and
// dump-tree, and btrfs restore's copies of the restored dump (holes-d.restore.sha256).
describe.each([
  { file: 'holes-d-c9.dump', compressed: true },
  { file: 'holes-d.dump.gz', compressed: false },
])('btrfs-image -d dump $file read in place', ({ file, compressed }) => {
  it("format 1 with data; every tree block equals the sample's dump-tree, with no finding", () => {
    const fs = open(file);
    expect(fs.assembly.metadump).toMatchObject({ version: 1, data: true, compressed });
    expectBlocks(fs, truthText('holes', 'dump-tree.txt'));
    expect(fs.findings.items).toEqual([]);
  });

  it("every file with data on disk reads as the original and as btrfs restore's copy; inline data (zeroed by btrfs-image) is absent, said so", () => {
    const view = new FsView(open(file));
    expect(view.isMetadump && view.metadumpHasData).toBe(true);
    const restored = new Map(
      readFileSync(join(DIR, 'truth', 'holes-d.restore.sha256'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => {
          const [sha, path] = l.split(/ {2}/);
          return [path!.slice(2), sha!] as const;
        }),
    );
    const stats = newReadStats();
    let regular = 0,
      inline = 0,
      symlinks = 0;
    for (const t of filesTruth('holes')) {
      const r = view.resolve(`/${t.path}`);
      if (!r.ok) throw new Error(`${t.path} not found`);
      if (t.type === 'symlink') {
        // The target is an inline extent: zeroed in the dump; btrfs restore fails on it too (holes-d.restore.txt).
        expect(symlinkTarget(view, r.inode), t.path).toBeNull();
        symlinks++;
        continue;
      }
      if (t.type !== 'file') continue;
      const { bytes, errors } = readAll(view, r.inode, { stats });
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (t.filefrag?.extents.some((e) => e.flags.includes('inline'))) {
        expect(
          errors.map((e) => (e.kind === 'error' ? e.message : '')),
          t.path,
        ).toEqual([expect.stringMatching(/inline .*btrfs-image/)]);
        // btrfs restore of the restored dump writes the zeroes btrfs-image left, not the original.
        expect(restored.get(t.path), t.path).not.toBe(t.sha256);
        inline++;
        continue;
      }
      expect(errors, t.path).toEqual([]);
      expect(sha, t.path).toBe(t.sha256);
      expect(restored.get(t.path), t.path).toBe(t.sha256);
      if (t.size > 0) regular++;
    }
    expect([regular, inline, symlinks]).toEqual([13, 4, 1]);
    // The csum items are zeroed in the dump: nothing is verified, nothing is called bad.
    expect(stats.verifiedSectors).toBe(0);
    expect(stats.badSectors).toBe(0);
    expect(stats.unverifiedSectors).toBeGreaterThan(500);
  });

  it('check: clean, the data dump named, data not checked (csum items zeroed); tree bytes as btrfs check of the restored dump counts them', () => {
    const fs = open(file);
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    expect(r.findings.find((f) => f.code === 'metadump')?.message).toMatch(/made with -d/);
    expect(r.summary.dataChecked).toBe(false);
    expect(r.summary.dataSkipped).toMatch(/btrfs-image -d.*csum items are zeroed/);
    const text = readFileSync(join(DIR, 'truth', 'holes-d.check.txt'), 'utf8');
    expect(BigInt(r.summary.treeBlocks) * BigInt(fs.superblock.nodesize)).toBe(BigInt(/total tree bytes: (\d+)/.exec(text)![1]!));
  });
});
