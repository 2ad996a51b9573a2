import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decompress } from 'fzstd';
import { expect } from 'vitest';
import { runCheck } from '../../src/analysis/check/index.js';
import { FsView } from '../../src/fs/FsView.js';
import { readAll } from '../../src/fs/fileData.js';
import type { ByteSource } from '../../src/io/ByteSource.js';
import { Filesystem } from '../../src/tree/Filesystem.js';

/**
 * test/fixtures/containers (built by build.sh there): one kernel-written btrfs image and the
 * same bytes inside containers made by qemu-img, qemu-io and ewfacquire. The truth is what
 * sha256sum said of the raw image and of every file through the kernel's mount.
 */
export const CONTAINERS = path.join(import.meta.dirname, '..', 'fixtures', 'containers');

export const truthLine = (name: string): string => fs.readFileSync(path.join(CONTAINERS, name), 'utf8').trim();

/** A container fixture, unpacked (git holds them zstd-compressed: `NAME.zst`). */
export const fixtureBytes = (name: string): Uint8Array => decompress(new Uint8Array(fs.readFileSync(path.join(CONTAINERS, `${name}.zst`))));

/** sha256 of every byte a source reads, in 1 MiB pieces (hex). */
export function sha256Of(src: ByteSource): string {
  const h = createHash('sha256');
  const piece = 1 << 20;
  for (let o = 0n; o < src.size; o += BigInt(piece)) {
    const b = src.read(o, piece);
    expect(b.length).toBe(o + BigInt(piece) > src.size ? Number(src.size - o) : piece);
    h.update(b);
  }
  return h.digest('hex');
}

/** files.sha256: what sha256sum said of every file through the mount, by path ("/dir/random.bin"). */
export function filesTruth(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of truthLine('files.sha256').split('\n')) {
    const m = /^([0-9a-f]{64}) {2}\.(\/.*)$/.exec(line);
    if (m) out.set(m[2]!, m[1]!);
  }
  return out;
}

/**
 * The filesystem read through `src` is the one the kernel wrote: every file's sha256 as
 * sha256sum said through the mount, and a data check with no error (btrfs check found none).
 */
export function expectKernelFilesystem(src: ByteSource): void {
  const fsys = Filesystem.open([src]);
  const view = new FsView(fsys);
  const truth = filesTruth();
  expect(truth.size).toBe(3);
  for (const [p, sha] of truth) {
    const r = view.resolve(p);
    if (!r.ok) throw new Error(`${p} not found`);
    const { bytes, errors } = readAll(view, r.inode);
    expect(errors).toEqual([]);
    expect(createHash('sha256').update(bytes).digest('hex'), p).toBe(sha);
  }
  const report = runCheck(fsys, { data: true });
  expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
  expect(report.summary.dataSectors).toBeGreaterThan(0);
}
