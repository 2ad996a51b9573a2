import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConcatSource } from '../src/io/ConcatSource.js';
import { firstSegmentSuffix, nextSegmentName } from '../src/io/containers/splitNames.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import type { SparseSource } from '../src/io/SparseSource.js';
import { CONTAINERS, expectKernelFilesystem, sha256Of, truthLine } from './helpers/containers.js';

let dir: string;
let raw: SparseSource;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-split-'));
  raw = loadRunsImage(path.join(CONTAINERS, 'fs.runs.gz'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes the raw image as segments of `segSize` bytes named by `names` (sparse: zero MiBs are skipped). */
function writeSegments(names: string[], segSize: number): void {
  const size = Number(raw.size);
  expect(names.length).toBe(Math.ceil(size / segSize));
  const fds = names.map((n) => fs.openSync(path.join(dir, n), 'w'));
  names.forEach((_, i) => fs.ftruncateSync(fds[i]!, Math.min(segSize, size - i * segSize)));
  const MiB = 1 << 20;
  for (let o = 0; o < size; o += MiB) {
    const b = raw.read(BigInt(o), MiB);
    if (b.every((x) => x === 0)) continue;
    for (let p = 0; p < b.length; ) {
      const seg = Math.floor((o + p) / segSize);
      const inSeg = (o + p) % segSize;
      const take = Math.min(b.length - p, segSize - inSeg);
      fs.writeSync(fds[seg]!, b, p, take, inSeg);
      p += take;
    }
  }
  fds.forEach((fd) => fs.closeSync(fd));
}

describe('segment names', () => {
  test('follow the names GNU split writes (numeric and alphabetic suffixes)', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'names-'));
    const input = path.join(sub, 'in');
    fs.writeFileSync(input, new Uint8Array(676)); // 26 * 26: every two-letter name
    execFileSync('split', ['-b', '1', '-a', '2', input, path.join(sub, 'a.')]);
    execFileSync('split', ['-b', '1', '-a', '3', '-d', '--numeric-suffixes=1', input, path.join(sub, 'n.')]);
    execFileSync('split', ['-b', '70', '-a', '2', '-d', input, path.join(sub, 'z.')]);
    const listed = fs
      .readdirSync(sub)
      .filter((n) => n !== 'in')
      .sort();
    const chain = (first: string): string[] => {
      const out = [first];
      for (let n = nextSegmentName(first); n && listed.includes(n); n = nextSegmentName(n)) out.push(n);
      return out;
    };
    for (const [first, count] of [
      ['a.aa', 676],
      ['n.001', 676],
      ['z.00', 10],
    ] as const) {
      expect(firstSegmentSuffix(first)).not.toBeNull();
      const names = chain(first);
      expect(names.length).toBe(count);
      expect(names).toEqual(listed.filter((n) => n.startsWith(first.slice(0, 2))));
    }
    expect(nextSegmentName('x.999')).toBeNull();
    expect(nextSegmentName('x.zz')).toBeNull();
    for (const n of ['disk.img', 'disk.002', 'disk.ab', 'disk.E01', 'disk.1']) expect(firstSegmentSuffix(n)).toBeNull();
  });
});

describe('split raw images', () => {
  test('numeric segments (.001 ...) read back as the raw image and the kernel filesystem', () => {
    // 40 MiB + 4097 bytes: boundaries fall inside btrfs blocks.
    const seg = 40 * (1 << 20) + 4097;
    writeSegments(['img.001', 'img.002', 'img.003'], seg);
    const src = openByteSource(path.join(dir, 'img.001'));
    expect(src).toBeInstanceOf(ConcatSource);
    expect(src.size).toBe(raw.size);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    // A read across the first boundary is both segments' bytes.
    const at = BigInt(seg - 100);
    expect(Buffer.compare(src.read(at, 300), raw.read(at, 300))).toBe(0);
    const into = new Uint8Array(300);
    expect(src.readInto!(at, into)).toBe(300);
    expect(Buffer.compare(into, raw.read(at, 300))).toBe(0);
    expectKernelFilesystem(src);
    src.close?.();
  });

  test('alphabetic segments (.aa ...) too, and a gap ends the image', () => {
    const seg = 50 * (1 << 20);
    writeSegments(['alpha.aa', 'alpha.ab', 'alpha.ac'], seg);
    const src = openByteSource(path.join(dir, 'alpha.aa'));
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    src.close?.();
    fs.renameSync(path.join(dir, 'alpha.ab'), path.join(dir, 'alpha.ab.moved'));
    const first = openByteSource(path.join(dir, 'alpha.aa'));
    expect(first.size).toBe(BigInt(seg));
    first.close?.();
  });

  test('reads past the end and at boundaries of memory segments', () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([]), new Uint8Array([4, 5])];
    const c = new ConcatSource(
      parts.map((p) => new MemorySource(p)),
      'mem',
    );
    expect(c.size).toBe(5n);
    expect([...c.read(0n, 10)]).toEqual([1, 2, 3, 4, 5]);
    expect([...c.read(2n, 2)]).toEqual([3, 4]);
    expect([...c.read(3n, 2)]).toEqual([4, 5]);
    expect(c.read(5n, 1).length).toBe(0);
    expect(c.read(-1n, 1).length).toBe(0);
  });
});
