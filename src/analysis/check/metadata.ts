import { rule } from '../../findingRules.js';
import { ExtentFlag, FileExtentType, FreeSpaceFlag, HeaderFlag, IncompatFlag, ItemType, ObjectId } from '../../format/constants.js';
import { BLOCK_GROUP_ITEM_SIZE, blockGroupFlags, blockGroupUsed, freeSpaceInfo, freeSpaceInfoExtentCount, freeSpaceInfoFlags } from '../../format/items/blockGroup.js';
import { DEV_EXTENT_SIZE, devExtentChunkOffset, devExtentLength } from '../../format/items/dev.js';
import { extentDataRef, extentDataRefCount, sharedDataRef, sharedDataRefCount } from '../../format/items/extent.js';
import { decodeFileExtent } from '../../format/items/fileExtent.js';
import { decodeRootItem, ROOT_REF_SIZE, rootItem, rootItemRefs as rootItemRefsAt, rootRefDirid } from '../../format/items/root.js';
import { compareKeys, type Key, MAX_KEY } from '../../format/key.js';
import { fmtKey, type TreeBlock } from '../../format/treeBlock.js';
import { isFsTreeId } from '../../fs/fileKinds.js';
import type { Filesystem, RootRef } from '../../tree/Filesystem.js';
import { type TreeRoot, walkTree } from '../../tree/walk.js';
import { extentItemAt, fileExtentAt } from './decoded.js';
import { type CsumNeed, FsTreeChecker, NameCollector, type NameLink } from './fsTree.js';
import { checkLeafItem, type ItemCheckContext } from './items.js';
import type { CheckFinding } from './types.js';

const MIN_KEY: Key = { objectid: 0n, type: 0, offset: 0n };

/** An extent item of the extent tree with the back references stored for it. */
export interface ExtentRec {
  bytenr: bigint;
  length: bigint;
  refs: bigint;
  isTree: boolean;
  /** An extent item of the v0 format (before 2.6.31), which does not say whether it is data or a tree block. */
  v0?: true;
  /** Sum of inline and keyed back reference counts. */
  backrefs: bigint;
  at: { block: bigint; slot: number; key: Key };
  /** With simple quotas: the extent item's generation and a data extent's EXTENT_OWNER_REF root (its first inline ref). */
  generation?: bigint;
  ownerRef?: bigint;
  /** A tree block's extent without FULL_BACKREF: the roots its inline TREE_BLOCK_REFs name (keyed ones are in MetaFacts.treeBlockRefRoots), for progs' owner check. */
  treeRoots?: bigint[];
}

/** A block no copy of which could be read, and the key range of its tree it held. */
export interface LostBlock {
  tree: bigint;
  logical: bigint;
  level: number;
  min: Key;
  max: Key;
  fs: boolean;
}

