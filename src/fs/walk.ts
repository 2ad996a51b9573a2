import { displayPath } from './names.js';
import { FT_OF_KIND, type FsView } from './FsView.js';
import type { DirEntry, Inode, InodeRef } from './types.js';

/** One file met by a walk. */
export interface WalkItem {
  /** Path from the walk's start (components). */
  path: Uint8Array[];
  /** The directory entry that led here; null for the start. */
  entry: DirEntry | null;
  ref: InodeRef;
  /** Null when the entry's inode item is missing or unreadable. */
  inode: Inode | null;
  depth: number;
  /** A directory already met on this walk (a hard-linked directory: a loop); not entered again. */
  loop?: boolean;
  /** A directory deeper than maxDepth; not entered. */
  tooDeep?: boolean;
}

export interface WalkFilesOptions {
  /** Deepest directory level entered (default 1024). */
  maxDepth?: number;
  /** Enter subvolumes linked below the start (default true). */
  crossSubvolumes?: boolean;
  /** Return true to not enter this directory. */
  prune?: (item: WalkItem) => boolean;
}

/**
 * Every file below `start`, depth first, each directory's entries in
 * readdir order, the start itself first. Uses an explicit stack (no
 * recursion), enters each directory once (an inode met twice as a
 * directory is a loop: reported, not entered), and stops at maxDepth.
 */
export function* walkFiles(view: FsView, start: InodeRef, opts: WalkFilesOptions = {}): Generator<WalkItem> {
  const maxDepth = opts.maxDepth ?? 1024;
  const cross = opts.crossSubvolumes ?? true;
  const visited = new Set<string>();
  const startInode = view.inode(start);
  const first: WalkItem = { path: [], entry: null, ref: start, inode: startInode, depth: 0 };
  yield first;
  if (startInode?.kind !== 'dir' || opts.prune?.(first)) return;
  visited.add(`${start.subvol}:${start.ino}`);
  const stack: { it: Generator<DirEntry>; path: Uint8Array[]; depth: number }[] = [{ it: view.readdir(start), path: [], depth: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const n = top.it.next();
    if (n.done) { stack.pop(); continue; }
    const e = n.value;
    const path = [...top.path, e.name];
    const inode = view.inode(e.target);
    const item: WalkItem = { path, entry: e, ref: e.target, inode, depth: top.depth + 1 };
    if (!inode) {
      view.finding({
        code: 'inode-missing', severity: 'error',
        message: `${displayPath(path)}: entry points at inode ${e.target.ino} of subvolume ${e.target.subvol}, which has no inode item`,
        location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
      });
    } else if (e.crossing === 'none' && e.ftype !== FT_OF_KIND[inode.kind] && inode.kind !== 'unknown') {
      view.finding({
        code: 'dir-entry-type', severity: 'warning',
        message: `${displayPath(path)}: directory entry type ${e.ftype} does not match the inode's mode 0${inode.mode.toString(8)}`,
        location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
      });
    }
    let descend = inode?.kind === 'dir' && (cross || e.crossing === 'none');
    if (descend) {
      const key = `${e.target.subvol}:${e.target.ino}`;
      if (visited.has(key)) {
        item.loop = true;
        descend = false;
        view.finding({
          code: 'directory-loop', severity: 'error',
          message: `${displayPath(path)}: directory inode ${e.target.ino} of subvolume ${e.target.subvol} was already met on this walk (hard-linked directory); not entered again`,
          location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
        });
      } else if (item.depth > maxDepth) {
        item.tooDeep = true;
        descend = false;
        view.finding({ code: 'directory-too-deep', severity: 'error', message: `${displayPath(path)}: deeper than ${maxDepth} levels; not entered`, location: { tree: e.place.tree } });
      } else {
        visited.add(key);
      }
    }
    yield item;
    if (descend && !opts.prune?.(item)) stack.push({ it: view.readdir(e.target), path, depth: item.depth });
  }
}
