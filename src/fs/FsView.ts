import { rule } from '../findingRules.js';
import type { Finding } from '../findings.js';
import { ItemType, ObjectId, RootFlag, SuperFlag } from '../format/constants.js';
import { decodeDirItem, type DirEntry as RawDirEntry } from '../format/items/dir.js';
import { decodeInodeExtref, decodeInodeItem, decodeInodeRef } from '../format/items/inode.js';
import { decodeRootItem, decodeRootRef } from '../format/items/root.js';
import { type Key, U64_MAX } from '../format/key.js';
import { fmtKey } from '../format/treeBlock.js';
import type { Filesystem } from '../tree/Filesystem.js';
import type { ItemRef, TreeRoot } from '../tree/walk.js';
import { isFsTreeId, kindOfMode } from './fileKinds.js';
import { bytesEqualAll, displayPath, hasEscapes, nameHash, parsePath, utf8Bytes } from './names.js';
import type { DirEntry, Inode, InodeName, InodeRef, ItemPlace, ResolveResult, SubvolumeInfo, Xattr } from './types.js';

/** Bounds that keep hostile trees from making walks unbounded. */
export const LIMITS = {
  /** Most directories whose (parent, name) link is kept for building paths. */
  maxCachedDirLinks: 1 << 18,
  /** Most subvolume links followed when building the path of a subvolume. */
  maxSubvolDepth: 4096,
  /** Most names (INODE_REF/EXTREF entries) collected for one inode. */
  maxNames: 65536,
  /** Most xattrs collected for one inode. */
  maxXattrs: 65536,
} as const;

/** Object id of the empty directory shown for a subvolume link without a ROOT_REF. */
export const EMPTY_SUBVOL_DIR = ObjectId.EMPTY_SUBVOL_DIR;

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

/**
 * Files and directories of a btrfs filesystem as a mount of subvolume 5
 * shows them: every subvolume reachable through its link, names as bytes.
 * Everything is read lazily from the trees; damage met on the way goes to
 * `fs.sink` (the view's findings) and the walk goes on.
 */
export class FsView {
  private readonly trees = new Map<bigint, TreeRoot | null>();
  private subvolCache: SubvolumeInfo[] | undefined;
  private subvolById: Map<bigint, SubvolumeInfo> | undefined;
  private defaultCache: bigint | undefined;
  private readonly inodeCache = new Map<string, Inode | null>();
  /** A directory's one name: its parent and name (null: no usable INODE_REF), `subvol:ino` keyed. */
  private readonly dirLinkCache = new Map<string, { parent: bigint; name: Uint8Array } | null>();
  /** Directories whose parent chain was found to loop (reported once). */
  private readonly dirLoops = new Set<string>();

  constructor(readonly fs: Filesystem) {}

  get sectorsize(): number {
    return this.fs.superblock.sectorsize;
  }

  /** True for images made by btrfs-image: metadata only, every data block and inline extent zeroed. */
  get isMetadump(): boolean {
    return this.fs.assembly.metadump !== undefined || (this.fs.superblock.flags & (SuperFlag.METADUMP | SuperFlag.METADUMP_V2)) !== 0n;
  }

  /**
   * A btrfs-image dump made with -d: its data extents are readable by logical address. Its inline
   * extents and csum items are zeroed all the same (image-create.c zero_items runs on every leaf).
   */
  get metadumpHasData(): boolean {
    return this.fs.assembly.metadump?.data === true;
  }

  /** Drops the cached inodes and directory paths (a view kept for later reads need not keep them). */
  forget(): void {
    this.inodeCache.clear();
    this.dirLinkCache.clear();
    this.dirLoops.clear();
  }

  finding(f: Finding): void {
    this.fs.sink.add(f);
  }

  /** The root of tree `id` (a subvolume's fs tree, or any other tree), cached; undefined when there is no root item for it. */
  tree(subvol: bigint): TreeRoot | undefined {
    let t = this.trees.get(subvol);
    if (t === undefined) {
      t = this.fs.treeRoot(subvol) ?? null;
      this.trees.set(subvol, t);
    }
    return t ?? undefined;
  }

