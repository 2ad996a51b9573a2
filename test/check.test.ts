import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CheckFinding, type CheckReport, runCheck } from '../src/analysis/check/index.js';
import { runCli } from '../src/cli/main.js';
import { TreeBlock } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import {
  csumItemIntoNext,
  type DamageRecipe,
  deviceRecipes,
  dirItemDuplicateName,
  dirItemHashChanged,
  fieldRecipes,
  fsLeaf,
  inlineRefsSwapped,
  keyTypeWrongTree,
  logCsumMoved,
  modeInvalid,
  nbytesChanged,
  nlinkChanged,
  noHolesCleared,
  parentKeyChanged,
  qgroupReferencedRaised,
  raid1DataCopy,
  raid5DataAndParity,
  recipes,
  rootTreeModeInvalid,
  superblockTotals,
} from './helpers/damagedCheck.js';
import { captureIO, filesTruth, hashFile, writeSparse } from './helpers/fsTruth.js';
import { hasTruth, openSample, SAMPLES, sampleNames, sampleSources, truthText } from './helpers/samples.js';

/** No warning is expected of a clean sample. */
const KNOWN_WARNINGS = new Set<string>();

const keyOf = (f: CheckFinding) => `${f.code}|${f.message}`;
const damage = (r: CheckReport) => r.findings.filter((f) => f.severity !== 'info');

describe('check: every clean sample image checks clean', () => {
  it.each(sampleNames())(
    "%s (with and without --data), totals equal btrfs check's",
    (name) => {
      const fs = openSample(name);
      for (const data of [false, true]) {
        const r = runCheck(fs, { data });
        expect(r.findings.filter((f) => f.severity === 'error')).toEqual([]);
        expect(r.findings.filter((f) => f.severity === 'warning' && !KNOWN_WARNINGS.has(f.code))).toEqual([]);
        // Independent truth: btrfs check's "total tree bytes" (every tree block once) and "total csum bytes" (KiB of checksummed data).
        const text = truthText(name, 'check.txt');
        // btrfs check leaves out log tree blocks.
        const treeBytes = BigInt(/total tree bytes: (\d+)/.exec(text)![1]!);
        let logBlocks = 0;
        for (const t of [...(fs.logRootTree ? [fs.logRootTree] : []), ...fs.logTrees()])
          fs.walk(t, {
            block() {
              logBlocks++;
            },
          });
        expect(BigInt(r.summary.treeBlocks - logBlocks) * BigInt(fs.superblock.nodesize)).toBe(treeBytes);
        if (data) {
          // btrfs check's "total csum bytes" counts csum item bytes as 4-byte checksums of 1 KiB units:
          // sectors = KiB * 1024 / (csum_size / 4) / sectorsize... i.e. bytes = KiB * 1024 * 4 / csum_size.
          const csumKiB = BigInt(/total csum bytes: (\d+)/.exec(text)![1]!);
          expect(r.summary.dataBytes).toBe((csumKiB * 1024n * 4n) / BigInt(fs.superblock.csumSize));
          expect(r.summary.dataSectorCopies).toBe(r.summary.dataSectors * copiesOfData(fs));
        }
        expect(r.summary.byCode['log-tree'] ?? 0).toBe(fs.superblock.logRoot !== 0n ? 1 : 0);
        // mkfs.btrfs 6.2 leaves the free space tree entries of its temporary chunks (none of which exists any more): notes.
        for (const f of r.findings.filter((x) => x.code === 'free-space-orphan')) {
          expect(f.severity).toBe('info');
          expect(fs.volume.chunks.map(f.location.logical!)).toBeUndefined();
        }
      }
    },
    60_000,
  );
});

/** Ways to read the data chunks (all data chunks of a sample share a profile). */
function copiesOfData(fs: Filesystem): number {
  const c = fs.volume.chunks.all.find((x) => (x.type & 1n) !== 0n)!;
  return fs.volume.copyCount(c.logical);
}

