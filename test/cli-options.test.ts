import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { blockCopies, DamageKit } from './helpers/damage.js';
import { recipes } from './helpers/damagedCheck.js';
import { filesTruth, writeSparse } from './helpers/fsTruth.js';
import { manifest, SAMPLES, sampleSources, truthJson } from './helpers/samples.js';

const dev = (name: string, n = 1) => join(SAMPLES, name, `dev${n}.runs.gz`);
const IMG = dev('default');
const tmp = mkdtempSync(join(tmpdir(), 'cli-options-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Lines of stderr that name an error (one line per error, one prefix). */
const lines = (s: string) => s.split('\n').filter(Boolean);

describe('options: never swallow the image, refuse what a command does not honour', () => {
  it("sharing --free before IMAGE takes one value; a comma list and repeats name the same set; the result is the kernel's level-1 qgroup", async () => {
    // qgroup 1/100 holds 0/256 and 0/259: its exclusive bytes are what deleting both frees (kernel truth).
    const group = truthJson<{ qgroupid: string; excl: number; child: string[] }[]>('default', 'qgroups.json').find((g) => g.qgroupid === '1/100')!;
    expect(group.child).toEqual(['0/256', '0/259']);
    const before = await cli('sharing', '--free', '256,/snap-a-rw', IMG, '--json');
    expect(before.code).toBe(0);
    const after = await cli('sharing', IMG, '--free', '256', '--free', '/snap-a-rw', '--json');
    const a = parseJsonExact(before.stdout) as { free: { subvols: string[]; total: string } };
    const b = parseJsonExact(after.stdout) as { free: { subvols: string[]; total: string } };
    expect(a.free.subvols.map(Number)).toEqual([256, 259]);
    expect(Number(a.free.total)).toBe(group.excl);
    expect(b.free).toEqual(a.free);
  });

  it('an option a command does not honour is a usage error naming why, and is not in its --help', async () => {
    const cases: [string[], RegExp][] = [
      [['cat', IMG, '/rich/tiny.txt', '--json'], /^btrfs-inspect: cat does not take --json: it writes the file's bytes; "stat --json" gives its fields$/],
      [['super', IMG, '--generation', '38'], /^btrfs-inspect: super does not take --generation: /],
      [['timeline', IMG, '--ns'], /^btrfs-inspect: timeline: --ns goes with --bodyfile, which was not given$/],
      [['timeline', IMG, '--bodyfile', '--json'], /^btrfs-inspect: timeline: give --bodyfile or --json, not both$/],
      [['chunks', IMG, '--json-bigint', 'string'], /^btrfs-inspect: chunks: --json-bigint goes with --json, which was not given$/],
      [['tree', IMG, '--tree', 'root', '--expand-shared'], /^btrfs-inspect: tree: --expand-shared goes with --json/],
      [['tree', IMG, '--format', 'tsv'], /^btrfs-inspect: tree does not take --format: it prints no tables$/],
      [['heatmap', IMG, '-o', join(tmp, 'h.png'), '--json'], /^btrfs-inspect: heatmap does not take --json/],
      [['check', IMG, '--jobs', '2'], /^btrfs-inspect: check: --jobs goes with --data/],
      [['map', IMG, '--devid', '1'], /^btrfs-inspect: map: --devid goes with --physical/],
      [['map', IMG, '30408704', '--physical', '0'], /^btrfs-inspect: map: give a LOGICAL address or --physical OFFSET, not both/],
      [['check', IMG, '--json', '--quiet'], /^btrfs-inspect: check: give --json or --quiet, not both$/],
      [['chunks', IMG, '--json', '--wide'], /^btrfs-inspect: chunks: give --json or --wide, not both$/],
      [['super', IMG, '--partition', '1', '--offset', '0'], /^btrfs-inspect: super: give --partition or --offset, not both$/],
      [['ls', IMG, '/', '--all-times'], /^btrfs-inspect: ls: --all-times goes with --long/],
    ];
    for (const [args, want] of cases) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trimEnd(), args.join(' ')).toMatch(want);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect((await cli('cat', '--help')).stdout).not.toContain('--json');
    expect((await cli('super', '--help')).stdout).not.toContain('--generation');
    expect((await cli('stat', '--help')).stdout).toContain('--json');
  });

  it("commander's own errors carry the one prefix", async () => {
    const r = await cli('super', IMG, '--no-such-option');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^btrfs-inspect: unknown option '--no-such-option'/);
  });
});

describe('--superblock N: a superblock copy, numbered from 1 as every message numbers them', () => {
  it('picks the copy at 256 GiB on a device that has it (its bytenr field is its own offset)', async () => {
    const r = await cli('super', dev('large-offsets'), '--superblock', '3', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { superblock: { bytenr: string }; devices: { usedCopy: number; mirrors: { copy: number; offset: string }[] }[] };
    expect(String(j.superblock.bytenr)).toBe('274877906944');
    expect(j.devices[0]!.usedCopy).toBe(3);
    expect(j.devices[0]!.mirrors.map((m) => [m.copy, String(m.offset)])).toEqual([
      [1, '65536'],
      [2, '67108864'],
      [3, '274877906944'],
    ]);
  });

  it('check says which copy it used, in text and JSON alike; a copy the device is too small for is refused', async () => {
    const t = await cli('check', IMG, '--superblock', '2');
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/\(copy 2 used\)/);
    const j = parseJsonExact((await cli('check', IMG, '--superblock', '2', '--json')).stdout) as { summary: { superblockUsed: number } };
    expect(j.summary.superblockUsed).toBe(2);
    // The kernel recorded two superblock copies on this device (it is too small for the third).
    expect((manifest('default').devices[0] as unknown as { superblock_mirrors: number[] }).superblock_mirrors).toEqual([65536, 67108864]);
    const r = await cli('ls', IMG, '--superblock', '3');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--superblock 3: copy 3 at 274877906944 is missing; valid copies: 1, 2$/m);
    expect((await cli('ls', IMG, '--superblock', '0')).code).toBe(2);
  });
});

