import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractFiles } from '../src/cli/commands/extract.js';
import { resolveLogical } from '../src/fs/backrefs.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, readFile } from '../src/fs/fileData.js';
import { walkFiles } from '../src/fs/walk.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { NotBtrfsError } from '../src/volume/assemble.js';
import { CORPUS } from './helpers/samples.js';

const manifest = join(CORPUS, 'progs', 'MANIFEST.tsv');
const images = existsSync(manifest)
  ? readFileSync(manifest, 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split('\t')[0]!)
  : [];
const tmpRoot = mkdtempSync(join(tmpdir(), 'btrfs-inspect-corpus-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));

/**
 * btrfs-progs' damaged, fuzzed and btrfs-image images: listing subvolumes,
 * walking every subvolume, reading every file, resolving extents and
 * extracting everything must never throw or hang; what is wrong comes back
 * as findings, error segments and extract failures.
 */
describe.runIf(images.length > 0)('btrfs-progs corpus: the file layer never crashes', () => {
  it.each(images)(
    '%s',
    async (img) => {
      let fs: Filesystem;
      try {
        fs = Filesystem.open([loadRunsImage(join(CORPUS, 'progs', `${img}.runs.gz`))]);
      } catch (e) {
        expect(e).toBeInstanceOf(NotBtrfsError);
        return;
      }
      const view = new FsView(fs);
      const subs = view.subvolumes();
      let entries = 0;
      for (const s of subs) {
        for (const it of walkFiles(view, view.rootOf(s.id), { crossSubvolumes: false })) {
          entries++;
          view.paths(it.ref);
          view.xattrs(it.ref);
          if (it.inode && (it.inode.kind === 'file' || it.inode.kind === 'symlink')) {
            for (const seg of readFile(view, it.inode)) if (seg.kind === 'error') expect(seg.message.length).toBeGreaterThan(0);
            let k = 0;
            for (const e of fileExtents(view, it.ref)) if (e.kind === 'regular' && k++ < 2) resolveLogical(view, e.diskBytenr);
          }
        }
      }
      expect(entries).toBeLessThan(1_000_000);
      const root = view.rootOf(5n);
      const inode = view.inode(root);
      if (inode) await extractFiles(view, { ref: root, inode, into: null }, join(tmpRoot, img.replace(/\W/g, '_')), { isRoot: false });
      if (img.includes('066-missing-root-orphan-item')) expect(subs.find((s) => s.id === 256n)).toMatchObject({ deleted: true, path: null });
    },
    30_000,
  );
});