  // ---------------------------------------------------------------- subvolumes

  /** The default subvolume: DIR_ITEM "default" in the root tree directory (6), else 5. */
  defaultSubvolume(): bigint {
    if (this.defaultCache !== undefined) return this.defaultCache;
    let id: bigint = ObjectId.FS_TREE;
    const name = utf8Bytes('default');
    const k: Key = { objectid: ObjectId.ROOT_TREE_DIR, type: ItemType.DIR_ITEM, offset: nameHash(name) };
    const ref = this.fs.find(this.fs.rootTree, k);
    if (ref) {
      const d = decodeDirItem(k, ref.block.itemData(ref.slot));
      if (d.kind !== 'invalid') {
        const e = d.entries.find((x) => bytesEqualAll(x.name, name));
        if (e && e.location.type === ItemType.ROOT_ITEM) id = e.location.objectid;
      }
    }
    this.defaultCache = id;
    return id;
  }

  /** Every subvolume and snapshot (fs trees: 5 and 256..), in id order. */
  subvolumes(): SubvolumeInfo[] {
    if (this.subvolCache) return this.subvolCache;
    const fs = this.fs;
    const rootTree = fs.rootTree;
    // The newest root item of each fs tree (highest key offset wins).
    const latest = new Map<bigint, { key: Key; place: ItemPlace; data: Uint8Array }>();
    const backrefs = new Map<bigint, { parent: bigint; dirid: bigint; name: Uint8Array; sequence: bigint }>();
    const orphans = new Set<bigint>();
    for (const { block, slot } of fs.items(rootTree)) {
      const k = block.key(slot);
      if (k.type === ItemType.ROOT_ITEM && isFsTreeId(k.objectid)) {
        latest.set(k.objectid, { key: k, place: { tree: ObjectId.ROOT_TREE, block: block.logical, slot }, data: block.itemData(slot) });
      } else if (k.type === ItemType.ROOT_BACKREF && isFsTreeId(k.objectid) && !backrefs.has(k.objectid)) {
        const r = decodeRootRef(k, block.itemData(slot));
        if (r.kind === 'invalid') this.badItem(ObjectId.ROOT_TREE, block.logical, slot, k, r.reason);
        else backrefs.set(k.objectid, { parent: r.parentTree, dirid: r.dirid, name: r.name, sequence: r.sequence });
      } else if (k.type === ItemType.ORPHAN_ITEM && k.objectid === ObjectId.ORPHAN) {
        orphans.add(k.offset);
      }
    }
    const def = this.defaultSubvolume();
    const out: SubvolumeInfo[] = [];
    for (const [id, r] of latest) {
      const item = decodeRootItem(r.key, r.data);
      if (item.kind === 'invalid') {
        this.badItem(ObjectId.ROOT_TREE, r.place.block, r.place.slot, r.key, item.reason);
        continue;
      }
      const br = backrefs.get(id);
      const uuid = (u: string) => (item.v2Valid && u !== ZERO_UUID ? u : null);
      const orphan = orphans.has(id);
      out.push({
        id,
        path: null,
        parentId: br?.parent ?? null,
        dirId: br?.dirid ?? null,
        name: br?.name ?? null,
        dirIndex: br?.sequence ?? null,
        item,
        generation: item.generation,
        otransid: item.v2Valid ? item.otransid : 0n,
        ctransid: item.v2Valid ? item.ctransid : 0n,
        uuid: uuid(item.uuid),
        parentUuid: uuid(item.parentUuid),
        receivedUuid: uuid(item.receivedUuid),
        readOnly: (item.flags & RootFlag.SUBVOL_RDONLY) !== 0n,
        isDefault: id === def,
        deleted: id !== ObjectId.FS_TREE && (item.refs === 0 || (item.flags & RootFlag.SUBVOL_DEAD) !== 0n || orphan),
        orphan,
        snapshotOf: null,
        rootDirId: item.rootDirid,
        place: r.place,
      });
    }
    out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const byUuid = new Map<string, bigint>();
    for (const s of out) if (s.uuid) byUuid.set(s.uuid, s.id);
    for (const s of out) if (s.parentUuid) s.snapshotOf = byUuid.get(s.parentUuid) ?? null;
    this.subvolCache = out;
    // Paths need the list (to find parents and root directories), so they are filled in after.
    const byId = new Map(out.map((s) => [s.id, s]));
    this.subvolById = byId;
    for (const s of out) s.path = this.subvolPath(s, byId);
    return out;
  }