describe('roots --tree takes a tree as tree --tree does', () => {
  it("by name: only the fs tree's roots", async () => {
    const r = await cli('roots', IMG, '--tree', 'fs', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { roots: { tree: number }[] };
    expect(j.roots.length).toBeGreaterThan(0);
    expect(new Set(j.roots.map((x) => Number(x.tree)))).toEqual(new Set([5]));
  });
});

describe('exit codes: a well-formed address the image does not have is 1, text that is not a number is 2', () => {
  it.each([
    [['map', IMG, '1']],
    [['tree', IMG, '--block', '1']],
    [['ls', IMG, '--root', '1']],
    [['heatmap', IMG, '-o', join(tmp, 'x.png'), '--block-group', '1']],
    [['ls', IMG, '--generation', '999999']],
  ])('%j exits 1 with one located line', async (args) => {
    const r = await cli(...args);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/\b(1|999999)\b/);
  });

  it.each([
    [['map', IMG, '1x']],
    [['tree', IMG, '--block', 'one']],
    [['ls', IMG, '--root', '0xZZ']],
    [['heatmap', IMG, '-o', join(tmp, 'x.png'), '--block-group', '1k']],
    [['ls', IMG, '--generation', 'latest']],
    [['roots', IMG, '--max-blocks', 'many']],
    [['stat', IMG, '/rich', '--extents', 'all']],
    [['super', IMG, '--superblock', '3']],
  ])('%j exits 2', async (args) => {
    const r = await cli(...args);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
  });
});