describe('check: damaged images built in memory report exactly the damage made', () => {
  const clean = openSample('default');
  const baseline = new Set(damage(runCheck(clean, { data: true })).map(keyOf));
  const all: DamageRecipe[] = [
    ...recipes(),
    raid1DataCopy(),
    ...raid5DataAndParity(),
    nlinkChanged(),
    nbytesChanged(),
    ...superblockTotals(),
    modeInvalid(),
    rootTreeModeInvalid(),
    keyTypeWrongTree(),
    dirItemHashChanged(),
    dirItemDuplicateName(),
    inlineRefsSwapped(),
    ...fieldRecipes(),
    parentKeyChanged(),
    ...deviceRecipes(),
    logCsumMoved(),
    csumItemIntoNext(),
    qgroupReferencedRaised(),
  ];

  it.each(all.map((r) => [r.name, r] as const))(
    '%s',
    (_n, recipe) => {
      const fs = Filesystem.open(recipe.sources);
      const r = runCheck(fs, { data: recipe.data });
      const got = damage(r).filter((f) => !baseline.has(keyOf(f)) && !KNOWN_WARNINGS.has(f.code));
      // Nothing missed, nothing spurious: every finding is one of the expected ones, each expected one is found once.
      const unmatched = [...got];
      for (const e of recipe.expected) {
        const i = unmatched.findIndex(
          (f) =>
            f.code === e.code &&
            (e.logical === undefined || f.location.logical === e.logical) &&
            (e.copy === undefined || f.location.copy === e.copy) &&
            (e.slot === undefined || f.location.slot === e.slot) &&
            (e.physical === undefined || f.location.physical === e.physical) &&
            (e.repairable === undefined || Boolean(f.repairable) === e.repairable),
        );
        expect(i, `expected ${JSON.stringify(e, (_k, v) => (typeof v === 'bigint' ? String(v) : v))} among ${got.map((f) => `${f.code}: ${f.message}`).join('; ')}`).toBeGreaterThanOrEqual(0);
        unmatched.splice(i, 1);
      }
      expect(unmatched.map((f) => `${f.code}: ${f.message}`)).toEqual([]);
      if (recipe.hurt) {
        const hurt = got.flatMap((f) => f.hurt ?? []);
        const withOffset = recipe.hurt[0]!.fileOffset !== undefined;
        // Findings about the same lost block (one per copy) name the same files: compare the set.
        const paths = new Set(hurt.flatMap((h) => (h.paths ?? []).map((p) => `${p.replace(/^\//, '')}@${withOffset ? h.fileOffset : ''}`)));
        const want = [...new Set(recipe.hurt.map((h) => `${h.path}@${h.fileOffset ?? ''}`))].sort();
        expect([...paths].sort()).toEqual(want);
        expect(want.length).toBeGreaterThan(0);
      }
      if (recipe.superblockUsed !== undefined) expect(r.summary.superblockUsed).toBe(recipe.superblockUsed);
    },
    60_000,
  );

  it('both copies bad: the rest of the filesystem is still checked (every other block and item)', () => {
    const full = runCheck(clean);
    const leaf = fsLeaf(clean);
    const lostItems = new TreeBlockOf(clean, leaf.logical).nritems;
    const recipe = all.find((r) => r.name.startsWith('both DUP copies'))!;
    const r = runCheck(Filesystem.open(recipe.sources));
    expect(r.summary.treeBlocks).toBe(full.summary.treeBlocks - 1);
    expect(r.summary.items).toBe(full.summary.items - lostItems);
  });

  it('one DUP copy bad: every file of the subvolume still reads right (kernel sha256)', () => {
    const leaf = fsLeaf(clean);
    const recipe = all.find((r) => r.name.startsWith('one DUP copy'))!;
    const fs = Filesystem.open(recipe.sources);
    const view = new FsView(fs);
    const truth = filesTruth('default').filter((e) => e.subvol_id === 5 && e.sha256);
    expect(truth.filter((e) => BigInt(e.ino) >= leaf.minIno && BigInt(e.ino) <= leaf.maxIno).length).toBeGreaterThan(0);
    for (const e of truth) {
      const inode = view.inode({ subvol: 5n, ino: BigInt(e.ino) })!;
      const h = hashFile(view, inode, { verify: true });
      expect(h.errors).toEqual([]);
      expect(h.sha256).toBe(e.sha256);
    }
  });
});

describe('check: without NO_HOLES, holes need file extents', () => {
  it('the sample with NO_HOLES cleared: one file-extent-gap per sparse file (kernel FIEMAP), at its first hole', () => {
    const { sources, gaps } = noHolesCleared();
    expect(gaps.length).toBeGreaterThan(0);
    const r = runCheck(Filesystem.open(sources));
    const found = damage(r).filter((f) => !KNOWN_WARNINGS.has(f.code));
    expect(
      found.every((f) => f.code === 'file-extent-gap'),
      found.map((f) => `${f.code}: ${f.message}`).join('; '),
    ).toBe(true);
    const got = found.map((f) => ({ subvol: f.location.tree!, ino: f.location.key!.objectid, offset: BigInt(/covers offset (\d+)/.exec(f.message)![1]!) }));
    const order = (a: { subvol: bigint; ino: bigint }, b: { subvol: bigint; ino: bigint }) => (a.subvol !== b.subvol ? (a.subvol < b.subvol ? -1 : 1) : a.ino < b.ino ? -1 : a.ino > b.ino ? 1 : 0);
    expect(got.sort(order)).toEqual([...gaps].sort(order));
  });
});

describe('check: degraded arrays', () => {
  it.each([
    ['raid1', 2],
    ['raid5', 2],
  ] as const)('%s without device %d: the missing device is reported, everything read through the other copy or parity', (name, missing) => {
    const full = runCheck(openSample(name), { data: true });
    const fs = Filesystem.open(sampleSources(name).filter((_, i) => i + 1 !== missing));
    const r = runCheck(fs, { data: true });
    expect(r.findings.filter((f) => f.severity === 'error').map((f) => [f.code, f.location.devid])).toEqual([['device-missing', BigInt(missing)]]);
    expect(r.summary.treeBlocks).toBe(full.summary.treeBlocks);
    expect(r.summary.items).toBe(full.summary.items);
    expect(r.summary.dataSectors).toBe(full.summary.dataSectors);
    expect(r.summary.dataCopiesUnavailable).toBeGreaterThan(0);
  });
});