/** What the metadata walk gathered for the cross-reference checks. */
export interface MetaFacts {
  /** Tree blocks reached, with how many parent pointers (or root items / the superblock) reference each. */
  blockRefs: Map<bigint, number>;
  /** Data extents referenced by file extent items (disk_bytenr) and how many items reference each. */
  dataRefs: Map<bigint, { count: number; diskNumBytes: bigint; at: { tree: bigint; block: bigint; slot: number; key: Key } }>;
  extents: ExtentRec[];
  /** Keyed back references, summed per extent bytenr. */
  keyedBackrefs: Map<bigint, bigint>;
  /** Keyed TREE_BLOCK_REF items: the roots each names, by tree block bytenr. */
  treeBlockRefRoots: Map<bigint, bigint[]>;
  /** Each tree block reached (in a tree the extent tree accounts), with its header's owner. */
  blockOwners: Map<bigint, bigint>;
  /** Blocks of the remap tree (remap-tree feature): they have no extent items, and count in their block group's used bytes. */
  remapBlocks: Set<bigint>;
  blockGroups: { logical: bigint; length: bigint; used: bigint; flags: bigint; at: { tree: bigint; block: bigint; slot: number } }[];
  devExtents: { devid: bigint; physical: bigint; length: bigint; chunkOffset: bigint; at: { block: bigint; slot: number } }[];
  csumRanges: { start: bigint; end: bigint; at: { block: bigint; slot: number } }[];
  csumNeeds: CsumNeed[];
  /** Ranges of data of NODATASUM inodes' regular, uncompressed extents: compared across mirrors by `check --data`. */
  unsummed: CsumNeed[];
  /** Free space tree: FREE_SPACE_INFO per block group, and every free range (extents and bitmap runs). */
  fstInfos: { start: bigint; length: bigint; extentCount: number; bitmaps: boolean; at: { block: bigint; slot: number } }[];
  /** Free space tree items of each kind (FREE_SPACE_EXTENT / FREE_SPACE_BITMAP), by the block group start they lie in (found later). */
  fstKinds: { start: bigint; bitmap: boolean; at: { block: bigint; slot: number } }[];
  fstFree: { start: bigint; end: bigint; at: { block: bigint; slot: number } }[];
  /** Root tree ORPHAN_ITEMs: deleted subvolumes whose cleanup is pending. */
  rootOrphans: Set<bigint>;
  /** Subvolume ids whose root item has refs 0 (deleted, not yet cleaned), with where the item is. */
  deadRoots: Map<bigint, Key>;
  rootRefs: Set<string>;
  rootBackrefs: Set<string>;
  lost: LostBlock[];
  /**
   * With quotas on: each fs tree block's children (nodes) or the data extents its file
   * extent items name (leaves, bytenr -> disk_num_bytes), and each live subvolume's root
   * block, for qgroup accounting; with simple quotas each fs tree block's header owner.
   */
  fsGraph?: { children: Map<bigint, bigint[]>; data: Map<bigint, Map<bigint, bigint>>; roots: Map<bigint, bigint>; owners?: Map<bigint, bigint> };
  /**
   * With the raid stripe tree: the logical ranges file extents read from disk (regular
   * extents; prealloc ones are never written through it), for the stripe coverage check.
   */
  rstNeeds?: { start: bigint; end: bigint; at: { tree: bigint; block: bigint; slot: number; key: Key } }[];
  /** Names seen in each fs tree (DIR_INDEX), to name the files under lost blocks. */
  links: Map<bigint, NameLink[]>;
  trees: number;
  treeBlocks: number;
  treeBlockCopies: number;
  items: number;
}

/**
 * Walks every tree reachable from the superblock (root, chunk, every tree
 * with a root item, the log trees) and verifies every copy of every block
 * once, then runs the per-item checks on its items and gathers the facts
 * the cross-reference checks compare. Fs trees are walked whole even where
 * snapshots share blocks, for the per-subvolume consistency checks.
 */
