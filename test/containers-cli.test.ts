import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Qcow2Source } from '../src/io/containers/qcow2.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

let dir: string;
const put = (name: string, bytes: Uint8Array = fixtureBytes(name)) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-ccli-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const SAMPLE = path.join(import.meta.dirname, '..', 'sample-images', 'partitioned-gpt', 'truth', 'manifest.json');

describe('containers compose with the rest of the input stack', () => {
  test('a GPT whole-disk image inside a qcow2: the btrfs partition is found and used', async () => {
    const m = JSON.parse(fs.readFileSync(SAMPLE, 'utf8')) as { fsid: string; partition: { btrfs_partition: number; btrfs_offset_bytes: number } };
    const r = await cli('super', put('gpt-disk.qcow2'), '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`using btrfs partition ${m.partition.btrfs_partition} at offset ${m.partition.btrfs_offset_bytes}`);
    expect((parseJsonExact(r.stdout) as { superblock: { fsid: string } }).superblock.fsid).toBe(m.fsid);
  });

  test('a qcow2 split into segments is still found by its content', () => {
    const bytes = fixtureBytes('zlib.qcow2');
    const third = Math.ceil(bytes.length / 3);
    for (let i = 0; i < 3; i++) put(`split.qcow2.00${i + 1}`, bytes.subarray(i * third, (i + 1) * third));
    const src = openByteSource(path.join(dir, 'split.qcow2.001')) as Qcow2Source;
    expect(src).toBeInstanceOf(Qcow2Source);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    src.close?.();
  });
});

describe('the CLI on containers', () => {
  test('ls -R of a qcow2 overlay and check --data of an E01 set', async () => {
    put('zlib.qcow2');
    const ls = await cli('ls', '-R', put('overlay.qcow2'));
    expect(ls.code).toBe(0);
    for (const p of filesTruth().keys()) expect(ls.stdout).toContain(p.slice(1));
    const check = await cli('check', '--data', put('fs.E01'));
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
  });

  test('a missing backing file: exit 2, the file named, the next step, no stack trace', async () => {
    const sub = fs.mkdtempSync(path.join(dir, 'alone-'));
    const p = path.join(sub, 'overlay.qcow2');
    fs.writeFileSync(p, fixtureBytes('overlay.qcow2'));
    const r = await cli('ls', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/overlay\.qcow2: its backing file "zlib\.qcow2" \(.*\) does not exist; put it there, or convert/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
