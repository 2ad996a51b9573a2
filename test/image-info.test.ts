import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { CONTAINERS, fixtureBytes, truthLine } from './helpers/containers.js';

/**
 * image-info and --snapshot on test/fixtures/containers: the truth is what ewfinfo, qemu-img
 * info and qemu-img convert -l snapshot.name= said (ewfinfo.txt, qemu-img-info.json, snap.sha256),
 * and the fsid build.sh gave mkfs.btrfs.
 */
let dir: string;
const put = (name: string, bytes: Uint8Array = fixtureBytes(name)) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-iinfo-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const FSID = /-U ([0-9a-f-]{36})/.exec(fs.readFileSync(path.join(CONTAINERS, 'build.sh'), 'utf8'))![1]!;

function ewfinfo(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of truthLine('ewfinfo.txt').split('\n')) {
    const m = /^\t([^:]+):\t+(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}

describe('image-info', () => {
  test('EWF: case metadata and stored hashes as ewfinfo reports them; --verify recomputes both and they match', async () => {
    const want = ewfinfo();
    const r = await cli('image-info', put('fs.E01'), '--verify', '--json');
    expect(r.code).toBe(0);
    const doc = parseJsonExact(r.stdout) as { format: string; size: number; ewf: Record<string, string>; verify: { md5: string; sha1: string; md5Matches: boolean; sha1Matches: boolean } };
    expect(doc.format).toBe('ewf');
    expect(String(doc.size)).toBe(/\((\d+) bytes\)/.exec(want.get('Media size')!)![1]);
    expect(doc.ewf.caseNumber).toBe(want.get('Case number'));
    expect(doc.ewf.examiner).toBe(want.get('Examiner name'));
    expect(doc.ewf.evidenceNumber).toBe(want.get('Evidence number'));
    expect(doc.verify).toEqual({ md5: want.get('MD5'), sha1: want.get('SHA1'), md5Matches: true, sha1Matches: true });
  });

  test('EWF with a damaged stored chunk: --verify names the chunk whose Adler-32 fails, exit 1', async () => {
    const bytes = fixtureBytes('stored.E01');
    // stored.E01 holds uncompressed chunks, each followed by its Adler-32: a byte changed in the
    // middle of the segment (chunk data) no longer matches it.
    const p = put('changed.E01', bytes);
    const set = ['E02', 'E03', 'E04', 'E05'];
    for (const e of set) put(`changed.${e}`, fixtureBytes(`stored.${e}`));
    const b = fs.readFileSync(p);
    b[Math.floor(b.length / 2)]! ^= 0xff;
    fs.writeFileSync(p, b);
    const r = await cli('image-info', p, '--verify');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/stored chunk \d+ does not match its Adler-32/);
  });

  test('qcow2: header, backing chain and internal snapshots as qemu-img info lists them', async () => {
    const qemu = JSON.parse(truthLine('qemu-img-info.json')) as { snap: { 'cluster-size': number; 'virtual-size': number; snapshots: { id: string; name: string }[] } };
    const r = await cli('image-info', put('snap.qcow2'), '--json');
    expect(r.code).toBe(0);
    const doc = parseJsonExact(r.stdout) as { size: number; qcow2: { clusterSize: number; backing: unknown[]; snapshots: { snapshot: string; name: string }[] } };
    expect(doc.size).toBe(qemu.snap['virtual-size']);
    expect(doc.qcow2.clusterSize).toBe(qemu.snap['cluster-size']);
    expect(doc.qcow2.backing).toEqual([]);
    expect(doc.qcow2.snapshots.map((s) => [s.snapshot, s.name])).toEqual(qemu.snap.snapshots.map((s) => [s.id, s.name]));
    put('zlib.qcow2');
    const o = await cli('image-info', put('overlay.qcow2'), '--json');
    expect((parseJsonExact(o.stdout) as { qcow2: { backing: { name: string }[] } }).qcow2.backing.map((b) => b.name)).toEqual(['zlib.qcow2']);
  });
});

describe('image-info: the parent chain of a differencing disk', () => {
  // The chains build.sh and build-vmdk-delta.sh made: vhd-diff.py and vhdx-diff.py wrote each
  // child over the parent qemu-img made; qemu-img create -b made delta2 over delta over sparse.
  test.each([
    ['diff-child.vhd', [['diff-parent.vhd', 'vhd']]],
    ['diff-child.vhdx', [['diff-parent.vhdx', 'vhdx']]],
    [
      'delta2.vmdk',
      [
        ['delta.vmdk', 'vmdk'],
        ['sparse.vmdk', 'vmdk'],
      ],
    ],
  ] as const)('%s: its parents, nearest first, with their formats (JSON and text)', async (child, chain) => {
    for (const [parent] of chain) put(parent);
    const r = await cli('image-info', put(child), '--json');
    expect(r.code).toBe(0);
    const doc = parseJsonExact(r.stdout) as { parents: { file: string; format: string }[] };
    expect(doc.parents).toEqual(chain.map(([f, format]) => ({ file: path.join(dir, f), format })));
    const t = await cli('image-info', path.join(dir, child));
    expect(t.stdout).toContain(chain.map(([f, format]) => `${path.join(dir, f)} (${format})`).join(' -> '));
  });

  test('a disk with no parent has an empty chain', async () => {
    const doc = parseJsonExact((await cli('image-info', put('dynamic.vhdx'), '--json')).stdout) as { parents: unknown[] };
    expect(doc.parents).toEqual([]);
  });
});

describe('--snapshot', () => {
  test('reads a qcow2 internal snapshot by name or id: "before" is the filesystem and checks clean', async () => {
    const snap = put('snap.qcow2');
    const r = await cli('super', snap, '--snapshot', 'before', '--json');
    expect(r.code).toBe(0);
    expect((parseJsonExact(r.stdout) as { superblock: { fsid: string } }).superblock.fsid).toBe(FSID);
    expect((await cli('check', snap, '--snapshot', '1', '--data')).code).toBe(0);
  });

  test('a snapshot that is not there, or --snapshot on an image that is no qcow2, is refused (exit 2)', async () => {
    const snap = put('snap.qcow2');
    const r = await cli('super', snap, '--snapshot', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nope/);
    const raw = await cli('super', put('gpt-disk.raw', new Uint8Array(1 << 20)), '--snapshot', 'before');
    expect(raw.code).toBe(2);
    expect(raw.stderr).toContain('only a qcow2 holds internal snapshots');
  });
});