export function walkMetadata(fs: Filesystem, add: (f: CheckFinding) => void, progress?: (done: number) => void): MetaFacts {
  const sb = fs.superblock;
  const facts: MetaFacts = {
    blockRefs: new Map(),
    dataRefs: new Map(),
    extents: [],
    keyedBackrefs: new Map(),
    treeBlockRefRoots: new Map(),
    blockOwners: new Map(),
    remapBlocks: new Set(),
    blockGroups: [],
    devExtents: [],
    csumRanges: [],
    csumNeeds: [],
    unsummed: [],
    fstInfos: [],
    fstKinds: [],
    fstFree: [],
    rootOrphans: new Set(),
    deadRoots: new Map(),
    rootRefs: new Set(),
    rootBackrefs: new Set(),
    lost: [],
    links: new Map(),
    trees: 0,
    treeBlocks: 0,
    treeBlockCopies: 0,
    items: 0,
  };
  const ictx: ItemCheckContext = { sectorsize: sb.sectorsize, nodesize: sb.nodesize, csumSize: sb.csumSize, generation: sb.generation, incompatFlags: sb.incompatFlags, add };
  if (sb.incompatFlags & IncompatFlag.EXTENT_TREE_V2) ictx.globalRoots = BigInt(fs.roots().filter((r) => r.tree === ObjectId.EXTENT_TREE).length);
  const seen = new Set<bigint>();
  const lostSet = new Set<bigint>();
  /** Blocks whose whole subtree an fs tree's consistency check has been through. */
  const fsDone = new Set<bigint>();
  // Only where quotas are on is the fs tree graph kept (it costs a map entry per block).
  const graph: MetaFacts['fsGraph'] = fs.treeRoot(ObjectId.QUOTA_TREE) ? { children: new Map(), data: new Map(), roots: new Map() } : undefined;
  const squota = graph !== undefined && (sb.incompatFlags & IncompatFlag.SIMPLE_QUOTA) !== 0n;
  if (graph && squota) graph.owners = new Map();
  if (graph) facts.fsGraph = graph;
  const rstNeeds: MetaFacts['rstNeeds'] = sb.incompatFlags & IncompatFlag.RAID_STRIPE_TREE ? [] : undefined;
  if (rstNeeds) facts.rstNeeds = rstNeeds;
  const reader = fs.reader;
  const nodesize = BigInt(sb.nodesize);

  const collect = (tree: bigint, b: TreeBlock, slot: number, countRefs: boolean) => {
    const type = b.keyType(slot);
    switch (type) {
      case ItemType.EXTENT_ITEM:
      case ItemType.METADATA_ITEM: {
        if (tree !== ObjectId.EXTENT_TREE) return;
        const key = b.key(slot);
        const d = extentItemAt(b, slot);
        if (d.kind === 'invalid') return;
        if (d.kind === 'extent_item_v0') {
          facts.extents.push({ bytenr: key.objectid, length: key.offset, refs: BigInt(d.refs), isTree: false, v0: true, backrefs: BigInt(d.refs), at: { block: b.logical, slot, key } });
          return;
        }
        let backrefs = 0n;
        for (const r of d.inlineRefs) backrefs += r.kind === 'extent_data' || r.kind === 'shared_data' ? BigInt(r.count) : r.kind === 'extent_owner' ? 0n : 1n;
        const isTree = (d.flags & ExtentFlag.TREE_BLOCK) !== 0n;
        const rec: ExtentRec = { bytenr: key.objectid, length: type === ItemType.METADATA_ITEM ? nodesize : key.offset, refs: d.refs, isTree, backrefs, at: { block: b.logical, slot, key } };
        if (isTree && !(d.flags & ExtentFlag.FULL_BACKREF)) rec.treeRoots = d.inlineRefs.flatMap((r) => (r.kind === 'tree_block' ? [r.root] : []));
        if (squota) {
          rec.generation = d.generation;
          const first = d.inlineRefs[0];
          if (first?.kind === 'extent_owner') rec.ownerRef = first.root;
        }
        facts.extents.push(rec);
        return;
      }
      case ItemType.TREE_BLOCK_REF:
      case ItemType.SHARED_BLOCK_REF:
      case ItemType.EXTENT_DATA_REF:
      case ItemType.SHARED_DATA_REF: {
        if (tree !== ObjectId.EXTENT_TREE) return;
        const data = b.itemData(slot);
        let n = 1n;
        if (type === ItemType.EXTENT_DATA_REF) n = data.length >= extentDataRef.size ? BigInt(extentDataRefCount(data, 0)) : 0n;
        if (type === ItemType.SHARED_DATA_REF) n = data.length >= sharedDataRef.size ? BigInt(sharedDataRefCount(data, 0)) : 0n;
        const k = b.keyObjectid(slot);
        facts.keyedBackrefs.set(k, (facts.keyedBackrefs.get(k) ?? 0n) + n);
        if (type === ItemType.TREE_BLOCK_REF) {
          const roots = facts.treeBlockRefRoots.get(k);
          if (roots) roots.push(b.keyOffsetField(slot));
          else facts.treeBlockRefRoots.set(k, [b.keyOffsetField(slot)]);
        }
        return;
      }
      case ItemType.BLOCK_GROUP_ITEM: {
        const data = b.itemData(slot);
        if (data.length < BLOCK_GROUP_ITEM_SIZE || (tree !== ObjectId.EXTENT_TREE && tree !== ObjectId.BLOCK_GROUP_TREE)) return;
        facts.blockGroups.push({ logical: b.keyObjectid(slot), length: b.keyOffsetField(slot), used: blockGroupUsed(data, 0), flags: blockGroupFlags(data, 0), at: { tree, block: b.logical, slot } });
        return;
      }
      case ItemType.DEV_EXTENT: {
        const data = b.itemData(slot);
        if (tree !== ObjectId.DEV_TREE || data.length < DEV_EXTENT_SIZE) return;
        facts.devExtents.push({
          devid: b.keyObjectid(slot),
          physical: b.keyOffsetField(slot),
          chunkOffset: devExtentChunkOffset(data, 0),
          length: devExtentLength(data, 0),
          at: { block: b.logical, slot },
        });
        return;
      }
      case ItemType.EXTENT_CSUM: {
        if (tree !== ObjectId.CSUM_TREE || sb.csumSize === 0) return;
        const start = b.keyOffsetField(slot);
        facts.csumRanges.push({ start, end: start + BigInt(Math.floor(b.itemSize(slot) / sb.csumSize)) * BigInt(sb.sectorsize), at: { block: b.logical, slot } });
        return;
      }
      case ItemType.FREE_SPACE_INFO:
        if (tree !== ObjectId.FREE_SPACE_TREE) return;
        {
          const data = b.itemData(slot);
          // A short item is item-size damage (the item checks report it); its count and flags are unknown.
          if (data.length < freeSpaceInfo.size) return;
          facts.fstInfos.push({
            start: b.keyObjectid(slot),
            length: b.keyOffsetField(slot),
            extentCount: freeSpaceInfoExtentCount(data, 0),
            bitmaps: (freeSpaceInfoFlags(data, 0) & FreeSpaceFlag.USING_BITMAPS) !== 0,
            at: { block: b.logical, slot },
          });
        }
        return;
      case ItemType.FREE_SPACE_EXTENT:
        if (tree !== ObjectId.FREE_SPACE_TREE) return;
        facts.fstFree.push({ start: b.keyObjectid(slot), end: b.keyObjectid(slot) + b.keyOffsetField(slot), at: { block: b.logical, slot } });
        facts.fstKinds.push({ start: b.keyObjectid(slot), bitmap: false, at: { block: b.logical, slot } });
        return;
      case ItemType.FREE_SPACE_BITMAP: {
        if (tree !== ObjectId.FREE_SPACE_TREE) return;
        facts.fstKinds.push({ start: b.keyObjectid(slot), bitmap: true, at: { block: b.logical, slot } });
        // Runs of set bits (free sectors), bounded by the bits the item holds.
        const bm = b.itemData(slot),
          start = b.keyObjectid(slot),
          ss = BigInt(sb.sectorsize);
        const bits = Math.min(bm.length * 8, Number(b.keyOffsetField(slot) / ss));
        for (let i = 0; i < bits; ) {
          if (!((bm[i >>> 3]! >>> (i & 7)) & 1)) {
            i++;
            continue;
          }
          let j = i;
          while (j < bits && (bm[j >>> 3]! >>> (j & 7)) & 1) j++;
          facts.fstFree.push({ start: start + BigInt(i) * ss, end: start + BigInt(j) * ss, at: { block: b.logical, slot } });
          i = j;
        }
        return;
      }
      case ItemType.ORPHAN_ITEM:
        if (tree === ObjectId.ROOT_TREE && b.keyObjectid(slot) === ObjectId.ORPHAN) facts.rootOrphans.add(b.keyOffsetField(slot));
        return;
      case ItemType.ROOT_REF:
      case ItemType.ROOT_BACKREF: {
        if (tree !== ObjectId.ROOT_TREE) return;
        const data = b.itemData(slot);
        const rest = data.length >= ROOT_REF_SIZE ? `${rootRefDirid(data, 0)}/${String.fromCharCode(...data.subarray(ROOT_REF_SIZE))}` : '?';
        // Both halves spelled (parent, child, dirid/name) so they compare directly.
        const s = type === ItemType.ROOT_REF ? `${b.keyObjectid(slot)}/${b.keyOffsetField(slot)}/${rest}` : `${b.keyOffsetField(slot)}/${b.keyObjectid(slot)}/${rest}`;
        (type === ItemType.ROOT_REF ? facts.rootRefs : facts.rootBackrefs).add(s);
        return;
      }
      case ItemType.EXTENT_DATA: {
        if (!countRefs) return;
        const d = fileExtentAt(b, slot);
        if (d.kind === 'invalid' || d.body !== 'disk' || d.diskBytenr === 0n) return;
        const r = facts.dataRefs.get(d.diskBytenr);
        if (r) r.count++;
        else facts.dataRefs.set(d.diskBytenr, { count: 1, diskNumBytes: d.diskNumBytes, at: { tree, block: b.logical, slot, key: b.key(slot) } });
        if (rstNeeds && d.type === FileExtentType.REG) {
          // A compressed extent is read whole; a plain one only the part this item uses.
          const start = d.compression ? d.diskBytenr : d.diskBytenr + d.offset;
          rstNeeds.push({ start, end: start + (d.compression ? d.diskNumBytes : d.numBytes), at: { tree, block: b.logical, slot, key: b.key(slot) } });
        }
        return;
      }
    }
  };

  // tree-checker.c __btrfs_check_leaf: trees that always hold items (a reloc tree's leaves, flagged RELOC, carry their subvolume's owner and are not judged).
  const neverEmpty = new Set([ObjectId.ROOT_TREE, ObjectId.CHUNK_TREE, ObjectId.DEV_TREE, ObjectId.FS_TREE, ObjectId.DATA_RELOC_TREE]);
  if (!(sb.incompatFlags & IncompatFlag.EXTENT_TREE_V2)) neverEmpty.add(ObjectId.EXTENT_TREE);
  const emptyLeaf = (b: TreeBlock, tree: bigint) => {
    if (neverEmpty.has(b.owner))
      add({
        ...rule('tree-empty'),
        message: `tree block ${b.logical}: a leaf with no items, owned by tree ${b.owner}, which is never empty`,
        location: { tree, block: b.logical, logical: b.logical },
      });
  };

  const addAll = (fs2: CheckFinding[]) => {
    for (const f of fs2) add(f);
  };

  const walk = (root: TreeRoot, countRefs: boolean, checker: FsTreeChecker | undefined, log?: 'root' | 'tree', dropped?: Key, graphed = checker !== undefined) => {
    facts.trees++;
    const tree = root.tree;
    if (countRefs) facts.blockRefs.set(root.bytenr, (facts.blockRefs.get(root.bytenr) ?? 0) + 1);
    const lose = (logical: bigint, level: number, min: Key, max: Key) => {
      if (!lostSet.has(logical)) facts.lost.push({ tree, logical, level, min, max, fs: checker !== undefined });
      lostSet.add(logical);
      seen.add(logical);
      checker?.lost(min, max);
    };
    const read = (logical: bigint, level: number, generation: bigint | undefined) => {
      const first = !seen.has(logical);
      // The owner each block must carry (the kernel's btrfs_check_eb_owner) is checked against the tree walked.
      const r = reader.read({ logical, level, owner: tree, ...(generation !== undefined ? { generation } : {}) }, { tree, allCopies: first });
      if (first) addAll(r.findings);
      return { r, first };
    };
    /** Reads ahead the leaves under `b` from slot `from` on that the walk will read for the first time; returns the slot the batch ends before. */
    const readLeavesAhead = (b: TreeBlock, from: number, valid: number): number => {
      const logicals: bigint[] = [];
      const slots: number[] = [];
      for (let j = from; j < valid && logicals.length < READ_AHEAD_LOOK; j++) {
        const c = b.blockPtr(j);
        if (seen.has(c) || (checker && fsDone.has(c))) continue;
        logicals.push(c);
        slots.push(j);
      }
      const took = reader.readAhead(logicals);
      return took > 0 ? slots[took - 1]! + 1 : from + 1;
    };
    const visit = (b: TreeBlock, valid: number, first: boolean, hi: Key | null) => {
      if (first) {
        seen.add(b.logical);
        facts.treeBlocks++;
        facts.treeBlockCopies += Math.max(1, fs.volume.copyCount(b.logical));
        if ((facts.treeBlocks & 255) === 0) progress?.(facts.treeBlocks);
        if (countRefs) facts.blockOwners.set(b.logical, b.owner);
        if (tree === ObjectId.REMAP_TREE) facts.remapBlocks.add(b.logical);
        if (b.isLeaf && b.nritems === 0 && !(b.flags & HeaderFlag.RELOC)) emptyLeaf(b, tree);
        if (hi && valid > 0 && b.compareKey(valid - 1, hi) >= 0) {
          add({
            ...rule('key-order'),
            message: `tree block ${b.logical}: last key ${fmtKey(b.key(valid - 1))} is not below the parent's next key ${fmtKey(hi)}`,
            location: { tree, block: b.logical, logical: b.logical, slot: valid - 1, key: b.key(valid - 1) },
          });
        }
      }
      if (graph && graphed && !graph.children.has(b.logical) && !graph.data.has(b.logical)) {
        graph.owners?.set(b.logical, b.owner);
        if (b.isLeaf) graph.data.set(b.logical, leafDataExtents(b, valid));
        else
          graph.children.set(
            b.logical,
            // A deleted subvolume's children before its drop_progress are dropped (their references too): not its blocks any more.
            dropped
              ? Array.from({ length: valid }, (_, i) => i).flatMap((i) => {
                  const childHi = i + 1 < valid ? b.key(i + 1) : hi;
                  return childHi && compareKeys(childHi, dropped) <= 0 ? [] : [b.blockPtr(i)];
                })
              : Array.from({ length: valid }, (_, i) => b.blockPtr(i)),
          );
      }
      if (b.isLeaf) {
        if (first) facts.items += valid;
        for (let s = 0; s < valid; s++) {
          if (first) {
            checkLeafItem(ictx, b, s, tree, log);
            collect(tree, b, s, countRefs);
          }
          checker?.item(b, s);
        }
        return;
      }
      let aheadTo = 0;
      for (let i = 0; i < valid; i++) {
        const child = b.blockPtr(i);
        const childHi = i + 1 < valid ? b.key(i + 1) : hi;
        // Below a deleted subvolume's drop_progress the cleaner has dropped everything (its references too): those blocks may be freed and reused.
        if (dropped && childHi && compareKeys(childHi, dropped) <= 0) continue;
        if (first && countRefs) facts.blockRefs.set(child, (facts.blockRefs.get(child) ?? 0) + 1);
        // A subtree verified before (shared by snapshots) is walked again only for an fs tree's own consistency.
        if (!checker && seen.has(child)) continue;
        if (checker && fsDone.has(child)) {
          checker.skipped(b.key(i), childHi ?? MAX_KEY);
          continue;
        }
        // The leaves under a node are read ahead a batch at a time, in disk order (they are read whole anyway, here).
        if (b.level === 1 && i >= aheadTo && !seen.has(child)) aheadTo = readLeavesAhead(b, i, valid);
        const { r, first: childFirst } = read(child, b.level - 1, b.ptrGeneration(i));
        if (!r.block) {
          lose(child, b.level - 1, b.key(i), childHi ?? MAX_KEY);
          continue;
        }
        if (childFirst && r.validItems > 0 && r.block.compareKey(0, b.key(i)) !== 0) {
          add({
            ...rule('first-key-mismatch'),
            message: `tree block ${child}: first key ${fmtKey(r.block.key(0))} differs from parent ${b.logical} slot ${i} key ${fmtKey(b.key(i))}`,
            location: { tree, block: child, logical: child, key: r.block.key(0) },
          });
        }
        visit(r.block, r.validItems, childFirst, childHi);
        if (checker) fsDone.add(child);
      }
    };
    const { r, first } = read(root.bytenr, root.level, root.generation);
    if (!r.block) {
      lose(root.bytenr, root.level, MIN_KEY, MAX_KEY);
      return;
    }
    visit(r.block, r.validItems, first, null);
  };

  // Without NO_HOLES, holes are file extents too (the data reloc tree's files are extents being moved: left out).
  const explicitHoles = (sb.incompatFlags & IncompatFlag.NO_HOLES) === 0n ? BigInt(sb.sectorsize) : 0n;
  walk(fs.rootTree, true, undefined);
  walk(fs.chunkTree, true, undefined);
  for (const root of fs.roots()) {
    const fsTree = isFsTreeId(root.tree) || root.tree === ObjectId.DATA_RELOC_TREE;
    const live = rootItemRefs(fs, root) !== 0;
    if (!live && isFsTreeId(root.tree)) facts.deadRoots.set(root.tree, root.key);
    const checker =
      fsTree && live && root.tree !== ObjectId.TREE_RELOC ? new FsTreeChecker(root.tree, add, facts.csumNeeds, root.tree !== ObjectId.DATA_RELOC_TREE ? explicitHoles : 0n, facts.unsummed) : undefined;
    const dropped = live ? undefined : dropProgress(fs, root);
    // A deleted subvolume still counts in the qgroups with what the cleaner has not dropped: the
    // kernel uncounts blocks and extents only as it drops them (btrfs_qgroup_trace_subtree), and
    // progs' qgroup-verify counts an extent for every root its back references still name. Whole
    // when the drop has not begun (drop_progress zero); else the subtrees after drop_progress.
    const dead = !live && isFsTreeId(root.tree);
    walk(root, true, checker, undefined, dropped, checker !== undefined || dead);
    if (graph && (checker || dead) && isFsTreeId(root.tree)) graph.roots.set(root.tree, root.bytenr);
    if (checker) {
      checker.finish((logical) => reader.read({ logical }, { tree: root.tree }).block);
      // Names are gathered only to say what a lost block hurts, in a second pass over what is readable.
      if (checker.hasLost) {
        const names = new NameCollector();
        walkTree(reader, root, {
          block(b, info) {
            if (b.isLeaf) for (let s = 0; s < info.validItems; s++) names.item(b, s);
          },
        });
        facts.links.set(root.tree, names.links);
      }
    }
  }
  const log = fs.logRootTree;
  if (log) {
    walk(log, false, undefined, 'root');
    for (const lt of fs.logTrees()) walk(lt, false, undefined, 'tree');
  }
  return facts;
}

