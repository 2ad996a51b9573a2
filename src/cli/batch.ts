import { FsView } from '../fs/FsView.js';
import { locate, type Located } from '../fs/select.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { EXIT_DAMAGE, EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from './context.js';
import type { CommonOptions } from './options.js';
import { openFilesystem } from './open.js';
import { openTarget } from './target.js';

/** One PATH of a batch: found, or why not (said on stderr, exit 2 for it). */
export type BatchTarget =
  | { name: string; loc: Extract<Located, { ok: true }> }
  | { name: string; error: string };

/**
 * The files `stat`, `cat` and `extents` were asked for: "CMD IMAGE PATH..."
 * (each path in turn), or one PATH / --inode as openTarget takes it. With
 * one target a missing file is a usage error as before; with several, each
 * missing one is reported and the rest still served.
 */
export function openBatch(image: string | undefined, paths: string[], opts: CommonOptions & { subvol?: string; inode?: string }, io: CliIO): { fs: Filesystem; view: FsView; targets: BatchTarget[] } {
  if (paths.length <= 1) {
    const { fs, view, loc, path } = openTarget(image, paths[0], opts, io);
    return { fs, view, targets: [{ name: path ?? (opts.inode !== undefined ? `--inode ${opts.inode}` : '/'), loc }] };
  }
  if (opts.inode !== undefined) throw new UsageError('give PATHs or --inode, not both');
  const fs = openFilesystem(image, opts, io);
  const view = new FsView(fs);
  const targets = paths.map((p): BatchTarget => {
    const loc = locate(view, { path: p, ...(opts.subvol !== undefined ? { subvol: opts.subvol } : {}) });
    return loc.ok ? { name: p, loc } : { name: p, error: loc.error };
  });
  return { fs, view, targets };
}

/** The worst of two exit codes (2 unreadable or usage > 1 damage > 0 ok). */
export function worst(a: number, b: number): number {
  const rank = (c: number) => (c === EXIT_USAGE ? 2 : c === EXIT_DAMAGE ? 1 : c === EXIT_OK ? 0 : 3);
  return rank(a) >= rank(b) ? a : b;
}
