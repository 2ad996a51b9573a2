import { Compression, ItemType } from '../format/constants.js';
import { decodeDirItem } from '../format/items/dir.js';
import { decodeFileExtent } from '../format/items/fileExtent.js';
import { decodeInodeExtref, decodeInodeItem, decodeInodeRef, type InodeItem } from '../format/items/inode.js';
import { rootItemPointer } from '../format/items/root.js';
import { compareKeysAt, type Key, U64_MAX } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import { kindOfMode } from '../fs/fileKinds.js';
import { displayName, displayText } from '../fs/names.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { type ItemRef, readChild, readRoot, type TreeRoot } from '../tree/walk.js';

/**
 * What changed between two fs trees of the same lineage (a subvolume and its
 * snapshot, two snapshots, or one tree at two generations). Tree blocks are
 * copy-on-write, so a block pointer equal in both trees means an identical
 * subtree: the trees are compared level by level, dropping every block
 * present in both frontiers, and only blocks that differ are read. The cost
 * follows the size of the change, not the size of the trees.
 */

export interface ItemDiff {
  key: Key;
  a: Uint8Array | null;
  b: Uint8Array | null;
}

export interface TreeDiffStats {
  blocksRead: number;
  /** Subtrees skipped because both trees point at the same block. */
  subtreesSkipped: number;
}

interface Pending {
  ptr: bigint;
  parent: TreeBlock | null;
  slot: number;
}

/** Items that differ between the trees (present in one only, or with different bytes), in key order. */
export function diffTreeItems(fs: Filesystem, a: TreeRoot, b: TreeRoot): { items: ItemDiff[]; stats: TreeDiffStats } {
  const stats: TreeDiffStats = { blocksRead: 0, subtreesSkipped: 0 };
  const out: ItemDiff[] = [];
  // Only what differs is kept, as copies: a kept item must not pin its 16 KiB block.
  for (const d of diffItemRefs(fs, a, b, stats)) {
    const ref = (d.a ?? d.b)!;
    out.push({ key: ref.block.key(ref.slot), a: d.a ? d.a.block.itemData(d.a.slot).slice() : null, b: d.b ? d.b.block.itemData(d.b.slot).slice() : null });
  }
  // Damaged trees can hold keys out of order: the answer is in key order all the same.
  out.sort((x, y) => cmpKey(x.key, y.key));
  return { items: out, stats };
}

/** One differing item: where it is in each tree (null on the side that lacks it). */
export interface ItemRefDiff {
  a: ItemRef | null;
  b: ItemRef | null;
}

/**
 * Items that differ between the trees, as the merge of the differing leaves
 * meets them: in key order unless a damaged tree holds keys out of order.
 * No item is collected: a diff of two unrelated trees (an old root whose
 * blocks were all rewritten since) holds the pointers to the differing
 * leaves and one leaf per side. The refs point into those leaves; what
 * must outlive the step is the caller's to copy.
 */
