import { describe, expect, it } from 'vitest';
import { diffTrees, type FileChange, treeAtGeneration } from '../src/analysis/diff.js';
import { FsView } from '../src/fs/FsView.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { openSample, truthJson } from './helpers/samples.js';

/** A change as a comparable line: kind, paths and (for data) the changed ranges. */
const line = (c: FileChange) => `${c.kind} ${c.pathsA.join('|') || '-'} -> ${c.pathsB.join('|') || '-'}${c.ranges.length ? ' ' + c.ranges.map(([s, e]) => `[${s},${e})`).join('') : ''}`;

describe('diff of snapshots in the default sample equals what fill.py changed between them', () => {
  const fs = openSample('default');
  const view = new FsView(fs);
  const id = (p: string) => {
    const r = view.resolve(p);
    if (!r.ok) throw new Error(p);
    return r.ref.subvol;
  };
  const tree = (p: string) => view.tree(id(p))!;
  const m = truthJson<{ special: { path: string; kind: string; changes?: string[]; recipe: string }[] }>('default', 'manifest.json');

  it('snap-a-ro (before default-extras and modify-subvol) vs snap-a-ro2 (after)', () => {
    const r = diffTrees(fs, tree('/snapshots/snap-a-ro'), tree('/snapshots/snap-a-ro2'));
    // Expected from the recorded recipe notes: modify-subvol's changes, plus the reflink default-extras put into subvol-a.
    const expected: string[] = [];
    for (const ch of m.special.find((s) => s.kind === 'modified-after-snapshot')!.changes!) {
      let x: RegExpExecArray | null;
      if ((x = /^added (\S+)$/.exec(ch))) expected.push(`added - -> /${x[1]}`);
      else if ((x = /^deleted (\S+)$/.exec(ch))) expected.push(`deleted /${x[1]} -> -`);
      else if ((x = /^overwrote (\S+) \[(\d+), \+(\d+)\]$/.exec(ch))) expected.push(`modified /${x[1]} -> /${x[1]} [${x[2]},${Number(x[2]) + Number(x[3])})`);
      else if ((x = /^renamed (\S+) -> (\S+)$/.exec(ch)))
        expected.push(`renamed /dir/tiny-hardlink.txt|/${x[1]} -> /dir/tiny-hardlink.txt|/${x[2]}`); // tiny.txt has a hard link in dir/ (small recipe)
      else throw new Error(`unknown change ${ch}`);
    }
    for (const s of m.special.filter((x) => x.recipe === 'default-extras' && x.path.startsWith('subvol-a/'))) expected.push(`added - -> /${s.path.slice('subvol-a/'.length)}`);
    expected.push('metadata / -> /'); // the root directory's entries and times
    expect(r.changes.map(line).sort()).toEqual(expected.sort());
    // The unchanged big subtrees are not read: both snapshots are one leaf each here, so two blocks.
    expect(r.stats.blocksRead).toBe(2);
  });

  it('snap-a-ro vs snap-a-rw: the file written into the rw snapshot (build.sh)', () => {
    const r = diffTrees(fs, tree('/snapshots/snap-a-ro'), tree('/snap-a-rw'));
    expect(r.changes.map(line).sort()).toEqual(['added - -> /changed-in-snapshot.txt', 'metadata / -> /']);
  });

  it('a tree against itself: nothing read, nothing changed', () => {
    const r = diffTrees(fs, tree('/subvol-a'), tree('/subvol-a'));
    expect(r.changes).toEqual([]);
    expect(r.stats).toEqual({ blocksRead: 0, subtreesSkipped: 1 });
  });
});

describe('diff of the generations sample at its three commits equals generations.json', () => {
  const fs = openSample('generations');
  const g = truthJson<{ commits: { generation: number; changes: string[]; files: Record<string, { size: number; ino: number } | null> }[] }>('generations', 'generations.json');
  const at = (gen: number) => {
    const t = treeAtGeneration(fs, 5n, BigInt(gen));
    if ('error' in t) throw new Error(t.error);
    return t;
  };
  const ss = 4096;

  for (const [i, j] of [
    [0, 1],
    [1, 2],
  ] as const) {
    it(`commit ${i + 1} -> ${j + 1}`, () => {
      const A = g.commits[i]!,
        B = g.commits[j]!;
      const r = diffTrees(fs, at(A.generation), at(B.generation));
      const expected: string[] = [];
      for (const ch of B.changes) {
        let x: RegExpExecArray | null;
        if ((x = /^(\S+): bytes \[(\d+), (\d+)\) rewritten$/.exec(ch))) expected.push(`modified /${x[1]} -> /${x[1]} [${x[2]},${x[3]})`);
        else if ((x = /^(\S+) renamed to (\S+)$/.exec(ch))) expected.push(`renamed /${x[1]} -> /${x[2]}`);
        else if ((x = /^(\S+): (\d+) bytes appended$/.exec(ch))) {
          const old = A.files[x[1]!]!.size;
          // Appending rewrites the partial last sector with it: the changed range starts at its start.
          expected.push(`modified /${x[1]} -> /${x[1]} [${Math.floor(old / ss) * ss},${old + Number(x[2])})`);
        } else if ((x = /^(\S+) truncated (\d+) -> (\d+)$/.exec(ch))) expected.push(`modified /${x[1]} -> /${x[1]} [${x[3]},${x[2]})`);
        else throw new Error(`unknown change ${ch}`);
      }
      // Directories whose entries changed; a directory made for the rename.
      const dirs = new Set(B.changes.filter((c) => / renamed to /.test(c)).flatMap((c) => c.split(' renamed to ').map((p) => '/' + p.split('/').slice(0, -1).join('/'))));
      for (const d of dirs) {
        const existed = Object.keys(A.files).some((p) => A.files[p] && ('/' + p).startsWith(d + '/'));
        expected.push(existed ? `metadata ${d} -> ${d}` : `added - -> ${d}`);
      }
      expect(r.changes.map(line).sort()).toEqual(expected.sort());
      for (const c of r.changes.filter((x) => x.kind === 'modified')) {
        const p = c.pathsB[0]!.slice(1);
        expect(c.sizeB).toBe(BigInt(B.files[p]!.size));
        expect(c.ino).toBe(BigInt(B.files[p]!.ino));
      }
    });
  }
});

describe('diff CLI', () => {
  it('subvolume paths, ids and SUBVOL@GEN; --json', async () => {
    const r = await cli('diff', 'sample-images/default/dev1.runs.gz', '/snapshots/snap-a-ro', '261', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { changes: { kind: string }[] };
    expect(j.changes.length).toBe(6);
    const t = await cli('diff', 'sample-images/generations/dev1.runs.gz', '5@7', '5@8');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/renamed.*\/gen\/renamed\.txt/);
    const bad = await cli('diff', 'sample-images/generations/dev1.runs.gz', '5@3', '5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no root tree of generation 3/);
  });
});
