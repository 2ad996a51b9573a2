import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FsView } from '../src/fs/FsView.js';
import { type FileExtent, fileExtents, inodeRecord, readFile } from '../src/fs/fileData.js';
import type { Inode } from '../src/fs/types.js';
import { walkFiles } from '../src/fs/walk.js';
import { filesTruth, ns } from './helpers/fsTruth.js';
import { openSample, sampleNames } from './helpers/samples.js';

/** sha256 of a file's bytes as readFile gives them (holes as zeros) with the given extents. */
function sha(view: FsView, inode: Inode, extents: readonly FileExtent[] | null): string {
  const h = createHash('sha256');
  for (const s of readFile(view, inode, { extents })) {
    if (s.kind === 'data') h.update(s.bytes);
    else if (s.kind === 'zero') h.update(new Uint8Array(Number(s.length)));
    else throw new Error(s.message);
  }
  return h.digest('hex');
}

// inodeRecord reads an inode's items in one pass over its keys (extract, in inode order): it must
// give what the lookups of each kind give, and files read with its extents the kernel's bytes.
describe.each(['holes', 'compress'].filter((n) => sampleNames().includes(n)))('inodeRecord on %s', (name) => {
  it('gives the inode, xattrs and extents of the per-kind lookups, and the files the kernel wrote', () => {
    const view = new FsView(openSample(name));
    const truth = new Map(filesTruth(name).map((t) => [t.path_b64, t]));
    let files = 0;
    let fallback = 0;
    for (const it of walkFiles(view, view.rootOf(view.defaultSubvolume()))) {
      if (!it.inode) continue;
      const rec = inodeRecord(view, it.ref);
      expect(rec.inode).toEqual(view.inode(it.ref, { remember: false }));
      expect(rec.xattrs ?? view.xattrs(it.ref)).toEqual(view.xattrs(it.ref));
      const all = [...fileExtents(view, it.ref)];
      if (rec.extents) expect(rec.extents).toEqual(all);
      else {
        // Left to fileExtents only past the bound (many extents, or a directory's entries).
        expect(all.length > 64 || it.inode.kind === 'dir').toBe(true);
        fallback++;
      }
      if (it.inode.kind !== 'file') continue;
      const t = truth.get(Buffer.from(it.path.map((c) => Buffer.from(c).toString('latin1')).join('/'), 'latin1').toString('base64'));
      if (t?.type !== 'file' || !t.sha256) continue;
      expect(ns(rec.inode!.mtime)).toBe(t.mtime_ns);
      expect(sha(view, rec.inode!, rec.extents)).toBe(t.sha256);
      files++;
    }
    expect(files).toBeGreaterThan(10);
    // Only directories with many entries, or files with many extents, take the fallback.
    expect(fallback).toBeLessThan(files);
  });
});
