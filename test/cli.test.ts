import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { parseDumpTree } from './helpers/dumpTreeTruth.js';
import { manifest, SAMPLES, truthJson, truthText } from './helpers/samples.js';

const dev = (name: string, n = 1) => join(SAMPLES, name, `dev${n}.runs.gz`);
const fsidOf = (name: string, file = 'dump-super.txt') => /^fsid\s+(\S+)/m.exec(truthText(name, file))![1]!;

describe('CLI conventions', () => {
  it('with no image, uses the bundled demo image and says so on stderr', async () => {
    const r = await cli('super');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/No image given: using the bundled demo image sample-images\/default/);
    expect(r.stdout).toContain(fsidOf('default'));
  });

  it('a missing image: exit 2, a message naming it, no stack trace', async () => {
    const r = await cli('super', '/nonexistent/disk.img');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nonexistent\/disk\.img: no such file or device/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a file that is not btrfs: exit 2 naming every superblock copy', async () => {
    const r = await cli('chunks', join(SAMPLES, 'README.md'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no valid btrfs superblock \(copy 1 at 65536: (missing|bad-magic)/);
  });

  it('usage errors exit 2', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('super', dev('default'), '--no-such-option')).code).toBe(2);
    const r = await cli('map', dev('default'), 'not-a-number');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/LOGICAL: "not-a-number" is not a whole number/);
  });
});

describe('super', () => {
  it("--json carries every field exactly, flags by name, and each copy's state", async () => {
    const r = await cli('super', dev('default'), '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as {
      superblock: Record<string, unknown> & { flagNames: { incompatFlags: string[] }; sysChunkArray: { logical: number }[] };
      devices: { mirrors: { state: string }[] }[];
    };
    const t = truthText('default', 'dump-super.txt');
    expect(j.superblock['fsid']).toBe(fsidOf('default'));
    expect(String(j.superblock['generation'])).toBe(/^generation\s+(\d+)/m.exec(t)![1]);
    expect(String(j.superblock['chunkRoot'])).toBe(/^chunk_root\s+(\d+)/m.exec(t)![1]);
    expect(j.superblock.flagNames.incompatFlags).toEqual(['MIXED_BACKREF', 'DEFAULT_SUBVOL', 'BIG_METADATA', 'EXTENDED_IREF', 'SKINNY_METADATA', 'NO_HOLES']);
    expect(j.superblock.sysChunkArray.map((c) => String(c.logical))).toEqual([/item 0 key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)/.exec(t)![1]]);
    expect(j.devices[0]!.mirrors.map((m) => m.state)).toEqual(['ok', 'ok', 'missing']);
  });

  it('--all-mirrors on a device past 256 GiB shows all three copies', async () => {
    const r = await cli('super', dev('large-offsets'), '--all-mirrors');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/superblock copy 3 at 274877906944 \(ok\)/);
    expect(r.stdout.match(/bytenr\s+│ 274877906944/g)).toHaveLength(1);
  });
});

