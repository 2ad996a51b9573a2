/**
 * check --data compares data mirrors: built in memory from the dup-data sample (DUP data,
 * kernel-made). A sector whose second copy is forged to the same crc32c (crc32c is affine, so
 * a 64-bit patch solves it) passes every checksum yet differs; a NODATASUM file (its inode
 * flag set and its sector's checksum taken out of the csum item) whose second copy has one
 * byte changed differs where nothing checks it. The files named are those filefrag placed at
 * these addresses when the sample was made (truth/files.json).
 */
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { crc32c } from '../src/format/checksum.js';
import { HEADER_SIZE, ITEM_SIZE, TreeBlock } from '../src/format/treeBlock.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { blockCopies, DamageKit, resizeItem } from './helpers/damage.js';
import { sampleNames, sampleSources, truthJson } from './helpers/samples.js';

interface FilesTruth {
  entries: { path: string; ino: number; filefrag?: { extents: { physical: number; length: number }[] } }[];
}

/** Where filefrag put a file's first extent (a btrfs logical address), from the sample's truth. */
function firstExtent(path: string): { logical: bigint; length: number; ino: bigint } {
  const e = truthJson<FilesTruth>('dup-data', 'files.json').entries.find((x) => x.path === path)!;
  const x = e.filefrag!.extents[0]!;
  return { logical: BigInt(x.physical), length: x.length, ino: BigInt(e.ino) };
}

/**
 * A 4 KiB sector with byte 100 changed and bytes 200..207 chosen so its crc32c is the
 * original's: crc32c(a ^ d) = crc32c(a) ^ crc32c(d) ^ crc32c(0) for equal lengths, so d must
 * satisfy the 32 linear equations crc32c(d) ^ crc32c(0) = 0 over GF(2).
 */
function forgeSameCrc(sector: Uint8Array): Uint8Array {
  const zero = crc32c(new Uint8Array(sector.length));
  const lin = (d: Uint8Array) => (crc32c(d) ^ zero) >>> 0;
  const unit = (byte: number, mask: number) => {
    const d = new Uint8Array(sector.length);
    d[byte] = mask;
    return d;
  };
  // Columns: the 64 bits of bytes 200..207; right-hand side: the change at byte 100.
  const cols = Array.from({ length: 64 }, (_, i) => ({ v: lin(unit(200 + (i >> 3), 1 << (i & 7))), pick: 1n << BigInt(i) }));
  let rhs = { v: lin(unit(100, 0x5a)), pick: 0n };
  // Gaussian elimination: one pivot column per bit of the 32-bit image.
  const pivots: { v: number; pick: bigint }[] = [];
  for (const c of cols) {
    let x = c;
    for (const p of pivots) if (x.v & (p.v & -p.v)) x = { v: (x.v ^ p.v) >>> 0, pick: x.pick ^ p.pick };
    if (x.v === 0) continue;
    for (let k = 0; k < pivots.length; k++) {
      const p = pivots[k]!;
      if (p.v & (x.v & -x.v)) pivots[k] = { v: (p.v ^ x.v) >>> 0, pick: p.pick ^ x.pick };
    }
    pivots.push(x);
  }
  for (const p of pivots) if (rhs.v & (p.v & -p.v)) rhs = { v: (rhs.v ^ p.v) >>> 0, pick: rhs.pick ^ p.pick };
  expect(rhs.v).toBe(0);
  const out = sector.slice();
  out[100]! ^= 0x5a;
  for (let i = 0; i < 64; i++) if ((rhs.pick >> BigInt(i)) & 1n) out[200 + (i >> 3)]! ^= 1 << (i & 7);
  return out;
}

const differ = (fs: Filesystem) => runCheck(fs, { data: true }).findings.filter((f) => f.code === 'data-copies-differ');

