import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { readAll } from '../../fs/fileData.js';
import { FsView } from '../../fs/FsView.js';
import { locate, type Target } from '../../fs/select.js';
import type { Inode } from '../../fs/types.js';
import { walkFiles, type WalkItem } from '../../fs/walk.js';
import { entryJson, longLine, tableName, tablePath } from '../../report/fs.js';
import { toJson } from '../../report/json.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { openFilesystem } from '../open.js';
import { EXIT_DAMAGE, EXIT_OK, LineWriter, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { reportFindings } from '../findings.js';

/**
 * Shared by the file commands (ls, stat, cat, extract): "CMD X" with one
 * positional that is not a file on this machine means path X in the demo
 * image; opens the filesystem and finds the target.
 */
export function openTarget(image: string | undefined, path: string | undefined, opts: CommonOptions & { subvol?: string; inode?: string }, io: CliIO, want: { defaultPath?: string } = {}) {
  if (path === undefined && image !== undefined && !existsSync(image) && opts.inode === undefined) {
    path = image;
    image = undefined;
  }
  const fs = openFilesystem(image, opts, io);
  const view = new FsView(fs);
  const t: Target = {
    ...(path !== undefined ? { path } : want.defaultPath !== undefined ? { path: want.defaultPath } : {}),
    ...(opts.inode !== undefined ? { inode: opts.inode } : {}),
    ...(opts.subvol !== undefined ? { subvol: opts.subvol } : {}),
  };
  if (path !== undefined && opts.inode !== undefined) throw new UsageError('give a PATH or --inode, not both');
  if (t.path === undefined && t.inode === undefined) throw new UsageError('name a file: PATH or --inode SUBVOL:INO');
  const loc = locate(view, t);
  if (!loc.ok) throw new UsageError(loc.error);
  return { fs, view, loc, path };
}

/** A symlink's target (null when the inode is not a symlink or the target is unreadable). */
export function symlinkTarget(view: FsView, inode: Inode | null): Uint8Array | null {
  if (!inode || inode.kind !== 'symlink') return null;
  const r = readAll(view, inode, { max: 65536 });
  return r.errors.length ? null : r.bytes;
}

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
      const items: Generator<WalkItem> = loc.inode.kind === 'dir' && !opts.directory
        ? walkFiles(view, loc.ref, opts.recursive ? {} : { prune: (it) => it.depth >= 1 })
        : single(loc.ref, loc.inode);
      const base = loc.path ?? [];
      const listingDir = loc.inode.kind === 'dir' && !opts.directory;
      if (opts.json && !opts.recursive) {
        const entries: Record<string, unknown>[] = [];
        for (const it of items) {
          if (listingDir && it.depth === 0) continue;
          entries.push(entryJson({ ...it, path: [...base, ...it.path] }, symlinkTarget(view, it.inode)));
        }
        io.stdout.write(toJson(listingDir ? { ...entryJson({ path: base, entry: null, ref: loc.ref, inode: loc.inode, depth: 0 }, null), entries } : entries[0], 2) + '\n');
      } else {
        for (const it of items) {
          if (listingDir && it.depth === 0) continue;
          const target = symlinkTarget(view, it.inode);
          if (opts.json) { w.line(toJson(entryJson({ ...it, path: [...base, ...it.path] }, target))); continue; }
          const name = opts.recursive ? tablePath(it.path).slice(1) : tableName(it.path[it.path.length - 1] ?? new Uint8Array(0)) || tablePath(base);
          const shown = it.inode?.kind === 'dir' && opts.recursive ? `${name}/` : name;
          if (opts.long) w.line(longLine(it, shown, target, opts.allTimes ?? false));
          else w.line(`${String(it.ref.ino).padStart(7)} ${(it.inode?.kind ?? 'missing').padEnd(7)} ${shown}${it.entry?.crossing === 'subvolume' ? '  [subvolume ' + it.ref.subvol + ']' : ''}`);
        }
        w.flush();
      }
      done(finish(fs, io));
    });
}

function* single(ref: WalkItem['ref'], inode: Inode): Generator<WalkItem> {
  yield { path: [], entry: null, ref, inode, depth: 0 };
}

/** Reports findings on stderr; the exit code for them. */
export function finish(fs: Filesystem, io: CliIO): number {
  return reportFindings(fs, io) ? EXIT_DAMAGE : EXIT_OK;
}
