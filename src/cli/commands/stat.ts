import type { Command } from 'commander';
import { fileExtents, symlinkTarget } from '../../fs/fileData.js';
import { extentJson, extentRow, inodeJson, inodeRows, nameFields, nameJson, pathFields, summarizeExtents, tableName, tablePath, xattrJson, xattrValueText } from '../../report/fs.js';
import { toJson } from '../../report/json.js';
import { renderFields, renderTable } from '../table.js';
import { type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { openTarget } from '../target.js';
import { finish } from '../findings.js';

interface StatOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  extents?: string;
}

export function registerStat(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('stat').argument('[image]', 'image file or device').argument('[path]', 'path as a mount of subvolume 5 shows it'))
    .description('every field of an inode item (flags by name), all its names (INODE_REF, INODE_EXTREF), xattrs, and an extents summary')
    .option('--inode <subvol:ino>', 'the inode to show, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--extents <n>', 'list the first N file extents (default 20; 0 for none)')
    .action((image: string | undefined, path: string | undefined, opts: StatOptions) => {
      const { fs, view, loc } = openTarget(image, path, opts, io);
      if (!loc.ok) return;
      const { ref, inode } = loc;
      const keep = opts.extents === undefined ? 20 : Math.max(0, Math.min(1_000_000, Number.parseInt(opts.extents, 10) || 0));
      const names = view.names(ref);
      const paths = view.paths(ref);
      const xattrs = view.xattrs(ref);
      const target = symlinkTarget(view, inode);
      const { summary, list } = summarizeExtents(fileExtents(view, ref), keep);
      if (opts.json) {
        io.stdout.write(toJson({
          ...inodeJson(inode),
          paths: paths.map((p) => pathFields(p).path),
          names: names.map((n) => nameJson(view, ref.subvol, n)),
          ...(target ? nameFields(target, 'symlinkTarget') : {}),
          xattrs: xattrs.map(xattrJson),
          extents: { ...summary, list: list.map(extentJson) },
        }, 2) + '\n');
        return done(finish(fs, io));
      }
      const out: string[] = [];
      const rows = inodeRows(inode);
      rows.unshift(['path', paths.length ? paths.map((p) => tablePath(p)).join('\n') : loc.path ? tablePath(loc.path) : '(no path)']);
      if (target) rows.push(['symlink target', tableName(target)]);
      out.push(renderFields(rows));
      if (names.length) {
        out.push(renderTable(['parent dir', 'name', 'index', 'item', 'path'], names.map((n) => {
          const d = view.dirPath({ subvol: ref.subvol, ino: n.parent });
          return [n.parent, tableName(n.name), n.index, n.source, d ? tablePath([...d, n.name]) : '?'];
        }), { title: 'names' }));
      }
      if (xattrs.length) {
        out.push(renderTable(['name', 'size', 'value'], xattrs.map((x) => [tableName(x.name), x.value.length, xattrValueText(x.value)]), { title: 'xattrs' }));
      }
      const comp = Object.entries(summary.compressed).map(([k, v]) => `${v} ${k}`).join(', ');
      out.push(`extents: ${summary.count} (${summary.regular} regular, ${summary.inline} inline, ${summary.prealloc} prealloc, ${summary.hole} hole${comp ? `; compressed: ${comp}` : ''}); ${summary.mappedBytes} bytes mapped, ${summary.diskBytes} bytes of disk extents`);
      if (list.length) {
        out.push(renderTable(['file offset', 'length', 'kind', 'compression', 'disk (logical +size)', 'offset in extent'], list.map(extentRow)) + (summary.count > list.length ? `\n... ${summary.count - list.length} more (--extents N)` : ''));
      }
      io.stdout.write(out.join('\n') + '\n');
      done(finish(fs, io));
    });
}
