import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import CRC32 from 'crc-32';
import { unzlibSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { LAYOUT, PALETTE, xOf } from '../src/report/heatmap.js';
import { manifest, truthJson } from './helpers/samples.js';
import { cli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'heatmap-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Decodes an 8-bit RGB PNG with filter 0 rows (checking every chunk CRC). */
function decodePng(b: Uint8Array): { width: number; height: number; px: Uint8Array } {
  expect([...b.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 8, width = 0, height = 0;
  const idat: Uint8Array[] = [];
  const types: string[] = [];
  while (o < b.length) {
    const len = dv.getUint32(o);
    const type = String.fromCharCode(...b.subarray(o + 4, o + 8));
    types.push(type);
    expect(dv.getUint32(o + 8 + len)).toBe(CRC32.buf(b.subarray(o + 4, o + 8 + len)) >>> 0);
    const data = b.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') { width = dv.getUint32(o + 8); height = dv.getUint32(o + 12); expect([data[8], data[9]]).toEqual([8, 2]); }
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

interface MlChunk { logical: number; length: number; type: string; num_stripes: number; sub_stripes: number; stripes: { devid: number; offset: number }[] }

function stripeSize(c: MlChunk): number {
  if (c.type.includes('RAID0')) return c.length / c.num_stripes;
  if (c.type.includes('RAID10')) return c.length / (c.num_stripes / c.sub_stripes);
  if (c.type.includes('RAID5')) return c.length / (c.num_stripes - 1);
  if (c.type.includes('RAID6')) return c.length / (c.num_stripes - 2);
  return c.length;
}

describe('heatmap PNG: size and colours at the places of the block groups', () => {
  for (const name of ['default', 'raid5', 'raid10', 'mixed']) {
    it(name, async () => {
      const m = manifest(name);
      const devs = m.devices.map((d) => join('sample-images', name, d.file));
      const out = join(dir, `${name}.png`);
      const r = await cli('heatmap', devs[0]!, ...devs.slice(1).flatMap((d) => ['--device', d]), '-o', out);
      expect(r.code).toBe(0);
      const { width, height, px } = decodePng(readFileSync(out));
      expect(width).toBe(LAYOUT.width);
      expect(height).toBe(LAYOUT.top + m.devices.length * LAYOUT.rowHeight + 40);
      const at = (x: number, y: number) => [...px.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
      const chunks = truthJson<{ chunks: MlChunk[] }>(name, 'map-logical.json').chunks;
      const devSize = new Map(m.devices.map((d) => [d.devid, BigInt((d as { dev_total_bytes?: number }).dev_total_bytes ?? d.size)]));
      const covered = new Map<number, [number, number][]>();
      for (const c of chunks) {
        const t = c.type.split('|');
        const kind = t.includes('DATA') && t.includes('METADATA') ? 'mixed' : t.includes('DATA') ? 'data' : t.includes('METADATA') ? 'metadata' : 'system';
        for (const s of c.stripes) {
          const size = devSize.get(s.devid)!;
          const i = m.devices.findIndex((d) => d.devid === s.devid);
          const mid = BigInt(s.offset) + BigInt(stripeSize(c)) / 2n;
          const x = xOf(mid, size);
          const band = LAYOUT.top + i * LAYOUT.rowHeight + LAYOUT.labelH + 2;
          expect(at(x, band), `${name} chunk ${c.logical} devid ${s.devid}`).toEqual([...PALETTE[kind].full]);
          (covered.get(s.devid) ?? covered.set(s.devid, []).get(s.devid)!).push([xOf(BigInt(s.offset), size), xOf(BigInt(s.offset) + BigInt(stripeSize(c)), size)]);
        }
      }
      // Far from every device extent the bar is unallocated grey.
      m.devices.forEach((d, i) => {
        const spans = covered.get(d.devid) ?? [];
        const y = LAYOUT.top + i * LAYOUT.rowHeight + LAYOUT.labelH + LAYOUT.bandH + 20;
        for (let x = LAYOUT.margin + 1; x < LAYOUT.width - LAYOUT.margin - 1; x += 37) {
          if (spans.some(([a, b]) => x >= a - 1 && x <= b + 1)) continue;
          expect(at(x, y), `${name} devid ${d.devid} x ${x}`).toEqual([...PALETTE.unallocated]);
        }
      });
    });
  }
});

describe('heatmap: SVG, block group and file pictures', () => {
  it('writes SVG by extension, with a legend and device labels', async () => {
    const out = join(dir, 'd.svg');
    const r = await cli('heatmap', 'sample-images/default/dev1.runs.gz', '-o', out);
    expect(r.code).toBe(0);
    const s = readFileSync(out, 'utf8');
    expect(s).toMatch(/^<svg /);
    expect(s).toContain('>METADATA</text>');
    expect(s).toContain('DEVID 1');
  });
  it('--block-group: used columns where the extent tree has extents', async () => {
    const out = join(dir, 'bg.png');
    // the 2 MiB random file's extent starts the second data chunk (filefrag of rich/random-2m.bin)
    const r = await cli('heatmap', 'sample-images/default/dev1.runs.gz', '--block-group', '63963136', '-o', out);
    expect(r.code).toBe(0);
    const { width, px } = decodePng(readFileSync(out));
    const y = LAYOUT.top + LAYOUT.labelH + 20;
    expect([...px.subarray((y * width + LAYOUT.margin + 1) * 3, (y * width + LAYOUT.margin + 1) * 3 + 3)]).toEqual([...PALETTE.data.full]);
    const far = LAYOUT.width - LAYOUT.margin - 2;
    expect([...px.subarray((y * width + far) * 3, (y * width + far) * 3 + 3)]).toEqual([...PALETTE.unallocated]);
  });
  it('--file: extents coloured by kind; bad input is a usage error', async () => {
    const out = join(dir, 'f.png');
    const r = await cli('heatmap', 'sample-images/default/dev1.runs.gz', '--file', '/rich/prealloc-keep-size.bin', '-o', out);
    expect(r.code).toBe(0);
    const { width, px } = decodePng(readFileSync(out));
    // filefrag: [0, 8192) written, [8192, 524288) unwritten (prealloc) → mostly prealloc colour
    const y = LAYOUT.top + LAYOUT.labelH + 20, x = LAYOUT.width - LAYOUT.margin - 5;
    expect([...px.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)]).toEqual([...PALETTE.prealloc]);
    expect((await cli('heatmap', 'sample-images/default/dev1.runs.gz', '-o', join(dir, 'x.gif'))).code).toBe(2);
    // An address no block group holds is well-formed: the request is not served (1), not a usage error.
    expect((await cli('heatmap', 'sample-images/default/dev1.runs.gz', '--block-group', '1', '-o', out)).code).toBe(1);
  });
});
