/**
 * The filefrag part of `extents` and the file picture of `heatmap` against kernel-made
 * fixtures: extents both compressed and shared (test/fixtures/shared-compressed/build.sh), and
 * 5,000 clones / 1,024 punched holes (test/fixtures/dedup/build.sh). Truth: `filefrag -v -b1`
 * run on the mounted filesystem when each fixture was built.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileLayout } from '../src/analysis/layout.js';
import { analyzeSharing } from '../src/analysis/sharing.js';
import { FsView } from '../src/fs/FsView.js';
import { parsePath } from '../src/fs/names.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { filefragText } from '../src/report/filefrag.js';
import { LAYOUT, PALETTE, xOf } from '../src/report/heatmap.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli } from './helpers/cli.js';
import { decodePng } from './helpers/png.js';

const FIX = join(import.meta.dirname, 'fixtures');
const SC = join(FIX, 'shared-compressed');
const SC_IMG = join(SC, 'shared-compressed.runs.gz');
const dir = mkdtempSync(join(tmpdir(), 'filefrag-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A recorded filefrag output with its mount point taken away (the file as if mounted at /). */
function recorded(file: string, name: string): string {
  const text = readFileSync(file, 'utf8');
  const mnt = /^File size of (.*)\/[^/]+ is /m.exec(text)![1]!;
  return text.split(`${mnt}/${name}`).join(`/${name}`);
}

describe('filefrag -v -b1, byte for byte', () => {
  it("compressed and shared extents: flags in filefrag's order (encoded before shared), the expected column", async () => {
    for (const f of ['comp.bin', 'comp.reflink', 'mixed.bin']) {
      const r = await cli('extents', SC_IMG, `/${f}`, '--filefrag');
      expect(r.code, f).toBe(0);
      expect(r.stdout, f).toBe(recorded(join(SC, `filefrag-${f}.txt`), f));
    }
    expect(readFileSync(join(SC, 'filefrag-comp.reflink.txt'), 'utf8')).toContain('encoded,shared');
  });

  it('5,000 clones and 1,024 punched holes (dedup fixture)', () => {
    const view = new FsView(Filesystem.open([loadRunsImage(join(FIX, 'dedup', 'dedup.runs.gz'))]));
    const sharing = analyzeSharing(view);
    for (const f of ['clones', 'punched']) {
      const res = view.resolve(parsePath(`/${f}`));
      if (!res.ok) throw new Error(res.error);
      const got = filefragText({
        name: `/${f}`,
        size: res.inode.size,
        blockSize: BigInt(view.sectorsize),
        fsBlocks: view.fs.superblock.totalBytes / BigInt(view.sectorsize),
        fiemap: fileLayout(view, res.ref, sharing).fiemap,
      });
      expect(got === recorded(join(FIX, 'dedup', `filefrag-${f}.txt`), f), f).toBe(true);
    }
  });
});

describe('heatmap --file: an extent both compressed and shared shows both', () => {
  it('comp.reflink (every extent compressed and shared): shared over compressed; mixed.bin: then plain data', async () => {
    const at = (png: ReturnType<typeof decodePng>, x: number, y: number) => [...png.px.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3)];
    const top = LAYOUT.top + LAYOUT.labelH,
      h = LAYOUT.bandH + LAYOUT.barH;
    const out = join(dir, 'r.png');
    expect((await cli('heatmap', SC_IMG, '--file', '/comp.reflink', '-o', out)).code).toBe(0);
    const r = decodePng(readFileSync(out));
    // filefrag: [0, 262144) in two extents, both "encoded,shared".
    for (const off of [65536n, 196608n]) {
      const x = xOf(off, 262144n);
      expect(at(r, x, top + 3)).toEqual([...PALETTE.shared]);
      expect(at(r, x, top + h - 3)).toEqual([...PALETTE.compressed]);
    }
    expect((await cli('heatmap', SC_IMG, '--file', '/mixed.bin', '-o', out)).code).toBe(0);
    const m = decodePng(readFileSync(out));
    // filefrag: [0, 131072) "encoded,shared", [131072, 262144) no flag.
    expect(at(m, xOf(65536n, 262144n), top + h - 3)).toEqual([...PALETTE.compressed]);
    expect(at(m, xOf(196608n, 262144n), top + 3)).toEqual([...PALETTE.data.full]);
    expect(at(m, xOf(196608n, 262144n), top + h - 3)).toEqual([...PALETTE.data.full]);
  });
});