describe.runIf(sampleNames().includes('dup-data'))('check --data: data copies that differ', () => {
  const clean = Filesystem.open(sampleSources('dup-data'));

  it('the clean sample has none', () => {
    expect(differ(clean)).toEqual([]);
  });

  it('a second copy forged to the same crc32c: a warning at that copy naming the file, and no checksum error', () => {
    const file = firstExtent('small/unaligned-200000.bin');
    const copies = blockCopies(clean, file.logical);
    expect(copies).toHaveLength(2);
    const kit = new DamageKit(clean, sampleSources('dup-data'));
    const sector = clean.volume.readCopy(file.logical, 4096, 0).bytes!.slice();
    const forged = forgeSameCrc(sector);
    expect(crc32c(forged)).toBe(crc32c(sector));
    expect(forged).not.toEqual(sector);
    kit.overlays[Number(copies[1]!.devid) - 1]!.patch(copies[1]!.physical, forged);
    const r = runCheck(Filesystem.open(kit.overlays), { data: true });
    expect(r.findings.filter((f) => f.code === 'data-csum')).toEqual([]);
    const f = r.findings.filter((x) => x.code === 'data-copies-differ');
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.message).toBe(`data at logical ${file.logical} +4096: copies 1 and 2 both match their checksums but differ (a checksum collision)`);
    expect(f[0]!.location).toMatchObject({ logical: file.logical, copy: 1, devid: copies[1]!.devid, physical: copies[1]!.physical });
    expect(f[0]!.hurt).toMatchObject([{ tree: 5n, ino: file.ino, paths: ['/small/unaligned-200000.bin'], fileOffset: 0n, length: 4096n }]);
    // Without --data nothing is read, so nothing is compared.
    expect(runCheck(Filesystem.open(kit.overlays)).findings.filter((x) => x.code === 'data-copies-differ')).toEqual([]);
  });

  /** The sample with small/exact-4096.bin made NODATASUM and its sector's checksum dropped from the csum item; `flip` changes copy 2. */
  const unsummed = (flip: boolean) => {
    const file = firstExtent('small/exact-4096.bin');
    const kit = new DamageKit(clean, sampleSources('dup-data'));
    // The csum tree is one leaf; its first EXTENT_CSUM item starts at the file's sector: start it one sector later.
    const csumRoot = clean.treeRoot(7n)!.bytenr;
    kit.editBlock(
      csumRoot,
      (b) => {
        const leaf = new TreeBlock(b, csumRoot);
        expect(leaf.isLeaf && leaf.keyOffsetField(0) === file.logical).toBe(true);
        const cs = clean.superblock.csumSize;
        resizeItem(b, 0, leaf.itemData(0).slice(cs));
        // btrfs_disk_key: objectid u64, type u8, offset u64 (at +9) of item 0's header.
        new DataView(b.buffer, b.byteOffset).setBigUint64(HEADER_SIZE + 0 * ITEM_SIZE + 9, file.logical + 4096n, true);
      },
      { fixCsum: true },
    );
    // The file's INODE_ITEM: btrfs_inode_item.flags (u64 at 64) gains NODATASUM (bit 0).
    const fsRoot = clean.treeRoot(5n)!;
    const at = [...clean.items(fsRoot, { objectid: file.ino, type: 1, offset: 0n }, { objectid: file.ino, type: 1, offset: 0n })].find(
      (x) => x.block.keyObjectid(x.slot) === file.ino && x.block.keyType(x.slot) === 1,
    )!;
    kit.editBlock(
      at.block.logical,
      (b) => {
        const v = new DataView(b.buffer, b.byteOffset);
        const off = new TreeBlock(b, at.block.logical).itemOffset(at.slot) + 64;
        v.setBigUint64(off, v.getBigUint64(off, true) | 1n, true);
      },
      { fixCsum: true },
    );
    if (flip) {
      const c = blockCopies(clean, file.logical)[1]!;
      const b = clean.volume.readCopy(file.logical, 4096, 1).bytes!.slice();
      b[123]! ^= 0xff;
      kit.overlays[Number(c.devid) - 1]!.patch(c.physical, b);
    }
    return { fs: Filesystem.open(kit.overlays), file };
  };

  it('NODATASUM data whose copies agree: no finding, and no checksum finding for the sector taken out', () => {
    const { fs } = unsummed(false);
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.code === 'data-copies-differ' || f.code === 'data-csum-missing' || f.code === 'data-csum')).toEqual([]);
  });

  it('NODATASUM data whose second copy has one byte changed: a warning with the range, that copy and the file', () => {
    const { fs, file } = unsummed(true);
    const f = differ(fs);
    const c = blockCopies(clean, file.logical)[1]!;
    expect(f).toHaveLength(1);
    expect(f[0]!.severity).toBe('warning');
    expect(f[0]!.message).toBe(`data at logical ${file.logical} +4096: copies 1 and 2 differ and no checksum tells which is right (NODATASUM)`);
    expect(f[0]!.location).toMatchObject({ logical: file.logical, copy: 1, devid: c.devid, physical: c.physical });
    expect(f[0]!.hurt).toMatchObject([{ tree: 5n, ino: file.ino, paths: ['/small/exact-4096.bin'], fileOffset: 0n }]);
  });
});
