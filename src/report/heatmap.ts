import type { LayoutExtent } from '../analysis/layout.js';
import { BlockGroupFlag, ItemType, ObjectId } from '../format/constants.js';
import { readBlockGroups, readBlockGroupsAt, readDevExtents } from '../tree/blockGroups.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { GLYPH_H, GLYPH_W, glyph } from './font5x7.js';
import { encodePng } from './png.js';

/**
 * Pictures of where things are: each device's physical space with its
 * block groups coloured by type and shaded by how full they are; one block
 * group's logical range with its extents; one file's extents. A picture is a
 * scene (rectangles and text) rendered to SVG or to an RGB raster (PNG).
 */

export type RGB = [number, number, number];

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  color: RGB;
  title?: string;
}
export interface Text {
  x: number;
  y: number;
  text: string;
  color: RGB;
}
export interface Scene {
  width: number;
  height: number;
  rects: Rect[];
  texts: Text[];
}

/** Type colours: `full` for used bytes, `empty` for allocated but unused. */
export const PALETTE = {
  data: { full: [31, 95, 191] as RGB, empty: [190, 210, 242] as RGB },
  metadata: { full: [224, 118, 16] as RGB, empty: [248, 214, 176] as RGB },
  system: { full: [192, 40, 45] as RGB, empty: [240, 182, 184] as RGB },
  mixed: { full: [30, 150, 85] as RGB, empty: [182, 228, 202] as RGB },
  unallocated: [228, 228, 228] as RGB,
  background: [255, 255, 255] as RGB,
  text: [32, 32, 32] as RGB,
  tick: [120, 120, 120] as RGB,
  shared: [123, 63, 181] as RGB,
  compressed: [19, 138, 138] as RGB,
  prealloc: [214, 180, 20] as RGB,
  inline: [30, 150, 85] as RGB,
  hole: [246, 246, 246] as RGB,
} as const;

export type GroupKind = 'data' | 'metadata' | 'system' | 'mixed';

export function kindOfFlags(flags: bigint): GroupKind {
  const d = (flags & BlockGroupFlag.DATA) !== 0n,
    m = (flags & BlockGroupFlag.METADATA) !== 0n;
  if (d && m) return 'mixed';
  if (d) return 'data';
  if (m) return 'metadata';
  return 'system';
}

/** Colour between `empty` (0) and `full` (1). */
export function shade(kind: GroupKind, fraction: number): RGB {
  const { full, empty } = PALETTE[kind];
  const f = Math.max(0, Math.min(1, fraction));
  return [0, 1, 2].map((i) => Math.round(empty[i]! + (full[i]! - empty[i]!) * f)) as RGB;
}

/** Layout constants of the device picture (exported so tests can find pixels). */
export const LAYOUT = { width: 1200, margin: 20, rowHeight: 88, top: 30, labelH: 14, bandH: 10, barH: 40 } as const;
const BAR_W = LAYOUT.width - 2 * LAYOUT.margin;

