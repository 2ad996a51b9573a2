import { discardFindings } from '../../findings.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import { decodeInodeRef } from '../../format/items/inode.js';
import { compareKeys, type Key, MAX_KEY } from '../../format/key.js';
import { FsView } from '../../fs/FsView.js';
import { isFsTreeId } from '../../fs/fileKinds.js';
import { bytesEqualAll } from '../../fs/names.js';
import type { Inode, InodeRef } from '../../fs/types.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { type ItemRef, iterateItems, type TreeRoot } from '../../tree/walk.js';
import type { Chunk } from '../../volume/ChunkMap.js';
import { diffItemRefs } from '../diff.js';
import { type CarveReport, carveByChecksum } from './carve.js';
import { DataChecker, type DataState } from './dataState.js';
import { inodeGeneration, LiveInodes } from './liveInodes.js';
import { olderChunks } from './olderChunks.js';
import { groupConsistent, groupEntries, groupInode, groupOrphanItems, groupRefs, type OrphanGroup, OrphanItems, type OrphanLeaf, unreachedLeaves } from './orphanLeaves.js';
import { CompletenessMemo, committedRoots, completeness } from './roots.js';
import type { ScanResult } from './scan.js';
import { TreeAtRoot } from './treeAtRoot.js';

export type RecoverySource = 'older tree' | 'orphan' | 'deleted subvolume' | 'orphan leaf';

export interface Recovered {
  subvol: bigint;
  ino: bigint;
  inode: Inode;
  /** Paths as they were in the tree it was found in (several for hard links); [] when no name survives. */
  paths: Uint8Array[][];
  /** Newest generation of a surviving tree that still has this inode. */
  lastSeen: bigint;
  /** The tree root it was read from. */
  root: TreeRoot;
  source: RecoverySource;
  /** The inode number is in use again in the current tree, by another inode (its generation differs). */
  inoReused: boolean;
  data: DataState;
  /** A view of the filesystem where this inode reads as it was (for reading its data). */
  view: FsView;
  /** Source 'orphan leaf': the leaves (no surviving root reaches them) its items were read from. */
  leaves?: bigint[];
  /** Source 'orphan leaf': the inode itself still lives (same INODE_ITEM generation); this is an older version of it. */
  olderVersion?: boolean;
}

/** A name an inode that still lives had in an older tree and has no longer (a removed hard link, a rename). */
export interface RemovedName {
  subvol: bigint;
  ino: bigint;
  /** The directory that held the name, and the name. */
  parent: bigint;
  name: Uint8Array;
  /** The name's path in that older tree (its directory's path there), or null when the directory has none. */
  path: Uint8Array[] | null;
  /** The newest surviving older root that has the name. */
  lastSeen: bigint;
  root: TreeRoot;
  /** The inode's names now. */
  currentPaths: Uint8Array[][];
}

export interface RecoverReport {
  files: Recovered[];
  removedNames: RemovedName[];
  /** Leaves of subvolume trees no searched root reaches, and how many of them (newest first) were mined for inodes. */
  orphanLeaves: { unreached: number; mined: number };
  /**
   * Chunks the filesystem no longer has (their block groups removed since), from older chunk-tree
   * leaves and superblock copies: extents no current chunk maps are read through these (each
   * extent's `mapping` says which served it).
   */
  olderChunks: { logical: bigint; length: bigint; type: bigint; profile: string; origin: Chunk['origin']; generation: bigint }[];
  /** Free sectors that surviving csum items name, checked against their checksums (evidence, not files). */
  carved: CarveReport;
  /** Older roots of fs trees searched, with how complete each still is. */
  searched: { subvol: bigint; generation: bigint; bytenr: bigint; intact: number; missing: number }[];
}

const cmpDesc = (a: bigint, b: bigint) => (a > b ? -1 : a < b ? 1 : 0);

/**
 * Files and directories that some surviving older root of a subvolume's
 * tree has and the current tree does not (or has under the same number
 * but as another inode: INODE_ITEM generation differs), newest root first;
 * orphaned inodes (ORPHAN_ITEM, nlink 0); and the inodes of subvolumes
 * deleted but not yet cleaned up. Each with its data's state.
 */
