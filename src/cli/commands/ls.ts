import type { Command } from 'commander';
import { symlinkTarget } from '../../fs/fileData.js';
import { displayName, displayPath } from '../../fs/names.js';
import type { Inode } from '../../fs/types.js';
import { type WalkItem, walkFiles } from '../../fs/walk.js';
import { listingJson } from '../../report/fileDocs.js';
import { entryJson, longLine } from '../../report/fs.js';
import { jsonDocument, ndjsonHeader, writeJsonStream } from '../../report/json.js';
import { type CliIO, LineWriter, TextOut } from '../context.js';
import { finish } from '../findings.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { openTarget } from '../target.js';

interface LsOptions extends CommonOptions {
  long?: boolean;
  recursive?: boolean;
  directory?: boolean;
  allTimes?: boolean;
  subvol?: string;
  inode?: string;
}

export function registerLs(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('ls').argument('[image]', 'image file or device').argument('[path]', 'path as a mount of subvolume 5 shows it (default /)'))
    .description('list a directory: inode, type and name; -l adds mode, nlink, uid, gid, size, mtime (ns) and symlink targets')
    .option('-l, --long', 'long listing')
    .option('-R, --recursive', 'list subdirectories recursively (crosses into subvolumes); --json gives NDJSON, one entry per line')
    .option('-d, --directory', 'list the directory itself, not its entries')
    .option('--all-times', 'with -l: atime, mtime, ctime and otime')
    .option('--subvol <id|path>', 'paths start at this subvolume')
    .option('--inode <subvol:ino>', 'list this inode instead of a path')
    .action((image: string | undefined, path: string | undefined, opts: LsOptions) => {
      const { fs, view, loc } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      const w = new LineWriter(io.stdout);
      const items: Generator<WalkItem> = loc.inode.kind === 'dir' && !opts.directory ? walkFiles(view, loc.ref, opts.recursive ? {} : { prune: (it) => it.depth >= 1 }) : single(loc.ref, loc.inode);
      const base = loc.path ?? [];
      const listingDir = loc.inode.kind === 'dir' && !opts.directory;
      if (opts.json && !opts.recursive) {
        // Streamed: entries[] and each entry's xattrs[] are written as they are read.
        const out = new TextOut(io.stdout);
        writeJsonStream(jsonDocument('ls', listingJson(view, loc, opts.directory, true)), out.write);
        out.write('\n');
        out.flush();
      } else {
        // NDJSON (-R --json): a header record, then one "entry" record per file.
        const rec = new TextOut(io.stdout);
        if (opts.json) rec.write(ndjsonHeader('ls'));
        for (const it of items) {
          if (listingDir && it.depth === 0) continue;
          const target = symlinkTarget(view, it.inode);
          if (opts.json) {
            // One line, its xattrs[] streamed into it (writeJsonStream, compact).
            writeJsonStream({ record: 'entry', ...entryJson({ ...it, path: [...base, ...it.path] }, target, view.eachXattr(it.ref)) }, rec.write, 0);
            rec.write('\n');
            continue;
          }
          const name = opts.recursive ? displayPath(it.path).slice(1) : displayName(it.path[it.path.length - 1] ?? new Uint8Array(0)) || displayPath(base);
          const shown = it.inode?.kind === 'dir' && opts.recursive ? `${name}/` : name;
          if (opts.long) w.line(longLine(it, shown, target, opts.allTimes ?? false));
          else w.line(`${String(it.ref.ino).padStart(7)} ${(it.inode?.kind ?? 'missing').padEnd(7)} ${shown}${it.entry?.crossing === 'subvolume' ? '  [subvolume ' + it.ref.subvol + ']' : ''}`);
        }
        w.flush();
        rec.flush();
      }
      done(finish(fs, io));
    });
}

function* single(ref: WalkItem['ref'], inode: Inode): Generator<WalkItem> {
  yield { path: [], entry: null, ref, inode, depth: 0 };
}
