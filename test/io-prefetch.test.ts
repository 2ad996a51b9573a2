import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ByteSource, PrefetchRange } from '../src/io/ByteSource.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { FileSource } from '../src/io/node/FileSource.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { findBtrfsPartitions, openPartition } from '../src/io/partitions.js';
import { SliceSource } from '../src/io/SliceSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { writeSparse } from './helpers/fsTruth.js';
import { manifest, sampleNames, sampleSources } from './helpers/samples.js';

const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-prefetch-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Prefetches ranges of `src` and resolves with what each one's `done` reported. */
function prefetch(src: ByteSource, ranges: { offset: bigint; length: number; direct?: boolean }[]): Promise<{ err: Error | null; n: number; bytes: Uint8Array }[]> {
  return Promise.all(
    ranges.map(
      (q) =>
        new Promise<{ err: Error | null; n: number; bytes: Uint8Array }>((resolve) => {
          const into = new Uint8Array(q.length);
          src.prefetch!([{ offset: q.offset, into, ...(q.direct ? { direct: true } : {}), done: (err, n) => resolve({ err, n, bytes: into.subarray(0, n) }) }]);
        }),
    ),
  );
}

describe('read-ahead through wrapping sources', () => {
  const img = join(tmpRoot, 'random.img');
  const content = randomBytes(3 << 20);
  nodeFs.writeFileSync(img, content);

  it('a window at an offset hands its ranges to the file source moved by the offset and cut at its end', async () => {
    const file = FileSource.open(img);
    try {
      const seen: { offset: bigint; length: number }[] = [];
      const real = file.prefetch.bind(file);
      const spy = vi.spyOn(file, 'prefetch').mockImplementation((ranges: readonly PrefetchRange[]) => {
        for (const r of ranges) seen.push({ offset: r.offset, length: r.into.length });
        real(ranges);
      });
      const slice = new SliceSource(file, 1048576n + 512n, 1048576n, 'window');
      const got = await prefetch(slice, [
        { offset: 0n, length: 4096 },
        { offset: 1048576n - 1000n, length: 4096 },
        { offset: 1048576n, length: 10 },
      ]);
      expect(seen).toEqual([
        { offset: 1049088n, length: 4096 },
        { offset: 2096664n, length: 1000 },
      ]);
      expect(got.map((g) => [g.err, g.n])).toEqual([
        [null, 4096],
        [null, 1000],
        [null, 0],
      ]);
      expect(Buffer.from(got[0]!.bytes).equals(content.subarray(1049088, 1049088 + 4096))).toBe(true);
      expect(Buffer.from(got[1]!.bytes).equals(content.subarray(2096664, 2096664 + 1000))).toBe(true);
      // A slice of a slice: both offsets add up.
      seen.length = 0;
      const inner = new SliceSource(slice, 8192n, undefined, 'inner');
      const [a] = await prefetch(inner, [{ offset: 4096n, length: 8192, direct: true }]);
      expect(seen).toEqual([{ offset: 1049088n + 8192n + 4096n, length: 8192 }]);
      expect(Buffer.from(a!.bytes).equals(content.subarray(1061376, 1061376 + 8192))).toBe(true);
      spy.mockRestore();
    } finally {
      file.close();
    }
  });

  it('an aligned direct range is read past the cache where the file system allows it, and equals a plain read', async () => {
    const file = FileSource.open(img);
    try {
      const slice = new SliceSource(file, 1048576n, undefined, 'aligned');
      const mem = new (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory({ initial: 1 });
      const into = new Uint8Array(mem.buffer, 0, 8192);
      const r = await new Promise<{ err: Error | null; n: number; direct: boolean }>((resolve) =>
        slice.prefetch!([{ offset: 4096n, into, direct: true, done: (err, n, direct) => resolve({ err, n, direct }) }]),
      );
      expect([r.err, r.n]).toEqual([null, 8192]);
      expect(Buffer.from(into).equals(content.subarray(1048576 + 4096, 1048576 + 4096 + 8192))).toBe(true);
      // Unaligned below: the same range through a window 512 bytes further is read through the cache.
      const odd = new SliceSource(file, 1048576n + 512n, undefined, 'odd');
      const s = await new Promise<{ n: number; direct: boolean }>((resolve) => odd.prefetch!([{ offset: 4096n, into, direct: true, done: (_e, n, direct) => resolve({ n, direct }) }]));
      expect(s).toEqual({ n: 8192, direct: false });
      expect(Buffer.from(into).equals(content.subarray(1048576 + 512 + 4096, 1048576 + 512 + 4096 + 8192))).toBe(true);
    } finally {
      file.close();
    }
  });

  it('an overlay lays its patches over what it reads ahead and ends where it was cut; memory sources do not read ahead', async () => {
    const file = FileSource.open(img);
    try {
      const patch = new Uint8Array([1, 2, 3, 4]);
      const o = new OverlaySource(file).patch(4098n, patch).truncate(10000n);
      const [a, b] = await prefetch(o, [
        { offset: 4096n, length: 8192 },
        { offset: 9000n, length: 4096 },
      ]);
      // Cut at the overlay's end (10000): 5904 of the 8192 bytes asked for.
      const want = Buffer.from(content.subarray(4096, 10000));
      want.set(patch, 2);
      expect(a!.n).toBe(5904);
      expect(Buffer.from(a!.bytes).equals(want)).toBe(true);
      expect(b!.n).toBe(1000);
      expect(new SliceSource(new MemorySource(new Uint8Array(10)), 2n, undefined, 'm').prefetch).toBeUndefined();
      expect(new OverlaySource(new MemorySource(new Uint8Array(10))).prefetch).toBeUndefined();
    } finally {
      file.close();
    }
  });
});

const part = sampleNames().find((n) => manifest(n).partition?.table === 'gpt');
describe.runIf(part !== undefined)('read-ahead through a partition window and the volume', () => {
  it('reaches the whole-disk file at the partition start plus the physical address, with the bytes a plain read gives', async () => {
    const img = join(tmpRoot, 'disk.img');
    writeSparse(sampleSources(part!)[0]!, img);
    const disk = FileSource.open(img);
    try {
      const [p] = findBtrfsPartitions(disk);
      expect(p!.start).toBe(BigInt(manifest(part!).partition!.btrfs_offset_bytes));
      const seen: bigint[] = [];
      const real = disk.prefetch.bind(disk);
      vi.spyOn(disk, 'prefetch').mockImplementation((ranges: readonly PrefetchRange[]) => {
        for (const r of ranges) seen.push(r.offset);
        real(ranges);
      });
      const fs = Filesystem.open([openPartition(disk, p!.index)]);
      // The root tree's root block: its logical address, mapped by the chunk map, then moved by the partition's start.
      const logical = fs.superblock.root;
      const phys = fs.volume.chunks.map(logical)!.copies[0]!.physical;
      const into = new Uint8Array(fs.superblock.nodesize);
      const n = await new Promise<number>((resolve, reject) => fs.volume.prefetch([{ offset: logical, into, done: (err, got) => (err ? reject(err) : resolve(got)) }]));
      expect(n).toBe(into.length);
      expect(seen).toEqual([p!.start + phys]);
      expect(Buffer.from(into).equals(Buffer.from(fs.volume.read(logical, into.length).bytes!))).toBe(true);
      // An unmapped address is not read ahead: it ends with an error, and nothing reaches the file.
      const err = await new Promise<Error | null>((resolve) => fs.volume.prefetch([{ offset: 1n, into: new Uint8Array(4096), done: (e) => resolve(e) }]));
      expect(err?.message).toMatch(/cannot be read ahead/);
      expect(seen.length).toBe(1);
    } finally {
      disk.close();
    }
  });
});
