import { FsView } from '../fs/FsView.js';
import { locate, type Target } from '../fs/select.js';
import { openFilesystem } from './open.js';
import { UsageError, type CliIO } from './context.js';
import type { CommonOptions } from './options.js';

/**
 * Shared by the file commands (ls, stat, cat, extract, extents): opens the
 * filesystem of IMAGE (the first positional, always) and finds the target.
 */
export function openTarget(image: string | undefined, path: string | undefined, opts: CommonOptions & { subvol?: string; inode?: string }, io: CliIO, want: { defaultPath?: string } = {}) {
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
