import type { Command } from 'commander';
import type { FsView } from '../../fs/FsView.js';
import { fileExtents, symlinkTarget } from '../../fs/fileData.js';
import { displayName, displayPath, displayText } from '../../fs/names.js';
import type { Located } from '../../fs/select.js';
import { readInodeVerity } from '../../fs/verity.js';
import { statJson } from '../../report/fileDocs.js';
import { extentRow, inodeRows, summarizeExtents, xattrValueText } from '../../report/fs.js';
import { verityRows } from '../../report/verity.js';
import { openBatch, worst, writeBatch } from '../batch.js';
import type { CliIO } from '../context.js';
import { finish } from '../findings.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseCount } from '../parse.js';
import { renderFields, renderTable } from '../table.js';

interface StatOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  extents?: string;
}

export function registerStat(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('stat').argument('[image]', 'image file or device').argument('[paths...]', 'paths as a mount of subvolume 5 shows them (several: each in turn)'))
    .description('every field of an inode item (flags by name), all its names (INODE_REF, INODE_EXTREF), xattrs, and an extents summary')
    .option('--inode <subvol:ino>', 'the inode to show, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--extents <n>', 'list the first N file extents (default 20; 0 for none)')
    .action((image: string | undefined, paths: string[], opts: StatOptions) => {
      const { fs, view, targets } = openBatch(image, paths, opts, io);
      const keep = opts.extents === undefined ? 20 : parseCount(opts.extents, '--extents', 0, 1_000_000);
      const code = writeBatch('stat', targets, paths.length > 1, opts.json, io, { json: (loc) => statJson(view, loc, keep, true), text: (loc) => statText(view, loc, keep) });
      done(worst(finish(fs, io), code));
    });
}

type Found = Extract<Located, { ok: true }>;

function statText(view: FsView, loc: Found, keep: number): string {
  const { ref, inode } = loc;
  const names = view.names(ref);
  const paths = view.paths(ref);
  const target = symlinkTarget(view, inode);
  const out: string[] = [];
  const rows = inodeRows(inode);
  rows.unshift(['path', paths.length ? paths.map((p) => displayPath(p)).join('\n') : loc.path ? displayPath(loc.path) : '(no path)']);
  if (target) rows.push(['symlink target', displayText(target)]);
  const verity = readInodeVerity(view, ref);
  if (verity) rows.push(...verityRows(verity));
  out.push(renderFields(rows));
  if (names.length) {
    out.push(
      renderTable(
        ['parent dir', 'name', 'index', 'item', 'path'],
        names.map((n) => {
          const d = view.dirPath({ subvol: n.parentSubvol ?? ref.subvol, ino: n.parent });
          const parent = n.parentSubvol !== undefined ? `${n.parent} (subvolume ${n.parentSubvol})` : n.parent;
          return [parent, displayName(n.name), n.index, n.source, d ? displayPath([...d, n.name]) : '?'];
        }),
        { title: 'names' },
      ),
    );
  }
  // Each value is read, cut to its table text and let go (16,000 values of 64 KB are 16,000 leaves).
  const xattrRows: (string | number)[][] = [];
  for (const x of view.eachXattr(ref)) xattrRows.push([displayText(x.name), x.value.length, xattrValueText(x.value)]);
  if (xattrRows.length) out.push(renderTable(['name', 'size', 'value'], xattrRows, { title: 'xattrs' }));
  const { summary, list } = summarizeExtents(fileExtents(view, ref), keep);
  // Only regular files and symlinks (whose target is an inline extent) have file extents; a directory's
  // items hold its entries, a device's or fifo's nothing: no extents part for them unless the tree has some.
  if (inode.kind !== 'file' && inode.kind !== 'symlink' && summary.count === 0) return out.join('\n');
  const comp = Object.entries(summary.compressed)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  out.push(
    `extents: ${summary.count} (${summary.regular} regular, ${summary.inline} inline, ${summary.prealloc} prealloc, ${summary.hole} hole${comp ? `; compressed: ${comp}` : ''}); ${summary.mappedBytes} bytes mapped, ${summary.diskBytes} bytes of disk extents`,
  );
  if (list.length) {
    out.push(
      renderTable(['file offset', 'length', 'kind', 'compression', 'disk (logical +size)', 'offset in extent'], list.map(extentRow)) +
        (summary.count > list.length ? `\n... ${summary.count - list.length} more (--extents N)` : ''),
    );
  }
  return out.join('\n');
}