export function recoverDeleted(fs: Filesystem, scan: ScanResult): RecoverReport {
  // Old trees are expected to have lost blocks (counted in `searched`, not reported as damage of
  // this filesystem): this view's walks record none; what is found in the items read still is.
  const base = fs.view({ blockFindings: discardFindings });
  // Extents of deleted files can lie in a block group the kernel removed since (emptied by the
  // delete, or moved by balance): read through the chunks older chunk-tree leaves and superblock
  // copies still name, behind the current map.
  const older = olderChunks(base, scan);
  const q = older.map.all.length ? base.withVolume(base.volume.withOlderChunks(older.map)) : base;
  const view = new FsView(q);
  const out: Recovered[] = [];
  const searched: RecoverReport['searched'] = [];
  const seen = new Map<string, Recovered>();
  const removedNames: RemovedName[] = [];
  const namesSeen = new Set<string>();
  const csumRoots = scan.trees
    .filter((t) => t.owner === ObjectId.CSUM_TREE)
    .sort((a, b) => cmpDesc(a.generation, b.generation))
    .flatMap((t) => t.candidates.map((c) => ({ tree: ObjectId.CSUM_TREE, bytenr: c.logical, level: c.level, generation: c.generation })));
  const checker = new DataChecker(q, csumRoots);
  const committed = committedRoots(q, scan);
  const walked = new CompletenessMemo();
  const subvols = new Set<bigint>(view.subvolumes().map((s) => s.id));
  // Every root searched, by tree: the leaves none of them reaches are mined afterwards.
  const searchedRoots = new Map<bigint, TreeRoot[]>();
  for (const t of scan.trees) if (isFsTreeId(t.owner)) subvols.add(t.owner);
  for (const subvol of [...subvols].sort((a, b) => -cmpDesc(a, b))) {
    const cur = view.tree(subvol);
    const live = cur ? new LiveInodes(q, cur) : undefined;
    const curNames = cur ? new CurrentNames(q, cur) : undefined;
    const reach: TreeRoot[] = cur ? [cur] : [];
    searchedRoots.set(subvol, reach);
    const roots = scan.trees
      .filter((t) => t.owner === subvol)
      .flatMap((t) => t.candidates.map((c) => ({ tree: subvol, bytenr: c.logical, level: c.level, generation: c.generation })))
      .filter((r) => !cur || r.bytenr !== cur.bytenr)
      // A leaf is a root only when a surviving root tree names it (a one-leaf tree): the other
      // leaves of a generation whose nodes are gone are orphan leaves, mined below by inode.
      .filter((r) => r.level > 0 || committed.has(`${subvol}:${r.bytenr}`))
      // Newest first; within a generation the committed version first, then blocks that were roots only inside that transaction.
      .sort((a, b) => cmpDesc(a.generation, b.generation) || Number(committed.has(`${subvol}:${b.bytenr}`)) - Number(committed.has(`${subvol}:${a.bytenr}`)));
    // Each root is compared with the root searched just before it (the next newer one; the
    // current tree first): consecutive commits share all but what one transaction changed, and an
    // inode an older root shares with a newer one was already judged there.
    let newer: TreeRoot | undefined = cur;
    for (const root of roots) {
      const c = completeness(q, root, undefined, walked);
      searched.push({ subvol, generation: root.generation, bytenr: root.bytenr, intact: c.intact, missing: c.missing });
      if (c.intact === 0) continue;
      reach.push(root);
      const old = new FsView(q.withOverlay(new TreeAtRoot(q, subvol, root)));
      const refs: OldRef[] = [];
      for (const { ino, generation } of oldInodes(q, root, newer, refs)) {
        // The current tree still has this very inode (same INODE_ITEM generation): nothing to recover.
        if (live && generation !== undefined && live.has(ino, generation)) continue;
        const key = `${subvol}:${ino}`;
        const earlier = seen.get(key);
        // Found already in a newer root; or in another root of this generation, a transaction can
        // write a tree more than once: the state it committed is the last, the highest sequence
        // (i_version, bumped by every change), then the newest ctime.
        if (earlier && earlier.lastSeen !== root.generation) continue;
        const ref: InodeRef = { subvol, ino };
        const was = old.inode(ref);
        if (!was) continue;
        if (earlier && !laterState(was, earlier.inode)) continue;
        const now = cur ? view.inode(ref) : null;
        if (now && now.generation === was.generation) continue;
        const r: Recovered = {
          subvol,
          ino,
          inode: was,
          paths: detached(pathsOf(old, ref)),
          lastSeen: root.generation,
          root,
          source: 'older tree',
          inoReused: now !== null,
          data: checker.check(old, was, root.generation),
          view: old,
        };
        if (earlier) out[out.indexOf(earlier)] = r;
        else out.push(r);
        seen.set(key, r);
      }
      if (cur && curNames) removedNames.push(...namesRemoved(view, old, curNames, root, refs, namesSeen));
      // Each recovered file keeps this view to read its data later: its caches need not stay.
      old.forget();
      newer = root;
    }
  }
  // Orphans: unlinked inodes still held open (or not yet cleaned), named by (ORPHAN, ORPHAN_ITEM, ino).
  for (const s of view.subvolumes()) {
    const t = view.tree(s.id);
    if (!t) continue;
    for (const { block, slot } of q.items(
      t,
      { objectid: ObjectId.ORPHAN, type: ItemType.ORPHAN_ITEM, offset: 0n },
      { objectid: ObjectId.ORPHAN, type: ItemType.ORPHAN_ITEM, offset: 0xffffffffffffffffn },
    )) {
      const ino = block.keyOffsetField(slot);
      const ref = { subvol: s.id, ino };
      const inode = view.inode(ref);
      if (!inode || seen.has(`${s.id}:${ino}`)) continue;
      const r: Recovered = {
        subvol: s.id,
        ino,
        inode,
        paths: detached(view.paths(ref)),
        lastSeen: fs.superblock.generation,
        root: t,
        source: 'orphan',
        inoReused: false,
        data: checker.check(view, inode, fs.superblock.generation),
        view,
      };
      out.push(r);
      seen.set(`${s.id}:${ino}`, r);
    }
  }
  // Subvolumes deleted but not cleaned up: every inode their tree still has.
  for (const s of view.subvolumes().filter((x) => x.deleted)) {
    const t = view.tree(s.id);
    if (!t) continue;
    for (const { block, slot } of q.items(t, { objectid: ObjectId.FIRST_FREE, type: ItemType.INODE_ITEM, offset: 0n }, MAX_KEY)) {
      if (block.keyType(slot) !== ItemType.INODE_ITEM) continue;
      const ref = { subvol: s.id, ino: block.keyObjectid(slot) };
      if (seen.has(`${s.id}:${ref.ino}`)) continue;
      const inode = view.inode(ref);
      if (!inode) continue;
      const rel = view.paths(ref).map((p) => p.slice((view.subvolumePath(s.id) ?? []).length));
      const label = new TextEncoder().encode(`<deleted subvolume ${s.id}>`);
      const r: Recovered = {
        subvol: s.id,
        ino: ref.ino,
        inode,
        paths: detached(rel.map((p) => [label, ...p])),
        lastSeen: s.generation,
        root: t,
        source: 'deleted subvolume',
        inoReused: false,
        data: checker.check(view, inode, s.generation),
        view,
      };
      out.push(r);
      seen.set(`${s.id}:${ref.ino}`, r);
    }
  }
  const unreached = unreachedLeaves(q, scan, searchedRoots).sort((a, b) => cmpDesc(a.generation, b.generation));
  const mined = unreached.slice(0, MAX_ORPHAN_LEAVES);
  out.push(...orphanLeafFiles(q, view, mined, out, checker));
  const carved = carveByChecksum(q, scan, out);
  const olderList = older.map.all.map((c) => ({ logical: c.logical, length: c.length, type: c.type, profile: c.profile, origin: c.origin, generation: c.generation ?? 0n }));
  return { files: out, removedNames, orphanLeaves: { unreached: unreached.length, mined: mined.length }, searched, olderChunks: olderList, carved };
}

