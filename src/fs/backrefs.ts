import { Compression, ExtentFlag, ItemType, ObjectId } from '../format/constants.js';
import { decodeExtentDataRef, decodeExtentItem, decodeSharedDataRef, type InlineRef } from '../format/items/extent.js';
import { decodeFileExtent } from '../format/items/fileExtent.js';
import { type Key, U64_MAX } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import { readChild, readRoot, type TreeRoot } from '../tree/walk.js';
import type { FsView } from './FsView.js';
import { fileExtents } from './fileData.js';
import { isFsTreeId } from './fileKinds.js';
import { lastKeyAtOrBefore } from './treeSearch.js';

/** The extent (data or tree block) that holds a logical address, from the extent tree. */
export interface ExtentInfo {
  bytenr: bigint;
  length: bigint;
  kind: 'data' | 'tree-block';
  refs: bigint;
  generation: bigint;
  flags: bigint;
  /** Tree blocks: level. */
  level?: number;
}

/** One back reference of an extent, as stored. */
export type BackRef =
  | { type: 'extent-data'; root: bigint; ino: bigint; offset: bigint; count: number; keyed: boolean }
  | { type: 'shared-data'; parent: bigint; count: number; keyed: boolean }
  | { type: 'tree-block'; root: bigint; keyed: boolean }
  | { type: 'shared-block'; parent: bigint; keyed: boolean }
  | { type: 'owner'; root: bigint; keyed: boolean };

/** A file that uses the logical address. */
export interface FileUse {
  subvol: bigint;
  ino: bigint;
  /** File offset of the byte at the logical address (compressed extents: where the referencing range starts). */
  fileOffset: bigint;
  /** The file extent item's key offset and the bytes it maps. */
  extentFileOffset: bigint;
  extentLength: bigint;
  compressed: boolean;
  /** Paths of the inode from the top of the filesystem (empty when unlinked or not an fs tree). */
  paths: Uint8Array[][];
}

export interface LogicalResolution {
  logical: bigint;
  extent: ExtentInfo | null;
  backrefs: BackRef[];
  files: FileUse[];
  /** Tree blocks: the tree owning it (header owner), its level and first key, and every root reaching it. */
  treeBlock?: { owner: bigint; level: number; firstKey: Key | null; roots: bigint[] };
  notes: string[];
}

/** File uses listed at most, and back references read at most (a dedup tool makes millions of one block): each limit hit is said in the notes. */
const LIMIT_USES = 100_000;
const LIMIT_BACKREFS = 100_000;

/**
 * Every file (subvolume, inode, paths, file offset) using a logical address,
 * via the extent tree's back references: EXTENT_DATA_REF (root, inode,
 * offset) and SHARED_DATA_REF (a leaf holding the file extent items), inline
 * or keyed. A leaf may be shared by snapshots, so the roots reaching each
 * leaf are found by walking tree block back references up to the roots.
 * For a tree block, the trees that reach it are reported.
 */
