import { ObjectId } from '../format/constants.js';
import type { Key } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { readRoot, type TreeRoot } from '../tree/walk.js';
import { formatKey, printTreeBlock, type PrintContext } from './printTree.js';

/** Tree names as `btrfs inspect-internal dump-tree` heads each tree ("extent tree key (...)"). */
export function treeTitle(id: bigint): string {
  const names: [bigint, string][] = [
    [ObjectId.EXTENT_TREE, 'extent'], [ObjectId.DEV_TREE, 'device'], [ObjectId.FS_TREE, 'fs'], [ObjectId.ROOT_TREE_DIR, 'directory'],
    [ObjectId.CSUM_TREE, 'checksum'], [ObjectId.ORPHAN, 'orphan'], [ObjectId.TREE_LOG, 'log'], [ObjectId.TREE_LOG_FIXUP, 'log fixup'],
    [ObjectId.TREE_RELOC, 'reloc'], [ObjectId.DATA_RELOC_TREE, 'data reloc'], [ObjectId.EXTENT_CSUM, 'extent checksum'],
    [ObjectId.QUOTA_TREE, 'quota'], [ObjectId.UUID_TREE, 'uuid'], [ObjectId.FREE_SPACE_TREE, 'free space'],
    [ObjectId.BLOCK_GROUP_TREE, 'block group'], [ObjectId.RAID_STRIPE_TREE, 'raid stripe'], [ObjectId.ROOT_TREE, 'root'], [ObjectId.CHUNK_TREE, 'chunk'],
  ];
  for (const [k, v] of names) if (k === id) return v;
  return id >= ObjectId.FIRST_FREE && id <= ObjectId.LAST_FREE ? 'file' : 'unknown';
}

export function printContextOf(fs: Filesystem): PrintContext {
  const sb = fs.superblock;
  return { csumSize: sb.csumSize, csumType: sb.csumType, nodesize: sb.nodesize, sectorsize: sb.sectorsize };
}

export interface DumpOptions {
  /** Breadth-first (dump-tree's default) or depth-first order of blocks. */
  order?: 'bfs' | 'dfs';
  /** Print only items within [min, max]; blocks without such items are skipped. */
  min?: Key;
  max?: Key;
}

/**
 * Prints a whole tree block by block as dump-tree does, following child
 * pointers. Blocks that cannot be read are named in a line where they would be.
 */
export function dumpTreeText(fs: Filesystem, root: TreeRoot, emit: (text: string) => void, opts: DumpOptions = {}): void {
  const ctx = printContextOf(fs);
  const wo = { ...fs.walkOptions, useDamaged: true };
  const r = readRoot(fs.reader, root, wo);
  if (!r.block) {
    emit(`ERROR: tree block ${root.bytenr} of tree ${root.tree} could not be read`);
    return;
  }
  const inRange = (b: TreeBlock, i: number) =>
    (!opts.min || (i + 1 < b.nritems ? b.compareKey(i + 1, opts.min) > 0 : true)) && (!opts.max || b.compareKey(i, opts.max) <= 0);
  // Children are queued as pointers, not blocks, so a wide level never sits in memory.
  type Ptr = { logical: bigint; level: number; generation: bigint; parent: bigint; slot: number };
  const pointers = (b: TreeBlock): Ptr[] => {
    const out: Ptr[] = [];
    for (let i = 0; i < b.nritems; i++) {
      if ((opts.min || opts.max) && !inRange(b, i)) continue;
      out.push({ logical: b.blockPtr(i), level: b.level - 1, generation: b.ptrGeneration(i), parent: b.logical, slot: i });
    }
    return out;
  };
  const load = (p: Ptr): TreeBlock | null => {
    const res = fs.reader.read({ logical: p.logical, level: p.level, generation: p.generation }, { tree: root.tree });
    for (const f of res.findings) fs.findings.add(f);
    const b = res.block ?? res.damaged ?? null;
    if (!b) emit(`ERROR: tree block ${p.logical} (slot ${p.slot} of ${p.parent}) could not be read`);
    return b;
  };
  const show = (b: TreeBlock) => emit(printTreeBlock(b, ctx));
  if ((opts.order ?? 'bfs') === 'dfs') {
    const visit = (b: TreeBlock) => {
      show(b);
      if (b.isLeaf) return;
      for (const p of pointers(b)) {
        const c = load(p);
        if (c) visit(c);
      }
    };
    visit(r.block);
    return;
  }
  // Breadth-first, level by level, as btrfs-progs prints by default.
  show(r.block);
  let queue: Ptr[] = r.block.isLeaf ? [] : pointers(r.block);
  while (queue.length) {
    const next: Ptr[] = [];
    for (const p of queue) {
      const b = load(p);
      if (!b) continue;
      show(b);
      if (!b.isLeaf && b.level === p.level) for (const q of pointers(b)) next.push(q);
    }
    queue = next;
  }
}

/** The full default dump: root tree, chunk tree, log root tree, then every tree the root tree names, then totals. */
export function dumpAllText(fs: Filesystem, emit: (text: string) => void, opts: DumpOptions = {}): void {
  emit('root tree');
  dumpTreeText(fs, fs.rootTree, emit, opts);
  emit('chunk tree');
  dumpTreeText(fs, fs.chunkTree, emit, opts);
  const log = fs.logRootTree;
  if (log) {
    emit('log root tree');
    dumpTreeText(fs, log, emit, opts);
  }
  for (const r of fs.roots()) {
    emit(`${treeTitle(r.tree)} tree key ${formatKey(r.key)} `);
    dumpTreeText(fs, r, emit, opts);
  }
  for (const r of fs.logTrees()) {
    emit(`${treeTitle(r.tree)} tree key ${formatKey(r.key)} `);
    dumpTreeText(fs, r, emit, opts);
  }
  const sb = fs.superblock;
  emit(`total bytes ${sb.totalBytes}\nbytes used ${sb.bytesUsed}\nuuid ${sb.fsid}`);
}
