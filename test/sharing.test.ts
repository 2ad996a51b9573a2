import { describe, expect, it } from 'vitest';
import { analyzeSharing, extentWaste, groupExclusive, sharedMatrix } from '../src/analysis/sharing.js';
import { DuCalculator, subvolumesBelow } from '../src/analysis/sharingDu.js';
import { FsView } from '../src/fs/FsView.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { openSample, sampleNames, truthJson, truthText } from './helpers/samples.js';

interface Qgroup {
  qgroupid: string;
  rfer: number;
  excl: number;
  child: string[];
}

describe('sharing: referenced/exclusive equal the kernel qgroups (default)', () => {
  const view = new FsView(openSample('default'));
  const r = analyzeSharing(view);
  const qgroups = truthJson<Qgroup[]>('default', 'qgroups.json');
  it('every level-0 qgroup: rfer and excl exactly', () => {
    const level0 = qgroups.filter((q) => q.qgroupid.startsWith('0/'));
    expect(level0.length).toBe(r.perSubvol.length);
    for (const q of level0) {
      const p = r.perSubvol.find((x) => `0/${x.id}` === q.qgroupid)!;
      expect({ id: q.qgroupid, rfer: p.referenced, excl: p.exclusive }).toEqual({ id: q.qgroupid, rfer: BigInt(q.rfer), excl: BigInt(q.excl) });
    }
  });
  it('level-1 qgroup: excl = GroupExclusive of its members, rfer = bytes reached from any member', () => {
    for (const q of qgroups.filter((x) => x.qgroupid.startsWith('1/'))) {
      const ids = q.child.map((c) => BigInt(c.split('/')[1]!));
      expect(groupExclusive(r, ids).total).toBe(BigInt(q.excl));
      let g = 0n;
      for (const id of ids) g |= 1n << BigInt(r.bit.get(id)!);
      let rfer = 0n;
      for (const [m, t] of r.byMask) if (m & g) rfer += t.dataBytes + BigInt(r.nodesize) * BigInt(t.treeBlocks);
      expect(rfer).toBe(BigInt(q.rfer));
    }
  });
  it('the matrix diagonal is Referenced, and it is symmetric', () => {
    const m = sharedMatrix(r);
    r.perSubvol.forEach((p, i) => {
      expect(m[i]![i]).toBe(p.referenced);
      r.perSubvol.forEach((_, j) => expect(m[i]![j]).toBe(m[j]![i]));
    });
  });
  it('bookend waste of rich/bookend.bin: the 64 KiB overwritten in its 1 MiB extent', () => {
    const res = view.resolve('/rich/bookend.bin');
    expect(res.ok).toBe(true);
    // filefrag truth: extents 0 and 2 are pieces of one 1 MiB extent with a 64 KiB gap
    const e = [...r.extents.values()].find((x) => x.bytenr === 71217152n)!;
    expect(e.diskBytes).toBe(1048576n);
    // manifest: overwritten [524288, +65536) of the original extent, which no file references any more
    const special = truthJson<{ special: { path: string; kind: string; overwritten?: number[] }[] }>('default', 'manifest.json').special.find(
      (x) => x.path === 'rich/bookend.bin' && x.kind === 'bookend',
    )!;
    expect(extentWaste(e)).toBe(BigInt(special.overwritten![1]!));
  });
});

/** `btrfs filesystem du --raw -s PATH` blocks of du.txt. */
function duTruth(name: string): { path: string; total: bigint; exclusive: bigint; setShared: bigint }[] {
  const re = /\$ btrfs filesystem du --raw -s (\S+)\n.*\n\s*(\d+)\s+(\d+)\s+(\d+|-)\s/g;
  const out = [];
  const txt = truthText(name, 'du.txt');
  for (let m: RegExpExecArray | null; (m = re.exec(txt)); )
    out.push({ path: m[1]!.replace(/^.*?\/mnt/, '') || '/', total: BigInt(m[2]!), exclusive: BigInt(m[3]!), setShared: m[4] === '-' ? 0n : BigInt(m[4]!) });
  return out;
}

describe('sharing: fi du -s per subvolume equals the kernel on every sample', () => {
  // log-tree's truth is the kernel's view after replaying the log, which is not the committed trees.
  for (const name of sampleNames().filter((n) => n !== 'log-tree')) {
    it(name, () => {
      const view = new FsView(openSample(name));
      const r = analyzeSharing(view);
      const du = new DuCalculator(r);
      const truth = duTruth(name);
      expect(truth.length).toBeGreaterThan(0);
      for (const t of truth) {
        const res = view.resolve(t.path);
        expect(res.ok, t.path).toBe(true);
        if (!res.ok) continue;
        expect({ path: t.path, ...du.du(subvolumesBelow(r, res.ref.subvol)) }).toEqual(t);
      }
    });
  }
});

describe('sharing CLI', () => {
  it('--json per subvolume, --free and --matrix', async () => {
    const r = await cli('sharing', 'sample-images/default/dev1.runs.gz', '--json', '--matrix', '--free', '256', '--free', '/snap-a-rw');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { subvolumes: { subvol: number; referenced: number; exclusive: number }[]; free: { total: number }; matrix: { subvols: number[] } };
    const q = truthJson<Qgroup[]>('default', 'qgroups.json');
    for (const s of j.subvolumes) expect(Number(s.exclusive)).toBe(q.find((x) => x.qgroupid === `0/${s.subvol}`)!.excl);
    expect(Number(j.free.total)).toBe(q.find((x) => x.qgroupid === '1/100')!.excl);
    expect(j.matrix.subvols.length).toBe(j.subvolumes.length);
  });
  it('table output and a bad --free', async () => {
    const r = await cli('sharing', 'sample-images/default/dev1.runs.gz');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\/snapshots\/snap-a-ro2/);
    const bad = await cli('sharing', 'sample-images/default/dev1.runs.gz', '--free', '999');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no subvolume 999/);
  });
});
