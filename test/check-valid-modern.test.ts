import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { walkMetadata } from '../src/analysis/check/metadata.js';
import { accountQgroups } from '../src/analysis/check/qgroups.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { formatQgroupId } from '../src/format/items/qgroup.js';
import { decodeRootItem } from '../src/format/items/root.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { ROOT } from './helpers/samples.js';

/**
 * Valid filesystems made the ways image builders and crashes make them, by btrfs-progs
 * v6.19 (mkfs --rootdir with block-group tree, squota, raid-stripe tree, compression,
 * 8 and 64 KiB nodes, 16 KiB sectors, the experimental remap tree, no free-space tree and no no-holes, DUP metadata
 * with single data, mixed block groups, subvolumes and nodatacow/nodatasum files,
 * --reflink --shrink, xxhash and blake2 checksums) and by the kernel (quotas rescanned,
 * simple quotas, fsync'd log trees copied before the commit — with compressed, hole and
 * preallocated extents, or with two subvolumes' logs of directory fsyncs — a deleted snapshot not yet dropped and one caught half-way
 * through its drop, files unlinked while open, preallocated, bookend, punched, reflinked
 * and nodatacow files, raid1 on two devices, hard links in INODE_EXTREFs, a received
 * snapshot, a deduplicated range, a swapfile, a paused balance, snapshots of snapshots
 * changed until their blocks carry full back references, the free space cache v1; and
 * both mkfs and the kernel without skinny metadata, extended refs and no-holes), and by
 * btrfs-convert from ext4 (dir items
 * with junk in the transid field the kernel never reads), and a balance cut off while its
 * reloc trees lived (TREE_RELOC roots, the data reloc tree's inodes, the BALANCE item),
 * and quotas while a deleted snapshot waits for the cleaner, or is caught part-way through its drop:
 * test/fixtures/valid-modern/build.sh. btrfs check v6.19 found no error in any of them
 * (NAME.check.txt); check must not either, and must not warn.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'valid-modern');
const NAMES = readdirSync(DIR)
  // A second device is NAME.dev2.runs.gz.
  .filter((f) => f.endsWith('.runs.gz') && !f.endsWith('.dev2.runs.gz'))
  .map((f) => f.slice(0, -'.runs.gz'.length))
  .sort();

/** A field of btrfs inspect-internal dump-super's output (NAME.super.txt), as a bigint. */
function superField(name: string, field: string): bigint {
  const line = readFileSync(join(DIR, `${name}.super.txt`), 'utf8')
    .split('\n')
    .find((l) => l.split(/\s+/)[0] === field);
  if (!line) throw new Error(`${name}.super.txt has no ${field}`);
  return BigInt(line.trim().split(/\s+/).at(-1)!);
}