  subvolume(id: bigint): SubvolumeInfo | undefined {
    if (!this.subvolById) this.subvolById = new Map(this.subvolumes().map((s) => [s.id, s]));
    return this.subvolById.get(id);
  }

  private subvolPath(s: SubvolumeInfo, byId: Map<bigint, SubvolumeInfo>): Uint8Array[] | null {
    const parts: Uint8Array[][] = [];
    let cur: SubvolumeInfo | undefined = s;
    const seen = new Set<bigint>();
    while (cur && cur.id !== ObjectId.FS_TREE) {
      if (seen.has(cur.id) || seen.size > LIMITS.maxSubvolDepth) {
        this.finding({ ...rule('subvolume-loop'), message: `subvolume ${s.id}: the chain of ROOT_BACKREFs loops at subvolume ${cur.id}`, location: { tree: ObjectId.ROOT_TREE } });
        return null;
      }
      seen.add(cur.id);
      if (cur.parentId === null || cur.dirId === null || cur.name === null) return null;
      const dir = this.dirPathInSubvol({ subvol: cur.parentId, ino: cur.dirId });
      if (!dir) return null;
      parts.unshift([...dir, cur.name]);
      cur = byId.get(cur.parentId);
      if (!cur) return null;
    }
    return parts.flat();
  }

  /** Path of a subvolume's root from the top of the filesystem (components); [] for 5; null when unreachable. */
  subvolumePath(id: bigint): Uint8Array[] | null {
    if (id === ObjectId.FS_TREE) return [];
    return this.subvolume(id)?.path ?? null;
  }

  /** The root directory of a subvolume. */
  rootOf(subvol: bigint): InodeRef {
    const s = this.subvolume(subvol);
    return { subvol, ino: s && s.rootDirId !== 0n ? s.rootDirId : ObjectId.FIRST_FREE };
  }

  // ---------------------------------------------------------------- inodes

  private badItem(tree: bigint, block: bigint, slot: number, key: Key, why: string): void {
    this.finding({ ...rule('item-invalid'), message: `item ${fmtKey(key)} in tree ${tree}: ${why}`, location: { tree, block, slot, key } });
  }

  /** Items of one object and type in a subvolume's tree, offsets [min, max]. */
  *objectItems(subvol: bigint, objectid: bigint, type: number, min = 0n, max = U64_MAX): Generator<ItemRef> {
    const t = this.tree(subvol);
    if (!t) return;
    yield* this.fs.items(t, { objectid, type, offset: min }, { objectid, type, offset: max });
  }

  /**
   * The inode item, decoded; null (with a finding if damaged) when absent.
   * The last 4096 are remembered, unless `remember` is false: a pass that
   * reads each inode once (extract in inode order) would only make every
   * one of them live long enough to be kept by the collector.
   */
  inode(ref: InodeRef, opts: { remember?: boolean } = {}): Inode | null {
    if (opts.remember === false) return this.readInode(ref);
    const key = `${ref.subvol}:${ref.ino}`;
    const cached = this.inodeCache.get(key);
    if (cached !== undefined) return cached;
    const v = this.readInode(ref);
    if (this.inodeCache.size >= 4096) this.inodeCache.delete(this.inodeCache.keys().next().value as string);
    this.inodeCache.set(key, v);
    return v;
  }

