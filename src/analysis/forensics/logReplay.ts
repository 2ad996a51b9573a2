import { ItemType, ObjectId } from '../../format/constants.js';
import { decodeDirItem, dirItemLocationObjectid } from '../../format/items/dir.js';
import { decodeFileExtent, fileExtentItem } from '../../format/items/fileExtent.js';
import { decodeInodeExtref, decodeInodeItem, decodeInodeRef, inodeItem } from '../../format/items/inode.js';
import { dirLogEnd, dirLogItem } from '../../format/items/misc.js';
import { compareKeys, type Key, U64_MAX } from '../../format/key.js';
import { FT_OF_KIND, kindOfMode } from '../../fs/fileKinds.js';
import { bytesEqualAll, nameHash } from '../../fs/names.js';
import type { Filesystem, ItemOverlay } from '../../tree/Filesystem.js';
import type { ItemRef, TreeRoot } from '../../tree/walk.js';
import { dirItemBytes, dirItemEntries, inodeRefEntries, synthItem, withU64 } from './synth.js';

/** What one subvolume's log tree holds (keys (TREE_LOG, ROOT_ITEM, subvolume) in the log root tree). */
export interface LoggedTree {
  subvol: bigint;
  root: TreeRoot;
  /** Inodes with an INODE_ITEM in the log: replayed as a whole (item, names, extents from the log). */
  inodes: { ino: bigint; mode: number; size: bigint; nlink: number; transid: bigint; place: { block: bigint; slot: number } }[];
  names: { ino: bigint; parent: bigint; name: Uint8Array; index: bigint }[];
  extents: { ino: bigint; fileOffset: bigint; kind: string; diskBytenr: bigint; diskNumBytes: bigint; offset: bigint; length: bigint }[];
  dirEntries: { dir: bigint; type: 'DIR_ITEM' | 'DIR_INDEX'; offset: bigint; name: Uint8Array; target: Key }[];
  /** DIR_LOG_INDEX / DIR_LOG_ITEM ranges: within them the log's entries are all the directory has (others were deleted). */
  dirRanges: { dir: bigint; type: 'DIR_LOG_INDEX' | 'DIR_LOG_ITEM'; start: bigint; end: bigint }[];
  xattrs: number;
  csumRanges: { start: bigint; end: bigint }[];
  /** Items of other types, which the replay model here does not apply. */
  other: number;
}

const keyStr = (objectid: bigint, type: number, offset: bigint) => `${objectid}:${type}:${offset}`;
const align = (v: bigint, a: bigint) => ((v + a - 1n) / a) * a;
const CSUM_TREE = ObjectId.CSUM_TREE;

interface TreeOverlay {
  /** Items added or replacing the tree's own (equal keys: these win), sorted by key. */
  add: ItemRef[];
  /** Keys of the tree's own items that the replay removes. */
  drop: Set<string>;
  /** Inodes whose EXTENT_DATA / XATTR_ITEM items all come from here. */
  extentsOf: Set<bigint>;
  xattrsOf: Set<bigint>;
}

/**
 * The filesystem as the kernel sees it after replaying the log tree
 * (tree-log.c replay_one_buffer), held in memory, never written:
 *  - a logged inode's INODE_ITEM replaces the committed one (nbytes is
 *    recomputed from its extents, as the replay does);
 *  - its INODE_REF/INODE_EXTREF items replace those with the same key, and
 *    each name they hold gets its DIR_ITEM and DIR_INDEX in the parent when
 *    the log has none (add_inode_ref → btrfs_add_link); a committed entry of
 *    the same name for another inode is dropped;
 *  - its file extents: committed ones past ALIGN(i_size) are dropped, each
 *    log EXTENT_DATA replaces the committed range it covers (the rest of a
 *    partly covered extent stays, trimmed);
 *  - its xattrs: when the log has any, they are all of them;
 *  - log DIR_ITEM/DIR_INDEX items are added; within a logged directory's
 *    DIR_LOG_INDEX (or DIR_LOG_ITEM) range, committed entries the log does
 *    not have are deleted (replay_dir_deletes), with the name's INODE_REF;
 *  - log EXTENT_CSUM items are added to the csum tree.
 * Not modelled: link count fix-ups and orphan cleanup of inodes whose last
 * name went away, and items of other types in the log (counted in `other`).
 */