export function* diffItemRefs(fs: Filesystem, a: TreeRoot, b: TreeRoot, stats: TreeDiffStats = { blocksRead: 0, subtreesSkipped: 0 }): Generator<ItemRefDiff> {
  const opts = fs.walkOptions;
  const top = Math.max(a.level, b.level);
  const fa: Pending[][] = Array.from({ length: top + 1 }, () => []);
  const fb: Pending[][] = Array.from({ length: top + 1 }, () => []);
  fa[a.level]!.push({ ptr: a.bytenr, parent: null, slot: 0 });
  fb[b.level]!.push({ ptr: b.bytenr, parent: null, slot: 0 });
  const read = (p: Pending, root: TreeRoot) => {
    const r = p.parent ? readChild(fs.reader, p.parent, p.slot, root.tree, opts) : readRoot(fs.reader, root, opts);
    if (r.block) stats.blocksRead++;
    return r;
  };
  // Nodes are expanded level by level, dropping pointers both frontiers hold (identical subtrees).
  const expand = (p: Pending, root: TreeRoot, into: Pending[][]) => {
    const r = read(p, root);
    if (!r.block || r.block.isLeaf) return;
    for (let i = 0; i < r.validItems; i++) into[r.block.level - 1]!.push({ ptr: r.block.blockPtr(i), parent: r.block, slot: i });
  };
  for (let lvl = top; lvl >= 1; lvl--) {
    const inA = new Set(fa[lvl]!.map((p) => p.ptr));
    const inB = new Set(fb[lvl]!.map((p) => p.ptr));
    for (const p of fa[lvl]!) {
      if (inB.has(p.ptr)) {
        stats.subtreesSkipped++;
        continue;
      }
      expand(p, a, fa);
    }
    for (const p of fb[lvl]!) if (!inA.has(p.ptr)) expand(p, b, fb);
    fa[lvl] = [];
    fb[lvl] = [];
  }
  // The leaves that differ, in key order on each side (by the key their parent gives them),
  // are then merged item by item: one leaf per side is in hand at a time, however big the change.
  const inA = new Set(fa[0]!.map((p) => p.ptr)),
    inB = new Set(fb[0]!.map((p) => p.ptr));
  const leavesA = fa[0]!
    .filter((p) => {
      if (inB.has(p.ptr)) stats.subtreesSkipped++;
      return !inB.has(p.ptr);
    })
    .sort(byParentKey);
  const leavesB = fb[0]!.filter((p) => !inA.has(p.ptr)).sort(byParentKey);
  const ca = new LeafCursor(leavesA, (p) => read(p, a)),
    cb = new LeafCursor(leavesB, (p) => read(p, b));
  for (;;) {
    const ha = ca.peek(),
      hb = cb.peek();
    if (!ha && !hb) break;
    const c = ha && hb ? compareKeysAt(ha.block.data, ha.block.keyOffset(ha.slot), hb.block.data, hb.block.keyOffset(hb.slot)) : ha ? -1 : 1;
    if (c < 0) {
      yield { a: ha, b: null };
      ca.next();
      continue;
    }
    if (c > 0) {
      yield { a: null, b: hb };
      cb.next();
      continue;
    }
    if (!bytesEqual(ha!.block.itemData(ha!.slot), hb!.block.itemData(hb!.slot))) yield { a: ha, b: hb };
    ca.next();
    cb.next();
  }
}

/** Leaf pointers by the key the parent gives them (a root leaf has no parent and comes first). */
function byParentKey(x: Pending, y: Pending): number {
  if (!x.parent || !y.parent) return x.parent ? 1 : y.parent ? -1 : 0;
  return compareKeysAt(x.parent.data, x.parent.keyOffset(x.slot), y.parent.data, y.parent.keyOffset(y.slot));
}

/** The items of a list of leaves, in order, reading each leaf when its turn comes. */
class LeafCursor {
  private i = -1;
  private block: TreeBlock | null = null;
  private valid = 0;
  private slot = 0;
  constructor(
    private readonly leaves: Pending[],
    private readonly read: (p: Pending) => { block: TreeBlock | null; validItems: number },
  ) {}

  peek(): { block: TreeBlock; slot: number } | null {
    while (!this.block || this.slot >= this.valid) {
      if (++this.i >= this.leaves.length) return null;
      const r = this.read(this.leaves[this.i]!);
      // A leaf where a leaf should be: a node here is damage the read already reported.
      this.block = r.block?.isLeaf ? r.block : null;
      this.valid = this.block ? r.validItems : 0;
      this.slot = 0;
    }
    return { block: this.block, slot: this.slot };
  }

  next(): void {
    this.slot++;
  }
}

function bytesEqual(x: Uint8Array, y: Uint8Array): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function cmpKey(a: Key, b: Key): number {
  if (a.objectid !== b.objectid) return a.objectid < b.objectid ? -1 : 1;
  if (a.type !== b.type) return a.type - b.type;
  return a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0;
}