/** `a` is a later state of one inode than `b` (within one transaction): higher sequence, then newer ctime. */
function laterState(a: Inode, b: Inode): boolean {
  if (a.sequence !== b.sequence) return a.sequence > b.sequence;
  return a.ctime.sec !== b.ctime.sec ? a.ctime.sec > b.ctime.sec : a.ctime.nsec > b.ctime.nsec;
}

/**
 * An inode's paths in `view`; in a subvolume no longer linked anywhere (deleted, its root item
 * or its ROOT_REF gone) from the subvolume's top, under "<deleted subvolume ID>".
 */
function pathsOf(view: FsView, ref: InodeRef): Uint8Array[][] {
  if (view.subvolumePath(ref.subvol) !== null) return view.paths(ref);
  const top = new TextEncoder().encode(`<deleted subvolume ${ref.subvol}>`);
  if (ref.ino === ObjectId.FIRST_FREE) return [[top]];
  const out: Uint8Array[][] = [];
  for (const n of view.names(ref)) {
    const d = view.dirPathInSubvol({ subvol: ref.subvol, ino: n.parent });
    if (d) out.push([top, ...d, n.name]);
  }
  return out;
}

/** The names of an INODE_REF item (key: inode, INODE_REF, parent directory). */
function refItemNames(it: ItemRef): Uint8Array[] {
  const d = decodeInodeRef(it.block.key(it.slot), it.block.itemData(it.slot));
  return d.kind === 'invalid' ? [] : d.refs.map((r) => r.name);
}

