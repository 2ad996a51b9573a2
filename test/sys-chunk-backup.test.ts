import { describe, expect, it } from 'vitest';
import { SUPER_MIRROR_OFFSETS } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { pathBytes } from '../src/fs/names.js';
import { walkFiles } from '../src/fs/walk.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { fixBlockCsum } from './helpers/damage.js';
import { b64, filesTruth, hashFile } from './helpers/fsTruth.js';
import { openSample, sampleSources } from './helpers/samples.js';

/**
 * The primary superblock's sys_chunk_array damaged with its checksum made good again (so the
 * primary stays the copy used, as the kernel would use it): its SYSTEM chunk's key moved 1 TiB
 * up, so no chunk of it maps the chunk tree root. The backup copy at 64 MiB (kernel-written,
 * untouched) still has the right SYSTEM chunk: it bootstraps the chunk tree, and every file of
 * the kernel-made sample reads with the sha256 recorded from the mount.
 */
describe("the primary superblock's sys_chunk_array damaged: the backup copy's is used", () => {
  it('every file reads with its kernel sha256; the finding names the copy used', () => {
    const orig = openSample('default');
    const sys = orig.volume.chunks.all.find((c) => (c.type & 2n) !== 0n)!;
    const [src] = sampleSources('default');
    const o = new OverlaySource(src!);
    const primary = SUPER_MIRROR_OFFSETS[0]!;
    const b = o.read(primary, 4096).slice();
    const v = new DataView(b.buffer, b.byteOffset, 4096);
    // sys_chunk_array at 0x32b: the first entry's key (objectid u64, type u8, offset u64 = the chunk's logical).
    expect(v.getBigUint64(0x32b + 9, true)).toBe(sys.logical);
    v.setBigUint64(0x32b + 9, sys.logical + (1n << 40n), true);
    o.patch(primary, fixBlockCsum(b, orig.superblock.csumType));

    const fs = Filesystem.open([o]);
    // Still the primary copy (valid checksum, the newest generation), with the damaged array.
    expect(fs.superblock.sysChunkArray).not.toEqual(orig.superblock.sysChunkArray);
    expect(fs.superblock.generation).toBe(orig.superblock.generation);
    const f = fs.findings.items.filter((x) => x.code === 'sys-chunk-array-backup');
    expect(f.map((x) => x.message)).toEqual([
      `chunk tree root ${orig.superblock.chunkRoot} is in no chunk of the superblock's sys_chunk_array; the SYSTEM chunk of superblock copy 2 (at 67108864, generation ${orig.superblock.generation}) on ${src!.name} maps it and is used`,
    ]);
    // The chunk tree read through it gives the same chunks as the undamaged image.
    const shape = (c: { logical: bigint; length: bigint; type: bigint; stripes: { devid: bigint; offset: bigint }[] }) =>
      `${c.logical}+${c.length} ${c.type} ${c.stripes.map((s) => `${s.devid}:${s.offset}`).join(',')}`;
    const got = fs.volume.chunks.all.filter((c) => c.logical < 1n << 40n).map(shape);
    expect(got).toEqual(orig.volume.chunks.all.map(shape));
    // Without the backup copy (both copies damaged alike), the chunk tree cannot be read.
    const both = new OverlaySource(src!);
    for (const at of SUPER_MIRROR_OFFSETS.slice(0, 2)) {
      const c = both.read(at, 4096).slice();
      new DataView(c.buffer, c.byteOffset, 4096).setBigUint64(0x32b + 9, sys.logical + (1n << 40n), true);
      both.patch(at, fixBlockCsum(c, orig.superblock.csumType));
    }
    const broken = Filesystem.open([both]);
    expect(broken.findings.items.some((x) => x.code === 'sys-chunk-array-backup')).toBe(false);
    expect(broken.volume.chunks.all.filter((c) => c.logical < 1n << 40n)).toEqual([]);

    const truth = new Map(filesTruth('default').map((t) => [t.path_b64, t]));
    const view = new FsView(fs);
    let files = 0;
    for (const it of walkFiles(view, view.rootOf(5n))) {
      if (it.inode?.kind !== 'file') continue;
      const p = Buffer.from(pathBytes(it.path)).toString();
      const t = truth.get(b64(pathBytes(it.path)));
      const h = hashFile(view, it.inode);
      expect(h.errors, p).toEqual([]);
      expect(h.sha256, p).toBe(t?.sha256);
      files++;
    }
    expect(files).toBe([...truth.values()].filter((t) => t.type === 'file').length);
  });
});