export class LogOverlay implements ItemOverlay {
  readonly logged: LoggedTree[] = [];
  private readonly trees = new Map<bigint, TreeOverlay>();

  private constructor() {}

  /** Reads the log trees; null when the superblock has no log root. */
  static build(fs: Filesystem): LogOverlay | null {
    if (!fs.logRootTree) return null;
    const o = new LogOverlay();
    const csumAdds: ItemRef[] = [];
    for (const lt of fs.logTrees()) {
      const subvol = lt.key.offset;
      const root: TreeRoot = { tree: ObjectId.TREE_LOG, bytenr: lt.bytenr, level: lt.level, generation: lt.generation };
      const fsRoot = fs.treeRoot(subvol);
      o.addTree(fs, subvol, root, fsRoot, csumAdds);
    }
    if (csumAdds.length) {
      csumAdds.sort(byKey);
      o.trees.set(CSUM_TREE, { add: csumAdds, drop: new Set(), extentsOf: new Set(), xattrsOf: new Set() });
    }
    return o;
  }

  covers(tree: bigint): boolean {
    return this.trees.has(tree);
  }

  *items(base: (root: TreeRoot, min: Key, max: Key) => Generator<ItemRef>, root: TreeRoot, min: Key, max: Key): Generator<ItemRef> {
    const t = this.trees.get(root.tree)!;
    let i = lowerBound(t.add, min);
    // A csum item starting before `min` may cover it: callers look csums up by the item at or before an address.
    if (root.tree === CSUM_TREE && i > 0) i--;
    for (const ref of base(root, min, max)) {
      const b = ref.block,
        s = ref.slot;
      while (i < t.add.length && compareRefs(t.add[i]!, ref) < 0) {
        const a = t.add[i++]!;
        if (a.block.compareKey(a.slot, max) > 0) break;
        yield a;
      }
      if (i < t.add.length && compareRefs(t.add[i]!, ref) === 0) continue; // replaced (yielded next round)
      const type = b.keyType(s);
      const oid = b.keyObjectid(s);
      if (type === ItemType.EXTENT_DATA && t.extentsOf.has(oid)) continue;
      if (type === ItemType.XATTR_ITEM && t.xattrsOf.has(oid)) continue;
      if (t.drop.size && t.drop.has(keyStr(oid, type, b.keyOffsetField(s)))) continue;
      yield ref;
    }
    for (; i < t.add.length; i++) {
      const a = t.add[i]!;
      if (a.block.compareKey(a.slot, max) > 0) break;
      yield a;
    }
  }

