import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/**
 * The "btrfs-corpus-runs 1" format the sample images are stored in (see
 * sample-images/README.md): header line, JSON index {size, runs}, then the
 * bytes of every run. Fuzz cases are written in it, uncompressed, so a
 * mutated 256 MiB device costs only its non-zero bytes on disk.
 */
export interface RunsImage {
  size: number;
  runs: { offset: number; bytes: Uint8Array }[];
}

/** A byte range to overwrite on one device (devIndex = position in the device list). */
export interface Patch {
  dev: number;
  offset: number;
  bytes: Uint8Array;
}

export function loadRuns(path: string): RunsImage {
  let data: Uint8Array = readFileSync(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  const nl1 = data.indexOf(10);
  const nl2 = data.indexOf(10, nl1 + 1);
  const head = JSON.parse(Buffer.from(data.subarray(nl1 + 1, nl2)).toString('utf8')) as { size: number; runs: [number, number][] };
  let pos = nl2 + 1;
  const runs = head.runs.map(([offset, length]) => {
    const bytes = data.subarray(pos, pos + length);
    pos += length;
    return { offset, bytes };
  });
  return { size: head.size, runs };
}

/** Reads `length` bytes at `offset` of a runs image (zeros outside the runs). */
export function readRuns(img: RunsImage, offset: number, length: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, Math.min(length, img.size - offset)));
  const end = offset + out.length;
  for (const r of img.runs) {
    const a = Math.max(offset, r.offset);
    const b = Math.min(end, r.offset + r.bytes.length);
    if (a < b) out.set(r.bytes.subarray(a - r.offset, b - r.offset), a - offset);
  }
  return out;
}

/**
 * Writes `img` with `patches` applied (later ones win) and cut to `truncate`
 * bytes when given, as an uncompressed runs file. Returns the bytes written.
 */
export function writeMutatedRuns(path: string, img: RunsImage, patches: readonly Patch[], truncate?: number): Buffer {
  const size = truncate !== undefined ? Math.min(truncate, img.size) : img.size;
  const spans: [number, number][] = img.runs.map((r) => [r.offset, r.offset + r.bytes.length]);
  for (const p of patches) spans.push([p.offset, p.offset + p.bytes.length]);
  spans.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const [a0, b0] of spans) {
    const a = Math.max(0, a0),
      b = Math.min(size, b0);
    if (a >= b) continue;
    const last = merged[merged.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  const parts: Uint8Array[] = [];
  for (const [a, b] of merged) {
    const bytes = readRuns(img, a, b - a);
    for (const p of patches) {
      const pa = Math.max(a, p.offset),
        pb = Math.min(b, p.offset + p.bytes.length);
      if (pa < pb) bytes.set(p.bytes.subarray(pa - p.offset, pb - p.offset), pa - a);
    }
    parts.push(bytes);
  }
  const head = Buffer.from(`btrfs-corpus-runs 1\n${JSON.stringify({ size, runs: merged.map(([a, b]) => [a, b - a]) })}\n`);
  const file = Buffer.concat([head, ...parts]);
  writeFileSync(path, file);
  return file;
}
