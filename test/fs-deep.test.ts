/**
 * A kernel-made filesystem whose directories nest 5,000 levels deep
 * (test/fixtures/deep/build.sh; `btrfs check` clean, its output beside it).
 * Depth is not a loop: every command reads to the bottom, and no directory
 * is reported as looping or too deep.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';

const IMG = join(import.meta.dirname, 'fixtures', 'deep', 'deep.runs.gz');
const LEVELS = 5000;
const BOTTOM = '/d'.repeat(LEVELS) + '/bottom.txt';

describe('a directory tree 5,000 levels deep', () => {
  it('is clean for btrfs check, and for check', async () => {
    expect(readFileSync(join(import.meta.dirname, 'fixtures', 'deep', 'btrfs-check.txt'), 'utf8')).toMatch(/found 0 errors|no error found/);
    const r = await cli('check', IMG, '--json');
    expect(r.code).toBe(0);
  });

  it('ls -R lists every level and the file at the bottom, with no loop or depth finding', async () => {
    const r = await cli('ls', IMG, '/', '-R');
    expect(r.stderr).not.toMatch(/loop|too deep|deeper than/);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines.length).toBe(LEVELS + 1);
    // Paths relative to the listed directory.
    expect(lines.some((l) => l.endsWith(' ' + BOTTOM.slice(1)))).toBe(true);
  });

  it('stat and cat reach the bottom file by its 5,001-component path', async () => {
    const st = await cli('stat', IMG, BOTTOM, '--json');
    expect(st.code).toBe(0);
    expect(st.stderr).not.toMatch(/loop/);
    const cat = await cli('cat', IMG, BOTTOM);
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe('the bottom of a 5000-level tree\n');
  });

  it('the body file names every directory by its full path, without a false loop', async () => {
    const r = await cli('timeline', IMG, '--bodyfile');
    expect(r.stderr).not.toMatch(/loop/);
    expect(r.code).toBe(0);
    const names = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('|')[1]!);
    expect(names).toContain(BOTTOM);
    // Every level once: /d, /d/d, ... down to 5,000.
    const dirs = new Set(names.filter((n) => /^(\/d)+$/.test(n)).map((n) => n.length / 2));
    expect(dirs.size).toBe(LEVELS);
  });

  it('extract -o writes every level and the bottom file, past PATH_MAX, and nothing outside the output', async () => {
    const parent = mkdtempSync(join(tmpdir(), 'btrfs-deep-'));
    const out = join(parent, 'out');
    try {
      const r = await cli('extract', IMG, '-o', out);
      expect(r.stderr).not.toMatch(/loop|too deep|ENAMETOOLONG/);
      expect(r.code).toBe(0);
      // find(1) walks with directory descriptors (fts), so it reads any depth: an independent count.
      const find = (...args: string[]) => execFileSync('find', [out, ...args], { maxBuffer: 1 << 26 }).toString();
      expect(find('-type', 'd').split('\n').filter(Boolean).length).toBe(LEVELS + 1);
      expect(find('-name', 'bottom.txt', '-printf', '%d\n').trim()).toBe(String(LEVELS + 1));
      // sha256 of the bottom file, read in its own directory, against the text build.sh wrote.
      const sum = find('-name', 'bottom.txt', '-execdir', 'sha256sum', '{}', ';').split(' ')[0];
      expect(sum).toBe(createHash('sha256').update('the bottom of a 5000-level tree\n').digest('hex'));
      // Nothing beside the output directory, and no symlink anywhere in it.
      expect(readdirSync(parent)).toEqual(['out']);
      expect(find('-type', 'l')).toBe('');
    } finally {
      // rm(1): a recursive removal by path would pass PATH_MAX.
      execFileSync('rm', ['-rf', parent]);
    }
  });
});