describe('check is clean on valid images of newer btrfs-progs and the kernel', () => {
  it('the fixtures are all there', () => {
    expect(NAMES).toEqual([
      'balance-reloc',
      'converted-ext4',
      'kernel-files',
      'kernel-legacy-features',
      'kernel-misc',
      'kernel-raid1',
      'kernel-shared-refs',
      'kernel-space-cache-v1',
      'log-tree-dirs',
      'log-tree-fsync',
      'log-tree-holes',
      'orphans-unlinked',
      'quota-drop-progress',
      'quota-orphan',
      'quotas-rescan',
      'rootdir-64k',
      'rootdir-8k-zlib',
      'rootdir-bgt-squota',
      'rootdir-default',
      'rootdir-dup-single',
      'rootdir-legacy-features',
      'rootdir-mixed',
      'rootdir-nofst',
      'rootdir-reflink',
      'rootdir-remap',
      'rootdir-rst',
      'rootdir-s16k',
      'rootdir-subvols',
      'rootdir-zstd',
      'snapshot-deleted',
      'snapshot-drop-progress',
      'squota-kernel',
    ]);
  });

  it.each(NAMES)(
    '%s',
    (name) => {
      // The truth: btrfs check v6.19 called it clean.
      expect(readFileSync(join(DIR, `${name}.check.txt`), 'utf8')).toMatch(/no error found/);
      const dev2 = join(DIR, `${name}.dev2.runs.gz`);
      const fs = Filesystem.open([loadRunsImage(join(DIR, `${name}.runs.gz`)), ...(existsSync(dev2) ? [loadRunsImage(dev2)] : [])]);
      expect(fs.superblock.numDevices).toBe(superField(name, 'num_devices'));
      // The image is the one dump-super described (its features were really made).
      expect(fs.superblock.incompatFlags).toBe(superField(name, 'incompat_flags'));
      expect(fs.superblock.compatRoFlags).toBe(superField(name, 'compat_ro_flags'));
      const r = runCheck(fs, { data: true });
      expect(r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code}: ${f.message}`)).toEqual([]);
      expect(r.summary.dataChecked).toBe(true);
      // The only note is the unreplayed log tree, where the superblock names one.
      const logRoot = superField(name, 'log_root');
      expect(r.findings.map((f) => f.code)).toEqual(logRoot ? ['log-tree'] : []);
      if (logRoot) expect(r.findings[0]!.location.logical).toBe(logRoot);
    },
    30_000,
  );

  it('snapshot-drop-progress really is a drop caught half-way (its root item as dump-tree showed it)', () => {
    // NAME.drop.txt: dump-tree's lines of the deleted snapshot's root item, e.g. "drop_progress key (19324 INODE_ITEM 0) drop_level 1".
    const text = readFileSync(join(DIR, 'snapshot-drop-progress.drop.txt'), 'utf8');
    const m = /key \((\d+) ROOT_ITEM (\d+)\)[\s\S]*refs (\d+)[\s\S]*drop_progress key \((\d+) INODE_ITEM (\d+)\) drop_level (\d+)/.exec(text)!;
    expect(m).not.toBeNull();
    const fs = Filesystem.open([loadRunsImage(join(DIR, 'snapshot-drop-progress.runs.gz'))]);
    const key = { objectid: BigInt(m[1]!), type: ItemType.ROOT_ITEM, offset: BigInt(m[2]!) };
    const at = fs.find(fs.rootTree, key)!;
    const item = decodeRootItem(key, at.block.itemData(at.slot));
    if (item.kind !== 'root_item') throw new Error('no root item');
    expect(item.refs).toBe(Number(m[3]));
    expect(item.refs).toBe(0);
    expect(item.dropProgress).toEqual({ objectid: BigInt(m[4]!), type: ItemType.INODE_ITEM, offset: BigInt(m[5]!) });
    expect(item.dropProgress.objectid).toBeGreaterThan(0n);
    expect(item.dropLevel).toBe(Number(m[6]));
  });
  it('balance-reloc really holds the reloc trees of an interrupted balance (as dump-tree showed its root tree)', () => {
    // NAME.roots.txt: dump-tree's item lines, e.g. "item 6 key (TREE_RELOC ROOT_ITEM 256) itemoff 1757 itemsize 439".
    const lines = readFileSync(join(DIR, 'balance-reloc.roots.txt'), 'utf8').trim().split('\n');
    const owners = lines.flatMap((l) => /key \(TREE_RELOC ROOT_ITEM (\w+)\)/.exec(l)?.[1] ?? []).map((o) => (o === 'FS_TREE' ? ObjectId.FS_TREE : BigInt(o)));
    expect(owners.length).toBeGreaterThan(0);
    expect(lines.some((l) => l.includes('key (BALANCE TEMPORARY_ITEM 0)'))).toBe(true);
    const fs = Filesystem.open([loadRunsImage(join(DIR, 'balance-reloc.runs.gz'))]);
    for (const owner of owners) {
      const key = { objectid: ObjectId.TREE_RELOC, type: ItemType.ROOT_ITEM, offset: owner };
      const at = fs.find(fs.rootTree, key)!;
      expect(at).toBeDefined();
      const item = decodeRootItem(key, at.block.itemData(at.slot));
      if (item.kind !== 'root_item') throw new Error('no root item');
      // A reloc tree is a copy of its subvolume's tree: its blocks are its own, so it holds a real root.
      expect(item.bytenr).toBeGreaterThan(0n);
    }
    expect(fs.find(fs.rootTree, { objectid: ObjectId.BALANCE, type: ItemType.TEMPORARY_ITEM, offset: 0n })).toBeDefined();
  });
  it.each([
    ['quota-orphan', 'not yet dropped counts whole'],
    ['quota-drop-progress', 'caught part-way through its drop counts what is left of it, shared data included'],
  ])('%s: the deleted snapshot %s in the qgroups, as btrfs check --qgroup-report v6.19 counts it', (name) => {
    // NAME.qgroups.txt: per qgroup, progs' count from the extents ("our:") and the recorded one ("disk:").
    const report = new Map<string, bigint[]>();
    for (const block of readFileSync(join(DIR, `${name}.qgroups.txt`), 'utf8')
      .split(/^Counts for qgroup id: /m)
      .slice(1)) {
      const n = (re: RegExp) => BigInt(re.exec(block)![1]!);
      report.set(block.split(/\s/)[0]!, [n(/^our:\s+referenced (\d+)/m), n(/^our:\s+exclusive (\d+)/m), n(/^disk:\s+referenced (\d+)/m), n(/^disk:\s+exclusive (\d+)/m)]);
    }
    expect(report.has('0/257')).toBe(true);
    const fs = Filesystem.open([loadRunsImage(join(DIR, `${name}.runs.gz`))]);
    const facts = walkMetadata(fs, () => {});
    // Subvolume 257 is the deleted one: its root item has refs 0.
    expect([...facts.deadRoots.keys()]).toEqual([257n]);
    const acc = accountQgroups(fs, facts)!;
    expect(acc.state).toBe('exact');
    expect(Object.fromEntries(acc.counts.map((c) => [formatQgroupId(c.id), [c.ourRfer, c.ourExcl, c.rfer, c.excl]]))).toEqual(Object.fromEntries(report));
  });

  it('quota-drop-progress really is a drop caught half-way with shared data beyond its progress (its root item as dump-tree showed it)', () => {
    // progs' qgroup verification reads the whole deleted tree, freed blocks below drop_progress too
    // ("checksum verify failed" on zeroed, discarded blocks), and still finds no error.
    const text = readFileSync(join(DIR, 'quota-drop-progress.drop.txt'), 'utf8');
    const m = /key \((\d+) ROOT_ITEM (\d+)\)[\s\S]*refs (\d+)[\s\S]*drop_progress key \((\d+) (\w+) (\d+)\) drop_level (\d+)/.exec(text)!;
    expect(m).not.toBeNull();
    const fs = Filesystem.open([loadRunsImage(join(DIR, 'quota-drop-progress.runs.gz'))]);
    const key = { objectid: BigInt(m[1]!), type: ItemType.ROOT_ITEM, offset: BigInt(m[2]!) };
    const at = fs.find(fs.rootTree, key)!;
    const item = decodeRootItem(key, at.block.itemData(at.slot));
    if (item.kind !== 'root_item') throw new Error('no root item');
    expect(item.refs).toBe(0);
    expect(item.dropProgress).toEqual({ objectid: BigInt(m[4]!), type: ItemType[m[5] as 'DIR_ITEM'], offset: BigInt(m[6]!) });
    expect(item.dropLevel).toBe(Number(m[7]));
    expect(item.dropLevel).toBeGreaterThan(0);
    // Shared data past the progress point: subvolume 256 shares bytes with the dropped one (exclusive below referenced).
    const report = readFileSync(join(DIR, 'quota-drop-progress.qgroups.txt'), 'utf8');
    const q256 = /Counts for qgroup id: 0\/256[\s\S]*?our:\s+referenced (\d+)[\s\S]*?our:\s+exclusive (\d+)/.exec(report)!;
    expect(BigInt(q256[2]!)).toBeLessThan(BigInt(q256[1]!));
  });
});
