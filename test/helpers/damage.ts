import { computeCsum } from '../../src/format/checksum.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { OverlaySource } from '../../src/io/OverlaySource.js';
import type { Filesystem } from '../../src/tree/Filesystem.js';

/** Recomputes a tree block's checksum in place (bytes 32..end, stored at 0). */
export function fixBlockCsum(block: Uint8Array, csumType: number): Uint8Array {
  block.fill(0, 0, 32);
  block.set(computeCsum(csumType, block.subarray(32)), 0);
  return block;
}

/** Physical copies (devid, offset) of a tree block. */
export function blockCopies(fs: Filesystem, logical: bigint): { devid: bigint; physical: bigint }[] {
  const m = fs.volume.chunks.map(logical)!;
  return m.copies.map((c) => ({ devid: c.devid, physical: c.physical }));
}

/**
 * Overlays for every device of a sample, and a helper to rewrite a tree
 * block on some of its copies (edit the bytes, optionally fix the checksum).
 */
export class DamageKit {
  readonly overlays: OverlaySource[];
  constructor(
    readonly fs: Filesystem,
    sources: ByteSource[],
  ) {
    this.overlays = sources.map((s) => new OverlaySource(s));
  }

  blockBytes(logical: bigint): Uint8Array {
    const r = this.fs.volume.readCopy(logical, this.fs.superblock.nodesize, 0);
    return r.bytes!.slice();
  }

  /** Writes `edit(bytes)` over copies `which` (default all) of the block at `logical`. */
  editBlock(logical: bigint, edit: (b: Uint8Array) => void, opts: { fixCsum?: boolean; copies?: number[] } = {}): void {
    const b = this.blockBytes(logical);
    edit(b);
    if (opts.fixCsum) fixBlockCsum(b, this.fs.superblock.csumType);
    const copies = blockCopies(this.fs, logical);
    (opts.copies ?? copies.map((_, i) => i)).forEach((i) => {
      const c = copies[i]!;
      this.overlays[Number(c.devid) - 1]!.patch(c.physical, b);
    });
  }
}

/** Superblock copies (btrfs_super_block, 4096 bytes) at 64 KiB, 64 MiB and 256 GiB, where the device holds them. */
const SUPER_COPIES = [0x10000n, 0x4000000n, 0x4000000000n];

/**
 * A device with every superblock copy rewritten by `edit` (a DataView of
 * the 4096 bytes) and its checksum recomputed: the copies stay alike, so
 * only what the edit breaks is damage.
 */
export function editSuperblocks(src: ByteSource, csumType: number, edit: (v: DataView) => void): OverlaySource {
  const o = new OverlaySource(src);
  for (const at of SUPER_COPIES) {
    if (at + 4096n > src.size) continue;
    const b = src.read(at, 4096).slice();
    edit(new DataView(b.buffer, b.byteOffset, 4096));
    o.patch(at, fixBlockCsum(b, csumType));
  }
  return o;
}

/**
 * Gives item `slot` of a leaf new data of any length, moving the data of the
 * items after it as btrfs does (btrfs_item: 17-byte key, then u32 offset and
 * u32 size; data offsets count from the end of the 101-byte header; items
 * are packed from the end of the block downwards).
 */
export function resizeItem(b: Uint8Array, slot: number, data: Uint8Array): void {
  const H = 101,
    IS = 25;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const n = v.getUint32(0x60, true);
  const off = (i: number) => v.getUint32(H + i * IS + 17, true);
  const size = v.getUint32(H + slot * IS + 21, true);
  const delta = data.length - size;
  const last = off(n - 1),
    start = off(slot);
  if (H + n * IS > H + last - delta) throw new Error('no room in the leaf');
  b.copyWithin(H + last - delta, H + last, H + start);
  b.set(data, H + start - delta);
  for (let i = slot; i < n; i++) v.setUint32(H + i * IS + 17, off(i) - delta, true);
  v.setUint32(H + slot * IS + 21, data.length, true);
}

/**
 * Removes item `slot` from a leaf as btrfs does: the data of the items after
 * it (stored below it) moves up by its size, their headers one slot down,
 * and nritems (u32 at 0x60) drops by one.
 */
export function deleteItem(b: Uint8Array, slot: number): void {
  const H = 101,
    IS = 25;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  const n = v.getUint32(0x60, true);
  const off = (i: number) => v.getUint32(H + i * IS + 17, true);
  const size = v.getUint32(H + slot * IS + 21, true);
  if (slot + 1 < n) {
    b.copyWithin(H + off(n - 1) + size, H + off(n - 1), H + off(slot));
    for (let i = slot + 1; i < n; i++) v.setUint32(H + i * IS + 17, off(i) + size, true);
    b.copyWithin(H + slot * IS, H + (slot + 1) * IS, H + n * IS);
  }
  b.fill(0, H + (n - 1) * IS, H + n * IS);
  v.setUint32(0x60, n - 1, true);
}
