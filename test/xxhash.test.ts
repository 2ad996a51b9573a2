import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import xxhashWasm from 'xxhash-wasm';
import { computeCsum, xxhash64 } from '../src/format/checksum.js';
import { CsumType, ObjectId } from '../src/format/constants.js';
import { XXHASH_WASM_BASE64 } from '../src/format/xxhashWasm.js';
import { openSample, sampleNames } from './helpers/samples.js';

describe('xxhash64, instantiated on first use', () => {
  it('the embedded module is the one xxhash-wasm ships', () => {
    const pkg = createRequire(import.meta.url).resolve('xxhash-wasm');
    const shipped = readFileSync(new URL('../workerd/xxhash.wasm', `file://${pkg}`));
    expect(Buffer.from(XXHASH_WASM_BASE64, 'base64').equals(shipped)).toBe(true);
  });

  it('agrees with xxhash-wasm, and with the reference value of the empty input', async () => {
    const ref = await xxhashWasm();
    expect(xxhash64(new Uint8Array(0))).toBe(0xef46db3751d8e999n);
    let seed = 99;
    const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    // Lengths around the 32-byte stripe, a tree block, and past the module's first 64 KiB page (memory grows).
    for (const n of [1, 3, 31, 32, 33, 4096, 16384, 65536, 200_003]) {
      const b = new Uint8Array(n).map(rnd);
      expect(xxhash64(b), `length ${n}`).toBe(ref.h64Raw(b, 0n));
      const le = computeCsum(CsumType.XXHASH, b);
      expect(new DataView(le.buffer).getBigUint64(0, true)).toBe(ref.h64Raw(b, 0n));
    }
  });

  it.runIf(sampleNames().includes('csum-xxhash'))('tree blocks of the xxhash64 sample: the stored checksum equals the computed one', () => {
    const fs = openSample('csum-xxhash');
    const sb = fs.superblock;
    expect(sb.csumType).toBe(CsumType.XXHASH);
    for (const l of [sb.root, sb.chunkRoot, fs.treeRoot(ObjectId.FS_TREE)!.bytenr]) {
      const b = fs.volume.read(l, sb.nodesize).bytes!;
      expect(xxhash64(b.subarray(32))).toBe(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
    }
  });
});
