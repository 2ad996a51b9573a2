import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { ROOT, SAMPLES } from './helpers/samples.js';

/**
 * Side by side with `btrfs restore -f BYTENR` (test/fixtures/restore-compare/restore.json, recorded
 * by its build.sh with btrfs-progs 6.19): for every subvolume-5 tree block btrfs-find-root lists on
 * the kernel-made sample-images/deleted, the files restore wrote and their sha256. Everything
 * restore brings back with content, `recover` (deleted files), the current tree (live files) or a
 * removed name of a living inode brings back too, with the same bytes.
 */
const IMG = join(SAMPLES, 'deleted', 'dev1.runs.gz');
const restore = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'restore-compare', 'restore.json'), 'utf8')) as {
  progs: string;
  blocks: { bytenr: number; generation: number; rc: number; files: { path: string; size: number; sha256: string }[] }[];
};
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('recover against btrfs restore -f on older fs-tree roots', () => {
  it('every file restore brings back (path and sha256) we bring back too', async () => {
    expect(restore.progs).toMatch(/^btrfs-progs v6\.19/);
    const out = mkdtempSync(join(tmpdir(), 'restore-compare-'));
    tmp.push(out);
    const r = await cli('recover', IMG, '-o', join(out, 'x'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const doc = parseJsonExact(r.stdout) as {
      files: { paths: string[]; type: string; writtenTo?: string | null }[];
      removedNames: { path: string; currentPaths: string[] }[];
    };
    const ours = new Map<string, Set<string>>();
    const add = (p: string, h: string) => ours.set(p, (ours.get(p) ?? new Set()).add(h));
    for (const f of doc.files) if (f.type === 'file' && f.writtenTo) for (const p of f.paths) add(p.replace(/^\//, ''), sha(readFileSync(f.writtenTo)));
    const m = await cli('manifest', IMG, '--format', 'sha256sum');
    expect(m.code, m.stderr).toBe(0);
    const live = new Map<string, string>();
    for (const line of m.stdout.trim().split('\n')) {
      const [h, p] = [line.slice(0, 64), line.slice(66).replace(/^\.\//, '')];
      live.set(p, h);
      add(p, h);
    }
    for (const n of doc.removedNames) for (const c of n.currentPaths) add(n.path.replace(/^\//, ''), live.get(c.replace(/^\//, ''))!);
    const withContent = new Set<string>();
    const empty = new Set<string>();
    for (const b of restore.blocks) {
      expect(b.rc).toBe(0);
      for (const f of b.files) {
        if (f.size === 0) {
          // A version of a file in the middle of its unlink (the kernel truncates it first): restore writes it empty.
          empty.add(f.path);
          expect(ours.has(f.path), f.path).toBe(true);
          continue;
        }
        withContent.add(`${f.path} ${f.sha256}`);
        expect([...(ours.get(f.path) ?? [])], `${f.path} from block ${b.bytenr}`).toContain(f.sha256);
      }
    }
    // The numbers the README states.
    const deleted = [...withContent].filter((x) => !live.has(x.split(' ')[0]!) || live.get(x.split(' ')[0]!) !== x.split(' ')[1]);
    expect([restore.blocks.length, withContent.size, deleted.length, empty.size]).toEqual([8, 14, 10, 7]);
  });
});