/**
 * The names the current tree's INODE_REF items give, by (inode, parent),
 * looked up once and then answered from memory: hundreds of older roots of a
 * tree, most of them partial, differ from each other in the same names again
 * and again. At most `limit` items are kept; past that the memory starts over.
 */
class CurrentNames {
  private readonly known = new Map<string, Uint8Array[]>();

  constructor(
    private readonly fs: Filesystem,
    readonly root: TreeRoot,
    private readonly limit = 1 << 17,
  ) {}

  of(ino: bigint, parent: bigint): Uint8Array[] {
    const k = `${ino}:${parent}`;
    let names = this.known.get(k);
    if (!names) {
      const it = this.fs.find(this.root, { objectid: ino, type: ItemType.INODE_REF, offset: parent });
      names = it ? refItemNames(it).map((n) => n.slice()) : [];
      if (this.known.size >= this.limit) this.known.clear();
      this.known.set(k, names);
    }
    return names;
  }
}

/** Names an older root's INODE_REF item gives that the next newer root's does not (copied out of the leaf). */
interface OldRef {
  ino: bigint;
  parent: bigint;
  names: Uint8Array[];
}

/**
 * Names the older root gave (`refs`: those the next newer root no longer
 * gives) that the current tree does not give either, of inodes the current
 * tree still has (same INODE_ITEM generation): removed hard links and the
 * old names of renamed inodes. The current tree's names are looked up
 * first (remembered: CurrentNames), and the inodes only for a name it
 * lacks: a diff of two roots can hold thousands of names, nearly all still there. Roots come newest first,
 * so the first root a name is found in is where it was last seen; `seen`
 * keeps it once.
 */
function namesRemoved(view: FsView, old: FsView, cur: CurrentNames, root: TreeRoot, refs: OldRef[], seen: Set<string>): RemovedName[] {
  const out: RemovedName[] = [];
  const subvol = cur.root.tree;
  for (const { ino, parent, names } of refs) {
    const current = cur.of(ino, parent);
    const gone = names.filter((n) => !current.some((c) => bytesEqualAll(c, n)));
    if (gone.length === 0) continue;
    const ref = { subvol, ino };
    const now = view.inode(ref);
    const was = now ? old.inode(ref) : null;
    if (!now || !was || now.generation !== was.generation) continue;
    for (const name of gone) {
      const k = `${subvol}:${ino}:${parent}:${Array.from(name, (b) => b.toString(16).padStart(2, '0')).join('')}`;
      if (seen.has(k)) continue;
      seen.add(k);
      const dir = parent === ObjectId.FIRST_FREE ? view.subvolumePath(subvol) : (old.paths({ subvol, ino: parent })[0] ?? null);
      out.push({ subvol, ino, parent, name, path: dir ? detached([[...dir, name]])[0]! : null, lastSeen: root.generation ?? 0n, root, currentPaths: detached(view.paths(ref)) });
    }
  }
  return out;
}