  private addTree(fs: Filesystem, subvol: bigint, root: TreeRoot, fsRoot: TreeRoot | undefined, csumAdds: ItemRef[]): void {
    const info: LoggedTree = { subvol, root, inodes: [], names: [], extents: [], dirEntries: [], dirRanges: [], xattrs: 0, csumRanges: [], other: 0 };
    this.logged.push(info);
    const t: TreeOverlay = { add: [], drop: new Set(), extentsOf: new Set(), xattrsOf: new Set() };
    const adds = new Map<string, ItemRef>();
    const put = (ref: ItemRef) => adds.set(keyStr(ref.block.keyObjectid(ref.slot), ref.block.keyType(ref.slot), ref.block.keyOffsetField(ref.slot)), ref);
    const logInodes = new Map<bigint, { ref: ItemRef; mode: number; size: bigint; transid: bigint }>();
    const logExtents = new Map<bigint, ItemRef[]>();
    const logDirKeys = new Set<string>();
    const ss = BigInt(fs.superblock.sectorsize);
    const csumSize = fs.superblock.csumSize;
    const fsItems = (min: Key, max: Key): Generator<ItemRef> => (fsRoot ? fs.items(fsRoot, min, max) : (function* () {})());
    const pendingNames: { ino: bigint; parent: bigint; name: Uint8Array; index: bigint; ref: ItemRef }[] = [];

    for (const ref of fs.items(root)) {
      const { block, slot } = ref;
      const k = block.key(slot);
      const data = block.itemData(slot);
      switch (k.type) {
        case ItemType.INODE_ITEM: {
          const d = decodeInodeItem(data);
          if (d.kind === 'invalid') break;
          logInodes.set(k.objectid, { ref, mode: d.mode, size: d.size, transid: d.transid });
          info.inodes.push({ ino: k.objectid, mode: d.mode, size: d.size, nlink: d.nlink, transid: d.transid, place: { block: block.logical, slot } });
          break;
        }
        case ItemType.INODE_REF: {
          put(ref);
          const d = decodeInodeRef(k, data);
          if (d.kind !== 'invalid') for (const r of d.refs) pendingNames.push({ ino: k.objectid, parent: k.offset, name: r.name, index: r.index, ref });
          break;
        }
        case ItemType.INODE_EXTREF: {
          put(ref);
          const d = decodeInodeExtref(k, data);
          if (d.kind !== 'invalid') for (const r of d.refs) pendingNames.push({ ino: k.objectid, parent: r.parent, name: r.name, index: r.index, ref });
          break;
        }
        case ItemType.DIR_ITEM:
        case ItemType.DIR_INDEX: {
          put(ref);
          logDirKeys.add(keyStr(k.objectid, k.type, k.offset));
          const d = decodeDirItem(k, data);
          if (d.kind !== 'invalid')
            for (const e of d.entries) info.dirEntries.push({ dir: k.objectid, type: k.type === ItemType.DIR_ITEM ? 'DIR_ITEM' : 'DIR_INDEX', offset: k.offset, name: e.name, target: e.location });
          break;
        }
        case ItemType.DIR_LOG_INDEX:
        case ItemType.DIR_LOG_ITEM:
          if (data.length >= dirLogItem.size)
            info.dirRanges.push({ dir: k.objectid, type: k.type === ItemType.DIR_LOG_INDEX ? 'DIR_LOG_INDEX' : 'DIR_LOG_ITEM', start: k.offset, end: dirLogEnd(data, 0) });
          break;
        case ItemType.EXTENT_DATA: {
          const list = logExtents.get(k.objectid) ?? [];
          list.push(ref);
          logExtents.set(k.objectid, list);
          break;
        }
        case ItemType.XATTR_ITEM:
          put(ref);
          t.xattrsOf.add(k.objectid);
          info.xattrs++;
          break;
        case ItemType.EXTENT_CSUM:
          if (k.objectid === ObjectId.EXTENT_CSUM) {
            csumAdds.push(ref);
            const n = csumSize ? BigInt(Math.floor(data.length / csumSize)) : 0n;
            info.csumRanges.push({ start: k.offset, end: k.offset + n * ss });
          } else info.other++;
          break;
        default:
          info.other++;
      }
    }

    // Names: each logged name is an entry of its parent (add_inode_ref adds what is missing).
    for (const n of pendingNames) {
      info.names.push({ ino: n.ino, parent: n.parent, name: n.name, index: n.index });
      const li = logInodes.get(n.ino);
      const ftype = li ? FT_OF_KIND[kindOfMode(li.mode)] : 0;
      const transid = li?.transid ?? n.ref.block.generation;
      const loc: Key = { objectid: n.ino, type: ItemType.INODE_ITEM, offset: 0n };
      const entry = dirItemBytes(loc, transid, ftype, n.name);
      const gen = n.ref.block.generation;
      // A committed entry with this name for another inode is replaced; for this inode it stays.
      const hash = nameHash(n.name);
      const itemKey = keyStr(n.parent, ItemType.DIR_ITEM, hash);
      if (!logDirKeys.has(itemKey)) {
        let keep: Uint8Array[] = [];
        let already = false;
        for (const r of fsItems({ objectid: n.parent, type: ItemType.DIR_ITEM, offset: hash }, { objectid: n.parent, type: ItemType.DIR_ITEM, offset: hash })) {
          for (const e of dirItemEntries(r.block.itemData(r.slot))) {
            if (!bytesEqualAll(e.name, n.name)) keep.push(e.raw);
            else if (dirItemLocationObjectid(e.raw, 0) === n.ino) {
              already = true;
              keep.push(e.raw);
            }
          }
        }
        if (!already) keep = [...keep, entry];
        put(synthItem(n.ref.block.logical, subvol, gen, { objectid: n.parent, type: ItemType.DIR_ITEM, offset: hash }, concat(keep)));
      }
      for (const r of fsItems({ objectid: n.parent, type: ItemType.DIR_INDEX, offset: 0n }, { objectid: n.parent, type: ItemType.DIR_INDEX, offset: U64_MAX })) {
        for (const e of dirItemEntries(r.block.itemData(r.slot))) {
          if (bytesEqualAll(e.name, n.name) && (dirItemLocationObjectid(e.raw, 0) !== n.ino || r.block.keyOffsetField(r.slot) !== n.index)) {
            t.drop.add(keyStr(n.parent, ItemType.DIR_INDEX, r.block.keyOffsetField(r.slot)));
          }
        }
      }
      const indexKey = keyStr(n.parent, ItemType.DIR_INDEX, n.index);
      if (!logDirKeys.has(indexKey)) put(synthItem(n.ref.block.logical, subvol, gen, { objectid: n.parent, type: ItemType.DIR_INDEX, offset: n.index }, entry));
    }

    // Deleted entries: inside a logged range, what the log does not hold is gone.
    for (const r of info.dirRanges) {
      const type = r.type === 'DIR_LOG_INDEX' ? ItemType.DIR_INDEX : ItemType.DIR_ITEM;
      for (const ref of fsItems({ objectid: r.dir, type, offset: r.start }, { objectid: r.dir, type, offset: r.end })) {
        const off = ref.block.keyOffsetField(ref.slot);
        if (logDirKeys.has(keyStr(r.dir, type, off)) || adds.has(keyStr(r.dir, type, off))) continue;
        t.drop.add(keyStr(r.dir, type, off));
        for (const e of dirItemEntries(ref.block.itemData(ref.slot))) this.dropName(fsItems, t, adds, subvol, r.dir, e.name, dirItemLocationObjectid(e.raw, 0), ref.block.generation);
      }
    }

    // Logged inodes: their item (nbytes recomputed) and, for regular files, their extents.
    for (const [ino, li] of logInodes) {
      let nbytes: bigint | null = null;
      if (kindOfMode(li.mode) === 'file') {
        t.extentsOf.add(ino);
        nbytes = 0n;
        const list = this.mergeExtents(fsItems, ino, logExtents.get(ino) ?? [], align(li.size, ss), subvol, info);
        for (const e of list) {
          put(e.ref);
          nbytes += e.bytes;
        }
      }
      const data = li.ref.block.itemData(li.ref.slot);
      // The log leaves nbytes 0 and the replay recounts it.
      put(
        nbytes !== null
          ? synthItem(li.ref.block.logical, subvol, li.ref.block.generation, { objectid: ino, type: ItemType.INODE_ITEM, offset: 0n }, withU64(data, inodeItem.off.nbytes, nbytes))
          : li.ref,
      );
    }
    t.add = [...adds.values()].sort(byKey);
    this.trees.set(subvol, t);
  }

