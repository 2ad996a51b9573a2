import CRC32C from 'crc-32/crc32c.js';
import { describe, expect, it } from 'vitest';
import { crc32c, useCrc32c } from '../src/format/checksum.js';
import { ObjectId } from '../src/format/constants.js';
import { useNativeCrc32c } from '../src/io/node/nativeCrc32c.js';
import { openSample, sampleNames } from './helpers/samples.js';

/** Raw bytes of the root, chunk, extent, fs and csum tree roots of a sample. */
function rootBlocks(name: string): Uint8Array[] {
  const fs = openSample(name);
  const sb = fs.superblock;
  const at = [sb.root, sb.chunkRoot, ...[ObjectId.EXTENT_TREE, ObjectId.FS_TREE, ObjectId.CSUM_TREE].map((t) => fs.treeRoot(t)!.bytenr)];
  return at.map((l) => fs.volume.read(l, sb.nodesize).bytes!);
}

describe('crc32c implementations', () => {
  it('a replacement that disagrees with the standard check values is refused', () => {
    expect(useCrc32c(() => 0)).toBe(false);
    expect(useCrc32c((d) => (CRC32C.buf(d) >>> 0) ^ 1)).toBe(false);
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  it('the native one (the optional @node-rs/crc32 package) agrees with the portable one', async () => {
    expect(await useNativeCrc32c()).toBe('native');
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (const n of [0, 1, 3, 7, 8, 15, 16, 63, 64, 4095, 4096, 16384, 65536 + 5]) {
      const b = new Uint8Array(n + 3).map(rnd);
      // Also at unaligned offsets within a larger buffer.
      for (const s of [b.subarray(0, n), b.subarray(3, n + 3)]) expect(crc32c(s), `length ${n}`).toBe(CRC32C.buf(s) >>> 0);
    }
  });

  it.runIf(sampleNames().includes('default'))('tree blocks of a sample verify with it: the stored crc32c equals the computed one', async () => {
    expect(await useNativeCrc32c()).toBe('native');
    const blocks = rootBlocks('default');
    expect(blocks).toHaveLength(5);
    for (const b of blocks) {
      const stored = new DataView(b.buffer, b.byteOffset).getUint32(0, true);
      expect(crc32c(b.subarray(32))).toBe(stored);
    }
  });
});