// ------------------------------------------------------------------ files

export type ChangeKind = 'added' | 'deleted' | 'renamed' | 'modified' | 'metadata';

export interface FileChange {
  ino: bigint;
  /** added / deleted; else renamed when its names changed, modified when its data changed, metadata otherwise. */
  kind: ChangeKind;
  type: string;
  pathsA: string[];
  pathsB: string[];
  renamed: boolean;
  /** File ranges whose content differs (data changed, or size changed), merged. */
  ranges: [bigint, bigint][];
  sizeA: bigint | null;
  sizeB: bigint | null;
  /** Inode fields that differ (mode, uid, gid, nlink, size, rdev, flags, atime, mtime, ctime, otime). */
  fields: string[];
  /** Names of xattrs added, removed or changed. */
  xattrs: string[];
  /** Directories: entries changed. */
  entries: boolean;
}

export interface DiffResult {
  changes: FileChange[];
  stats: TreeDiffStats;
  itemsCompared: number;
}

const FIELDS: (keyof InodeItem)[] = ['mode', 'uid', 'gid', 'nlink', 'size', 'rdev', 'flags'];
const TIMES: ('atime' | 'mtime' | 'ctime' | 'otime')[] = ['atime', 'mtime', 'ctime', 'otime'];

/** Mapping of one file range: where its bytes come from. */
interface MapPiece {
  start: bigint;
  end: bigint;
  src: string;
}

function extentMap(fs: Filesystem, root: TreeRoot, ino: bigint): MapPiece[] {
  const out: MapPiece[] = [];
  for (const { block, slot } of fs.items(root, { objectid: ino, type: ItemType.EXTENT_DATA, offset: 0n }, { objectid: ino, type: ItemType.EXTENT_DATA, offset: U64_MAX })) {
    const k = block.key(slot);
    const d = decodeFileExtent(k, block.itemData(slot));
    if (d.kind === 'invalid') continue;
    if (d.body === 'inline') {
      const len = d.compression === Compression.NONE ? BigInt(d.inlineLength) : d.ramBytes;
      out.push({ start: k.offset, end: k.offset + len, src: `inline:${Array.from(d.data).join(',')}` });
    } else if (d.diskBytenr === 0n) {
      out.push({ start: k.offset, end: k.offset + d.numBytes, src: 'hole' });
    } else {
      // Same extent and same offset into it means the same bytes (extents are never rewritten in place, except NODATACOW).
      out.push({ start: k.offset, end: k.offset + d.numBytes, src: `${d.type}:${d.diskBytenr}:${d.compression}:${d.offset - k.offset}` });
    }
  }
  return out;
}

/** Ranges of [0, max) where the two mappings differ; a byte past a file's size reads as absent. */
function changedRanges(ma: MapPiece[], mb: MapPiece[], sizeA: bigint, sizeB: bigint): [bigint, bigint][] {
  const cuts = new Set<bigint>([0n, sizeA, sizeB]);
  for (const p of [...ma, ...mb]) {
    cuts.add(p.start);
    cuts.add(p.end);
  }
  const max = sizeA > sizeB ? sizeA : sizeB;
  const pts = [...cuts].filter((x) => x <= max).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  // Pieces are in key (file offset) order and the cut points ascend: one pointer per side.
  const cursor = (m: MapPiece[], size: bigint) => {
    let i = 0;
    return (pos: bigint): string => {
      if (pos >= size) return 'absent';
      while (i < m.length && m[i]!.end <= pos) i++;
      const p = m[i];
      return p && p.start <= pos ? p.src : 'hole';
    };
  };
  const srcA = cursor(ma, sizeA),
    srcB = cursor(mb, sizeB);
  const out: [bigint, bigint][] = [];
  for (let i = 0; i + 1 < pts.length; i++) {
    const s = pts[i]!,
      e = pts[i + 1]!;
    if (srcA(s) === srcB(s)) continue;
    const last = out[out.length - 1];
    if (last && last[1] === s) last[1] = e;
    else out.push([s, e]);
  }
  return out;
}