  /** Removes a deleted name: the parent's DIR_ITEM entry and the inode's INODE_REF entry. */
  private dropName(fsItems: (min: Key, max: Key) => Generator<ItemRef>, t: TreeOverlay, adds: Map<string, ItemRef>, subvol: bigint, dir: bigint, name: Uint8Array, ino: bigint, gen: bigint): void {
    const hash = nameHash(name);
    const filter = (type: number, objectid: bigint, offset: bigint, keepEntry: (raw: Uint8Array, n: Uint8Array) => boolean, split: (d: Uint8Array) => { raw: Uint8Array; name: Uint8Array }[]) => {
      const ks = keyStr(objectid, type, offset);
      if (adds.has(ks)) return;
      for (const r of fsItems({ objectid, type, offset }, { objectid, type, offset })) {
        const all = split(r.block.itemData(r.slot));
        const kept = all.filter((e) => keepEntry(e.raw, e.name));
        if (kept.length === all.length) return;
        if (kept.length === 0) t.drop.add(ks);
        else adds.set(ks, synthItem(r.block.logical, subvol, gen, { objectid, type, offset }, concat(kept.map((e) => e.raw))));
      }
    };
    filter(ItemType.DIR_ITEM, dir, hash, (_raw, n) => !bytesEqualAll(n, name), dirItemEntries);
    filter(ItemType.INODE_REF, ino, dir, (_raw, n) => !bytesEqualAll(n, name), inodeRefEntries);
  }