/**
 * A group's items with the file extents it lacks: when its leaf ends with
 * the inode (or holds none of its extents), the extents that follow are in
 * another leaf. Taken from the newest other leaf of the inode no newer than
 * the group's, without an inode item of its own (a continuation), extents
 * written no later than the inode item (generation <= transid), keys the
 * group does not have.
 */
function withContinuation(g: OrphanGroup, same: OrphanGroup[], transid: bigint): ItemRef[] {
  const hasExtents = g.items.some((x) => x.block.keyType(x.slot) === ItemType.EXTENT_DATA);
  if (hasExtents && !g.continues) return g.items;
  const have = new Set(g.items.map((x) => x.block.keyOffsetField(x.slot) * 256n + BigInt(x.block.keyType(x.slot))));
  const extra: ItemRef[] = [];
  for (const o of same) {
    if (o === g || o.generation > g.generation || groupInode(o) || !groupConsistent(o, transid)) continue;
    for (const x of o.items) {
      const k = x.block.keyOffsetField(x.slot) * 256n + BigInt(x.block.keyType(x.slot));
      if (x.block.keyType(x.slot) !== ItemType.EXTENT_DATA || have.has(k)) continue;
      have.add(k);
      extra.push(x);
    }
  }
  if (extra.length === 0) return g.items;
  return [...g.items, ...extra].sort((a, b) => compareKeys(a.block.key(a.slot), b.block.key(b.slot)));
}

/**
 * Most orphan leaves mined, newest first: their items are held until the
 * inodes are rebuilt (each recovered file keeps its leaves to read it), so
 * at 16 KiB nodes this is at most 128 MiB. The report says how many there were.
 */
export const MAX_ORPHAN_LEAVES = 8192;

/** The path component orphan leaf files without a known parent path are put under. */
export const ORPHAN_DIR = '$ORPHAN';

/**
 * Inodes rebuilt from the leaves no searched root reaches, one per version:
 * the items of (tree, inode, leaf generation) together. A version the
 * current tree still has (same INODE_ITEM generation and transid), or that
 * was already recovered from an older root, is left out; so are older
 * states of live directories. Named by their INODE_REFs (or a directory's
 * DIR_INDEX naming them), the parent's path from the current tree, the
 * files already recovered, or other orphan groups; when no parent path is
 * known, $ORPHAN/TREE/PARENT-INO/NAME, and $ORPHAN/TREE/INO without a name.
 */
