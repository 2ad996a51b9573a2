import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayoutExtent } from '../src/analysis/layout.js';
import { GLYPH_H, GLYPH_W, glyph } from '../src/report/font5x7.js';
import { extentColors, fileScene, LAYOUT, PALETTE, rasterize, xOf } from '../src/report/heatmap.js';
import { cli } from './helpers/cli.js';
import { decodePng } from './helpers/png.js';
import { manifest, truthJson } from './helpers/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'heatmap-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface MlChunk {
  logical: number;
  length: number;
  type: string;
  num_stripes: number;
  sub_stripes: number;
  stripes: { devid: number; offset: number }[];
}

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
    expect(s).toContain('>metadata</text>');
    expect(s).toContain('devid 1');
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
    const y = LAYOUT.top + LAYOUT.labelH + 20,
      x = LAYOUT.width - LAYOUT.margin - 5;
    expect([...px.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)]).toEqual([...PALETTE.prealloc]);
    expect((await cli('heatmap', 'sample-images/default/dev1.runs.gz', '-o', join(dir, 'x.gif'))).code).toBe(2);
    // An address no block group holds is well-formed: the request is not served (1), not a usage error.
    expect((await cli('heatmap', 'sample-images/default/dev1.runs.gz', '--block-group', '1', '-o', out)).code).toBe(1);
  });
});

describe('heatmap labels and extent colours', () => {
  it('every printable ASCII character has its own glyph: lower case is not drawn as upper case', () => {
    const q = glyph('?').join();
    const seen = new Map<string, string>();
    for (let c = 0x20; c < 0x7f; c++) {
      const ch = String.fromCharCode(c);
      const g = glyph(ch).join();
      if (ch !== '?') expect(g, ch).not.toBe(q);
      expect(seen.get(g), `${ch} looks like ${seen.get(g)}`).toBeUndefined();
      seen.set(g, ch);
    }
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') expect(glyph(ch).join(), ch).not.toBe(glyph(ch.toUpperCase()).join());
  });

  it('--file: the path in the title keeps its case', async () => {
    const out = join(dir, 'case.png');
    expect((await cli('heatmap', 'sample-images/default/dev1.runs.gz', '--file', '/rich/tiny.txt', '-o', out)).code).toBe(0);
    const { width, px } = decodePng(readFileSync(out));
    // The title "file /rich/tiny.txt ..." starts at (margin, 8), one glyph every GLYPH_W + 1 pixels.
    const drawn = (i: number) =>
      Array.from({ length: GLYPH_H }, (_, row) => {
        let bits = 0;
        for (let col = 0; col < GLYPH_W; col++) {
          const o = ((8 + row) * width + LAYOUT.margin + i * (GLYPH_W + 1) + col) * 3;
          if (px[o] !== 255) bits |= 16 >> col;
        }
        return bits;
      }).join();
    const title = 'file /rich/tiny.txt';
    for (let i = 0; i < title.length; i++) expect(drawn(i), title[i]).toBe(glyph(title[i]!).join());
    expect(drawn(6)).not.toBe(glyph('R').join());
  });

  it('an extent both shared and compressed shows both colours (upper and lower half), in the picture and the legend', () => {
    const e = (shared: boolean, compression: number): LayoutExtent => ({
      fileOffset: 0n,
      length: 4096n,
      kind: 'regular',
      compression,
      diskBytenr: 1n << 20n,
      diskNumBytes: 4096n,
      offset: 0n,
      ramBytes: 4096n,
      copies: [],
      shared,
      sharedWith: [],
      otherInodes: false,
    });
    expect(extentColors(e(true, 1))).toEqual([PALETTE.shared, PALETTE.compressed]);
    expect(extentColors(e(true, 0))).toEqual([PALETTE.shared]);
    expect(extentColors(e(false, 3))).toEqual([PALETTE.compressed]);
    const scene = fileScene('t', 4096n, [e(true, 1)]);
    const px = rasterize(scene);
    const at = (x: number, y: number) => [...px.subarray((y * scene.width + x) * 3, (y * scene.width + x) * 3 + 3)];
    const top = LAYOUT.top + LAYOUT.labelH,
      h = LAYOUT.bandH + LAYOUT.barH,
      x = LAYOUT.width / 2;
    expect(at(x, top + 2)).toEqual([...PALETTE.shared]);
    expect(at(x, top + h - 2)).toEqual([...PALETTE.compressed]);
    expect(scene.texts.some((t) => t.text === 'shared+compressed')).toBe(true);
  });
});