  private readInode(ref: InodeRef): Inode | null {
    if (ref.ino === EMPTY_SUBVOL_DIR) return this.placeholderInode(ref.subvol);
    const t = this.tree(ref.subvol);
    if (!t) return null;
    const k: Key = { objectid: ref.ino, type: ItemType.INODE_ITEM, offset: 0n };
    const it = this.fs.find(t, k);
    if (!it) return null;
    return this.inodeAt(ref, it);
  }

  /**
   * Decodes the inode item of `ref` found at `it` (its key is (ino, INODE_ITEM, 0)); null, with
   * a finding, when it is damaged. For callers that read an inode's items in one pass (inodeRecord).
   */
  inodeAt(ref: InodeRef, it: ItemRef): Inode | null {
    const d = decodeInodeItem(it.block.itemData(it.slot));
    if (d.kind === 'invalid') {
      this.badItem(ref.subvol, it.block.logical, it.slot, { objectid: ref.ino, type: ItemType.INODE_ITEM, offset: 0n }, d.reason);
      return null;
    }
    const { kind: _k, errors: _e, ...item } = d;
    return { ...item, subvol: ref.subvol, ino: ref.ino, kind: kindOfMode(d.mode), place: { tree: ref.subvol, block: it.block.logical, slot: it.slot } };
  }

  /**
   * The empty directory the kernel makes up (inode 2, mode 040755) where a
   * snapshot holds a copied subvolume link: times are taken from the
   * subvolume's root directory (the kernel uses the time of the lookup).
   */
  private placeholderInode(subvol: bigint): Inode {
    const root = this.inode(this.rootOf(subvol));
    const t = root?.atime ?? { sec: 0n, nsec: 0 };
    return {
      generation: 0n,
      transid: 0n,
      size: 0n,
      nbytes: 0n,
      blockGroup: 0n,
      nlink: 1,
      uid: 0,
      gid: 0,
      mode: 0o040755,
      rdev: 0n,
      flags: 0n,
      sequence: 0n,
      atime: t,
      ctime: root?.ctime ?? t,
      mtime: root?.mtime ?? t,
      otime: root?.otime ?? t,
      subvol,
      ino: EMPTY_SUBVOL_DIR,
      kind: 'dir',
      placeholder: true,
    };
  }

  // ---------------------------------------------------------------- directories

  /** Turns a raw dir entry into where it leads (following subvolume links). */
  private entryOf(dir: InodeRef, e: RawDirEntry, index: bigint, place: ItemPlace): DirEntry | null {
    const loc = e.location;
    if (loc.type === ItemType.INODE_ITEM) {
      return { dir, name: e.name, index, ftype: e.type, location: loc, target: { subvol: dir.subvol, ino: loc.objectid }, crossing: 'none', place };
    }
    if (loc.type === ItemType.ROOT_ITEM) {
      const sub = loc.objectid;
      if (this.linkExists(dir, sub, e.name)) {
        return { dir, name: e.name, index, ftype: e.type, location: loc, target: this.rootOf(sub), crossing: 'subvolume', place };
      }
      return { dir, name: e.name, index, ftype: e.type, location: loc, target: { subvol: dir.subvol, ino: EMPTY_SUBVOL_DIR }, crossing: 'placeholder', place };
    }
    this.finding({
      ...rule('dir-entry-location'),
      message: `directory ${dir.ino} of subvolume ${dir.subvol}: entry "${displayPath([e.name]).slice(1)}" points at key ${fmtKey(loc)}, neither an inode nor a subvolume`,
      location: { tree: place.tree, block: place.block, slot: place.slot },
    });
    return null;
  }

