import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decompress } from 'fzstd';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';

/**
 * The CLI over LVM2 fixtures (test/fixtures/lvm/build.sh): the btrfs in the LVs is
 * test/fixtures/containers' kernel-written image, made with mkfs.btrfs -U (its fsid below) and
 * checked clean by btrfs check (../containers/btrfs-check.txt).
 */
const LVM = path.join(import.meta.dirname, 'fixtures', 'lvm');
const FSID = /-U ([0-9a-f-]{36})/.exec(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'containers', 'build.sh'), 'utf8'))![1]!;
let dir: string;
const put = (name: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, decompress(new Uint8Array(fs.readFileSync(path.join(LVM, `${name}.zst`)))));
  return p;
};
let pv0: string, pv1: string, disk: string, e01: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-lvm-'));
  pv0 = put('pv0.img');
  pv1 = put('pv1.img');
  disk = put('disk.qcow2');
  e01 = put('disk.E01');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const fsidOf = (stdout: string) => (parseJsonExact(stdout) as { superblock: { fsid: string } }).superblock.fsid;

describe('LVM logical volumes on the command line', () => {
  test('two PVs (IMAGE and --device): the one LV holding btrfs is found, said on stderr, and checks clean', async () => {
    const r = await cli('super', pv0, '--device', pv1, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('using logical volume vgtest/data, the only one holding btrfs');
    expect(fsidOf(r.stdout)).toBe(FSID);
    const c = await cli('check', pv0, '--device', pv1, '--data');
    expect(c.code).toBe(0);
  });

  test('--lv picks a volume by VG/LV; an unknown one is a usage error listing them', async () => {
    const r = await cli('super', pv1, '--device', pv0, '--lv', 'vgtest/data', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(fsidOf(r.stdout)).toBe(FSID);
    const bad = await cli('super', pv0, '--device', pv1, '--lv', 'vgtest/nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--lv vgtest/nope: no such logical volume (logical volumes: vgtest/data (121634816 bytes), vgtest/scratch (8388608 bytes))');
    // The snapshot is chosen by its name and read through its exception store (lvm.test.ts checks its bytes).
    const snap = await cli('super', pv0, '--device', pv1, '--lv', 'vgtest/snap', '--json');
    expect(snap.code).toBe(0);
    expect(fsidOf(snap.stdout)).toBe(FSID);
    const listed = await cli('partitions', pv0, '--format', 'tsv');
    expect(listed.stdout).toContain('vgtest/snap (snapshot of data; size: its copy-on-write store)');
    const notBtrfs = await cli('super', pv0, '--device', pv1, '--lv', 'vgtest/scratch');
    expect(notBtrfs.code).toBe(2);
  });

  test('composition: a qcow2 of a GPT disk whose partition 2 is the PV of the btrfs LV', async () => {
    const r = await cli('super', disk, '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`GPT disk; using LVM physical volume partition 2 at offset ${67584 * 512}`);
    expect(r.stderr).toContain('LVM volume group vgdisk: using its only logical volume vgdisk/root');
    expect(fsidOf(r.stdout)).toBe(FSID);
    const c = await cli('check', disk, '--data');
    expect(c.code).toBe(0);
  });

  test('composition: an E01 (ewfacquire) of the same disk: EWF -> GPT -> PV -> LV -> btrfs, clean', async () => {
    const r = await cli('check', e01, '--data', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`GPT disk; using LVM physical volume partition 2 at offset ${67584 * 512}`);
    expect(r.stderr).toContain('using its only logical volume vgdisk/root');
    const s = await cli('super', e01, '--json');
    expect(fsidOf(s.stdout)).toBe(FSID);
  });

  test('a PV left out is named with its uuid and the next step', async () => {
    const r = await cli('super', pv0, '--lv', 'vgtest/data', '--json');
    expect(r.stderr).toContain('vgtest/data has extents on PV pv1 (uuid V9MoVw-DcFm-bZLW-cxgy-99pa-miuF-ajH3c7, last seen as /dev/loop1), which was not given; add it with --device');
  });

  test('partitions shows the stack: qcow2 -> GPT -> LVM PV -> LV segments (where vgcfgbackup says) -> btrfs', async () => {
    const r = await cli('partitions', disk, '--json');
    expect(r.code).toBe(0);
    type Doc = {
      container: { format: string; size: number };
      partitions: { index: number; lvm?: { vg: string } }[];
      lvm: {
        offset: number;
        partition: number;
        vg: { name: string; seqno: number };
        lvs: { lv: string; size: number; segments: { startExtent: number; extentCount: number; areas: { pv: string; pe: number; pvOffset: number }[] }[]; btrfs: { fsid: string } | null }[];
      }[];
    };
    const doc = parseJsonExact(r.stdout) as Doc;
    expect(doc.container).toEqual({ format: 'qcow2', size: 512 * 1024 * 1024 });
    expect(doc.partitions.find((p) => p.index === 2)!.lvm!.vg).toBe('vgdisk');
    const backup = fs.readFileSync(path.join(LVM, 'vgdisk.vg'), 'utf8');
    const peStart = Number(/pe_start = (\d+)/.exec(backup)![1]) * 512;
    const extent = Number(/extent_size = (\d+)/.exec(backup)![1]) * 512;
    const segs = [...backup.matchAll(/start_extent = (\d+)\s+extent_count = (\d+)[\s\S]*?stripes = \[\s*"(\w+)", (\d+)/g)];
    expect(segs.length).toBe(2);
    const [l] = doc.lvm;
    expect(l!.offset).toBe(67584 * 512);
    expect(l!.vg.name).toBe('vgdisk');
    expect(l!.vg.seqno).toBe(Number(/seqno = (\d+)/.exec(backup)![1]));
    const root = l!.lvs.find((x) => x.lv === 'root')!;
    expect(root.btrfs!.fsid).toBe(FSID);
    expect(root.segments).toEqual(
      segs.map((m) => ({
        startExtent: Number(m[1]),
        extentCount: Number(m[2]),
        type: 'striped',
        stripeBytes: 0,
        areas: [{ pv: m[3], pe: Number(m[4]), pvOffset: peStart + Number(m[4]) * extent }],
      })),
    );
    expect(root.size).toBe(segs.reduce((a, m) => a + Number(m[2]), 0) * extent);
  });
});
