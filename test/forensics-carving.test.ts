import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { CORPUS, ROOT, SAMPLES, truthJson } from './helpers/samples.js';

/**
 * The orphans fixture (test/fixtures/forensics-orphans, built by its build.sh with the kernel):
 * three commits, then every node of subvolume 5 but the current root zeroed, so the older
 * leaves survive that no root reaches. The truth is what the kernel showed before each change
 * (sha256 and filefrag extents of each file) and what build.sh read back from the unmounted image.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'forensics-orphans');
const IMG = join(DIR, 'dev1.runs.gz');
interface FileTruth {
  ino: number;
  size: number;
  mode: number;
  sha256: string;
  inline: boolean;
  extents: { survives: boolean }[];
}
interface Commit {
  label: string;
  generation: number;
  files: Record<string, FileTruth>;
}
interface Leaf {
  bytenr: number;
  generation: number;
  survives: boolean;
}
const truth = JSON.parse(readFileSync(join(DIR, 'truth.json'), 'utf8')) as { commits: (Commit & { fs5_leaves: Leaf[] })[]; wiped_nodes: { bytenr: number }[]; far_ino: number };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

interface Rec {
  subvol: number;
  ino: number;
  paths: string[];
  size: number;
  mode: number;
  transid: number;
  inodeGeneration: number;
  lastSeen: number;
  source: string;
  olderVersion?: boolean;
  leaves?: number[];
  data: { state: string };
  writtenTo?: string | null;
}

const VICTIMS = ['victims/a-40k.bin', 'victims/sub/b-12k.txt', 'victims/small-inline.txt'];
const last = truth.commits[truth.commits.length - 1]!;

describe('recover: orphan leaves (no surviving root reaches them)', () => {
  it('the fixture is what it should be: nodes wiped, victims gone from the last commit', () => {
    expect(truth.wiped_nodes.length).toBeGreaterThan(0);
    for (const v of VICTIMS) expect(last.files[v]).toBeUndefined();
  });

  it('every deleted file comes back from its orphan leaves: path, inode fields, verdict from its surviving extents, sha256 as before deletion', async () => {
    const out = mkdtempSync(join(tmpdir(), 'orphans-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as { files: Rec[]; orphanLeaves: { unreached: number; mined: number } };
    const files = doc.files;
    // Every leaf of subvolume 5 a committed older tree had, that survives and the current tree does not have, is an orphan leaf
    // (leaves written only inside a transaction add to them).
    const current = new Set(last.fs5_leaves.map((l) => `${l.bytenr}:${l.generation}`));
    const older = new Set(truth.commits.flatMap((c) => c.fs5_leaves.filter((l) => l.survives && !current.has(`${l.bytenr}:${l.generation}`)).map((l) => `${l.bytenr}:${l.generation}`)));
    expect(older.size).toBeGreaterThan(0);
    expect(doc.orphanLeaves.unreached).toBeGreaterThanOrEqual(older.size);
    expect(doc.orphanLeaves.mined).toBe(doc.orphanLeaves.unreached);
    for (const path of VICTIMS) {
      const seen = truth.commits.filter((c) => c.files[path]);
      const t = seen[seen.length - 1]!.files[path]!;
      const f = files.find((x) => x.subvol === 5 && x.ino === t.ino);
      expect(f, path).toBeDefined();
      // Every older node is gone: only the leaves tell.
      expect(f!.source).toBe('orphan leaf');
      expect(f!.leaves!.length).toBeGreaterThan(0);
      expect(f!.paths).toEqual([`/${path}`]);
      expect([f!.size, f!.mode]).toEqual([t.size, t.mode]);
      // Last seen in a leaf written no earlier than the last commit that had it and no later than the deleting one.
      expect(f!.lastSeen).toBeGreaterThanOrEqual(seen[seen.length - 1]!.generation);
      expect(f!.lastSeen).toBeLessThanOrEqual(last.generation);
      expect(f!.data.state).toBe(t.inline ? 'inline' : t.extents.every((e) => e.survives) ? 'intact' : 'partly-overwritten');
      expect(sha(readFileSync(f!.writtenTo!)), path).toBe(t.sha256);
    }
    for (const d of ['victims', 'victims/sub'])
      expect(
        files.some((x) => x.source === 'orphan leaf' && x.paths.includes(`/${d}`)),
        d,
      ).toBe(true);
  });

  it('a file whose directory left no item anywhere: $ORPHAN/TREE/DIR-INO/NAME, with its sha256; $OrphanFiles/NAME (deleted) in the body file, mactime reads it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'orphans-'));
    tmp.push(out);
    const t = truth.commits[0]!.files['far/lost-parent.bin']!;
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    const f = (parseJsonExact(r.stdout) as { files: Rec[] }).files.find((x) => x.subvol === 5 && x.ino === t.ino);
    expect(f).toBeDefined();
    expect(f!.paths).toEqual([`/$ORPHAN/5/${truth.far_ino}/lost-parent.bin`]);
    expect(f!.data.state).toBe(t.extents.every((e) => e.survives) ? 'intact' : 'partly-overwritten');
    expect(sha(readFileSync(f!.writtenTo!))).toBe(t.sha256);
    const body = await cli('timeline', IMG, '--bodyfile');
    const line = body.stdout.split('\n').find((l) => l.split('|')[2] === `5-${t.ino}`);
    expect(line?.split('|')[1]).toBe('/$OrphanFiles/lost-parent.bin (deleted)');
    if (mactime) expect(mactimeRows(body.stdout).some((x) => x.meta === `5-${t.ino}` && x.name === '/$OrphanFiles/lost-parent.bin (deleted)')).toBe(true);
  });

  it('a subvolume deleted and cleaned (no root item left): its files come back under "<deleted subvolume ID>" with their sha256', async () => {
    const out = mkdtempSync(join(tmpdir(), 'orphans-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    const files = (parseJsonExact(r.stdout) as { files: (Rec & { outputPath?: string })[] }).files;
    for (const path of ['doomed/gone.bin', 'doomed/gone-small.txt']) {
      const t = truth.commits[0]!.files[path]!;
      const name = path.slice('doomed/'.length);
      const f = files.find((x) => x.subvol !== 5 && x.ino === t.ino && x.paths.some((p) => p.endsWith(`/${name}`)));
      expect(f, path).toBeDefined();
      expect(f!.paths).toEqual([`/<deleted subvolume ${f!.subvol}>/${name}`]);
      expect(f!.size).toBe(t.size);
      expect(f!.data.state).toBe(t.inline ? 'inline' : t.extents.every((e) => e.survives) ? 'intact' : 'partly-overwritten');
      expect(f!.outputPath).toBe(`/files/deleted-subvolume-${f!.subvol}/${name}`);
      expect(sha(readFileSync(f!.writtenTo!)), path).toBe(t.sha256);
    }
  });

  it('older versions of a live file are kept apart (one per inode transid), each with the bytes it had at that commit', async () => {
    const out = mkdtempSync(join(tmpdir(), 'orphans-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    const files = (parseJsonExact(r.stdout) as { files: Rec[] }).files;
    const ino = last.files['versions.bin']!.ino;
    const versions = files.filter((x) => x.subvol === 5 && x.ino === ino);
    // The inode's transid is the generation of the commit that last changed it: v1 and v2, not the live v3.
    const olderCommits = truth.commits.filter((c) => c !== last && c.files['versions.bin']);
    expect(versions.map((v) => v.transid).sort()).toEqual(olderCommits.map((c) => c.generation).sort());
    for (const v of versions) {
      const c = truth.commits.find((x) => x.generation === v.transid)!;
      expect(v.olderVersion).toBe(true);
      expect(v.paths).toEqual(['/versions.bin']);
      expect(v.data.state).toBe(c.files['versions.bin']!.extents.every((e) => e.survives) ? 'intact' : 'partly-overwritten');
      expect(sha(readFileSync(v.writtenTo!)), c.label).toBe(c.files['versions.bin']!.sha256);
    }
  });
});

interface Removed {
  subvol: number;
  ino: number;
  path: string | null;
  name: string;
  lastSeen: number;
  currentPaths: string[];
}

describe('recover: names removed from inodes that still live', () => {
  it('a removed hard link and a renamed file keep their old names, last seen in the last commit before the change (orphans fixture)', async () => {
    const r = await cli('recover', IMG, '--json');
    const got = (parseJsonExact(r.stdout) as { removedNames: Removed[] }).removedNames;
    const first = truth.commits[0]!;
    const before = truth.commits[truth.commits.length - 2]!;
    const want = [
      { ino: first.files['names/linked.bin']!.ino, path: '/names/second-name.bin', now: ['/names/linked.bin'] },
      { ino: first.files['names/old-name.txt']!.ino, path: '/names/old-name.txt', now: ['/names/new-name.txt'] },
    ];
    expect(got.map((n) => n.path).sort()).toEqual(want.map((w) => w.path).sort());
    for (const w of want) {
      const n = got.find((x) => x.path === w.path)!;
      expect(n.ino).toBe(w.ino);
      expect(n.currentPaths).toEqual(w.now);
      expect(n.name).toBe(w.path.slice(w.path.lastIndexOf('/') + 1));
      // The subvolume was last changed before phase 3 in some commit up to the one before it.
      expect(n.lastSeen).toBeGreaterThanOrEqual(first.generation);
      expect(n.lastSeen).toBeLessThanOrEqual(before.generation);
    }
  });

  it('the deleted sample: the unlinked name of a file that kept another one, last seen at the generation before the delete', async () => {
    const t = truthJson<{ generation_before: number; deleted: { path: string; ino: number; fully_deleted: boolean }[] }>('deleted', 'deleted.json');
    const r = await cli('recover', join(SAMPLES, 'deleted', 'dev1.runs.gz'), '--json');
    const got = (parseJsonExact(r.stdout) as { removedNames: Removed[] }).removedNames;
    const kept = t.deleted.filter((d) => !d.fully_deleted);
    expect(kept.length).toBeGreaterThan(0);
    expect(got.map((n) => `${n.ino} ${n.path}`).sort()).toEqual(kept.map((d) => `${d.ino} /${d.path}`).sort());
    for (const n of got) {
      expect(n.lastSeen).toBe(t.generation_before);
      expect(n.currentPaths.length).toBeGreaterThan(0);
    }
  });
});

// The Sleuth Kit's mactime, where installed, is the reader a body file is for: it drops any line it cannot parse.
const mactime = ['/usr/bin/mactime', '/usr/local/bin/mactime'].find((p) => existsSync(p));
/** mactime's rows for a body file: [meta (inode), name] of each event. */
function mactimeRows(body: string): { meta: string; name: string }[] {
  const dir = mkdtempSync(join(tmpdir(), 'mactime-'));
  tmp.push(dir);
  writeFileSync(join(dir, 'body.txt'), body);
  const m = spawnSync(mactime!, ['-b', join(dir, 'body.txt'), '-d'], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8' });
  expect(m.status).toBe(0);
  return m.stdout
    .trimEnd()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','))
    .map((c) => ({ meta: c[6]!, name: c.slice(7).join(',').replace(/^"|"$/g, '') }));
}

