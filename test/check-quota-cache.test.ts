import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { walkMetadata } from '../src/analysis/check/metadata.js';
import { accountQgroups } from '../src/analysis/check/qgroups.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { formatQgroupId } from '../src/format/items/qgroup.js';
import type { TreeBlock } from '../src/format/treeBlock.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { ROOT } from './helpers/samples.js';

/**
 * Qgroups of every level, simple quotas and the v1 free space cache, on
 * filesystems the kernel made (test/fixtures/quota-cache/build.sh). The truths:
 * `btrfs qgroup show --raw` recorded from the mounted filesystem (the kernel's
 * numbers), `btrfs check --qgroup-report` v6.19 (the numbers progs computes from
 * the extents: its "our:" lines) and `btrfs check` v6.19's verdict.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'quota-cache');
const text = (name: string, what: string) => readFileSync(join(DIR, `${name}.${what}.txt`), 'utf8');
const sources = (name: string): ByteSource[] => [loadRunsImage(join(DIR, `${name}.runs.gz`))];
const open = (name: string) => Filesystem.open(sources(name));

/** `btrfs qgroup show --raw`: qgroup id -> [referenced, exclusive]. */
function qgroupShow(name: string): Map<string, [bigint, bigint]> {
  const out = new Map<string, [bigint, bigint]>();
  for (const m of text(name, 'qgroups').matchAll(/^(\d+\/\d+)\s+(\d+)\s+(\d+)/gm)) out.set(m[1]!, [BigInt(m[2]!), BigInt(m[3]!)]);
  return out;
}

/** `btrfs check --qgroup-report`: qgroup id -> progs' own count [referenced, exclusive] and whether it says they differ. */
function progsReport(name: string): Map<string, { our: [bigint, bigint]; different: boolean }> {
  const out = new Map<string, { our: [bigint, bigint]; different: boolean }>();
  for (const block of text(name, 'qgroup-report')
    .split(/^Counts for qgroup id: /m)
    .slice(1)) {
    const id = block.split(/\s/)[0]!;
    const rfer = /^our:\s+referenced (\d+)/m.exec(block)![1]!;
    const excl = /^our:\s+exclusive (\d+)/m.exec(block)![1]!;
    out.set(id, { our: [BigInt(rfer), BigInt(excl)], different: /are different/.test(block.split('\n')[0]!) });
  }
  return out;
}

function account(fs: Filesystem) {
  const facts = walkMetadata(fs, () => {});
  return accountQgroups(fs, facts);
}

/** The leaf and slot of the QGROUP_INFO item of `id` in the quota tree. */
function qgroupInfoAt(fs: Filesystem, id: string): { leaf: TreeBlock; slot: number } {
  let at: { leaf: TreeBlock; slot: number } | undefined;
  fs.walk(fs.treeRoot(ObjectId.QUOTA_TREE)!, {
    block(b: TreeBlock) {
      if (!b.isLeaf) return;
      for (let s = 0; s < b.nritems; s++) if (b.keyType(s) === ItemType.QGROUP_INFO && formatQgroupId(b.keyOffsetField(s)) === id) at = { leaf: b, slot: s };
    },
  });
  if (!at) throw new Error(`no QGROUP_INFO ${id}`);
  return at;
}

/** The image with qgroup `id`'s btrfs_qgroup_info_item.excl (u64 at 24) raised by `by`, the leaf's checksum recomputed. */
function exclusiveRaised(name: string, id: string, by: bigint) {
  const clean = open(name);
  const { leaf, slot } = qgroupInfoAt(clean, id);
  const k = new DamageKit(clean, sources(name));
  k.editBlock(
    leaf.logical,
    (b) => {
      const v = new DataView(b.buffer, b.byteOffset + leaf.itemOffset(slot), leaf.itemSize(slot));
      v.setBigUint64(24, v.getBigUint64(24, true) + by, true);
    },
    { fixCsum: true },
  );
  return { fs: Filesystem.open(k.overlays), leaf: leaf.logical, slot };
}

