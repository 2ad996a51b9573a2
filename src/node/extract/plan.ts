import type { FsView } from '../../fs/FsView.js';
import { displayPath, unsafeNameReason } from '../../fs/names.js';
import type { FileKind, Inode, InodeRef } from '../../fs/types.js';
import { type WalkItem, walkFiles } from '../../fs/walk.js';
import type { ExtractSelect } from './extractFiles.js';

/**
 * What an extraction would write, found by walking the image only: the list
 * `extract --dry-run` prints, and the selection `--path-regex` hands the
 * engine (which directories lead to a match is known only after the walk).
 * Paths are as the engine shows them: "/" and the path under the output
 * directory, names with controls escaped.
 */

export interface PlannedEntry {
  path: string;
  type: FileKind | 'missing';
  size: bigint;
  /** A further name of a hard-linked inode already listed (written as a hard link). */
  hardLink?: boolean;
  /** Not written, and why (an unsafe name, a socket, a device node not asked for, a device node or fifo without root, a missing inode). */
  not?: string;
  inode: Inode | null;
}

export interface Plan {
  entries: PlannedEntry[];
  /** Paths of the directories that are written (a match, or on the way to one). */
  dirs: Set<string>;
}

/**
 * Walks `start` (placed at `into` under the output directory) and lists what
 * would be written: everything below it, or with `regex` every entry whose
 * path matches plus the directories on the way to one.
 */
export function planExtraction(view: FsView, start: InodeRef, into: readonly Uint8Array[], regex: RegExp | null, opts: { isRoot: boolean; devices: boolean }): Plan {
  const refused = new WeakSet<WalkItem>();
  const kept: { e: PlannedEntry; matched: boolean }[] = [];
  const seenLinks = new Set<string>();
  const unsafe = into.map((c) => unsafeNameReason(c)).find((w) => w);
  // The directories on the way to the start are made whatever is below (the engine's `ways`).
  for (let n = 1; n < into.length && !unsafe; n++) kept.push({ e: { path: displayPath(into.slice(0, n)), type: 'dir', size: 0n, inode: null }, matched: false });
  for (const it of walkFiles(view, start, { prune: (x) => refused.has(x) })) {
    const name = it.path[it.path.length - 1];
    const path = displayPath([...into, ...it.path]);
    const i = it.inode;
    const e: PlannedEntry = { path, type: i ? i.kind : 'missing', size: i && i.kind !== 'dir' ? i.size : 0n, inode: i };
    const why = unsafe ?? (name ? unsafeNameReason(name) : null);
    if (why) {
      refused.add(it);
      e.not = `unsafe name: ${why}`;
    } else if (!i) e.not = 'inode missing';
    else if (it.loop) e.not = 'directory already met on this walk (a loop)';
    else if (i.kind === 'sock') e.not = 'socket (not recreated)';
    else if ((i.kind === 'chr' || i.kind === 'blk') && !opts.devices) e.not = `${i.kind} (device nodes are withheld; --devices or --preserve-all makes them)`;
    else if ((i.kind === 'fifo' || i.kind === 'chr' || i.kind === 'blk') && !opts.isRoot) e.not = `${i.kind} (made only when running as root)`;
    const matched = regex === null || regex.test(path);
    // The first name written of a hard-linked inode is a file, the others links to it.
    if (!e.not && matched && i?.kind === 'file' && i.nlink > 1) {
      const k = `${i.subvol}:${i.ino}`;
      if (seenLinks.has(k)) e.hardLink = true;
      else seenLinks.add(k);
    }
    // Directories are kept until the walk tells whether anything below them matches.
    if (matched || i?.kind === 'dir') kept.push({ e, matched });
  }
  const dirs = new Set<string>();
  for (const { e, matched } of kept) {
    if (!matched || e.not) continue;
    if (e.type === 'dir') dirs.add(e.path);
    // Every directory on the way, up to the output directory itself.
    for (let p = e.path.lastIndexOf('/'); p > 0; p = e.path.lastIndexOf('/', p - 1)) dirs.add(e.path.slice(0, p));
  }
  return { entries: kept.filter(({ e, matched }) => matched || dirs.has(e.path)).map(({ e }) => e), dirs };
}

/** The engine's selection for a regex plan: directories that lead to a match, entries that match. */
export function planSelect(plan: Plan, regex: RegExp): ExtractSelect {
  return { dir: (p) => plan.dirs.has(p), entry: (p) => regex.test(p) };
}