function orphanLeafFiles(q: Filesystem, view: FsView, leaves: OrphanLeaf[], found: Recovered[], checker: DataChecker): Recovered[] {
  const groups = groupOrphanItems(q, leaves);
  if (groups.length === 0) return [];
  const enc = new TextEncoder();
  const byIno = new Map<string, OrphanGroup[]>();
  const entryNames = new Map<string, { parent: bigint; name: Uint8Array }[]>();
  for (const g of groups) {
    const k = `${g.subvol}:${g.ino}`;
    const l = byIno.get(k);
    if (l) l.push(g);
    else byIno.set(k, [g]);
    for (const e of groupEntries(g)) {
      const c = `${g.subvol}:${e.child}`;
      const l = entryNames.get(c) ?? [];
      if (!l.some((x) => x.parent === g.ino && x.name.length === e.name.length && x.name.every((b, i) => b === e.name[i]))) l.push({ parent: g.ino, name: e.name });
      entryNames.set(c, l);
    }
  }
  const versions = new Set(found.map((r) => `${r.subvol}:${r.ino}:${r.inode.generation}:${r.inode.transid}`));
  const dirPath = (subvol: bigint, dir: bigint, depth: number): Uint8Array[] | null => {
    if (depth > 64) return null;
    if (dir === ObjectId.FIRST_FREE) return view.subvolumePath(subvol) ?? [enc.encode(`<deleted subvolume ${subvol}>`)];
    const live = view.inode({ subvol, ino: dir });
    if (live?.kind === 'dir') {
      const p = view.paths({ subvol, ino: dir })[0];
      if (p) return p;
    }
    const rec = found.find((r) => r.subvol === subvol && r.ino === dir && r.inode.kind === 'dir' && r.paths[0]);
    if (rec) return rec.paths[0]!;
    for (const g of byIno.get(`${subvol}:${dir}`) ?? []) {
      for (const ref of groupRefs(g)) {
        const p = dirPath(subvol, ref.parent, depth + 1);
        if (p) return [...p, ref.name];
      }
    }
    return null;
  };
  // One group per version (inode generation, transid: the commit that last changed it). A
  // transaction can write a leaf more than once, with the inode in an earlier state of that
  // transaction: the state it was committed in is the last, the highest sequence (i_version,
  // bumped by every change), then the newest ctime. Then a leaf that holds all of it (a leaf can
  // end before the inode's extents do), then the oldest leaf: one written by that transaction
  // holds the state it committed, while a later transaction's leaf can hold the inode item
  // unchanged beside items it had already changed (a truncate trims the extent items first, and
  // trimming leaves their generation as it was).
  const chosen = new Map<string, { g: OrphanGroup; items: ItemRef[]; lastSeen: bigint; rank: bigint[] }>();
  const better = (a: bigint[], b: bigint[]) => {
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
    return false;
  };
  for (const g of groups) {
    const head = groupInode(g);
    if (!head) continue;
    const vkey = `${g.subvol}:${g.ino}:${head.generation}:${head.transid}`;
    if (versions.has(vkey) || !groupConsistent(g, head.transid)) continue;
    const items = withContinuation(g, byIno.get(`${g.subvol}:${g.ino}`) ?? [], head.transid);
    const complete = (head.mode & 0o170000) !== 0o100000 || head.size === 0n || items.some((x) => x.block.keyType(x.slot) === ItemType.EXTENT_DATA);
    const rank = [head.sequence, head.ctime.sec * 1_000_000_000n + BigInt(head.ctime.nsec), complete ? 1n : 0n, -g.generation];
    const was = chosen.get(vkey);
    if (!was || better(rank, was.rank)) chosen.set(vkey, { g, items, lastSeen: was?.lastSeen ?? g.generation, rank });
  }
  const out: Recovered[] = [];
  for (const { g, items, lastSeen } of chosen.values()) {
    const head = groupInode(g)!;
    const ref: InodeRef = { subvol: g.subvol, ino: g.ino };
    const now = view.tree(g.subvol) ? view.inode(ref) : null;
    const sameInode = now !== null && now.generation === head.generation;
    // Of a live inode, only older contents: a version with the size and mtime it has now differs in
    // metadata only (a link count, a mode; names are in removedNames), and a directory's older
    // states are its entries, found as the inodes they name.
    const sameContent = now !== null && now.size === head.size && now.mtime.sec === head.mtime.sec && now.mtime.nsec === head.mtime.nsec;
    // An empty state (created, not yet written, in the transaction that made it) is no earlier content either.
    if (sameInode && (now.transid === head.transid || sameContent || head.size === 0n || (head.mode & 0o170000) === 0o040000)) continue;
    const old = new FsView(q.withOverlay(new OrphanItems(g.subvol, items)));
    const inode = old.inode(ref);
    if (!inode) continue;
    const names = groupRefs(g);
    const named = names.length ? names : (entryNames.get(`${g.subvol}:${g.ino}`) ?? []);
    const paths = named.map(({ parent, name }) => dirPath(g.subvol, parent, 0)?.concat([name]) ?? [enc.encode(ORPHAN_DIR), enc.encode(String(g.subvol)), enc.encode(String(parent)), name]);
    if (paths.length === 0) paths.push([enc.encode(ORPHAN_DIR), enc.encode(String(g.subvol)), enc.encode(String(g.ino))]);
    out.push({
      subvol: g.subvol,
      ino: g.ino,
      inode,
      paths: detached(paths),
      lastSeen,
      root: { tree: g.subvol, bytenr: g.leaf, level: 0, generation: g.generation },
      source: 'orphan leaf',
      inoReused: now !== null && !sameInode,
      data: checker.check(old, inode, lastSeen),
      view: old,
      leaves: [...new Set([g.leaf, ...items.map((x) => x.block.logical)])],
      ...(sameInode ? { olderVersion: true } : {}),
    });
  }
  return out;
}

