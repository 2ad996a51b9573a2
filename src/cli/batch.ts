import { FsView } from '../fs/FsView.js';
import { type Located, locate } from '../fs/select.js';
import { JsonStreamArray, jsonDocument, writeJsonStream } from '../report/json.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, EXIT_USAGE, TextOut, UsageError } from './context.js';
import { openFilesystem } from './open.js';
import type { CommonOptions } from './options.js';
import { openTarget, unreadable } from './target.js';

/** One PATH of a batch: found, or why not (said on stderr; exit `code`: 2 not there, 1 damaged). */
export type BatchTarget = { name: string; loc: Extract<Located, { ok: true }> } | { name: string; error: string; code: number };

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
    if (loc.ok) return { name: p, loc };
    if (!loc.unreadable) return { name: p, error: loc.error, code: EXIT_USAGE };
    const u = unreadable(view, loc);
    return { name: p, error: `${u.message}; ${u.hint}`, code: EXIT_DAMAGE };
  });
  return { fs, view, targets };
}

/** The worst of two exit codes (2 unreadable or usage > 1 damage > 0 ok). */
export function worst(a: number, b: number): number {
  const rank = (c: number) => (c === EXIT_USAGE ? 2 : c === EXIT_DAMAGE ? 1 : c === EXIT_OK ? 0 : 3);
  return rank(a) >= rank(b) ? a : b;
}

/**
 * Serves every target of a batch in turn and writes the output: one JSON
 * document (the file's own, or `files[]` with each `request` when several
 * were asked for), or the texts one after another (a blank line between them,
 * or `separator`). Returns the worst code.
 */
export function writeBatch(
  command: string,
  targets: BatchTarget[],
  several: boolean,
  json: boolean | undefined,
  io: CliIO,
  render: { json(loc: Extract<Located, { ok: true }>): Record<string, unknown>; text(loc: Extract<Located, { ok: true }>): string; separator?: string },
): number {
  let code = EXIT_OK;
  const failed = (t: Extract<BatchTarget, { error: string }>) => {
    // Only several paths are looked up one by one: a single missing one is a usage error earlier.
    io.stderr.write(`btrfs-inspect: ${t.error}\n`);
    code = worst(code, t.code);
  };
  if (json) {
    // Streamed (writeJsonStream): a document's JsonStreamArrays (stat's xattrs) are written as read.
    const docOf = (t: BatchTarget): Record<string, unknown> => {
      if ('error' in t) {
        failed(t);
        return { request: t.name, error: t.error };
      }
      return { ...(several ? { request: t.name } : {}), ...render.json(t.loc) };
    };
    const out = new TextOut(io.stdout);
    writeJsonStream(jsonDocument(command, targets.length === 1 ? docOf(targets[0]!) : { files: new JsonStreamArray((emit) => targets.forEach((t) => emit(docOf(t)))) }), out.write);
    out.write('\n');
    out.flush();
    return code;
  }
  const texts: string[] = [];
  for (const t of targets) {
    if ('error' in t) failed(t);
    else texts.push(render.text(t.loc));
  }
  io.stdout.write(texts.map((x) => x + '\n').join(render.separator ?? '\n'));
  return code;
}
