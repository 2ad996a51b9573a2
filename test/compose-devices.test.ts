import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { FsView } from '../src/fs/FsView.js';
import { readAll } from '../src/fs/fileData.js';
import { Qcow2Source } from '../src/io/containers/qcow2.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';

/**
 * test/fixtures/compose (build.sh there): a kernel-written two-device raid1 btrfs, each device a
 * qcow2 made by qemu-img. Truth: the files' sha256 through the kernel's mount, the fsid given to
 * mkfs.btrfs, and btrfs check's verdict.
 */
const HERE = path.join(import.meta.dirname, 'fixtures', 'compose');
const truth = (name: string) => fs.readFileSync(path.join(HERE, name), 'utf8').trim();
let dir: string, dev1: string, dev2: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-compose-'));
  for (const d of ['dev1', 'dev2']) fs.writeFileSync(path.join(dir, `${d}.qcow2`), decompress(new Uint8Array(fs.readFileSync(path.join(HERE, `${d}.qcow2.zst`)))));
  dev1 = path.join(dir, 'dev1.qcow2');
  dev2 = path.join(dir, 'dev2.qcow2');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function expectFiles(fsys: Filesystem): void {
  const view = new FsView(fsys);
  const lines = truth('files.sha256').split('\n');
  expect(lines.length).toBe(3);
  for (const line of lines) {
    const [sha, name] = line.split(/ {2}\./) as [string, string];
    const r = view.resolve(name);
    if (!r.ok) throw new Error(`${name} not found`);
    const { bytes, errors } = readAll(view, r.inode);
    expect(errors).toEqual([]);
    expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(sha);
  }
}

describe('several qcow2 files as the devices of one filesystem', () => {
  test('both devices as qcow2: every file as the kernel wrote it, and a clean data check', async () => {
    const sources = [openByteSource(dev1), openByteSource(dev2)];
    expect(sources.every((s) => s instanceof Qcow2Source)).toBe(true);
    expectFiles(Filesystem.open(sources));
    expect(truth('btrfs-check.txt')).toContain('no error found');
    const r = await cli('check', dev2, '--device', dev1, '--data', '--json');
    expect(r.code).toBe(0);
    const s = await cli('super', dev1, '--device', dev2, '--json');
    expect((parseJsonExact(s.stdout) as { superblock: { fsid: string } }).superblock.fsid).toBe(truth('fsid'));
  });

  test('one qcow2 of the two: raid1 still reads every file through the other copy, and the missing device is reported', async () => {
    expectFiles(Filesystem.open([openByteSource(dev1)]));
    const r = await cli('check', dev1, '--data');
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/devid 2/);
  });
});