/** Leaves looked at for one read-ahead batch (TreeReader.readAhead takes as many as it holds). */
const READ_AHEAD_LOOK = 256;

/** The data extents a leaf's file extent items name: disk bytenr -> disk_num_bytes. */
function leafDataExtents(b: TreeBlock, valid: number): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  for (let s = 0; s < valid; s++) {
    if (b.keyType(s) !== ItemType.EXTENT_DATA) continue;
    const d = decodeFileExtent(b.key(s), b.itemData(s));
    if (d.kind !== 'invalid' && d.body === 'disk' && d.diskBytenr !== 0n) out.set(d.diskBytenr, d.diskNumBytes);
  }
  return out;
}

/**
 * How far the cleaner got dropping a deleted subvolume (root item drop_progress, with
 * drop_level above 0 once a step was committed; extent-tree.c btrfs_drop_snapshot saves
 * it at each transaction it ends): every subtree whose keys all lie before that key has
 * been dropped, and btrfs check resumes its walk there (check/main.c check_fs_root). Undefined
 * before the first step.
 */
function dropProgress(fs: Filesystem, root: RootRef): Key | undefined {
  const ref = fs.find(fs.rootTree, root.key);
  if (!ref) return undefined;
  const d = decodeRootItem(root.key, ref.block.itemData(ref.slot));
  if (d.kind !== 'root_item' || (d.dropLevel === 0 && d.dropProgress.objectid === 0n)) return undefined;
  return d.dropProgress;
}

/** A root item's refs (0 for a deleted subvolume not yet cleaned up). */
function rootItemRefs(fs: Filesystem, root: RootRef): number {
  const ref = fs.find(fs.rootTree, root.key);
  if (!ref) return 1;
  const d = ref.block.itemData(ref.slot);
  return d.length >= ROOT_ITEM_REFS_END ? rootItemRefsAt(d, 0) : 1;
}
const ROOT_ITEM_REFS_END = rootItem.off.refs + rootItem.sizeOf.refs;
