import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { SUPER_MIRROR_OFFSETS } from '../src/format/constants.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth, fixtureBytes } from './helpers/containers.js';

/**
 * A qcow2 cut short (zlib.qcow2 of test/fixtures/containers, whose clusters qemu-img wrote in
 * guest order: the cut loses the last ones, among them the cluster of the second superblock copy
 * at 64 MiB). Reads that reach past the cut are findings with their place; the rest is read.
 */
let dir: string, trunc: string;
const CUT = 370000;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-rerr-'));
  const whole = fixtureBytes('zlib.qcow2');
  expect(whole.length).toBeGreaterThan(CUT);
  trunc = path.join(dir, 'trunc.qcow2');
  fs.writeFileSync(trunc, whole.subarray(0, CUT));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('read errors inside a container are findings, and the walk goes on', () => {
  test('check: the unreadable superblock copy and data are located; every tree is still walked; exit 1, not 2', async () => {
    const r = await cli('check', trunc, '--data', '--json');
    expect(r.code).toBe(1);
    const doc = parseJsonExact(r.stdout) as {
      summary: { trees: number };
      findings: { code: string; message: string; location: { device?: string; physical?: string | number; logical?: string | number } }[];
    };
    const sup = doc.findings.find((f) => f.code === 'super-unreadable')!;
    expect(BigInt(sup.location.physical!)).toBe(SUPER_MIRROR_OFFSETS[1]);
    expect(sup.location.device).toBe(trunc);
    expect(sup.message).toMatch(/lies outside the file \(370000 bytes\)/);
    expect(doc.findings.every((f) => f.code === 'super-unreadable' || f.code === 'data-unreadable')).toBe(true);
    expect(doc.summary.trees).toBeGreaterThan(0);
  });

  test('the filesystem opens from the first superblock copy: every file the kernel wrote is listed, the lost copy said; data past the cut is a located error', async () => {
    const fsys = Filesystem.open([openByteSource(trunc)]);
    const report = runCheck(fsys, { data: false });
    expect(report.findings.map((f) => f.code)).toEqual(['super-unreadable']);
    const out = await cli('ls', trunc, '-R', '--json');
    expect(out.code).toBe(1);
    for (const p of filesTruth().keys()) expect(out.stdout).toContain(`"path":"${p}"`);
    expect(out.stderr).toContain('superblock copy 2 at 67108864 cannot be read');
    const cat = await cli('cat', trunc, '/hello.txt');
    expect(cat.code).toBe(1);
    expect(cat.stderr).toMatch(/cannot be read: .*qcow2/);
  });

  test('super: the copy past the cut is "unreadable", exit 1', async () => {
    const r = await cli('super', trunc);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/67108864\s*│ unreadable/);
  });
});