describe('body file: TSK deleted and orphan marks', () => {
  it('files rebuilt from orphan leaves are "(deleted)" lines with their old path, SUBVOL-INO and size; mactime reads them', async () => {
    const r = await cli('timeline', IMG, '--bodyfile');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split('|'));
    for (const path of VICTIMS) {
      const seen = truth.commits.filter((c) => c.files[path]);
      const t = seen[seen.length - 1]!.files[path]!;
      const l = lines.find((f) => f[1] === `/${path} (deleted)`);
      expect(l, path).toBeDefined();
      expect([l![2], Number(l![6])]).toEqual([`5-${t.ino}`, t.size]);
    }
    if (!mactime) return;
    const rows = mactimeRows(r.stdout);
    for (const path of VICTIMS)
      expect(
        rows.some((x) => x.name === `/${path} (deleted)`),
        path,
      ).toBe(true);
  });

  it.runIf(existsSync(join(CORPUS, 'progs')))(
    "an orphan inode no name reaches is $OrphanFiles/OrphanFile-SUBVOL-INO (deleted), as fls names one; mactime reads it (btrfs-progs' orphan image)",
    async () => {
      const image = 'fsck-tests/029-valid-orphan-item/orphan_inode';
      const t = (JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'corpus', 'orphans.json'), 'utf8')) as { images: Record<string, { orphan_items: { tree: number; objectid: number }[] }> })
        .images[image]!;
      const r = await cli('timeline', join(CORPUS, 'progs', `${image}.runs.gz`), '--bodyfile');
      const want = t.orphan_items.filter((o) => o.tree !== 1).map((o) => ({ meta: `${o.tree}-${o.objectid}`, name: `/$OrphanFiles/OrphanFile-${o.tree}-${o.objectid} (deleted)` }));
      expect(want.length).toBeGreaterThan(0);
      const lines = r.stdout
        .trimEnd()
        .split('\n')
        .map((l) => l.split('|'));
      for (const w of want)
        expect(
          lines.some((f) => f[1] === w.name && f[2] === w.meta),
          w.name,
        ).toBe(true);
      if (!mactime) return;
      const rows = mactimeRows(r.stdout);
      for (const w of want)
        expect(
          rows.some((x) => x.name === w.name && x.meta === w.meta),
          w.name,
        ).toBe(true);
    },
  );
});