/** Names of an inode: "parentIno/name" strings. */
function names(items: ItemDiff[], side: 'a' | 'b'): Set<string> {
  const out = new Set<string>();
  for (const it of items) {
    const data = it[side];
    if (!data) continue;
    if (it.key.type === ItemType.INODE_REF) {
      const d = decodeInodeRef(it.key, data);
      if (d.kind !== 'invalid') for (const r of d.refs) out.add(`${it.key.offset}/${displayName(r.name)}`);
    } else if (it.key.type === ItemType.INODE_EXTREF) {
      const d = decodeInodeExtref(it.key, data);
      if (d.kind !== 'invalid') for (const r of d.refs) out.add(`${r.parent}/${displayName(r.name)}`);
    }
  }
  return out;
}

/** Paths of an inode in one tree (from the tree's root directory), following INODE_REFs up. */
export function pathsIn(fs: Filesystem, root: TreeRoot, ino: bigint, rootDir = 256n): string[] {
  const out: string[] = [];
  const first = (objectid: bigint) => {
    const refs: { parent: bigint; name: string }[] = [];
    for (const { block, slot } of fs.items(root, { objectid, type: ItemType.INODE_REF, offset: 0n }, { objectid, type: ItemType.INODE_EXTREF, offset: U64_MAX })) {
      const k = block.key(slot);
      if (k.type === ItemType.INODE_REF) {
        const d = decodeInodeRef(k, block.itemData(slot));
        if (d.kind !== 'invalid') for (const r of d.refs) refs.push({ parent: k.offset, name: displayName(r.name) });
      } else if (k.type === ItemType.INODE_EXTREF) {
        const d = decodeInodeExtref(k, block.itemData(slot));
        if (d.kind !== 'invalid') for (const r of d.refs) refs.push({ parent: r.parent, name: displayName(r.name) });
      }
    }
    return refs;
  };
  if (ino === rootDir) return ['/'];
  for (const r of first(ino).slice(0, 64)) {
    const parts = [r.name];
    let cur = r.parent;
    let ok = true;
    for (let depth = 0; cur !== rootDir; depth++) {
      const up = first(cur)[0];
      if (!up || depth > 4096) {
        ok = false;
        break;
      }
      parts.unshift(up.name);
      cur = up.parent;
    }
    if (ok) out.push('/' + parts.join('/'));
  }
  return out.sort();
}

