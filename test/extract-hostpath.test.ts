/**
 * Output paths past PATH_MAX (src/node/extract/hostPath.ts): a chain of directories with
 * 250-byte names, 60 deep (some 15,000 bytes of path), made and written through HostPaths
 * with at most two anchors open, then read back by find(1), which walks with directory
 * descriptors and so reads any depth.
 */
import { execFileSync } from 'node:child_process';
import { promises as fsp, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type HostLoc, HostPaths, REL_MAX } from '../src/node/extract/hostPath.js';

const DEPTH = 60;
const nameOf = (level: number) => Buffer.from(`${String(level).padStart(3, '0')}${'n'.repeat(247)}`);

describe('HostPaths', () => {
  it('makes and writes a 15,000-byte path, reopening closed anchors, with every path short and no descriptor left open', async () => {
    const base = mkdtempSync(join(tmpdir(), 'btrfs-hostpath-'));
    const fdsBefore = readdirSync('/proc/self/fd').length;
    const paths = new HostPaths(2);
    const longest = { n: 0 };
    const use = <T>(loc: HostLoc, name: Uint8Array | null, f: (p: Buffer) => Promise<T>) =>
      paths.use(loc, name, (p) => {
        longest.n = Math.max(longest.n, p.length);
        return f(p);
      });
    try {
      const levels: HostLoc[] = [paths.root(base)];
      for (let i = 1; i <= DEPTH; i++) {
        const loc = paths.child(levels[i - 1]!, nameOf(i));
        await use(loc, null, (p) => fsp.mkdir(p, { mode: 0o700 }));
        levels.push(loc);
      }
      // Files at levels in an order that needs anchors closed on the way down to be opened again,
      // several at once (each write holds its anchor while it runs).
      const at = [DEPTH, 3, 45, 17, DEPTH - 1, 9, 30];
      await Promise.all(at.map((l) => use(levels[l]!, Buffer.from('f'), (p) => fsp.writeFile(p, `level ${l}\n`, { flag: 'wx' }))));
      expect(longest.n).toBeLessThan(REL_MAX + 2 * 256);
    } finally {
      await paths.close();
    }
    expect(readdirSync('/proc/self/fd').length).toBe(fdsBefore);
    try {
      const found = execFileSync('find', [base, '-name', 'f', '-printf', '%d ', '-execdir', 'cat', '{}', ';']).toString().trim().split('\n').sort();
      expect(found).toEqual([3, 9, 17, 30, 45, DEPTH - 1, DEPTH].map((l) => `${l + 1} level ${l}`).sort());
      const dirs = execFileSync('find', [base, '-mindepth', '1', '-type', 'd', '-printf', '%d %f\n']).toString().trim().split('\n');
      expect(dirs).toEqual(Array.from({ length: DEPTH }, (_, i) => `${i + 1} ${nameOf(i + 1).toString()}`));
    } finally {
      execFileSync('rm', ['-rf', base]);
    }
  });
});
