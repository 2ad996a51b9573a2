import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { ROOT } from './helpers/samples.js';

/**
 * Side by side with The Sleuth Kit 4.13 (built from source; its btrfs support is experimental):
 * test/fixtures/tsk-compare/<sample>.json, recorded by its build.sh, holds `fls -r -p -m /`,
 * `fls -r -d -p` and `icat` of every regular file fls lists, on the forensics samples. Every name
 * fls lists, our body file (timeline --bodyfile: live names and recovered ones) lists too; every
 * file icat brings back, we bring back with the same sha256 (manifest for live files, recover -o
 * for deleted ones).
 */
const DIR = join(ROOT, 'test', 'fixtures', 'tsk-compare');
/** Sample, image, and the counts the README states: TSK's names (its $ entries aside), deleted names (fls -d), files icat brings back; our recovered (deleted) files. */
const SAMPLES: [string, string, { names: number; deleted: number; icat: number; recovered: number }][] = [
  ['deleted', join(ROOT, 'sample-images', 'deleted', 'dev1.runs.gz'), { names: 6, deleted: 0, icat: 4, recovered: 9 }],
  ['forensics-orphans', join(ROOT, 'test', 'fixtures', 'forensics-orphans', 'dev1.runs.gz'), { names: 85, deleted: 0, icat: 83, recovered: 8 }],
  ['forensics-removed-bg', join(ROOT, 'test', 'fixtures', 'forensics-removed-bg', 'dev1.runs.gz'), { names: 2, deleted: 0, icat: 2, recovered: 4 }],
  ['forensics-carve-unclaimed', join(ROOT, 'test', 'fixtures', 'forensics-carve-unclaimed', 'dev1.runs.gz'), { names: 3, deleted: 0, icat: 2, recovered: 0 }],
];
interface Tsk {
  tsk: string;
  fls_m: { rc: number; lines: string[] };
  fls_d: { rc: number; lines: string[] };
  icat: { inode: string; name: string; size: number; rc: number; bytes: number; sha256: string }[];
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A body-file name without its marks: " (deleted)", " (deleted-realloc)", and a symlink's " -> target". */
function bare(name: string, mode: string): { path: string; deleted: boolean } {
  let p = name;
  const deleted = / \(deleted(-realloc)?\)$/.test(p);
  p = p.replace(/ \(deleted(-realloc)?\)$/, '');
  if (mode.startsWith('l/')) p = p.replace(/ -> .*$/, '');
  return { path: p, deleted };
}

describe.each(SAMPLES)('TSK 4.13 against recover / ls on %s', (name, img, counts) => {
  const file = join(DIR, `${name}.json`);
  const tsk = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Tsk) : null;

  it('every name fls lists, our body file lists; every file icat brings back, we bring back with the same bytes', async () => {
    expect(tsk, `${file} (test/fixtures/tsk-compare/build.sh)`).not.toBeNull();
    expect(tsk!.tsk).toMatch(/4\.13/);
    const body = await cli('timeline', img, '--bodyfile');
    expect(body.code, body.stderr).toBe(0);
    const ours = new Set(
      body.stdout
        .trim()
        .split('\n')
        .map((l) => l.split('|'))
        .map((f) => bare(f[1]!, f[3]!).path),
    );
    for (const line of tsk!.fls_m.lines) {
      const f = line.split('|');
      const { path } = bare(f[1]!, f[3]!);
      if (isTskVirtual(path)) continue;
      expect(ours.has(path), `fls lists ${path}`).toBe(true);
    }
    // Content: the live files' sha256 (manifest), the recovered files' (recover -o).
    const have = new Map<string, Set<string>>();
    const add = (p: string, h: string) => have.set(p, (have.get(p) ?? new Set()).add(h));
    const m = await cli('manifest', img, '--format', 'sha256sum');
    expect(m.code, m.stderr).toBe(0);
    for (const l of m.stdout.trim().split('\n')) add(`/${l.slice(66).replace(/^\.\//, '')}`, l.slice(0, 64));
    const out = mkdtempSync(join(tmpdir(), 'tsk-compare-'));
    tmp.push(out);
    const r = await cli('recover', img, '-o', join(out, 'x'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as { files: { paths: string[]; type: string; writtenTo?: string | null }[] };
    for (const f of doc.files) if (f.type === 'file' && f.writtenTo) for (const p of f.paths) add(p, sha(readFileSync(f.writtenTo)));
    const recovered = tsk!.icat.filter((c) => c.rc === 0);
    const names = tsk!.fls_m.lines.filter((l) => !isTskVirtual(l.split('|')[1]!));
    const ourFiles = doc.files.filter((f) => f.type === 'file' && f.writtenTo).length;
    expect({ names: names.length, deleted: tsk!.fls_d.lines.length, icat: recovered.filter((c) => !isTskVirtual(c.name)).length, recovered: ourFiles }).toEqual(counts);
    for (const c of recovered) {
      const f = tsk!.fls_m.lines.find((l) => l.split('|')[2] === c.inode && l.split('|')[1] === c.name)!.split('|');
      const { path } = bare(f[1]!, f[3]!);
      if (isTskVirtual(path)) continue;
      expect([...(have.get(path) ?? [])], `icat ${c.inode} (${path})`).toContain(c.sha256);
    }
  });
});

/** TSK's own virtual entries (not names on the filesystem): $OrphanFiles and its other $ files. */
function isTskVirtual(path: string): boolean {
  return path.startsWith('/$');
}
