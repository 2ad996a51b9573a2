import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanMetadata } from '../src/analysis/forensics/scan.js';
import { asDevId } from '../src/format/addresses.js';
import { csumMatches } from '../src/format/checksum.js';
import { CSUM_SIZE, ObjectId, SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from '../src/format/constants.js';
import { TreeBlock } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { pathBytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import type { Chunk } from '../src/volume/ChunkMap.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { b64, filesTruth, hashFile } from './helpers/fsTruth.js';
import { openSample, SAMPLES, sampleSources } from './helpers/samples.js';

/**
 * --rebuild: the chunk map rebuilt from a scan of the devices. Sample images (made by the
 * kernel, truth/files.json recorded from a mount) are damaged in memory: every superblock copy
 * and every copy of every chunk-tree block the metadata scan finds (the current tree and older
 * versions) zeroed, so no chunk item survives anywhere. Every file must still read with the
 * sha256 the kernel gave.
 */
function wiped(name: string): { sources: ByteSource[]; chunkBlocks: number } {
  const fs = openSample(name);
  const ns = fs.superblock.nodesize;
  const sources = sampleSources(name).map((s) => new OverlaySource(s));
  const byName = new Map(sources.map((s) => [s.name, s]));
  let chunkBlocks = 0;
  const scan = scanMetadata(fs);
  const chunkTreeBlocks = new Set<bigint>();
  for (const t of scan.trees) if (t.owner === ObjectId.CHUNK_TREE) for (const c of t.candidates) chunkTreeBlocks.add(c.logical);
  for (const l of scan.leaves.get(ObjectId.CHUNK_TREE) ?? []) chunkTreeBlocks.add(l.logical);
  fs.walk(fs.chunkTree, { block: (b) => void chunkTreeBlocks.add(b.logical) });
  for (const logical of chunkTreeBlocks) {
    const m = fs.volume.chunks.map(logical)!;
    // RAID5/6: the parity of the block's row too (with the row's other data stripes empty, P is the block itself).
    const parity = m.row ? [m.row.p, ...(m.row.q ? [m.row.q] : [])].map((x) => ({ ...x, physical: x.physical + m.row!.unitOffset })) : [];
    for (const c of [...m.copies, ...parity]) {
      const dev = fs.volume.devices.get(c.devid)!;
      byName.get(dev.source!.name)!.patch(c.physical, new Uint8Array(ns));
      chunkBlocks++;
    }
  }
  // And every other chunk-tree block on the devices (an older chunk tree the scan does not reach
  // through the current map): any nodesize block whose header names this filesystem and the
  // chunk tree and whose checksum matches.
  for (const s of sources)
    for (let base = 0n; base < s.size; base += 1n << 20n) {
      const piece = s.read(base, Number(s.size - base < 1n << 20n ? s.size - base : 1n << 20n));
      for (let off = 0; off + ns <= piece.length; off += 4096) {
        const buf = piece.subarray(off, off + ns);
        const b = new TreeBlock(buf, 0n);
        if (b.owner !== ObjectId.CHUNK_TREE || b.fsid !== fs.superblock.treeFsid || !csumMatches(fs.superblock.csumType, buf.subarray(CSUM_SIZE), buf, 0)) continue;
        s.patch(base + BigInt(off), new Uint8Array(ns));
        chunkBlocks++;
      }
    }
  for (const s of sources) for (const off of SUPER_MIRROR_OFFSETS) if (off + BigInt(SUPER_INFO_SIZE) <= s.size) s.patch(off, new Uint8Array(SUPER_INFO_SIZE));
  return { sources, chunkBlocks };
}

describe.each(['default', 'dup-data', 'raid1', 'raid0', 'raid10', 'raid5', 'raid6'])('--rebuild on %s with every superblock and chunk-tree block wiped', (name) => {
  it('every file reads with its kernel sha256; every mapping says how sure it is', () => {
    const { sources, chunkBlocks } = wiped(name);
    expect(chunkBlocks).toBeGreaterThan(0);
    // Without --rebuild nothing opens.
    expect(() => Filesystem.open(sources)).toThrow(/no valid btrfs superblock/);
    const fs = Filesystem.open(sources, { rebuild: true });
    const r = fs.rebuilt!;
    const orig = openSample(name);
    // The same chunks as the chunk tree had: logical, length, type and the places of their stripes.
    const want = orig.volume.chunks.all.map((c) => ({ logical: c.logical, length: c.length, type: c.type, stripes: c.stripes.map((s) => `${s.devid}:${s.offset}`).sort() }));
    const got = fs.volume.chunks.all.map((c) => ({ logical: c.logical, length: c.length, type: c.type, stripes: c.stripes.map((s) => `${s.devid}:${s.offset}`).sort() }));
    expect(got).toEqual(want);
    expect(r.chunks.every((c) => ['high', 'medium', 'low'].includes(c.confidence) && c.evidence.length > 0)).toBe(true);
    // Striped profiles: a mapping sure of itself has the chunk item's stripe order (places named by
    // device file, not devid: devices with the same layout are interchangeable once no superblock
    // says which is which; RAID10's two mirrors of a unit in either order).
    const place = (f: Filesystem, devid: bigint, offset: bigint) => `${f.volume.devices.get(asDevId(devid))?.source?.name}:${offset}`;
    const ordered = (f: Filesystem, c: Chunk) => {
      const p = c.stripes.map((s) => place(f, s.devid, s.offset));
      return c.profile === 'RAID10' ? [0, 2, 4, 6].slice(0, p.length / 2).map((i) => [p[i], p[i + 1]].sort().join('+')) : p;
    };
    for (const c of r.chunks) {
      if (c.confidence !== 'high' || c.numStripes < 2 || ['DUP', 'RAID1', 'RAID1C3', 'RAID1C4'].includes(c.profile)) continue;
      const o = orig.volume.chunks.all.find((x) => x.logical === c.logical)!;
      expect(ordered(fs, c), `stripe order of ${c.logical}`).toEqual(ordered(orig, o));
    }
    if (name.startsWith('raid') && name !== 'raid1') {
      expect(r.chunks.some((c) => /stripe order from \d+ tree blocks/.test(c.evidence) || c.profile === 'RAID1C3')).toBe(true);
      expect(r.chunks.some((c) => /stripe order from \d+ data sectors with matching csum items/.test(c.evidence))).toBe(true);
    }
    // Metadata chunks are confirmed by the tree blocks found where they map them.
    for (const c of r.chunks) if (c.type & 4n) expect(c.confidence, `chunk ${c.logical}`).toBe('high');
    expect(fs.superblock.root).toBe(orig.superblock.root);
    expect(fs.superblock.generation).toBe(orig.superblock.generation);
    const truth = new Map(filesTruth(name).map((t) => [t.path_b64, t]));
    const view = new FsView(fs);
    let files = 0;
    for (const it of walkFiles(view, view.rootOf(5n))) {
      const p = Buffer.from(pathBytes(it.path)).toString() || '.';
      const t = truth.get(b64(pathBytes(it.path)));
      expect(t, `${p} in the truth`).toBeDefined();
      if (it.inode?.kind !== 'file') continue;
      const h = hashFile(view, it.inode);
      expect(h.errors, p).toEqual([]);
      expect(h.sha256, p).toBe(t!.sha256);
      files++;
    }
    expect(files).toBe([...truth.values()].filter((t) => t.type === 'file').length);
  });
});

describe('--rebuild on the command line', () => {
  it('chunks --rebuild maps what the chunk tree maps, each chunk with its confidence and evidence; a note on stderr', async () => {
    const img = join(SAMPLES, 'raid1', 'dev1.runs.gz');
    const dev2 = join(SAMPLES, 'raid1', 'dev2.runs.gz');
    const plain = parseJsonExact((await cli('chunks', img, '--device', dev2, '--json')).stdout) as { chunks: { logical: number; length: number; type: string; stripes: unknown[] }[] };
    const r = await cli('chunks', img, '--device', dev2, '--json', '--rebuild');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^note: --rebuild: \d+ tree blocks found in \d+ bytes scanned; \d+ chunks mapped \(\d+ high, \d+ medium, \d+ low confidence/);
    const rebuilt = parseJsonExact(r.stdout) as { chunks: { logical: number; length: number; type: string; stripes: unknown[]; origin: string; confidence: string; evidence: string }[] };
    const shape = (c: { logical: number; length: number; type: string; stripes: unknown[] }) => ({ logical: c.logical, length: c.length, type: c.type, stripes: c.stripes });
    expect(rebuilt.chunks.map(shape)).toEqual(plain.chunks.map(shape));
    for (const c of rebuilt.chunks) {
      expect(c.origin).toBe('rebuilt');
      expect(c.confidence).toBe('high');
      expect(c.evidence).toMatch(/^chunk item in the newest chunk tree found \(generation \d+\), its block group item agreeing, its device extents agreeing/);
    }
  });

  it('super refuses it (it shows the copies as they are)', async () => {
    const r = await cli('super', join(SAMPLES, 'default', 'dev1.runs.gz'), '--rebuild');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--rebuild');
  });
});