describe('damage: a subvolume whose only tree block has no good copy', () => {
  let img = '';
  let leaf = 0n;
  let copies: { devid: bigint; physical: bigint }[] = [];
  beforeAll(() => {
    const src = sampleSources('default');
    const fs = Filesystem.open(src);
    const root = fs.treeRoot(256n)!;
    expect(root.level).toBe(0);
    leaf = root.bytenr;
    copies = blockCopies(fs, leaf);
    const k = new DamageKit(fs, src);
    // One byte of an item header: both DUP copies then fail their checksum.
    k.editBlock(leaf, (b) => {
      b[200] = b[200]! ^ 0xff;
    });
    img = join(tmp, 'sv-lost.img');
    writeSparse(k.overlays[0]!, img);
  });

  /** The checksum stored in each copy's header (bytes 0..3 for crc32c), read straight from the image file. */
  const onDisk = (physical: bigint) => {
    const fd = openSync(img, 'r');
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, Number(physical));
    closeSync(fd);
    return `0x${b.toString('hex')}`;
  };

  it.each([
    ['ls', '/subvol-a', '-R'],
    ['cat', '/subvol-a/tiny.txt'],
    ['stat', '/subvol-a/tiny.txt'],
    ['extract', '/subvol-a'],
  ])('%s %s: exit 1, the block and each copy once, "subvolume 256 (/subvol-a) unreadable", the next step', async (cmd, ...args) => {
    const out = cmd === 'extract' ? ['-o', join(tmp, 'out-' + Math.random().toString(36).slice(2))] : [];
    const r = await cli(cmd!, img, ...args, ...out);
    expect(r.code).toBe(1);
    const l = lines(r.stderr);
    expect(copies).toHaveLength(2);
    copies.forEach((c, i) => {
      const mine = l.filter((x) => x.includes(`tree block ${leaf} copy ${i + 1}: checksum mismatch`));
      expect(mine).toHaveLength(1);
      expect(mine[0]).toContain(`on disk ${onDisk(c.physical)}, computed 0x`);
      expect(mine[0]).toContain(`physical ${c.physical}`);
    });
    expect(l.at(-1)).toMatch(
      /^btrfs-inspect: \/subvol-a: inode 256 of subvolume 256 cannot be read: subvolume 256 \(\/subvol-a\) unreadable .*; "roots IMAGE --tree 256" lists older roots .* --generation N/,
    );
  });

  it('cat of several paths: the damaged one is damage (1), the others are still served', async () => {
    const sha = filesTruth('default').find((t) => t.path === 'rich/tiny.txt')?.sha256;
    const r = await cli('cat', img, '/subvol-a/tiny.txt', '/rich/tiny.txt');
    expect(r.code).toBe(1);
    expect(createHash('sha256').update(r.stdoutBytes).digest('hex')).toBe(sha);
  });

  it('tree --tree 256 marks the block on stdout, gives an NDJSON error record, and reports each copy once', async () => {
    const t = await cli('tree', img, '--tree', '256');
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(
      new RegExp(`^ERROR: tree block ${leaf} has no good copy \\(copy 1: checksum mismatch \\(on disk 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\); copy 2: checksum mismatch`, 'm'),
    );
    expect(t.stdout).toMatch(new RegExp(`^ERROR: tree block ${leaf}: only the first \\d+ of its \\d+ items pass the item checks`, 'm'));
    expect(lines(t.stderr).filter((x) => x.includes('checksum mismatch'))).toHaveLength(2);
    const j = await cli('tree', img, '--tree', '256', '--json');
    const errors = j.stdout
      .split('\n')
      .filter(Boolean)
      .map((x) => parseJsonExact(x) as { record: string; logical?: string; message?: string })
      .filter((x) => x.record === 'error');
    expect(errors.map((e) => String(e.logical))).toEqual([String(leaf), String(leaf)]);
    expect(errors[0]!.message).toMatch(/copy 1: checksum mismatch .*copy 2: checksum mismatch/);
    // One block alone (--block) is marked the same way.
    const one = await cli('tree', img, '--block', String(leaf));
    expect(one.code).toBe(1);
    expect(one.stdout.split('\n')[0]).toMatch(new RegExp(`^ERROR: tree block ${leaf} has no good copy \\(copy 1: checksum mismatch`));
    expect(lines(one.stderr).filter((x) => x.includes('checksum mismatch'))).toHaveLength(2);
  });

  it('check --json numbers copies from 1, as its messages and map --json do', async () => {
    const c = parseJsonExact((await cli('check', img, '--json')).stdout) as { findings: { code: string; message: string; location: { copy?: number; physical?: string; logical?: string } }[] };
    const m = parseJsonExact((await cli('map', img, String(leaf), '--json')).stdout) as { copies: { copy: number; physical: string }[] };
    const mine = c.findings.filter((f) => f.code === 'tree-block-csum' && String(f.location.logical) === String(leaf));
    expect(mine).toHaveLength(2);
    for (const f of mine) {
      expect(f.message).toContain(`copy ${f.location.copy}:`);
      expect(String(m.copies.find((x) => x.copy === f.location.copy)!.physical)).toBe(String(f.location.physical));
    }
    expect(mine.map((f) => f.location.copy).sort()).toEqual([1, 2]);
  });
});

describe('damage: the root tree has no good copy', () => {
  it('every command that reads through it says so and points at older root trees (roots, --generation)', async () => {
    const src = sampleSources('default');
    const fs = Filesystem.open(src);
    const k = new DamageKit(fs, src);
    k.editBlock(fs.superblock.root, (b) => {
      b.fill(0);
    });
    const img = join(tmp, 'root-lost.img');
    writeSparse(k.overlays[0]!, img);
    for (const cmd of [['subvolumes'], ['ls', '/'], ['sharing']]) {
      const r = await cli(cmd[0]!, img, ...cmd.slice(1));
      expect(r.code, cmd[0]).toBe(1);
      expect(
        lines(r.stderr).filter((x) => x.includes(`tree block ${fs.superblock.root} copy`)),
        cmd[0],
      ).toHaveLength(2);
      expect(lines(r.stderr).at(-1), cmd[0]).toMatch(/"roots IMAGE" lists the older root trees that survive .*--generation N/);
    }
  });
});

