import { deflateSync } from 'node:zlib';
import { expect, test } from 'vitest';
import { adler32 } from '../src/io/containers/ewf.js';
import { rng } from './helpers/rng.js';

// The truth is zlib's: a zlib stream (RFC 1950) ends with the big-endian Adler-32 of its input.
test('adler32 (16 bytes a step) equals the Adler-32 zlib writes, at every length around its block edges', () => {
  const next = rng(0xad1e);
  for (const n of [0, 1, 15, 16, 17, 31, 5551, 5552, 5553, 5552 + 16 * 3 + 7, 32768, 100003]) {
    const b = new Uint8Array(n);
    // All 0xff (the largest sums) for some lengths, random bytes for the others.
    for (let i = 0; i < n; i++) b[i] = n % 2 ? 0xff : Math.floor(next() * 256);
    const z = deflateSync(b);
    expect(adler32(b), `${n} bytes`).toBe(z.readUInt32BE(z.length - 4));
  }
});