export function resolveLogical(view: FsView, logical: bigint): LogicalResolution {
  const out: LogicalResolution = { logical, extent: null, backrefs: [], files: [], notes: [] };
  const fs = view.fs;
  // Every extent tree: extent-tree-v2 keeps one per global root, the extent in the one its block group names.
  const extentRoots = fs.globalRoots(ObjectId.EXTENT_TREE);
  if (!extentRoots.length) {
    out.notes.push('the filesystem has no extent tree root');
    return out;
  }
  let found: ReturnType<typeof findExtent> = null;
  for (const root of extentRoots) if (!found) found = findExtent(view, root, logical);
  if (!found) {
    out.notes.push(`no extent item covers logical ${logical} (free space, or not in the extent tree)`);
    return out;
  }
  out.extent = found.info;
  out.backrefs = found.refs;
  if (found.more > 0) out.notes.push(`${found.more} more back references not read: the list stops at ${LIMIT_BACKREFS}`);
  const walker = new RootFinder(view, extentRoots);
  if (found.info.kind === 'tree-block') {
    const r = fs.reader.read({ logical: found.info.bytenr });
    for (const f of r.findings) fs.blockSink.add(f);
    const b = r.block;
    out.treeBlock = {
      owner: b ? b.owner : 0n,
      level: b ? b.level : (found.info.level ?? -1),
      firstKey: b && b.nritems > 0 ? b.key(0) : null,
      roots: [...walker.rootsOf(found.info.bytenr)].sort(cmp),
    };
    return out;
  }
  const X = found.info.bytenr;
  const seen = new Set<string>();
  let full = false;
  const add = (u: FileUse) => {
    const k = `${u.subvol}:${u.ino}:${u.extentFileOffset}`;
    if (seen.has(k) || full) return;
    if (out.files.length >= LIMIT_USES) {
      full = true;
      out.notes.push(`more than ${LIMIT_USES} file uses: the first ${LIMIT_USES} are listed`);
      return;
    }
    seen.add(k);
    out.files.push(u);
  };
  // One inode's paths are looked up once: a deduplicated file can use one extent a million times.
  const pathsOf = new Map<string, Uint8Array[][]>();
  const paths = (subvol: bigint, ino: bigint) => {
    const k = `${subvol}:${ino}`;
    let p = pathsOf.get(k);
    if (!p) {
      p = isFsTreeId(subvol) ? view.paths({ subvol, ino }) : [];
      if (pathsOf.size < 10_000) pathsOf.set(k, p);
    }
    return p;
  };
  const use = (subvol: bigint, ino: bigint, keyOffset: bigint, d: { diskBytenr: bigint; offset: bigint; numBytes: bigint; compression: number }) => {
    const rel = logical - X;
    const compressed = d.compression !== Compression.NONE;
    if (!compressed && (rel < d.offset || rel >= d.offset + d.numBytes)) return; // references another part of the extent
    add({
      subvol,
      ino,
      fileOffset: compressed ? keyOffset : keyOffset + rel - d.offset,
      extentFileOffset: keyOffset,
      extentLength: d.numBytes,
      compressed,
      paths: paths(subvol, ino),
    });
  };
  for (const ref of found.refs) {
    if (full) break;
    if (ref.type === 'extent-data') {
      if (!isFsTreeId(ref.root) && ref.root !== ObjectId.DATA_RELOC_TREE) {
        out.notes.push(`reference from tree ${ref.root}`);
        continue;
      }
      // File extent items of that inode pointing at X with key offset - extent offset == ref.offset.
      // The ref's offset is the key offset minus the extent offset, modulo 2^64: a clone of a
      // later part of an extent to an earlier file offset wraps, so such a search starts at 0.
      let matched = 0;
      const from = ref.offset >= 1n << 63n ? 0n : ref.offset;
      for (const e of fileExtents(view, { subvol: ref.root, ino: ref.ino }, from)) {
        if (e.kind === 'inline' || e.diskBytenr !== X || BigInt.asUintN(64, e.fileOffset - e.offset) !== ref.offset) continue;
        matched++;
        for (const root of walker.rootsOf(e.place.block, ref.root)) {
          use(root, ref.ino, e.fileOffset, { diskBytenr: e.diskBytenr, offset: e.offset, numBytes: e.length, compression: e.compression });
        }
        if (matched >= ref.count) break;
      }
      if (matched === 0) out.notes.push(`EXTENT_DATA_REF root ${ref.root} inode ${ref.ino} offset ${ref.offset}: no matching file extent item`);
    } else if (ref.type === 'shared-data') {
      const r = fs.reader.read({ logical: ref.parent, level: 0 });
      for (const f of r.findings) fs.blockSink.add(f);
      if (!r.block) {
        out.notes.push(`SHARED_DATA_REF leaf ${ref.parent} cannot be read`);
        continue;
      }
      const leaf = r.block;
      const roots = walker.rootsOf(ref.parent);
      for (let i = 0; i < r.validItems; i++) {
        if (leaf.keyType(i) !== ItemType.EXTENT_DATA) continue;
        const k = leaf.key(i);
        const d = decodeFileExtent(k, leaf.itemData(i));
        if (d.kind === 'invalid' || d.body !== 'disk' || d.diskBytenr !== X) continue;
        for (const root of roots) use(root, k.objectid, k.offset, d);
      }
    }
  }
  return out;
}