/** An inode of an older root, with its INODE_ITEM generation (u64 @0; undefined when the item is shorter than btrfs_inode_item). */
interface OldInode {
  ino: bigint;
  generation: bigint | undefined;
}

/**
 * Inodes whose INODE_ITEM the older root has and the newer tree has not
 * with the same bytes (a deleted, reused or changed inode), in key order.
 * Blocks both trees share hold the same items: the trees' difference is
 * read, not the whole old tree (an old root of a big subvolume shares most
 * of it). Only numbers and generations are kept, 16 bytes an inode: two
 * roots of unrelated shape (a block that was a root only inside a
 * transaction, against the next commit) differ in nearly every item.
 */
function* oldInodes(fs: Filesystem, root: TreeRoot, newer: TreeRoot | undefined, refs: OldRef[]): Generator<OldInode> {
  const inRange = (objectid: bigint) => objectid >= ObjectId.FIRST_FREE && objectid <= ObjectId.LAST_FREE;
  if (!newer) {
    const min: Key = { objectid: ObjectId.FIRST_FREE, type: ItemType.INODE_ITEM, offset: 0n };
    for (const { block, slot } of iterateItems(fs.reader, root, min, { objectid: ObjectId.LAST_FREE, type: 255, offset: 0xffffffffffffffffn }, {})) {
      if (block.keyType(slot) === ItemType.INODE_ITEM) yield { ino: block.keyObjectid(slot), generation: inodeGeneration(block.itemData(slot)) };
    }
    return;
  }
  let inos = new BigUint64Array(1024),
    gens = new BigUint64Array(1024);
  const short = new Set<number>();
  let n = 0;
  for (const d of diffItemRefs(fs, root, newer)) {
    // Names the older root has and the newer one has not, for namesRemoved: a name both have was
    // judged with the newer root already (roots come newest first).
    if (d.a && d.a.block.keyType(d.a.slot) === ItemType.INODE_REF && inRange(d.a.block.keyObjectid(d.a.slot))) {
      const names = refItemNames(d.a);
      const kept = d.b ? refItemNames(d.b) : [];
      const gone = names.filter((n) => !kept.some((k) => bytesEqualAll(k, n)));
      if (gone.length) refs.push({ ino: d.a.block.keyObjectid(d.a.slot), parent: d.a.block.keyOffsetField(d.a.slot), names: gone.map((n) => n.slice()) });
    }
    if (!d.a || d.a.block.keyType(d.a.slot) !== ItemType.INODE_ITEM) continue;
    const ino = d.a.block.keyObjectid(d.a.slot);
    if (!inRange(ino)) continue;
    if (n === inos.length) {
      const i2 = new BigUint64Array(n * 2),
        g2 = new BigUint64Array(n * 2);
      i2.set(inos);
      g2.set(gens);
      inos = i2;
      gens = g2;
    }
    const g = inodeGeneration(d.a.block.itemData(d.a.slot));
    if (g === undefined) short.add(n);
    inos[n] = ino;
    gens[n] = g ?? 0n;
    n++;
  }
  // Key order, as a damaged tree with keys out of order would not give it by itself.
  let order: ArrayLike<number> | undefined;
  for (let i = 1; i < n && !order; i++) {
    if (inos[i]! < inos[i - 1]!) order = Uint32Array.from({ length: n }, (_, j) => j).sort((x, y) => (inos[x]! < inos[y]! ? -1 : inos[x]! > inos[y]! ? 1 : x - y));
  }
  for (let i = 0; i < n; i++) {
    const j = order ? order[i]! : i;
    yield { ino: inos[j]!, generation: short.has(j) ? undefined : gens[j]! };
  }
}

/** Paths with their names copied out of the leaves they were read from: thousands of recovered files must not pin a leaf each. */
function detached(paths: Uint8Array[][]): Uint8Array[][] {
  return paths.map((p) => p.map((name) => name.slice()));
}