  /** True when ROOT_REF (parent subvol, sub) names this directory and name: the link is real. */
  private linkExists(dir: InodeRef, sub: bigint, name: Uint8Array): boolean {
    if (!this.tree(sub)) return false;
    const k: Key = { objectid: dir.subvol, type: ItemType.ROOT_REF, offset: sub };
    const it = this.fs.find(this.fs.rootTree, k);
    if (!it) return false;
    const r = decodeRootRef(k, it.block.itemData(it.slot));
    return r.kind !== 'invalid' && r.dirid === dir.ino && bytesEqualAll(r.name, name);
  }

  /**
   * Entries of a directory in readdir order (DIR_INDEX); when a directory
   * has no DIR_INDEX item at all, its DIR_ITEMs (hash order) are used.
   */
  *readdir(dir: InodeRef): Generator<DirEntry> {
    if (dir.ino === EMPTY_SUBVOL_DIR) return;
    let any = false;
    for (const x of this.entriesOfType(dir, ItemType.DIR_INDEX)) {
      any = true;
      if (x) yield x;
    }
    if (any) return;
    for (const x of this.entriesOfType(dir, ItemType.DIR_ITEM)) if (x) yield x;
  }

  /** The entries of every DIR_INDEX or DIR_ITEM item of a directory (null for an entry refused by entryOf). */
  private *entriesOfType(dir: InodeRef, type: number) {
    for (const { block, slot } of this.objectItems(dir.subvol, dir.ino, type)) {
      const k = block.key(slot);
      const place = { tree: dir.subvol, block: block.logical, slot };
      const d = decodeDirItem(k, block.itemData(slot));
      if (d.kind === 'invalid') {
        this.badItem(dir.subvol, block.logical, slot, k, d.reason);
        continue;
      }
      for (const e of d.entries) yield this.entryOf(dir, e, k.offset, place);
    }
  }

  /** The entry `name` of a directory: DIR_ITEM by name hash, else a DIR_INDEX scan. */
  lookup(dir: InodeRef, name: Uint8Array): DirEntry | undefined {
    if (dir.ino === EMPTY_SUBVOL_DIR) return undefined;
    const k: Key = { objectid: dir.ino, type: ItemType.DIR_ITEM, offset: nameHash(name) };
    const t = this.tree(dir.subvol);
    if (!t) return undefined;
    const it = this.fs.find(t, k);
    if (it) {
      const d = decodeDirItem(k, it.block.itemData(it.slot));
      if (d.kind !== 'invalid') {
        const e = d.entries.find((x) => bytesEqualAll(x.name, name));
        if (e) {
          const x = this.entryOf(dir, e, k.offset, { tree: dir.subvol, block: it.block.logical, slot: it.slot });
          if (x) return x;
        }
      }
    }
    // A damaged or missing DIR_ITEM: the DIR_INDEX items may still name it.
    for (const e of this.readdir(dir)) if (bytesEqualAll(e.name, name)) return e;
    return undefined;
  }

  /**
   * Resolves a path as a mount of subvolume 5 shows it (or from `from`):
   * components are looked up one by one, following subvolume links; ".."
   * goes back one step. A string may use \xNN escapes for bytes that are
   * not UTF-8 (tried when the plain reading does not exist).
   */
  resolve(path: string | Uint8Array[], from?: InodeRef): ResolveResult {
    if (typeof path === 'string') {
      const r = this.resolve(parsePath(path), from);
      if (!r.ok && hasEscapes(path)) {
        const r2 = this.resolve(parsePath(path, { escapes: true }), from);
        if (r2.ok) return r2;
      }
      return r;
    }
    const start = from ?? this.rootOf(ObjectId.FS_TREE);
    const stack: { ref: InodeRef; entry: DirEntry | null }[] = [{ ref: start, entry: null }];
    const walked: Uint8Array[] = [];
    for (const comp of path) {
      if (comp.length === 2 && comp[0] === 0x2e && comp[1] === 0x2e) {
        if (stack.length > 1) {
          stack.pop();
          walked.pop();
        }
        continue;
      }
      const cur = stack[stack.length - 1]!;
      const ino = this.inode(cur.ref);
      walked.push(comp);
      if (!ino) return { ok: false, error: `${displayPath(walked.slice(0, -1))}: inode ${cur.ref.ino} of subvolume ${cur.ref.subvol} cannot be read`, path: walked, unreadable: cur.ref };
      if (ino.kind !== 'dir') return { ok: false, error: `${displayPath(walked.slice(0, -1))}: not a directory`, path: walked };
      const e = this.lookup(cur.ref, comp);
      if (!e) return { ok: false, error: `${displayPath(walked)}: no such file or directory`, path: walked };
      stack.push({ ref: e.target, entry: e });
    }
    const last = stack[stack.length - 1]!;
    const inode = this.inode(last.ref);
    if (!inode) return { ok: false, error: `${displayPath(walked)}: inode ${last.ref.ino} of subvolume ${last.ref.subvol} cannot be read`, path: walked, unreadable: last.ref };
    return { ok: true, ref: last.ref, inode, path: walked, entry: last.entry };
  }