  /**
   * A logged file's extents after replay: committed ones cut at `end` and
   * around each log extent's range, then the log's. Returns item refs
   * (trimmed committed ones made up) and the bytes each counts in nbytes.
   */
  private mergeExtents(fsItems: (min: Key, max: Key) => Generator<ItemRef>, ino: bigint, log: ItemRef[], end: bigint, subvol: bigint, info: LoggedTree): { ref: ItemRef; bytes: bigint }[] {
    const out: { ref: ItemRef; bytes: bigint; at: bigint }[] = [];
    const ranges: [bigint, bigint][] = [];
    for (const ref of log) {
      const k = ref.block.key(ref.slot);
      const d = decodeFileExtent(k, ref.block.itemData(ref.slot));
      if (d.kind === 'invalid') continue;
      const len = d.body === 'inline' ? align(d.ramBytes, 1n) : d.numBytes;
      ranges.push([k.offset, k.offset + len]);
      const bytes = d.body === 'inline' ? d.ramBytes : d.diskBytenr === 0n ? 0n : d.numBytes;
      out.push({ ref, bytes, at: k.offset });
      info.extents.push({
        ino,
        fileOffset: k.offset,
        kind: d.body === 'inline' ? 'inline' : d.diskBytenr === 0n ? 'hole' : d.type === 2 ? 'prealloc' : 'regular',
        diskBytenr: d.body === 'inline' ? 0n : d.diskBytenr,
        diskNumBytes: d.body === 'inline' ? 0n : d.diskNumBytes,
        offset: d.body === 'inline' ? 0n : d.offset,
        length: len,
      });
    }
    ranges.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    for (const ref of fsItems({ objectid: ino, type: ItemType.EXTENT_DATA, offset: 0n }, { objectid: ino, type: ItemType.EXTENT_DATA, offset: U64_MAX })) {
      const k = ref.block.key(ref.slot);
      const data = ref.block.itemData(ref.slot);
      const d = decodeFileExtent(k, data);
      if (d.kind === 'invalid') continue;
      if (d.body === 'inline') {
        const e = k.offset + d.ramBytes;
        if (k.offset < end && !ranges.some(([a, b]) => a < e && b > k.offset)) out.push({ ref, bytes: d.ramBytes, at: k.offset });
        continue;
      }
      // The pieces of [start, stop) not covered by a log extent and below `end`.
      let pieces: [bigint, bigint][] = [[k.offset, k.offset + d.numBytes < end ? k.offset + d.numBytes : end]];
      for (const [a, b] of ranges) {
        pieces = pieces.flatMap(([x, y]) => (b <= x || a >= y ? [[x, y]] : [...(a > x ? [[x, a]] : []), ...(b < y ? [[b, y]] : [])]) as [bigint, bigint][]);
      }
      for (const [x, y] of pieces) {
        if (y <= x) continue;
        const bytes = d.diskBytenr === 0n ? 0n : y - x;
        if (x === k.offset && y === k.offset + d.numBytes) {
          out.push({ ref, bytes, at: x });
          continue;
        }
        // The kept piece: its offset into the extent and its length.
        const trimmed = withU64(withU64(data, fileExtentItem.off.offset, d.offset + (x - k.offset)), fileExtentItem.off.numBytes, y - x);
        out.push({ ref: synthItem(ref.block.logical, subvol, ref.block.generation, { objectid: ino, type: ItemType.EXTENT_DATA, offset: x }, trimmed), bytes, at: x });
      }
    }
    out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return out;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function compareRefs(a: ItemRef, b: ItemRef): number {
  return -b.block.compareKey(b.slot, a.block.key(a.slot));
}

function byKey(a: ItemRef, b: ItemRef): number {
  return compareKeys(a.block.key(a.slot), b.block.key(b.slot));
}

function lowerBound(list: ItemRef[], k: Key): number {
  let lo = 0,
    hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.block.compareKey(list[mid]!.slot, k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
