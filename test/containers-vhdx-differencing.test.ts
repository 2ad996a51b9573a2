import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { crc32c } from '../src/io/containers/vhdx.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli } from './helpers/cli.js';
import { fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

// diff-child.vhdx: a differencing VHDX (vhdx-diff.py, by [MS-VHDX]) over diff-parent.vhdx (qemu-img);
// diff-child-vhdx.sha256 is what libvhdi (python3-libvhdi) read through the chain (build.sh): the
// whole disk, then unaligned ranges across the child's sectors, the parent's and block edges.
let dir: string;
const inDir = (sub: string, files: Record<string, Uint8Array>) => {
  const d = path.join(dir, sub);
  fs.mkdirSync(d);
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(d, n), b);
  return d;
};
const pair = () => ({ 'diff-child.vhdx': fixtureBytes('diff-child.vhdx'), 'diff-parent.vhdx': fixtureBytes('diff-parent.vhdx') });
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-vhdxd-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VHDX differencing disks', () => {
  test('the child over its parent (relative_path) reads as libvhdi read it, whole and in unaligned ranges', () => {
    const d = inDir('ok', pair());
    const src = openByteSource(path.join(d, 'diff-child.vhdx'));
    const [whole, ...ranges] = truthLine('diff-child-vhdx.sha256').split('\n');
    expect(src.size).toBe(8388608n);
    expect(sha256Of(src)).toBe(whole);
    expect(ranges.length).toBe(5);
    for (const line of ranges) {
      const [o, n, sha] = line.split(' ');
      const b = src.read(BigInt(o!), Number(n));
      expect(b.length).toBe(Number(n));
      expect(createHash('sha256').update(b).digest('hex'), `${o} +${n}`).toBe(sha);
    }
    src.close?.();
  });

  test('a missing parent: exit 2, the locator paths tried named', async () => {
    const d = inDir('alone', { 'diff-child.vhdx': fixtureBytes('diff-child.vhdx') });
    const r = await cli('super', path.join(d, 'diff-child.vhdx'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /diff-child\.vhdx: its parent VHDX is not found \(tried relative_path .*alone\/diff-parent\.vhdx, absolute_win32_path \\\\\?\\C:\\nowhere\\diff-parent\.vhdx \(a Windows path\)\)/,
    );
  });

  test("a parent whose DataWriteGuid is not the child's parent_linkage is refused", async () => {
    const d = inDir('wrong', { 'diff-child.vhdx': fixtureBytes('diff-child.vhdx'), 'diff-parent.vhdx': fixtureBytes('dynamic.vhdx') });
    const r = await cli('super', path.join(d, 'diff-child.vhdx'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/its parent .*diff-parent\.vhdx has DataWriteGuid [0-9a-f-]{36}, not the a78b8941-2061-f94c-b017-a33713860407 the child was made against/);
  });

  test('a parent with a log still to replay (LogGuid set) is refused', async () => {
    const parent = fixtureBytes('diff-parent.vhdx');
    // Both headers (64 and 128 KiB) get a LogGuid (offset 48) and a CRC-32C that fits again.
    for (const at of [64 << 10, 128 << 10]) {
      const h = parent.subarray(at, at + 4096);
      h.fill(0x5a, 48, 64);
      h.fill(0, 4, 8);
      new DataView(h.buffer, h.byteOffset).setUint32(4, crc32c(h), true);
    }
    const d = inDir('log', { 'diff-child.vhdx': fixtureBytes('diff-child.vhdx'), 'diff-parent.vhdx': parent });
    const r = await cli('super', path.join(d, 'diff-child.vhdx'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/diff-parent\.vhdx: .*the log holds changes not yet applied/);
  });

  test('a child that is its own parent (a loop) is refused, no hang', async () => {
    const d = inDir('loop', { 'diff-parent.vhdx': fixtureBytes('diff-child.vhdx') });
    const r = await cli('super', path.join(d, 'diff-parent.vhdx'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('parent chain loops');
  });

  test('a truncated child: refused naming the file, no stack trace', async () => {
    const b = fixtureBytes('diff-child.vhdx');
    const d = inDir('cut', { 'diff-child.vhdx': b.subarray(0, 5 << 20), 'diff-parent.vhdx': fixtureBytes('diff-parent.vhdx') });
    const r = await cli('super', path.join(d, 'diff-child.vhdx'));
    expect(r.stderr).toMatch(/diff-child\.vhdx: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