  // ---------------------------------------------------------------- names

  /**
   * Every name of an inode as its parent directories see it: INODE_REF items
   * (key offset = parent) and INODE_EXTREF items. A subvolume's root directory
   * is named by its parent subvolume instead (ROOT_BACKREF: parent subvolume,
   * directory, index, name); its own INODE_REF is the ".." that points at
   * itself, which no directory holds, so it is left out. The top level (5)
   * has no name.
   */
  names(ref: InodeRef): InodeName[] {
    const out: InodeName[] = [];
    if (ref.ino === this.rootOf(ref.subvol).ino) {
      const s = ref.subvol === ObjectId.FS_TREE ? undefined : this.subvolume(ref.subvol);
      if (s && s.parentId !== null && s.dirId !== null && s.name !== null) {
        out.push({ parent: s.dirId, parentSubvol: s.parentId, name: s.name, index: s.dirIndex ?? 0n, source: 'ROOT_BACKREF' });
      }
      return out;
    }
    for (const { block, slot } of this.objectItems(ref.subvol, ref.ino, ItemType.INODE_REF)) {
      const k = block.key(slot);
      const d = decodeInodeRef(k, block.itemData(slot));
      if (d.kind === 'invalid') {
        this.badItem(ref.subvol, block.logical, slot, k, d.reason);
        continue;
      }
      for (const r of d.refs) {
        if (out.length >= LIMITS.maxNames) return out;
        out.push({ parent: k.offset, name: r.name, index: r.index, source: 'INODE_REF' });
      }
    }
    for (const { block, slot } of this.objectItems(ref.subvol, ref.ino, ItemType.INODE_EXTREF)) {
      const k = block.key(slot);
      const d = decodeInodeExtref(k, block.itemData(slot));
      if (d.kind === 'invalid') {
        this.badItem(ref.subvol, block.logical, slot, k, d.reason);
        continue;
      }
      for (const r of d.refs) {
        if (out.length >= LIMITS.maxNames) return out;
        out.push({ parent: r.parent, name: r.name, index: r.index, source: 'INODE_EXTREF' });
      }
    }
    return out;
  }

  /**
   * Path of a directory inside its subvolume (from the subvolume's root),
   * by following INODE_REFs up; null when some step is missing or loops.
   * A loop is an inode met twice on the way up, never a depth: the kernel
   * allows any depth. Each directory's (parent, name) link is looked up in
   * the tree once and kept, so building the paths of a deep tree costs one
   * lookup per directory, not one per directory and level.
   */
  dirPathInSubvol(dir: InodeRef): Uint8Array[] | null {
    const root = this.rootOf(dir.subvol);
    const parts: Uint8Array[] = [];
    const seen = new Set<bigint>();
    for (let cur = dir.ino; cur !== root.ino; ) {
      const key = `${dir.subvol}:${cur}`;
      if (this.dirLoops.has(key)) return null;
      if (seen.has(cur)) {
        this.dirLoops.add(key);
        this.finding({ ...rule('directory-loop'), message: `subvolume ${dir.subvol}: the parents of directory ${dir.ino} loop at inode ${cur}`, location: { tree: dir.subvol } });
        return null;
      }
      seen.add(cur);
      const link = this.dirLink(dir.subvol, cur, key);
      if (!link) return null;
      parts.push(link.name);
      cur = link.parent;
    }
    return parts.reverse();
  }

