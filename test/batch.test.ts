import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { recipes } from './helpers/damagedCheck.js';
import { filesTruth, writeSparse } from './helpers/fsTruth.js';
import { SAMPLES, sampleNames } from './helpers/samples.js';

const IMG = join(SAMPLES, 'default', 'dev1.runs.gz');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe.runIf(sampleNames().includes('default'))('batch use: stat, cat, extents take several paths', () => {
  const truth = filesTruth('default');
  const entry = (p: string) => truth.find((t) => t.path === p)!;

  it('stat IMAGE A B: each in turn; a missing one is named on stderr and makes the exit code 2, the others still shown', async () => {
    const r = await cli('stat', IMG, '/rich/tiny.txt', '/no-such', '/rich/symlink-relative');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/no-such: no such file or directory');
    expect(r.stdout).toMatch(/│ path +│ \/rich\/tiny\.txt +│/);
    expect(r.stdout).toMatch(/│ path +│ \/rich\/symlink-relative +│/);
    const j = parseJsonExact((await cli('stat', IMG, '/rich/tiny.txt', '/rich/nodatacow.bin', '--json')).stdout) as { version: number; files: { request: string; size: string; paths: string[] }[] };
    expect(j.files.map((f) => [f.request, f.paths[0], Number(f.size)])).toEqual([
      ['/rich/tiny.txt', '/rich/tiny.txt', entry('rich/tiny.txt').size],
      ['/rich/nodatacow.bin', '/rich/nodatacow.bin', entry('rich/nodatacow.bin').size],
    ]);
    const ok = await cli('stat', IMG, '/rich/tiny.txt', '/rich/nodatacow.bin');
    expect(ok.code).toBe(0);
  });

  it('cat IMAGE A B writes A then B (as cat does); a directory among them is refused and the exit code is 2', async () => {
    const a = 'rich/tiny.txt',
      b = 'rich/random-2m.bin';
    const r = await cli('cat', IMG, `/${a}`, `/${b}`);
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.length).toBe(entry(a).size + entry(b).size);
    expect(sha(r.stdoutBytes.subarray(0, entry(a).size))).toBe(entry(a).sha256);
    expect(sha(r.stdoutBytes.subarray(entry(a).size))).toBe(entry(b).sha256);
    const d = await cli('cat', IMG, `/${a}`, '/rich', `/${a}`);
    expect(d.code).toBe(2);
    expect(d.stderr).toContain('/rich: is a directory');
    expect(d.stdoutBytes.length).toBe(2 * entry(a).size);
  });

  it('extents IMAGE A B --json: one document, a file per path, as each alone gives', async () => {
    const both = parseJsonExact((await cli('extents', IMG, '/rich/tiny.txt', '/rich/random-2m.bin', '--json')).stdout) as { files: Record<string, unknown>[] };
    const one = parseJsonExact((await cli('extents', IMG, '/rich/random-2m.bin', '--json')).stdout) as Record<string, unknown>;
    expect(both.files).toHaveLength(2);
    expect(both.files[1]).toEqual({ request: '/rich/random-2m.bin', ...Object.fromEntries(Object.entries(one).filter(([k]) => k !== 'version' && k !== 'command')) });
    const t = await cli('extents', IMG, '/rich/tiny.txt', '/rich/random-2m.bin');
    expect(t.stdout.match(/^extents of inode \d+ in subvolume 5/gm)).toHaveLength(2);
  });

  it('cat --zero-fill-bad: zeros for the sector no copy holds good, named on stderr (offset, length, logical, why); exit 1', async () => {
    const recipe = recipes().find((x) => x.name === 'one data sector flipped')!;
    const at = recipe.expected[0]!.logical!;
    const f = entry('rich/random-2m.bin');
    // The flipped sector is the 6th of the file's first extent (the recipe's choice, from FIEMAP).
    const bad = 5 * 4096;
    const dir = mkdtempSync(join(tmpdir(), 'batch-'));
    try {
      const img = join(dir, 'img');
      writeSparse(recipe.sources[0]!, img);
      const stop = await cli('cat', img, '/rich/random-2m.bin');
      expect(stop.code).toBe(1);
      expect(stop.stdoutBytes.length).toBe(bad);
      expect(stop.stderr).toContain('--zero-fill-bad');
      const r = await cli('cat', img, '/rich/random-2m.bin', '--zero-fill-bad');
      expect(r.code).toBe(1);
      expect(r.stdoutBytes.length).toBe(f.size);
      expect(r.stdoutBytes.subarray(bad, bad + 4096).every((x) => x === 0)).toBe(true);
      const clean = (await cli('cat', IMG, '/rich/random-2m.bin')).stdoutBytes;
      expect(sha(clean)).toBe(f.sha256);
      expect(r.stdoutBytes.subarray(0, bad).equals(clean.subarray(0, bad))).toBe(true);
      expect(r.stdoutBytes.subarray(bad + 4096).equals(clean.subarray(bad + 4096))).toBe(true);
      expect(r.stderr).toMatch(new RegExp(`/rich/random-2m\\.bin: zero-filled file offset ${bad} \\(\\+4096\\) at logical ${at}: .*checksum`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