describe('check: CLI verdicts and exit codes', () => {
  it('clean image: exit 0, "clean"; --json carries the documented fields', async () => {
    const img = join(SAMPLES, 'default', 'dev1.runs.gz');
    const t = await cli('check', img);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/\nclean/);
    const j = await cli('check', img, '--data', '--json');
    expect(j.code).toBe(0);
    const doc = parseJsonExact(j.stdout) as { version: number; verdict: string; exitCode: number; summary: { dataChecked: boolean; treeBlocks: number }; findings: unknown[] };
    expect(doc).toMatchObject({ version: 3, verdict: 'clean', exitCode: 0, summary: { dataChecked: true, treeBlocks: 47 } });
  });

  it('notes are one summary line (--verbose lists them, --quiet prints the verdict only); --json keeps them all', async () => {
    const img = join(SAMPLES, 'default', 'dev1.runs.gz');
    const doc = parseJsonExact((await cli('check', img, '--json')).stdout) as { findings: { code: string; severity: string }[] };
    const notes = doc.findings.filter((f) => f.severity === 'info');
    // mkfs.btrfs before 6.3 leaves free-space entries of its temporary chunks: every sample image has them.
    expect(notes.length).toBeGreaterThan(0);
    const t = await cli('check', img);
    expect(t.code).toBe(0);
    expect(t.stdout).not.toMatch(/│ info /);
    expect(t.stdout).toContain(`\n${notes.length} notes (free-space-orphan); --verbose to list\n`);
    const v = await cli('check', img, '--verbose');
    expect(v.stdout.match(/│ info +│ free-space-orphan/g)).toHaveLength(notes.length);
    const q = await cli('check', img, '--quiet');
    expect(q.code).toBe(0);
    expect(q.stdout).toBe(`clean (0 warning(s), ${notes.length} note(s))\n`);
  });

  it('damaged image: exit 1, findings with locations and what they hurt', async () => {
    const recipe = recipes().find((r) => r.name.startsWith('both DUP copies'))!;
    const dir = mkdtempSync(join(tmpdir(), 'check-'));
    try {
      const img = join(dir, 'img');
      writeSparse(recipe.sources[0]!, img);
      const t = await cli('check', img);
      expect(t.code).toBe(1);
      expect(t.stdout).toMatch(/tree-block-csum/);
      expect(t.stdout).toMatch(/DAMAGED: 2 error/);
      const j = await cli('check', img, '--json');
      expect(j.code).toBe(1);
      const doc = parseJsonExact(j.stdout) as { verdict: string; findings: { code: string; repairable: boolean; hurt?: { paths?: string[] }[] }[] };
      expect(doc.verdict).toBe('damaged');
      const f = doc.findings.filter((x) => x.code === 'tree-block-csum');
      expect(f).toHaveLength(2);
      expect(f.every((x) => x.repairable === false && (x.hurt?.length ?? 0) > 0)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('progress goes to stderr only on a terminal, and is cleared; stdout is the same either way', async () => {
    const img = join(SAMPLES, 'default', 'dev1.runs.gz');
    const tty = captureIO({ tty: true });
    expect(await runCli(['check', img, '--data'], tty.io)).toBe(0);
    expect(tty.stderr()).toMatch(/\rchecking data: \[[#.]+\] [\d.]+%/);
    expect(tty.stderr().endsWith('\r\x1b[K')).toBe(true);
    const pipe = captureIO();
    expect(await runCli(['check', img, '--data'], pipe.io)).toBe(0);
    expect(pipe.stderr()).toBe('');
    expect(pipe.text()).toBe(tty.text());
  });

  it('--data on worker threads finds exactly what the single-thread check finds (a flipped data sector, named with its file)', async () => {
    const recipe = recipes().find((r) => r.name === 'one data sector flipped')!;
    const dir = mkdtempSync(join(tmpdir(), 'check-'));
    try {
      const img = join(dir, 'img');
      writeSparse(recipe.sources[0]!, img);
      const one = await cli('check', img, '--data', '--jobs', '1');
      const two = await cli('check', img, '--data', '--jobs', '2');
      expect(one.code).toBe(1);
      expect(two.code).toBe(1);
      expect(two.stdout).toBe(one.stdout);
      expect(one.stdout).toMatch(/data-csum/);
      expect(one.stdout).toMatch(/rich\/random-2m\.bin/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--jobs must be a count: exit 2', async () => {
    const r = await cli('check', join(SAMPLES, 'default', 'dev1.runs.gz'), '--jobs', 'many');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--jobs/);
  });

  it('no such image: exit 2', async () => {
    const r = await cli('check', '/nonexistent.img');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no such file/);
  });
});

void hasTruth;

/** A block of the clean image, decoded. */
class TreeBlockOf extends TreeBlock {
  constructor(fs: Filesystem, logical: bigint) {
    super(fs.volume.readCopy(logical, fs.superblock.nodesize, 0).bytes!, logical);
  }
}