describe('recover: earlier contents of files rewritten in several commits (generations sample)', () => {
  it('each older version found in orphan leaves is the file as the commit of its inode transid left it (sha256 recorded then)', async () => {
    const g = truthJson<{ commits: { generation: number; files: Record<string, { sha256: string; ino: number } | null> }[] }>('generations', 'generations.json');
    const out = mkdtempSync(join(tmpdir(), 'versions-'));
    tmp.push(out);
    const r = await cli('recover', join(SAMPLES, 'generations', 'dev1.runs.gz'), '-o', join(out, 'x'), '--json');
    expect(r.code).toBe(0);
    const versions = (parseJsonExact(r.stdout) as { files: Rec[] }).files.filter((f) => f.olderVersion);
    expect(versions.length).toBeGreaterThan(0);
    const lastGen = g.commits[g.commits.length - 1]!.generation;
    for (const v of versions) {
      const path = v.paths[0]!.slice(1);
      // The commit whose generation is the version's transid recorded this file's bytes then.
      const c = g.commits.find((x) => x.generation === v.transid);
      expect(c, `${path} transid ${v.transid}`).toBeDefined();
      expect(v.transid).toBeLessThan(lastGen);
      expect(c!.files[path]?.ino).toBe(v.ino);
      expect(sha(readFileSync(v.writtenTo!)), `${path} @${v.transid}`).toBe(c!.files[path]!.sha256);
    }
  });
});
