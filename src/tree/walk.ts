import { rule } from '../findingRules.js';
import type { Finding, FindingSink } from '../findings.js';
import { compareKeysAt, type Key } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { TreeReader } from './readTreeBlock.js';

/** Where a tree starts: its root block, level and generation (from a root item or the superblock). */
export interface TreeRoot {
  /** Tree object id (owner), e.g. 1 for the root tree, 5 for the top-level subvolume. */
  tree: bigint;
  bytenr: bigint;
  level: number;
  /** Expected generation of the root block; undefined skips the transid check (log trees). */
  generation?: bigint | undefined;
}

/** A leaf item position. */
export interface ItemRef {
  block: TreeBlock;
  slot: number;
}

export interface WalkOptions {
  /** Where damaged or unreadable blocks met on the way are recorded (nowhere when absent). */
  findings?: FindingSink;
  /** When no copy of a block is good, still visit the least damaged copy's valid items. */
  useDamaged?: boolean;
}

export interface WalkVisitor {
  /** Called for every block before its children; return false to skip the children. */
  block?(block: TreeBlock, info: { depth: number; validItems: number; damaged: boolean }): boolean | void;
  /** Called when a block could not be read at all. */
  unreadable?(logical: bigint, findings: Finding[]): void;
}

const report = (opts: WalkOptions, fs: Finding[]) => {
  if (opts.findings) for (const f of fs) opts.findings.add(f);
};

/**
 * Reads a child block as its parent describes it and checks it fits the
 * parent: level one less (which alone makes pointer loops impossible, since
 * levels strictly decrease), generation equal to the pointer's, first key
 * equal to the pointer's key. A child whose first key differs is reported
 * and not returned, as the kernel refuses it (btrfs_verify_level_key): node
 * keys strictly ascend, so at most one slot of a node can name a given child,
 * and pointers that all lead to one block (a DAG) cannot multiply the walk.
 */
export function readChild(reader: TreeReader, parent: TreeBlock, slot: number, tree: bigint, opts: WalkOptions): { block: TreeBlock | null; validItems: number; damaged: boolean } {
  const logical = parent.blockPtr(slot);
  const r = reader.read({ logical, level: parent.level - 1, generation: parent.ptrGeneration(slot) }, { tree });
  report(opts, r.findings);
  let block = r.block;
  let damaged = false;
  if (!block && opts.useDamaged && r.damaged && r.damaged.level === parent.level - 1) {
    block = r.damaged;
    damaged = true;
  }
  if (block && block.nritems > 0 && r.validItems > 0 && compareKeysAt(block.data, block.keyOffset(0), parent.data, parent.keyOffset(slot)) !== 0) {
    opts.findings?.add({
      ...rule('first-key-mismatch'),
      message: `tree block ${logical}: first key ${fmt(block.key(0))} differs from parent ${parent.logical} slot ${slot} key ${fmt(parent.key(slot))}`,
      location: { tree, block: logical, logical, key: block.key(0) },
    });
    return { block: null, validItems: 0, damaged: false };
  }
  return { block, validItems: block ? r.validItems : 0, damaged };
}

/** Reads a tree's root block. */
export function readRoot(reader: TreeReader, root: TreeRoot, opts: WalkOptions): { block: TreeBlock | null; validItems: number; damaged: boolean } {
  const r = reader.read({ logical: root.bytenr, level: root.level, ...(root.generation !== undefined ? { generation: root.generation } : {}) }, { tree: root.tree });
  report(opts, r.findings);
  if (r.block) return { block: r.block, validItems: r.validItems, damaged: false };
  if (opts.useDamaged && r.damaged) return { block: r.damaged, validItems: r.validItems, damaged: true };
  return { block: null, validItems: 0, damaged: false };
}

/** Depth-first, pre-order walk of every block of a tree (the order dump-tree prints). */
export function walkTree(reader: TreeReader, root: TreeRoot, visitor: WalkVisitor, opts: WalkOptions = {}): void {
  const r = readRoot(reader, root, opts);
  if (!r.block) {
    visitor.unreadable?.(root.bytenr, []);
    return;
  }
  // A block met twice in one tree is a DAG or a cycle, never a tree: walked once, so the
  // work is bounded by the blocks the tree holds, not by the paths through it.
  const seen = new Set<bigint>();
  const visit = (block: TreeBlock, validItems: number, damaged: boolean, depth: number) => {
    if (seen.has(block.logical)) {
      opts.findings?.add({
        ...rule('block-reached-twice'),
        message: `tree block ${block.logical} is reached a second time in tree ${root.tree}: not walked again`,
        location: { tree: root.tree, block: block.logical, logical: block.logical },
      });
      return;
    }
    seen.add(block.logical);
    if (visitor.block?.(block, { depth, validItems, damaged }) === false) return;
    if (block.isLeaf) return;
    for (let i = 0; i < validItems; i++) {
      const c = readChild(reader, block, i, root.tree, opts);
      if (!c.block) visitor.unreadable?.(block.blockPtr(i), []);
      else visit(c.block, c.validItems, c.damaged, depth + 1);
    }
  };
  visit(r.block, r.validItems, r.damaged, 0);
}

/**
 * Every leaf item with min <= key <= max, in key order. Subtrees entirely
 * outside the range are not read: child i of a node covers keys from its
 * key up to the next child's key.
 */
export function* iterateItems(reader: TreeReader, root: TreeRoot, min: Key, max: Key, opts: WalkOptions = {}): Generator<ItemRef> {
  const r = readRoot(reader, root, opts);
  if (!r.block) return;
  yield* iterateBlock(reader, r.block, r.validItems, root.tree, min, max, opts);
}

function* iterateBlock(reader: TreeReader, block: TreeBlock, validItems: number, tree: bigint, min: Key, max: Key, opts: WalkOptions): Generator<ItemRef> {
  if (block.isLeaf) {
    // Binary search the first slot >= min, then scan until > max.
    let lo = 0,
      hi = validItems;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (block.compareKey(mid, min) < 0) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < validItems; i++) {
      if (block.compareKey(i, max) > 0) return;
      yield { block, slot: i };
    }
    return;
  }
  let start = block.search(min).slot;
  if (start < 0) start = 0;
  for (let i = start; i < validItems; i++) {
    if (block.compareKey(i, max) > 0) return;
    const c = readChild(reader, block, i, tree, opts);
    if (c.block) yield* iterateBlock(reader, c.block, c.validItems, tree, min, max, opts);
  }
}

/** The item with exactly this key, if present. */
export function findItem(reader: TreeReader, root: TreeRoot, k: Key, opts: WalkOptions = {}): ItemRef | undefined {
  for (const ref of iterateItems(reader, root, k, k, opts)) return ref;
  return undefined;
}

function fmt(k: Key): string {
  return `(${k.objectid} ${k.type} ${k.offset})`;
}
