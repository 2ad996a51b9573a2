import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanMetadata } from '../src/analysis/forensics/scan.js';
import { ObjectId, SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { pathBytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
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
    for (const c of m.copies) {
      const dev = fs.volume.devices.get(c.devid)!;
      byName.get(dev.source!.name)!.patch(c.physical, new Uint8Array(ns));
      chunkBlocks++;
    }
  }
  for (const s of sources) for (const off of SUPER_MIRROR_OFFSETS) if (off + BigInt(SUPER_INFO_SIZE) <= s.size) s.patch(off, new Uint8Array(SUPER_INFO_SIZE));
  return { sources, chunkBlocks };
}

describe.each(['default', 'dup-data', 'raid1'])('--rebuild on %s with every superblock and chunk-tree block wiped', (name) => {
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
