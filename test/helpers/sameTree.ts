import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { expect } from 'vitest';

/** The sha256 of a file of this machine, read without changing its atime. */
export function sha256File(p: Buffer): string {
  const h = createHash('sha256');
  // O_NOATIME (allowed to the file's owner): reading must not change the atimes compared later.
  let fd: number;
  try {
    fd = nodeFs.openSync(p, nodeFs.constants.O_RDONLY | nodeFs.constants.O_NOATIME);
  } catch {
    fd = nodeFs.openSync(p, 'r');
  }
  const buf = Buffer.alloc(1 << 20);
  try {
    for (let n: number; (n = nodeFs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    nodeFs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Two extractions hold the same tree: the same names (as bytes), and for each
 * the same mode, size, times, link count and content (sha256). A directory's
 * atime, size and blocks are left out: listing it here updates its atime, and
 * its size and blocks are the host file system's, after the order names were
 * added (which the writes in flight decide). A file's blocks may differ by
 * one 4 KiB block: direct writes of files in flight at once interleave their
 * allocations, and a file in more than four pieces takes an ext4 extent
 * block, which its block count includes.
 */
export function expectSameTree(got: string, want: string): void {
  const list = (root: string): string[] => {
    const out: string[] = [];
    const walk = (rel: Buffer) => {
      for (const n of nodeFs.readdirSync(Buffer.concat([Buffer.from(root + '/'), rel]), { encoding: 'buffer' })) {
        const r = rel.length ? Buffer.concat([rel, Buffer.from('/'), n]) : n;
        // Names as bytes (latin1 keys): some are not UTF-8.
        out.push(r.toString('latin1'));
        if (nodeFs.lstatSync(Buffer.concat([Buffer.from(root + '/'), r])).isDirectory()) walk(r);
      }
    };
    walk(Buffer.alloc(0));
    return out.sort();
  };
  const at = (root: string, rel: string) => Buffer.concat([Buffer.from(root + '/'), Buffer.from(rel, 'latin1')]);
  const names = list(want);
  expect(names.length).toBeGreaterThan(10);
  expect(list(got)).toEqual(names);
  for (const rel of names) {
    const a = nodeFs.lstatSync(at(want, rel), { bigint: true });
    const b = nodeFs.lstatSync(at(got, rel), { bigint: true });
    const dirOr = (x: nodeFs.BigIntStats, v: bigint) => (x.isDirectory() ? 0n : v);
    expect([b.mode, dirOr(b, b.size), b.mtimeNs, dirOr(b, b.atimeNs), b.nlink], rel).toEqual([a.mode, dirOr(a, a.size), a.mtimeNs, dirOr(a, a.atimeNs), a.nlink]);
    const extra = dirOr(a, b.blocks - a.blocks);
    expect(extra >= -8n && extra <= 8n, `${rel}: ${b.blocks} blocks, ${a.blocks} in the first extraction`).toBe(true);
    if (a.isFile() && a.mode & 0o400n) expect(sha256File(at(got, rel)), rel).toBe(sha256File(at(want, rel)));
  }
}