export function humanBytes(n: bigint): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = Number(n),
    u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v % 1 === 0 ? v.toFixed(0) : v.toFixed(1)}${units[u]}`;
}

/** x pixel of byte `pos` of a bar covering [0, span). */
export function xOf(pos: bigint, span: bigint): number {
  if (span <= 0n) return LAYOUT.margin;
  return LAYOUT.margin + Number((pos * BigInt(BAR_W)) / span);
}

function ticks(scene: Scene, y: number, span: bigint, base = 0n): void {
  let step = 1n;
  while (span / step > 8n) step *= 2n;
  for (let p = 0n; p <= span; p += step) {
    const x = Math.min(xOf(p, span), LAYOUT.margin + BAR_W - 1);
    scene.rects.push({ x, y, w: 1, h: 5, color: PALETTE.tick });
    scene.texts.push({ x: Math.min(x, LAYOUT.width - 60), y: y + 7, text: humanBytes(base + p), color: PALETTE.text });
  }
}

/** Legend swatches; a swatch of two colours is drawn as the extents with both properties are: upper half, lower half. */
function legend(scene: Scene, y: number, items: [string, RGB | readonly RGB[]][]): void {
  let x = LAYOUT.margin;
  for (const [name, c] of items) {
    const colors = isRgbList(c) ? c : [c];
    colors.forEach((k, i) => scene.rects.push({ x, y: y + (i * 10) / colors.length, w: 14, h: 10 / colors.length, color: k }));
    scene.texts.push({ x: x + 18, y: y + 2, text: name, color: PALETTE.text });
    x += 18 + name.length * (GLYPH_W + 1) + 18;
  }
}

function isRgbList(c: RGB | readonly RGB[]): c is readonly RGB[] {
  return Array.isArray(c[0]);
}

export interface DeviceMapInput {
  devices: { devid: bigint; size: bigint; name: string }[];
  extents: { devid: bigint; physical: bigint; length: bigint; chunk: bigint; flags: bigint; used: bigint; chunkLength: bigint }[];
}

export function deviceMapInput(fs: Filesystem): DeviceMapInput {
  const devices = [...fs.devItems.values()]
    .sort((a, b) => (a.devid < b.devid ? -1 : 1))
    .map((d) => ({
      devid: d.devid,
      size: d.totalBytes,
      name: fs.volume.devices.get(d.devid)?.name ?? 'missing',
    }));
  const devExtents = readDevExtents(fs);
  // By key, the block groups the extents name: a few blocks of the extent tree, not all of it.
  const bgs = readBlockGroupsAt(
    fs,
    devExtents.map((x) => x.chunkOffset),
  );
  const extents = devExtents.map((x) => {
    const c = fs.volume.chunks.find(x.chunkOffset);
    const bg = bgs.get(x.chunkOffset);
    return { devid: x.devid, physical: x.physical, length: x.length, chunk: x.chunkOffset, flags: c?.type ?? bg?.flags ?? 0n, used: bg?.used ?? 0n, chunkLength: c?.length ?? bg?.length ?? x.length };
  });
  return { devices, extents };
}

/** Each device as a bar of its physical space: type band on top, fullness shade below, unallocated grey. */
export function deviceScene(input: DeviceMapInput, title: string): Scene {
  const L = LAYOUT;
  const height = L.top + input.devices.length * L.rowHeight + 40;
  const scene: Scene = { width: L.width, height, rects: [], texts: [] };
  scene.texts.push({ x: L.margin, y: 8, text: title, color: PALETTE.text });
  input.devices.forEach((d, i) => {
    const y0 = L.top + i * L.rowHeight;
    scene.texts.push({ x: L.margin, y: y0, text: `devid ${d.devid}  ${d.name}  size ${humanBytes(d.size)} (${d.size})`, color: PALETTE.text });
    const by = y0 + L.labelH;
    scene.rects.push({ x: L.margin, y: by, w: BAR_W, h: L.bandH + L.barH, color: PALETTE.unallocated, title: 'unallocated' });
    for (const x of input.extents.filter((e) => e.devid === d.devid)) {
      const kind = kindOfFlags(x.flags);
      const xa = xOf(x.physical, d.size),
        xb = Math.max(xa + 1, xOf(x.physical + x.length, d.size));
      const frac = x.chunkLength > 0n ? Number((x.used * 10000n) / x.chunkLength) / 10000 : 0;
      const t = `${kind} chunk ${x.chunk}: used ${x.used} of ${x.chunkLength} (${(frac * 100).toFixed(1)}%), physical ${x.physical} +${x.length}`;
      scene.rects.push({ x: xa, y: by, w: xb - xa, h: L.bandH, color: PALETTE[kind].full, title: t });
      scene.rects.push({ x: xa, y: by + L.bandH, w: xb - xa, h: L.barH, color: shade(kind, frac), title: t });
    }
    ticks(scene, by + L.bandH + L.barH + 1, d.size);
  });
  legend(scene, height - 24, [
    ['data', PALETTE.data.full],
    ['metadata', PALETTE.metadata.full],
    ['system', PALETTE.system.full],
    ['data+metadata', PALETTE.mixed.full],
    ['unallocated', PALETTE.unallocated],
    ['empty -> full', shade('data', 0.15)],
  ]);
  return scene;
}

/** One block group's logical range: each pixel column shaded by the share of its bytes in extents (data extents or tree blocks). */
export function blockGroupScene(fs: Filesystem, logical: bigint): Scene | { error: string } {
  const bg = readBlockGroups(fs).find((b) => logical >= b.logical && logical < b.logical + b.length);
  if (!bg) return { error: `no block group contains logical ${logical}` };
  const kind = kindOfFlags(bg.flags);
  const cols = BAR_W;
  const usedPerCol = new Float64Array(cols);
  const colBytes = Number(bg.length) / cols;
  const nodesize = BigInt(fs.superblock.nodesize);
  let items = 0;
  // Every extent tree: with extent-tree-v2 the block group's extents are in the global root it names.
  for (const { block, slot } of fs.globalItems(
    ObjectId.EXTENT_TREE,
    { objectid: bg.logical, type: 0, offset: 0n },
    { objectid: bg.logical + bg.length - 1n, type: 255, offset: 0xffffffffffffffffn },
  )) {
    const t = block.keyType(slot);
    if (t !== ItemType.EXTENT_ITEM && t !== ItemType.METADATA_ITEM) continue;
    const start = block.keyObjectid(slot) - bg.logical;
    const len = t === ItemType.METADATA_ITEM ? nodesize : block.keyOffsetField(slot);
    items++;
    // Spread the extent's bytes over the columns it covers.
    let s = Number(start),
      e = Number(start + len);
    while (s < e) {
      const c = Math.min(cols - 1, Math.floor(s / colBytes));
      const ce = (c + 1) * colBytes;
      const take = Math.min(e, ce) - s;
      usedPerCol[c]! += take;
      s += take > 0 ? take : e - s;
    }
  }
  const L = LAYOUT;
  const scene: Scene = { width: L.width, height: 150, rects: [], texts: [] };
  scene.texts.push({ x: L.margin, y: 8, text: `${kind} block group ${bg.logical} +${bg.length} (${humanBytes(bg.length)}): used ${bg.used}, ${items} extents`, color: PALETTE.text });
  const by = L.top + L.labelH;
  for (let c = 0; c < cols; c++) {
    const f = Math.min(1, usedPerCol[c]! / colBytes);
    scene.rects.push({ x: L.margin + c, y: by, w: 1, h: L.bandH + L.barH, color: f > 0 ? shade(kind, 0.25 + 0.75 * f) : PALETTE.unallocated });
  }
  ticks(scene, by + L.bandH + L.barH + 1, bg.length, bg.logical);
  legend(scene, 126, [
    ['used', PALETTE[kind].full],
    ['partly used', shade(kind, 0.5)],
    ['free', PALETTE.unallocated],
    ['(offsets are logical addresses)', PALETTE.background],
  ]);
  return scene;
}

/**
 * The colours of an extent in a file picture: one, or two (upper half, lower
 * half) for an extent that is both shared and compressed, so that neither
 * property hides the other.
 */
export function extentColors(e: Pick<LayoutExtent, 'kind' | 'compression' | 'shared'>): RGB[] {
  if (e.kind === 'hole') return [PALETTE.hole];
  if (e.kind === 'inline') return [PALETTE.inline];
  if (e.kind === 'prealloc') return [PALETTE.prealloc];
  const compressed = e.compression !== 0;
  if (e.shared && compressed) return [PALETTE.shared, PALETTE.compressed];
  if (e.shared) return [PALETTE.shared];
  if (compressed) return [PALETTE.compressed];
  return [PALETTE.data.full];
}

/** One file's extents over its byte range, coloured by kind, with a mark at each extent start. */
/**
 * A file's extents along one bar. `extents` is a list or a walk that can be run twice (the span,
 * then the drawing), so a file of a million extents is never held whole; extents that start in
 * the pixel column the previous ones end in are drawn as one rectangle in the first one's
 * colours (titled with their count): at most a few rectangles per pixel column.
 */
export function fileScene(title: string, size: bigint, extents: LayoutExtent[] | ((visit: (e: LayoutExtent) => void) => void)): Scene {
  const each = Array.isArray(extents) ? (visit: (e: LayoutExtent) => void) => extents.forEach(visit) : extents;
  const L = LAYOUT;
  let span = size;
  let count = 0;
  each((e) => {
    count++;
    if (e.fileOffset + e.length > span) span = e.fileOffset + e.length;
  });
  if (span === 0n) span = 1n;
  const scene: Scene = { width: L.width, height: 150, rects: [], texts: [] };
  scene.texts.push({ x: L.margin, y: 8, text: `${title}  size ${size}, ${count} extent items`, color: PALETTE.text });
  const by = L.top + L.labelH;
  scene.rects.push({ x: L.margin, y: by, w: BAR_W, h: L.bandH + L.barH, color: PALETTE.hole });
  let group: { xa: number; xb: number; first: LayoutExtent; count: number; end: bigint } | undefined;
  const draw = (g: NonNullable<typeof group>) => {
    const e = g.first;
    const colors = extentColors(e);
    const h = L.bandH + L.barH;
    const what = `${e.kind}${e.compression !== 0 ? ' compressed' : ''}${e.shared ? ' shared' : ''}`;
    const title = g.count === 1 ? `${what} file offset ${e.fileOffset} +${e.length} disk ${e.diskBytenr}` : `${g.count} extent items from file offset ${e.fileOffset} to ${g.end}, the first ${what}`;
    colors.forEach((c, i) => scene.rects.push({ x: g.xa, y: by + (i * h) / colors.length, w: g.xb - g.xa, h: h / colors.length, color: c, title }));
    scene.rects.push({ x: g.xa, y: by, w: 1, h: L.bandH + L.barH, color: PALETTE.text });
  };
  each((e) => {
    const xa = xOf(e.fileOffset, span),
      xb = Math.max(xa + 1, xOf(e.fileOffset + e.length, span));
    const end = e.fileOffset + e.length;
    if (group && xa < group.xb && xa >= group.xa) {
      group.count++;
      if (xb > group.xb) group.xb = xb;
      if (end > group.end) group.end = end;
      return;
    }
    if (group) draw(group);
    group = { xa, xb, first: e, count: 1, end };
  });
  if (group) draw(group);
  ticks(scene, by + L.bandH + L.barH + 1, span);
  legend(scene, 126, [
    ['data', PALETTE.data.full],
    ['shared', PALETTE.shared],
    ['compressed', PALETTE.compressed],
    ['shared+compressed', [PALETTE.shared, PALETTE.compressed]],
    ['prealloc', PALETTE.prealloc],
    ['inline', PALETTE.inline],
    ['hole', PALETTE.hole],
  ]);
  return scene;
}

// ------------------------------------------------------------------ rendering

export function rasterize(s: Scene): Uint8Array {
  const px = new Uint8Array(s.width * s.height * 3);
  px.fill(255);
  const fill = (x0: number, y0: number, w: number, h: number, c: RGB) => {
    const xa = Math.max(0, x0),
      ya = Math.max(0, y0),
      xb = Math.min(s.width, x0 + w),
      yb = Math.min(s.height, y0 + h);
    for (let y = ya; y < yb; y++)
      for (let x = xa; x < xb; x++) {
        const o = (y * s.width + x) * 3;
        px[o] = c[0];
        px[o + 1] = c[1];
        px[o + 2] = c[2];
      }
  };
  for (const r of s.rects) fill(r.x, r.y, r.w, r.h, r.color);
  for (const t of s.texts) {
    let x = t.x;
    for (const ch of t.text) {
      const g = glyph(ch);
      for (let row = 0; row < GLYPH_H; row++) for (let col = 0; col < GLYPH_W; col++) if (g[row]! & (16 >> col)) fill(x + col, t.y + row, 1, 1, t.color);
      x += GLYPH_W + 1;
    }
  }
  return px;
}

export function renderPng(s: Scene): Uint8Array {
  return encodePng(s.width, s.height, rasterize(s));
}

const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hex = (c: RGB) => '#' + c.map((v) => v.toString(16).padStart(2, '0')).join('');

export function renderSvg(s: Scene): string {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${s.width}" height="${s.height}" viewBox="0 0 ${s.width} ${s.height}" font-family="monospace" font-size="10">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
  ];
  for (const r of s.rects) {
    const rect = `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" fill="${hex(r.color)}"`;
    out.push(r.title ? `${rect}><title>${esc(r.title)}</title></rect>` : `${rect}/>`);
  }
  for (const t of s.texts) out.push(`<text x="${t.x}" y="${t.y + GLYPH_H}" fill="${hex(t.color)}">${esc(t.text)}</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
