import { FT_OF_KIND } from '../../fs/fileKinds.js';
import { displayName } from '../../fs/names.js';
import type { DirEntry } from '../../fs/types.js';
import type { WalkItem } from '../../fs/walk.js';
import type { HostLoc } from './hostPath.js';
import type { Meta } from './metadata.js';

/**
 * The extraction's bookkeeping (extractFiles.ts): the output directories it
 * makes, the walks under way, and the entries it sets aside to write in
 * inode order, with the helpers that order and name them.
 */

/** A directory of the output: made (or reused) by `ready`, its metadata set at the end. */
export interface OutDir extends HostLoc {
  /** What finishing needs of the inode (the whole decoded inode is not kept for every directory). */
  meta: Meta | null;
  shown: string;
  seq: number;
  /** True once the directory exists and may be written into; false when nothing below it is written. */
  ready: Promise<boolean>;
  /** What `ready` resolved to, once it has (a small file is then written at once, without waiting on it). */
  made?: boolean;
  /** Directories below it, whose metadata must be set before its own (its mode may forbid entering it). */
  children: OutDir[];
  /** The directory it was made in, and its name there (null for the walk's start: paths in findings are from there). */
  up: OutDir | null;
  name: Uint8Array | null;
}

/** A walk of directories under way: walkSome advances it. */
export interface DirWalk {
  walk: Generator<WalkItem>;
  /** Places the walk's start (depth 0). */
  first: (it: WalkItem, seq: number, levels: OutDir[]) => void;
  /** levels[d]: the directory of depth d being walked (the parent of an item of depth d + 1). */
  levels: OutDir[];
  done: boolean;
}

/** What one() needs of a walk item. */
export type Step = Pick<WalkItem, 'inode' | 'ref' | 'depth' | 'loop' | 'tooDeep'>;

/**
 * An entry that is not a directory, set aside by the walk to be written in
 * inode order: flat (no nested objects), as a batch holds up to BATCH of them.
 */
export interface Pending {
  parent: OutDir;
  /** The name's bytes as a latin1 string. */
  name: string;
  subvol: bigint;
  ino: bigint;
  /** btrfs_dir_item.type, and where the entry's item is (for findings). */
  ftype: number;
  block: bigint;
  slot: number;
  seq: number;
  depth: number;
}

/**
 * Entries set aside at most before they are written: bounds their memory (some 200 bytes
 * each). A batch is written in one sweep over the trees, so it must be large: the entries of
 * a smaller one lie further apart, and each of them costs a leaf read of its own.
 */
export const BATCH = 1 << 18;
/** Walk items taken at a time between other work (and tasks a walk may start past IN_FLIGHT). */
export const WALK_STEP = 16;

/** The walk leaves to flush every entry of a directory's own subvolume that does not name a directory. */
export function deferEntry(e: DirEntry): boolean {
  return e.crossing === 'none' && e.ftype !== FT_OF_KIND.dir;
}

export function byInode(a: Pending, b: Pending): number {
  if (a.subvol !== b.subvol) return a.subvol < b.subvol ? -1 : 1;
  if (a.ino !== b.ino) return a.ino < b.ino ? -1 : 1;
  return a.seq - b.seq;
}

/** The entry as checkEntry and mayEnter take it. */
export function pendingEntry(p: Pending): Pick<DirEntry, 'target' | 'crossing' | 'ftype' | 'place'> {
  return { target: { subvol: p.subvol, ino: p.ino }, crossing: 'none', ftype: p.ftype, place: { tree: p.subvol, block: p.block, slot: p.slot } };
}

/** Path components of a directory from the walk's start (for findings). */
export function dirPath(d: OutDir): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let x: OutDir | null = d; x?.name; x = x.up) parts.push(x.name);
  return parts.reverse();
}

export function pendingPath(p: Pending): Uint8Array[] {
  return [...dirPath(p.parent), Buffer.from(p.name, 'latin1')];
}

/** How an entry of `parent` is shown in the summary. */
export function childShown(parent: OutDir, name: Uint8Array): string {
  return `${parent.shown === '/' ? '' : parent.shown}/${displayName(name)}`;
}
