import { rule } from '../findingRules.js';
import type { FsView } from './FsView.js';
import { FT_OF_KIND } from './fileKinds.js';
import { displayPath } from './names.js';
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
  /**
   * Left to the caller by `defer`: the inode was not looked up (`inode` is
   * null), nothing was checked, and the walk does not enter it. The caller
   * looks it up (with `checkEntry`) when it suits it.
   */
  deferred?: boolean;
}

/**
 * Deepest directory level a walk enters unless told otherwise. The kernel
 * sets no depth limit; this bound only stops a hostile chain, and the walk's
 * own memory grows with the depth, not with depth times width (see walkFiles).
 */
export const MAX_WALK_DEPTH = 65536;

export interface WalkFilesOptions {
  /** Deepest directory level entered (default MAX_WALK_DEPTH). */
  maxDepth?: number;
  /** Enter subvolumes linked below the start (default true). */
  crossSubvolumes?: boolean;
  /** Return true to not enter this directory. */
  prune?: (item: WalkItem) => boolean;
  /**
   * Return true to leave an entry's inode to the caller (see WalkItem.deferred):
   * a caller that reads inodes in another order than the directories' (inode
   * order, say) defers the entries that do not name a directory.
   */
  defer?: (entry: DirEntry) => boolean;
  /**
   * Directories already entered ("subvol:ino"), shared by walks that must not
   * enter one twice (a deferred entry that turns out to be a directory is
   * walked on its own); the start is added to it.
   */
  visited?: Set<string>;
}

/**
 * Findings for an entry whose inode was looked up: the inode is missing, or
 * its type is not the one the entry records. `path` is for the message (a
 * function is called only when there is one).
 */
export function checkEntry(view: FsView, path: readonly Uint8Array[] | (() => readonly Uint8Array[]), e: Pick<DirEntry, 'target' | 'crossing' | 'ftype' | 'place'>, inode: Inode | null): void {
  const mismatch = inode !== null && e.crossing === 'none' && e.ftype !== FT_OF_KIND[inode.kind] && inode.kind !== 'unknown';
  if (inode && !mismatch) return;
  if (typeof path === 'function') path = path();
  if (!inode) {
    view.finding({
      ...rule('inode-missing'),
      message: `${displayPath(path)}: entry points at inode ${e.target.ino} of subvolume ${e.target.subvol}, which has no inode item`,
      location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
    });
  } else {
    view.finding({
      ...rule('dir-entry-type'),
      message: `${displayPath(path)}: directory entry type ${e.ftype} does not match the inode's mode 0${inode.mode.toString(8)}`,
      location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
    });
  }
}

/**
 * Whether a walk may enter the directory an entry leads to, at `depth`: not
 * when it was met before on this walk (a hard-linked directory: a loop) or
 * lies deeper than `maxDepth`, each reported as a finding. When it may, it is
 * added to `visited`.
 */
export function mayEnter(view: FsView, path: readonly Uint8Array[], e: Pick<DirEntry, 'target' | 'place'>, depth: number, maxDepth: number, visited: Set<string>): 'loop' | 'tooDeep' | null {
  const key = `${e.target.subvol}:${e.target.ino}`;
  if (visited.has(key)) {
    view.finding({
      ...rule('directory-loop'),
      message: `${displayPath(path)}: directory inode ${e.target.ino} of subvolume ${e.target.subvol} was already met on this walk (hard-linked directory); not entered again`,
      location: { tree: e.place.tree, block: e.place.block, slot: e.place.slot },
    });
    return 'loop';
  }
  if (depth > maxDepth) {
    view.finding({ ...rule('directory-too-deep'), message: `${displayPath(path)}: deeper than ${maxDepth} levels; not entered`, location: { tree: e.place.tree } });
    return 'tooDeep';
  }
  visited.add(key);
  return null;
}

/** One component of a path being walked, linked to its parent's. */
interface PathLink {
  name: Uint8Array;
  up: PathLink | null;
}

function pathOf(at: PathLink, depth: number): Uint8Array[] {
  const path = new Array<Uint8Array>(depth);
  for (let i = depth - 1, l: PathLink | null = at; i >= 0 && l; i--, l = l.up) path[i] = l.name;
  return path;
}

/**
 * Every file below `start`, depth first, each directory's entries in
 * readdir order, the start itself first. Uses an explicit stack (no
 * recursion), enters each directory once (an inode met twice as a
 * directory is a loop: reported, not entered), and stops at maxDepth.
 */
export function* walkFiles(view: FsView, start: InodeRef, opts: WalkFilesOptions = {}): Generator<WalkItem> {
  const maxDepth = opts.maxDepth ?? MAX_WALK_DEPTH;
  const cross = opts.crossSubvolumes ?? true;
  const visited = opts.visited ?? new Set<string>();
  const startInode = view.inode(start);
  const first: WalkItem = { path: [], entry: null, ref: start, inode: startInode, depth: 0 };
  yield first;
  if (startInode?.kind !== 'dir' || opts.prune?.(first)) return;
  visited.add(`${start.subvol}:${start.ino}`);
  // Each open directory keeps only a link to its name and its parent's link: the stack is
  // O(depth); an item's path array is built when it is yielded (O(depth), as copying was).
  const stack: { it: Generator<DirEntry>; at: PathLink | null; depth: number }[] = [{ it: view.readdir(start), at: null, depth: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const n = top.it.next();
    if (n.done) {
      stack.pop();
      continue;
    }
    const e = n.value;
    const at: PathLink = { name: e.name, up: top.at };
    const path = pathOf(at, top.depth + 1);
    if (opts.defer?.(e)) {
      yield { path, entry: e, ref: e.target, inode: null, depth: top.depth + 1, deferred: true };
      continue;
    }
    const inode = view.inode(e.target);
    const item: WalkItem = { path, entry: e, ref: e.target, inode, depth: top.depth + 1 };
    checkEntry(view, path, e, inode);
    let descend = inode?.kind === 'dir' && (cross || e.crossing === 'none');
    if (descend) {
      const why = mayEnter(view, path, e, item.depth, maxDepth, visited);
      if (why === 'loop') item.loop = true;
      if (why === 'tooDeep') item.tooDeep = true;
      descend = why === null;
    }
    yield item;
    if (descend && !opts.prune?.(item)) stack.push({ it: view.readdir(e.target), at, depth: item.depth });
  }
}
