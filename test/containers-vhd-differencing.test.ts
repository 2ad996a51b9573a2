import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli } from './helpers/cli.js';
import { fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

// diff-child.vhd: a differencing VHD (vhd-diff.py, by the specification) over diff-parent.vhd
// (qemu-img); diff-child.sha256 is what libvhdi read through the chain (build.sh).
let dir: string;
const inDir = (sub: string, files: Record<string, Uint8Array>) => {
  const d = path.join(dir, sub);
  fs.mkdirSync(d);
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(d, n), b);
  return d;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-vhdd-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VHD differencing disks', () => {
  test('the child over its parent (found by the relative W2ru locator) reads as libvhdi read it', () => {
    const d = inDir('ok', { 'diff-child.vhd': fixtureBytes('diff-child.vhd'), 'diff-parent.vhd': fixtureBytes('diff-parent.vhd') });
    const src = openByteSource(path.join(d, 'diff-child.vhd'));
    expect(sha256Of(src)).toBe(truthLine('diff-child.sha256'));
    src.close?.();
  });

  test('a missing parent: exit 2, the locators tried named', async () => {
    const d = inDir('alone', { 'diff-child.vhd': fixtureBytes('diff-child.vhd') });
    const r = await cli('super', path.join(d, 'diff-child.vhd'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/diff-child\.vhd: its parent VHD "diff-parent\.vhd" is not found \(tried W2ru .*alone\/diff-parent\.vhd, W2ku C:\/nowhere\/diff-parent\.vhd \(a Windows path\)\)/);
  });

  test('a parent whose unique id is not the one the child names is refused', async () => {
    const d = inDir('wrong', { 'diff-child.vhd': fixtureBytes('diff-child.vhd'), 'diff-parent.vhd': fixtureBytes('dynamic.vhd') });
    const r = await cli('super', path.join(d, 'diff-child.vhd'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/its parent .*diff-parent\.vhd has unique id [0-9a-f]{32}, not the [0-9a-f]{32} the child was made against/);
  });

  test('a child that is its own parent (a loop) is refused, no hang', async () => {
    const d = inDir('loop', { 'diff-parent.vhd': fixtureBytes('diff-child.vhd') });
    const r = await cli('super', path.join(d, 'diff-parent.vhd'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('parent chain loops');
  });

  test('a truncated child: refused naming the file', async () => {
    const b = fixtureBytes('diff-child.vhd');
    const d = inDir('cut', { 'diff-child.vhd': b.subarray(0, 1200), 'diff-parent.vhd': fixtureBytes('diff-parent.vhd') });
    const r = await cli('super', path.join(d, 'diff-child.vhd'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/diff-child\.vhd: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