  /** A directory's parent and name: its first INODE_REF (a directory has one name). */
  private dirLink(subvol: bigint, ino: bigint, key: string): { parent: bigint; name: Uint8Array } | null {
    const hit = this.dirLinkCache.get(key);
    if (hit !== undefined) return hit;
    let link: { parent: bigint; name: Uint8Array } | null = null;
    const it = this.objectItems(subvol, ino, ItemType.INODE_REF).next();
    if (!it.done) {
      const { block, slot } = it.value;
      const k = block.key(slot);
      const d = decodeInodeRef(k, block.itemData(slot));
      if (d.kind !== 'invalid' && d.refs.length > 0) link = { parent: k.offset, name: d.refs[0]!.name.slice() };
    }
    // Bounded: about 100 bytes a directory; past the bound it starts over (paths stay right, only slower).
    if (this.dirLinkCache.size >= LIMITS.maxCachedDirLinks) this.dirLinkCache.clear();
    this.dirLinkCache.set(key, link);
    return link;
  }

  /** Path of a directory from the top of the filesystem; null when unreachable. */
  dirPath(dir: InodeRef): Uint8Array[] | null {
    const top = this.subvolumePath(dir.subvol);
    const rel = top ? this.dirPathInSubvol(dir) : null;
    return top && rel ? [...top, ...rel] : null;
  }

  /** Every path of an inode from the top of the filesystem (one per name; hard links give several). */
  paths(ref: InodeRef): Uint8Array[][] {
    const root = this.rootOf(ref.subvol);
    if (ref.ino === root.ino) {
      const p = this.subvolumePath(ref.subvol);
      return p ? [p] : [];
    }
    const out: Uint8Array[][] = [];
    for (const n of this.names(ref)) {
      const d = this.dirPath({ subvol: ref.subvol, ino: n.parent });
      if (d) out.push([...d, n.name]);
    }
    return out;
  }

  // ---------------------------------------------------------------- xattrs

  /** Extended attributes of an inode (XATTR_ITEM entries), names and values as bytes; at most LIMITS.maxXattrs. */
  xattrs(ref: InodeRef): Xattr[] {
    return [...this.eachXattr(ref)];
  }

  /**
   * The xattrs one at a time, each read when asked for: a caller that writes each and lets it go
   * holds one leaf, not all of them (16,000 values of 64 KB are 16,000 leaves of 64 KiB).
   */
  *eachXattr(ref: InodeRef): Generator<Xattr> {
    if (ref.ino === EMPTY_SUBVOL_DIR) return;
    let n = 0;
    for (const it of this.objectItems(ref.subvol, ref.ino, ItemType.XATTR_ITEM)) {
      const one: Xattr[] = [];
      this.xattrsAt(ref, it, one);
      for (const x of one) {
        if (n++ >= LIMITS.maxXattrs) return;
        yield x;
      }
    }
  }

  /**
   * Adds the xattrs of one XATTR_ITEM of `ref` (at `it`) to `out`; false once `out` holds
   * LIMITS.maxXattrs (the rest are not collected).
   */
  xattrsAt(ref: InodeRef, { block, slot }: ItemRef, out: Xattr[]): boolean {
    const k = block.key(slot);
    const d = decodeDirItem(k, block.itemData(slot));
    if (d.kind === 'invalid') {
      this.badItem(ref.subvol, block.logical, slot, k, d.reason);
      return true;
    }
    for (const e of d.entries) {
      if (out.length >= LIMITS.maxXattrs) return false;
      out.push({ name: e.name, value: e.data });
    }
    return true;
  }
}