describe('chunks and map', () => {
  it('chunks --json lists every chunk with its stripes and matching device extents', async () => {
    const r = await cli('chunks', dev('raid10'), '--device', dev('raid10', 2), '--device', dev('raid10', 3), '--device', dev('raid10', 4), '--json');
    expect(r.code).toBe(0);
    const lines = (parseJsonExact(r.stdout) as { chunks: { logical: number; profile: string; stripes: { devid: number; physical: number; devExtent: string }[] }[] }).chunks;
    const truth = truthJson<{ chunks: { logical: number; stripes: { devid: number; offset: number }[] }[] }>('raid10', 'map-logical.json').chunks;
    expect(lines.map((l) => l.logical)).toEqual(truth.map((c) => c.logical));
    expect(lines.map((l) => l.stripes.map((s) => [s.devid, s.physical]))).toEqual(truth.map((c) => c.stripes.map((s) => [s.devid, s.offset])));
    expect(lines.every((l) => l.stripes.every((s) => s.devExtent === 'ok'))).toBe(true);
    expect(lines.some((l) => l.profile === 'RAID10')).toBe(true);
  });

  it('a missing device is named (devid, uuid) with the next step; what the other mirror serves is whole: exit 0', async () => {
    const r = await cli('chunks', dev('raid1'));
    expect(r.code).toBe(0);
    const uuid = manifest('raid1').devices[1]!.dev_uuid;
    expect(r.stderr).toContain(`warning: device devid 2 uuid ${uuid} is missing [devid 2]; give it with --device PATH`);
    expect(r.stdout).toMatch(/RAID1/);
  });

  it('map shows every copy of a RAID1 address as btrfs-map-logical does', async () => {
    const truth = truthJson<{ lookups: { ok: boolean; logical: number; mirrors: { mirror: number; devid: number; physical: number }[] }[] }>('raid1', 'map-logical.json');
    const l = truth.lookups.find((x) => x.ok && x.mirrors.length === 2)!;
    const r = await cli('map', dev('raid1'), String(l.logical), '--device', dev('raid1', 2), '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { copies: { devid: number; physical: number }[] };
    expect(j.copies.map((c) => [c.devid, c.physical])).toEqual(l.mirrors.map((m) => [m.devid, m.physical]));
  });

  it('map --physical goes back from a device offset to the logical address', async () => {
    const truth = truthJson<{ lookups: { ok: boolean; logical: number; mirrors: { devid: number; physical: number }[] }[] }>('raid0', 'map-logical.json');
    const l = truth.lookups.find((x) => x.ok && x.mirrors[0]!.devid === 2)!;
    const r = await cli('map', dev('raid0'), '--device', dev('raid0', 2), '--physical', String(l.mirrors[0]!.physical), '--devid', '2', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { logical: { logical: number }[] };
    expect(j.logical.map((x) => x.logical)).toContain(l.logical);
  });
});

describe('partitioned whole-disk images', () => {
  it.each(['partitioned-gpt', 'partitioned-mbr'])('%s: the btrfs partition is found and used', async (name) => {
    const p = manifest(name).partition!;
    const r = await cli('super', dev(name), '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`using btrfs partition ${p.btrfs_partition} at offset ${p.btrfs_offset_bytes}`);
    expect((parseJsonExact(r.stdout) as { superblock: { fsid: string } }).superblock.fsid).toBe(fsidOf(name));
  });

  it('--partition picks one explicitly; a partition without btrfs is refused clearly', async () => {
    const p = manifest('partitioned-gpt').partition!;
    expect((await cli('super', dev('partitioned-gpt'), '--partition', String(p.btrfs_partition))).code).toBe(0);
    const bad = await cli('super', dev('partitioned-gpt'), '--partition', '1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/partition 1: no valid btrfs superblock/);
    const off = await cli('super', dev('partitioned-gpt'), '--offset', String(p.btrfs_offset_bytes), '--json');
    expect(off.code).toBe(0);
  });
});

describe('tree', () => {
  it('--json streams one record per block, item and pointer; the items are those dump-tree shows', async () => {
    const r = await cli('tree', dev('default'), '--json');
    expect(r.code).toBe(0);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record: string; block?: number; bytenr?: number });
    const truth = parseDumpTree(truthText('default', 'dump-tree.txt'));
    const blocks = new Set(recs.filter((x) => x.record === 'block').map((x) => x.bytenr));
    expect([...blocks].sort()).toEqual([...truth.keys()].map(Number).sort());
    const items = recs.filter((x) => x.record === 'item').length;
    let truthItems = 0;
    const counted = new Set<bigint>();
    for (const [k, b] of truth)
      if (b.level === 0 && !counted.has(k)) {
        counted.add(k);
        truthItems += b.nritems;
      }
    // Each block once: a tree that shares a subtree with an earlier one gets a "shared" record.
    expect(items).toBe(truthItems);
    const blockRecs = recs.filter((x) => x.record === 'block').map((x) => x.bytenr);
    expect(new Set(blockRecs).size).toBe(blockRecs.length);
    expect(recs.filter((x) => x.record === 'tree').length).toBeGreaterThan(10);
  });

  it('--block prints one block; --tree by name; a bad tree name is a usage error', async () => {
    const truth = parseDumpTree(truthText('default', 'dump-tree.txt'));
    const some = [...truth.values()].find((b) => b.owner === 'CHUNK_TREE')!;
    const r = await cli('tree', dev('default'), '--block', String(some.bytenr));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^leaf ${some.bytenr} items ${some.nritems} `));
    const c = await cli('tree', dev('default'), '--tree', 'chunk');
    expect(c.stdout.split('\n').filter((l) => /^(leaf|node) \d+ (level \d+ )?items /.test(l))).toHaveLength([...truth.values()].filter((b) => b.owner === 'CHUNK_TREE').length);
    const bad = await cli('tree', dev('default'), '--tree', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown tree "nope"/);
  });

  it('--jobs: render threads give the same text and NDJSON as the main thread; a bad count is a usage error', async () => {
    for (const format of [[], ['--json']]) {
      const one = await cli('tree', dev('default'), ...format, '--jobs', '1');
      const two = await cli('tree', dev('default'), ...format, '--jobs', '3');
      expect(one.code).toBe(0);
      expect(two.code).toBe(0);
      expect(two.stdoutBytes.length).toBeGreaterThan(100_000);
      expect(two.stdoutBytes.equals(one.stdoutBytes)).toBe(true);
    }
    const bad = await cli('tree', dev('default'), '--jobs', '0');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--jobs must be a whole number/);
  });
});

describe('partitions', () => {
  it.each(['partitioned-gpt', 'partitioned-mbr'])('%s: lists every partition as the partitioning tool recorded it, and marks the btrfs one', async (name) => {
    const p = manifest(name).partition as unknown as { table: string; btrfs_partition: number; partitions: { number: number; offset_bytes: number; size_bytes: number }[] };
    const r = await cli('partitions', dev(name), '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { table: { type: string }; partitions: { index: number; start: number; size: number; btrfs: { fsid: string } | null }[] };
    expect(j.table.type).toBe(p.table === 'dos' ? 'mbr' : p.table);
    const listed = j.partitions.filter((x) => p.partitions.some((t) => t.number === x.index));
    expect(listed.map((x) => [x.index, x.start, x.size])).toEqual(p.partitions.map((t) => [t.number, t.offset_bytes, t.size_bytes]));
    expect(j.partitions.filter((x) => x.btrfs).map((x) => [x.index, x.btrfs!.fsid])).toEqual([[p.btrfs_partition, fsidOf(name)]]);
  });
});

describe('tree key ranges', () => {
  it('--min-key/--max-key print exactly the leaves holding keys in the range (and the nodes above them)', async () => {
    const truth = parseDumpTree(truthText('default', 'dump-tree.txt'));
    const fsLeaves = [...truth.values()].filter((b) => b.owner === 'FS_TREE' && b.level === 0);
    expect(fsLeaves.length).toBeGreaterThan(3);
    // Pick an inode whose items sit in the middle of the tree, from the truth.
    const mid = fsLeaves[Math.floor(fsLeaves.length / 2)]!;
    const obj = mid.entries[Math.floor(mid.entries.length / 2)]!.split(' ')[0]!;
    const want = fsLeaves
      .filter((b) => b.entries.some((e) => e.split(' ')[0] === obj))
      .map((b) => b.bytenr)
      .sort();
    const r = await cli('tree', dev('default'), '--tree', 'fs', '--min-key', obj, '--max-key', obj);
    expect(r.code).toBe(0);
    const leaves = [...r.stdout.matchAll(/^leaf (\d+) items/gm)].map((m) => BigInt(m[1]!)).sort();
    expect(leaves).toEqual(want);
    expect(r.stdout).toContain(`key (${obj} INODE_ITEM 0)`);
  });
});
