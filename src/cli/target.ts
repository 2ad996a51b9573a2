import { FsView } from '../fs/FsView.js';
import { displayPath } from '../fs/names.js';
import { type Located, locate, type Target } from '../fs/select.js';
import type { InodeRef } from '../fs/types.js';
import { type CliIO, NotServedError, UsageError } from './context.js';
import { olderRootsHint, reportFindings } from './findings.js';
import { openFilesystem } from './open.js';
import type { CommonOptions } from './options.js';

/**
 * Shared by the file commands (ls, stat, cat, extract, extents): opens the
 * filesystem of IMAGE (the first positional, always) and finds the target.
 * A path that leads to damage (an inode no copy of its tree block holds) is
 * damage, exit 1, said with the blocks that failed; a path that is not
 * there is a usage error.
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
  if (!loc.ok) {
    if (!loc.unreadable) throw new UsageError(loc.error);
    // The blocks that failed and why each copy did (the findings), then what that costs and where to look next.
    reportFindings(fs, io, { nextStep: false });
    const u = unreadable(view, loc);
    throw new NotServedError(u.message, u.hint);
  }
  return { fs, view, loc, path };
}

/**
 * What an unreadable inode costs ("subvolume 256 (/sv) unreadable" when it is
 * the subvolume's root directory) and the next step: an older copy of the
 * tree may survive ("roots"), readable with --generation.
 */
export function unreadable(view: FsView, loc: Extract<Located, { ok: false }>): { message: string; hint: string } {
  const hint = (tree: bigint) => olderRootsHint(view.fs, tree)!;
  const ref = loc.unreadable as InodeRef;
  const info = view.subvolume(ref.subvol);
  const svName = info?.path ? ` (${displayPath(info.path)})` : '';
  const what = info && ref.ino === info.rootDirId ? `subvolume ${ref.subvol}${svName} unreadable` : `inode ${ref.ino} of subvolume ${ref.subvol}${svName} unreadable`;
  return {
    message: `${loc.error}: ${what} (no copy of its tree block is good: the error lines name the block and why each copy failed)`,
    hint: hint(ref.subvol),
  };
}