describe('a missing device: what another mirror or parity serves whole is a success', () => {
  const shaOf = (sample: string, path: string) => filesTruth(sample).find((t) => t.path === path)!.sha256;

  it.each([
    ['raid1', [1]],
    ['raid5', [1, 2]],
    ['raid6', [1, 3]],
    ['raid10', [1, 2, 3]],
  ] as const)("%s given devices %j: cat gives the kernel's bytes, exit 0, a warning naming the missing device and --device", async (sample, given) => {
    const args = [dev(sample, given[0]), ...given.slice(1).flatMap((n) => ['--device', dev(sample, n)])];
    const r = await cli('cat', ...args, '/small/pattern-big.bin');
    expect(r.code).toBe(0);
    expect(createHash('sha256').update(r.stdoutBytes).digest('hex')).toBe(shaOf(sample, 'small/pattern-big.bin'));
    const missing = manifest(sample)
      .devices.map((_d, i) => i + 1)
      .filter((n) => !(given as readonly number[]).includes(n));
    for (const n of missing) expect(r.stderr).toMatch(new RegExp(`^warning: device devid ${n} uuid \\S+ is missing \\[devid ${n}\\]; give it with --device PATH`, 'm'));
    expect(r.stderr).not.toMatch(/^error:/m);
  });

  it("extract of RAID5 without device 3: every file is the kernel's, exit 0", async () => {
    const out = join(tmp, 'raid5-degraded');
    const r = await cli('extract', dev('raid5'), '--device', dev('raid5', 2), '/small', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: device devid 3 .* is missing/m);
    const files = filesTruth('raid5').filter((t) => t.type === 'file' && t.sha256 && t.path.startsWith('small/') && t.subvol_id === 5);
    expect(files.length).toBeGreaterThan(3);
    const { readFileSync, readdirSync } = await import('node:fs');
    // The extracted tree's root is the directory asked for (its layout is extract's; found wherever it put /small).
    const base = readdirSync(out).includes('small') ? join(out, 'small') : out;
    for (const f of files)
      expect(
        createHash('sha256')
          .update(readFileSync(join(base, f.path.slice('small/'.length))))
          .digest('hex'),
        f.path,
      ).toBe(f.sha256);
  });

  it('raid0 without a device cannot serve the file: exit 1', async () => {
    const r = await cli('cat', dev('raid0'), '/small/pattern-big.bin');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^warning: device devid 2 .* is missing/m);
  });
});

describe('error lines: one per error', () => {
  it('cat of a file with a sector no copy holds good: one line naming file, offset, logical and the next step (the data finding is not repeated)', async () => {
    const recipe = recipes().find((x) => x.name === 'one data sector flipped')!;
    const at = recipe.expected[0]!.logical!;
    const img = join(tmp, 'sector.img');
    writeSparse(recipe.sources[0]!, img);
    const stop = await cli('cat', img, '/rich/random-2m.bin');
    expect(stop.code).toBe(1);
    expect(lines(stop.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^btrfs-inspect: /rich/random-2m\\.bin: cannot read file offset \\d+ \\(\\+4096\\) at logical ${at}: .*\\(--zero-fill-bad writes zeros there and goes on\\)$`)),
    ]);
    const go = await cli('cat', img, '/rich/random-2m.bin', '--zero-fill-bad');
    expect(go.code).toBe(1);
    expect(lines(go.stderr)).toHaveLength(1);
  });

  it('extract of that file: the failure is said once, in the failed list with its logical address (the data findings are not repeated on stderr)', async () => {
    const recipe = recipes().find((x) => x.name === 'one data sector flipped')!;
    const at = recipe.expected[0]!.logical!;
    const img = join(tmp, 'sector-x.img');
    writeSparse(recipe.sources[0]!, img);
    const out = join(tmp, 'sector-out');
    const r = await cli('extract', img, '/rich/random-2m.bin', '-o', out);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`failed \\(1\\):\\n  /rich/random-2m\\.bin: written incompletely .* at logical ${at}: `));
    expect(lines(r.stderr).filter((l) => /data-csum|checksum/.test(l))).toEqual([]);
  });
});
