import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { CORPUS, ROOT } from './helpers/samples.js';

/**
 * Orphaned inodes (nlink 0 with an ORPHAN item) and subvolumes deleted but
 * not cleaned up, on btrfs-progs' own images of exactly those states. The
 * truth is btrfs-progs' dump-tree of each image (test/fixtures/corpus/orphans.json).
 */
interface Truth {
  orphan_items: { tree: number; objectid: number }[];
  inodes: Record<string, { size: number; nlink: number; mode: number }>;
  root_refs: Record<string, number>;
}
const truth = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'corpus', 'orphans.json'), 'utf8')) as { images: Record<string, Truth> };
interface Recovered {
  subvol: number;
  ino: number;
  mode: number;
  size: number;
  nlink: number;
  source: string;
}

describe.runIf(existsSync(join(CORPUS, 'progs')))('recover: orphans and deleted subvolumes (btrfs-progs corpus)', () => {
  it.each(Object.keys(truth.images))('%s', async (image) => {
    const t = truth.images[image]!;
    const r = await cli('recover', join(CORPUS, 'progs', `${image}.runs.gz`), '--json');
    expect(r.code).toBeLessThan(2);
    const files = (parseJsonExact(r.stdout) as { files: Recovered[] }).files;
    // Every inode an fs tree lists as orphan is recovered as one, with its inode item's fields.
    for (const o of t.orphan_items.filter((x) => x.tree !== 1)) {
      const f = files.find((x) => x.subvol === o.tree && x.ino === o.objectid);
      expect(f, `orphan ${o.tree}:${o.objectid}`).toBeDefined();
      expect(f!.source).toBe('orphan');
      expect({ mode: f!.mode, size: f!.size, nlink: f!.nlink }).toEqual(t.inodes[`${o.tree}:${o.objectid}`]);
    }
    // A subvolume whose root item has refs 0 is deleted but not cleaned: all its inodes are recovered from it.
    for (const [id, refs] of Object.entries(t.root_refs)) {
      if (Number(id) < 256 || refs !== 0) continue;
      const want = Object.keys(t.inodes)
        .filter((k) => k.startsWith(`${id}:`))
        .sort();
      const got = files
        .filter((x) => String(x.subvol) === id)
        .map((x) => `${x.subvol}:${x.ino}`)
        .sort();
      expect(got).toEqual(want);
      expect(files.filter((x) => String(x.subvol) === id).every((x) => x.source === 'deleted subvolume')).toBe(true);
    }
    // Nothing else is called an orphan.
    const orphanKeys = new Set(t.orphan_items.filter((x) => x.tree !== 1).map((o) => `${o.tree}:${o.objectid}`));
    expect(
      files
        .filter((x) => x.source === 'orphan')
        .map((x) => `${x.subvol}:${x.ino}`)
        .sort(),
    ).toEqual([...orphanKeys].sort());
  });
});
