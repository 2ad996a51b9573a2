import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { ExtractSummary } from '../src/cli/commands/extract.js';
import { runCli } from '../src/cli/main.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { FileSource } from '../src/io/node/FileSource.js';
import { captureIO, writeSparse } from './helpers/fsTruth.js';
import { expectSameTree } from './helpers/sameTree.js';
import { manifest, sampleNames, sampleSources } from './helpers/samples.js';

const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-offset-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));
afterEach(() => {
  vi.restoreAllMocks();
});

/** `src` written into a plain (sparse) file `shift` bytes in, as a whole-disk image with room before the filesystem. */
function writeShifted(src: ByteSource, path: string, shift: number): void {
  const fd = nodeFs.openSync(path, 'w');
  try {
    for (let o = 0n; o < src.size; o += 1n << 20n) {
      const b = src.read(o, 1 << 20);
      if (b.some((x) => x !== 0)) nodeFs.writeSync(fd, b, 0, b.length, Number(o) + shift);
    }
    nodeFs.ftruncateSync(fd, Number(src.size) + shift);
  } finally {
    nodeFs.closeSync(fd);
  }
}

/** Runs extract and returns its summary and the offsets the image file was asked to read ahead. */
async function extract(args: string[], out: string): Promise<{ s: ExtractSummary; prefetched: bigint[] }> {
  const prefetched: bigint[] = [];
  const real = FileSource.prototype.prefetch;
  const spy = vi.spyOn(FileSource.prototype, 'prefetch').mockImplementation(function (this: FileSource, ranges) {
    for (const r of ranges) prefetched.push(r.offset);
    real.call(this, ranges);
  });
  const c = captureIO();
  expect(await runCli(['extract', ...args, '-o', out, '--json'], c.io), c.stderr()).toBe(0);
  spy.mockRestore();
  return { s: JSON.parse(c.text()) as ExtractSummary, prefetched };
}

const summaryParts = (s: ExtractSummary) => [s.written, s.read, s.xattrs, s.refused, s.failed, s.skipped];

describe.runIf(sampleNames().includes('default'))('extract through --offset of a whole-disk image', () => {
  it('writes the same files as from the plain image, with the data read ahead through the window', async () => {
    const plain = join(tmpRoot, 'default.img');
    writeSparse(sampleSources('default')[0]!, plain);
    const SHIFT = 3 << 20;
    const disk = join(tmpRoot, 'default-shifted.img');
    writeShifted(sampleSources('default')[0]!, disk, SHIFT);
    const want = await extract([plain], join(tmpRoot, 'plain'));
    const got = await extract([disk, '--offset', String(SHIFT)], join(tmpRoot, 'shifted'));
    expect(want.s.written.files).toBeGreaterThan(100);
    expect(summaryParts(got.s)).toEqual(summaryParts(want.s));
    expectSameTree(join(tmpRoot, 'shifted'), join(tmpRoot, 'plain'));
    // Read-ahead reached the file through the window: the ranges of the plain run, each SHIFT bytes
    // further (which ranges are still read at the end depends on timing: most, not all, are compared).
    expect(want.prefetched.length).toBeGreaterThan(100);
    expect(got.prefetched.length).toBeGreaterThan(100);
    expect(got.prefetched.every((o) => o >= BigInt(SHIFT))).toBe(true);
    const plainSet = new Set(want.prefetched);
    const same = got.prefetched.filter((o) => plainSet.has(o - BigInt(SHIFT))).length;
    expect(same / got.prefetched.length).toBeGreaterThan(0.9);
  }, 180_000);
});

const part = sampleNames().find((n) => manifest(n).partition?.table === 'gpt');
describe.runIf(part !== undefined)('extract through --partition of a whole-disk image file', () => {
  it("writes the same files as through --offset at the partition's start, with the data read ahead past the partition start", async () => {
    const m = manifest(part!).partition!;
    const disk = join(tmpRoot, 'gpt.img');
    writeSparse(sampleSources(part!)[0]!, disk);
    const viaOffset = await extract([disk, '--offset', String(m.btrfs_offset_bytes)], join(tmpRoot, 'gpt-offset'));
    const viaPart = await extract([disk, '--partition', String(m.btrfs_partition)], join(tmpRoot, 'gpt-part'));
    expect(viaPart.s.written.files).toBeGreaterThan(0);
    expect(summaryParts(viaPart.s)).toEqual(summaryParts(viaOffset.s));
    expectSameTree(join(tmpRoot, 'gpt-part'), join(tmpRoot, 'gpt-offset'));
    expect(viaPart.prefetched.length).toBeGreaterThan(0);
    expect(viaPart.prefetched.every((o) => o >= BigInt(m.btrfs_offset_bytes) && o < BigInt(m.btrfs_offset_bytes + m.btrfs_size_bytes))).toBe(true);
  }, 180_000);
});
