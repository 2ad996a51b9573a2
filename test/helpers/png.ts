import CRC32 from 'crc-32';
import { unzlibSync } from 'fflate';
import { expect } from 'vitest';

/** Decodes an 8-bit RGB PNG with filter 0 rows (checking every chunk CRC). */
export function decodePng(b: Uint8Array): { width: number; height: number; px: Uint8Array } {
  expect([...b.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 8,
    width = 0,
    height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (o < b.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
    types.push(type);
    expect(dv.getUint32(o + 8 + len)).toBe(CRC32.buf(b.subarray(o + 4, o + 8 + len)) >>> 0);
    const data = b.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(o + 8);
      height = dv.getUint32(o + 12);
      expect([data[8], data[9]]).toEqual([8, 2]);
    }
    if (type === 'IDAT') idat.push(data);
    o += 12 + len;
  }
  expect(types[0]).toBe('IHDR');
  expect(types[types.length - 1]).toBe('IEND');
  const raw = unzlibSync(Uint8Array.from(Buffer.concat(idat)));
  expect(raw.length).toBe((width * 3 + 1) * height);
  const px = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width * 3 + 1)]).toBe(0);
    px.set(raw.subarray(y * (width * 3 + 1) + 1, (y + 1) * (width * 3 + 1)), y * width * 3);
  }
  return { width, height, px };
}