/** File-level changes between two fs trees. */
export function diffTrees(fs: Filesystem, a: TreeRoot, b: TreeRoot): DiffResult {
  const { items, stats } = diffTreeItems(fs, a, b);
  const byIno = new Map<bigint, ItemDiff[]>();
  for (const it of items) {
    // Inode numbers start at 256 (the root directory); lower object ids are not files (orphans, free-ino cache).
    if (it.key.objectid < 256n || it.key.objectid > 0xffffffffffffff00n) continue;
    (byIno.get(it.key.objectid) ?? byIno.set(it.key.objectid, []).get(it.key.objectid)!).push(it);
  }
  const changes: FileChange[] = [];
  const inodeOf = (root: TreeRoot, ino: bigint, list: ItemDiff[], side: 'a' | 'b'): InodeItem | null => {
    const it = list.find((x) => x.key.type === ItemType.INODE_ITEM);
    let data = it ? it[side] : null;
    if (!it) {
      const f = fs.find(root, { objectid: ino, type: ItemType.INODE_ITEM, offset: 0n });
      data = f ? f.block.itemData(f.slot) : null;
    }
    if (!data) return null;
    const d = decodeInodeItem(data);
    return d.kind === 'invalid' ? null : d;
  };
  for (const [ino, list] of byIno) {
    const ia = inodeOf(a, ino, list, 'a');
    const ib = inodeOf(b, ino, list, 'b');
    if (!ia && !ib) continue;
    const type = kindOfMode((ib ?? ia)!.mode);
    const c: FileChange = {
      ino,
      kind: 'metadata',
      type,
      pathsA: ia ? pathsIn(fs, a, ino) : [],
      pathsB: ib ? pathsIn(fs, b, ino) : [],
      renamed: false,
      ranges: [],
      sizeA: ia?.size ?? null,
      sizeB: ib?.size ?? null,
      fields: [],
      xattrs: [],
      entries: false,
    };
    if (!ia) c.kind = 'added';
    else if (!ib) c.kind = 'deleted';
    else {
      for (const f of FIELDS) if (ia[f] !== ib[f]) c.fields.push(f);
      for (const t of TIMES) if (ia[t].sec !== ib[t].sec || ia[t].nsec !== ib[t].nsec) c.fields.push(t);
      const na = names(list, 'a'),
        nb = names(list, 'b');
      c.renamed = na.size !== nb.size || [...na].some((x) => !nb.has(x));
      for (const it of list) {
        if (it.key.type === ItemType.XATTR_ITEM) {
          for (const side of ['a', 'b'] as const) {
            const data = it[side];
            if (!data) continue;
            const d = decodeDirItem(it.key, data);
            if (d.kind !== 'invalid') for (const e of d.entries) if (!c.xattrs.includes(displayText(e.name))) c.xattrs.push(displayText(e.name));
          }
        }
        if (it.key.type === ItemType.DIR_ITEM || it.key.type === ItemType.DIR_INDEX) c.entries = true;
      }
      const dataChanged = list.some((x) => x.key.type === ItemType.EXTENT_DATA) || ia.size !== ib.size;
      if (dataChanged && type !== 'dir') c.ranges = changedRanges(extentMap(fs, a, ino), extentMap(fs, b, ino), ia.size, ib.size);
      if (c.ranges.length) c.kind = 'modified';
      else if (c.renamed) c.kind = 'renamed';
      else if (!c.fields.length && !c.xattrs.length && !c.entries) continue; // only generation/transid/sequence moved
    }
    changes.push(c);
  }
  return { changes, stats, itemsCompared: items.length };
}

/** The fs tree of a subvolume as it was at generation `gen`, from the superblock's backup roots. */
export function treeAtGeneration(fs: Filesystem, subvol: bigint, gen: bigint): TreeRoot | { error: string } {
  const sb = fs.superblock;
  let rootTree: TreeRoot | undefined;
  if (sb.generation === gen) rootTree = fs.rootTree;
  for (const br of sb.backupRoots) if (!rootTree && br.treeRootGen === gen && br.treeRoot !== 0n) rootTree = { tree: 1n, bytenr: br.treeRoot, level: br.treeRootLevel, generation: br.treeRootGen };
  if (!rootTree) {
    const have = [sb.generation, ...sb.backupRoots.map((b) => b.treeRootGen)].filter((g) => g !== 0n);
    return { error: `no root tree of generation ${gen} (the superblock and its backup roots have generations ${[...new Set(have)].sort((x, y) => (x < y ? -1 : 1)).join(', ')})` };
  }
  let found: { bytenr: bigint; level: number; generation: bigint } | null = null;
  for (const ref of fs.items(rootTree, { objectid: subvol, type: ItemType.ROOT_ITEM, offset: 0n }, { objectid: subvol, type: ItemType.ROOT_ITEM, offset: U64_MAX })) {
    found = rootItemPointer(ref.block.itemData(ref.slot)) ?? found;
  }
  if (!found) return { error: `subvolume ${subvol} has no root item at generation ${gen}` };
  return { tree: subvol, ...found };
}