function cmp(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The extent item covering `logical` and its back references (inline and keyed). */
function findExtent(view: FsView, root: TreeRoot, logical: bigint): { info: ExtentInfo; refs: BackRef[]; more: number } | null {
  const fs = view.fs;
  const k = lastKeyAtOrBefore(fs, root, { objectid: logical, type: 255, offset: U64_MAX });
  if (!k) return null;
  const X = k.objectid;
  return extentAt(view, root, X, logical);
}

function extentAt(view: FsView, root: TreeRoot, X: bigint, logical: bigint | null): { info: ExtentInfo; refs: BackRef[]; more: number } | null {
  const fs = view.fs;
  let info: ExtentInfo | null = null;
  const refs: BackRef[] = [];
  let more = 0;
  for (const { block, slot } of fs.items(root, { objectid: X, type: ItemType.EXTENT_ITEM, offset: 0n }, { objectid: X, type: ItemType.SHARED_DATA_REF, offset: U64_MAX })) {
    if (refs.length >= LIMIT_BACKREFS && info && block.keyType(slot) !== ItemType.EXTENT_ITEM && block.keyType(slot) !== ItemType.METADATA_ITEM) {
      more++;
      continue;
    }
    const key = block.key(slot);
    const data = block.itemData(slot);
    if (key.type === ItemType.EXTENT_ITEM || key.type === ItemType.METADATA_ITEM) {
      const d = decodeExtentItem(key, data);
      if (d.kind === 'invalid' || d.kind === 'extent_item_v0') continue;
      const length = key.type === ItemType.METADATA_ITEM ? BigInt(fs.superblock.nodesize) : key.offset;
      if (logical !== null && !(logical >= X && logical < X + length)) continue;
      const tree = d.kind === 'metadata_item' || (d.flags & ExtentFlag.TREE_BLOCK) !== 0n;
      info = { bytenr: X, length, kind: tree ? 'tree-block' : 'data', refs: d.refs, generation: d.generation, flags: d.flags, ...(d.level !== undefined ? { level: d.level } : {}) };
      for (const r of d.inlineRefs) refs.push(inlineRef(r));
    } else if (info) {
      switch (key.type) {
        case ItemType.TREE_BLOCK_REF:
          refs.push({ type: 'tree-block', root: key.offset, keyed: true });
          break;
        case ItemType.SHARED_BLOCK_REF:
          refs.push({ type: 'shared-block', parent: key.offset, keyed: true });
          break;
        case ItemType.EXTENT_DATA_REF: {
          const d = decodeExtentDataRef(key, data);
          if (d.kind !== 'invalid') refs.push({ type: 'extent-data', root: d.root, ino: d.objectid, offset: d.offset, count: d.count, keyed: true });
          break;
        }
        case ItemType.SHARED_DATA_REF: {
          const d = decodeSharedDataRef(key, data);
          if (d.kind !== 'invalid') refs.push({ type: 'shared-data', parent: key.offset, count: d.count, keyed: true });
          break;
        }
        case ItemType.EXTENT_OWNER_REF:
          break;
      }
    }
  }
  return info ? { info, refs, more } : null;
}

function inlineRef(r: InlineRef): BackRef {
  switch (r.kind) {
    case 'extent_data':
      return { type: 'extent-data', root: r.root, ino: r.objectid, offset: r.offset, count: r.count, keyed: false };
    case 'shared_data':
      return { type: 'shared-data', parent: r.parent, count: r.count, keyed: false };
    case 'tree_block':
      return { type: 'tree-block', root: r.root, keyed: false };
    case 'shared_block':
      return { type: 'shared-block', parent: r.parent, keyed: false };
    case 'extent_owner':
      return { type: 'owner', root: r.root, keyed: false };
  }
}

/**
 * Which tree roots reach a tree block: TREE_BLOCK_REF (root R; when the
 * block is not R's root block, R's path to it goes through a parent that
 * may itself be shared, so that parent's roots count too) and
 * SHARED_BLOCK_REF (the parent block's roots). Memoized; bounded by the
 * tree height and a visited set.
 */
class RootFinder {
  private readonly memo = new Map<bigint, Set<bigint>>();
  constructor(
    private readonly view: FsView,
    private readonly extentRoots: TreeRoot[],
  ) {}

  rootsOf(block: bigint, hint?: bigint): Set<bigint> {
    const r = this.roots(block, 0);
    if (r.size === 0 && hint !== undefined) r.add(hint);
    return r;
  }

  private roots(block: bigint, depth: number): Set<bigint> {
    const memo = this.memo.get(block);
    if (memo) return memo;
    const out = new Set<bigint>();
    this.memo.set(block, out); // a loop sees the partial set, not a recursion
    if (depth > 16) return out;
    let ext: ReturnType<typeof extentAt> = null;
    for (const root of this.extentRoots) if (!ext) ext = extentAt(this.view, root, block, block);
    if (!ext) return out;
    let tb: TreeBlock | null | undefined;
    for (const ref of ext.refs) {
      if (ref.type === 'shared-block') {
        for (const x of this.roots(ref.parent, depth + 1)) out.add(x);
      } else if (ref.type === 'tree-block') {
        out.add(ref.root);
        const rootTree = this.view.tree(ref.root); // cached, any tree id
        if (!rootTree || rootTree.bytenr === block) continue;
        if (tb === undefined) {
          const rr = this.view.fs.reader.read({ logical: block });
          tb = rr.block;
        }
        if (!tb || tb.nritems === 0) continue;
        const parent = parentIn(this.view, rootTree, tb);
        if (parent !== null) for (const x of this.roots(parent, depth + 1)) out.add(x);
      }
    }
    return out;
  }
}

/** The node of `root`'s tree pointing at `child` (found by searching the child's first key), or null. */
function parentIn(view: FsView, root: TreeRoot, child: TreeBlock): bigint | null {
  const fs = view.fs;
  const opts = fs.walkOptions;
  const k = child.key(0);
  const r = readRoot(fs.reader, root, opts);
  let b = r.block;
  let valid = r.validItems;
  while (b && !b.isLeaf && b.level > child.level) {
    let slot = b.search(k).slot;
    if (slot < 0) slot = 0;
    if (b.level === child.level + 1) {
      for (const s of [slot, slot - 1, slot + 1]) if (s >= 0 && s < valid && b.blockPtr(s) === child.logical) return b.logical;
      return null;
    }
    if (slot >= valid) return null;
    const c = readChild(fs.reader, b, slot, root.tree, opts);
    b = c.block;
    valid = c.validItems;
  }
  return null;
}