const QUOTA_IMAGES = ['qgroups-levels', 'qgroups-stale', 'squota-snapshots'];

describe('qgroups of every level and simple quotas (kernel-made, btrfs check v6.19 truth)', () => {
  it.each(QUOTA_IMAGES)("%s: the numbers recorded are the kernel's, the numbers computed are progs'", (name) => {
    const acc = account(open(name))!;
    expect(acc).toBeDefined();
    const show = qgroupShow(name);
    const report = progsReport(name);
    // Every qgroup of the kernel's list is judged, of every level.
    expect(acc.counts.map((c) => formatQgroupId(c.id)).sort()).toEqual([...show.keys()].sort());
    for (const c of acc.counts) {
      const id = formatQgroupId(c.id);
      expect([c.rfer, c.excl], `${id} recorded`).toEqual(show.get(id));
      expect([c.ourRfer, c.ourExcl], `${id} computed`).toEqual(report.get(id)!.our);
    }
    expect(acc.counts.some((c) => c.id >> 48n >= 1n)).toBe(true);
  });

  it('qgroups-levels: three levels, consistent; check is clean, as btrfs check v6.19 says', () => {
    expect(text('qgroups-levels', 'check')).toMatch(/no error found/);
    const acc = account(open('qgroups-levels'))!;
    expect(acc.state).toBe('exact');
    expect(acc.counts.map((c) => formatQgroupId(c.id))).toContain('2/1000');
    expect(runCheck(open('qgroups-levels')).findings).toEqual([]);
  });

  it('a level-1 qgroup whose exclusive bytes are raised is reported at its QGROUP_INFO item', () => {
    const { fs, leaf, slot } = exclusiveRaised('qgroups-levels', '1/200', 4096n);
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot, f.location.key?.offset])).toEqual([['qgroup-count', 'error', leaf, slot, (1n << 48n) | 200n]]);
    expect(r.findings[0]!.message).toContain('qgroup 1/200');
  });

  it('qgroups-stale: the INCONSISTENT status makes the differing level-1 qgroup a note, as progs says', () => {
    expect(text('qgroups-stale', 'check')).toMatch(/no error found/);
    expect(text('qgroups-stale', 'qgroup-report')).toMatch(/Rescan hasn't been initialzied/);
    const report = progsReport('qgroups-stale');
    const differing = [...report].filter(([, r]) => r.different).map(([id]) => id);
    expect(differing).toEqual(['1/100']);
    const fs = open('qgroups-stale');
    const { leaf, slot } = qgroupInfoAt(fs, '1/100');
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot])).toEqual([['qgroup-stale', 'info', leaf.logical, slot]]);
    expect(account(fs)!.state).toBe('stale');
  });

  it('squota-snapshots: simple quotas enabled on a filesystem with data, snapshots and a dropped subvolume check clean', () => {
    expect(text('squota-snapshots', 'check')).toMatch(/no error found/);
    expect(text('squota-snapshots', 'super')).toMatch(/SIMPLE_QUOTA/);
    const acc = account(open('squota-snapshots'))!;
    expect(acc.simple).toBe(true);
    // Simple quotas: referenced equals exclusive, level 1 the sum of its members.
    for (const c of acc.counts) expect(c.ourRfer).toBe(c.ourExcl);
    expect(runCheck(open('squota-snapshots')).findings).toEqual([]);
  });

  it('a simple-quota qgroup whose exclusive bytes are raised is reported as squota-count', () => {
    const { fs, leaf, slot } = exclusiveRaised('squota-snapshots', '0/257', 4096n);
    const r = runCheck(fs);
    expect(r.findings.map((f) => [f.code, f.severity, f.location.block, f.location.slot, f.location.key?.offset])).toEqual([['squota-count', 'error', leaf, slot, 257n]]);
  });
});
