import { MAX_EXACT as SAFE } from '../../format/bytes.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { TreeRoot } from '../../tree/walk.js';
import { type ScanResult, scanMetadata } from './scan.js';

/** How much of a tree still reads as written: blocks valid with the generation their parent expects, vs. missing or reused. */
export interface Completeness {
  intact: number;
  missing: number;
  /** The walk stopped at the block limit. */
  truncated: boolean;
  /** The first few blocks that are missing or reused, with why. */
  lost: { logical: bigint; why: string }[];
}

/** A root of some tree at some generation, with where it was found. */
export interface RootCandidate {
  tree: bigint;
  generation: bigint;
  root: TreeRoot;
  /** "superblock", "backup root N", "scan", "root tree gen G". */
  sources: string[];
  /** Copies (1-based) that read valid, from the scan. */
  copies?: number[];
  intact: number;
  missing: number;
  truncated: boolean;
  lost: { logical: bigint; why: string }[];
  current: boolean;
}

const scans = new WeakMap<object, ScanResult>();

/** The metadata scan of a filesystem, done once (keyed by its volume, shared by atRoot views). */
export function scanOf(fs: Filesystem, progress?: (done: bigint, total: bigint) => void): ScanResult {
  let s = scans.get(fs.volume);
  if (!s) scans.set(fs.volume, (s = scanMetadata(fs, progress ? { progress } : {})));
  return s;
}

/** What one subtree contributed to a Completeness: its counts and its first few losses. */
interface Tally {
  intact: number;
  missing: number;
  lost: { logical: bigint; why: string }[];
}

const LOST_SHOWN = 8;
/** A leaf read intact: shared by every such leaf, so it is never changed. */
const LEAF_INTACT: Readonly<Tally> = { intact: 1, missing: 0, lost: [] };

/**
 * Completeness of the subtrees already walked, by the block at their top
 * as a parent pointer names it (address, level, generation). Blocks are
 * copy-on-write: one that reads valid with the generation its parent
 * expects holds what was written then, so what is below it reads the same
 * the next time, and thousands of older roots of one tree share most of
 * their blocks. Nodes keep their subtree's tally; leaves, nearly every
 * block, only that they read intact, as two doubles (exact below 2^53;
 * others are read again). Bounded: past `nodeLimit` nodes or `leafLimit`
 * leaves that part starts over (a few MiB each at the defaults).
 */
export class CompletenessMemo {
  private readonly nodes = new Map<string, Readonly<Tally>>();
  private readonly leaves = new Map<number, number>();
  constructor(
    private readonly nodeLimit = 1 << 16,
    private readonly leafLimit = 1 << 18,
  ) {}

  node(logical: bigint, level: number, generation: bigint): Readonly<Tally> | undefined {
    return this.nodes.get(`${logical}:${level}:${generation}`);
  }

  setNode(logical: bigint, level: number, generation: bigint, t: Readonly<Tally>): void {
    if (this.nodes.size >= this.nodeLimit) this.nodes.clear();
    this.nodes.set(`${logical}:${level}:${generation}`, t);
  }

  /** The leaf at `logical` read intact with this generation before. */
  leafIntact(logical: bigint, generation: bigint): boolean {
    return logical <= SAFE && generation <= SAFE && this.leaves.get(Number(logical)) === Number(generation);
  }

  setLeafIntact(logical: bigint, generation: bigint): void {
    if (logical > SAFE || generation > SAFE) return;
    if (this.leaves.size >= this.leafLimit) this.leaves.clear();
    this.leaves.set(Number(logical), Number(generation));
  }
}

/**
 * Walks a tree from `root`, reading every child as its parent describes it
 * (level, generation): a block that fails (reused for something else,
 * overwritten, or unreadable) is counted missing with everything below it
 * unknown. Nothing is reported as a finding: old trees are expected to be partial.
 * With `memo`, a subtree walked before is counted without reading it again.
 */
/** Leaves of one node fetched in one batch where the medium batches (Volume.warms): 128 × 64 KiB chunks, an eighth of the web app's cache. */
const WARM_LEAVES = 128;
/**
 * Interior children of one node fetched in one batch and read at once into the block cache:
 * few enough that the leaves read below them (some 250 × nodesize each) do not push the
 * later ones out of the 64 MiB block cache before the walk reaches them.
 */
const WARM_NODES = 16;
/** Root blocks of the survey fetched in one batch (and read into the block cache) ahead of their walks. */
const WARM_ROOTS = 128;

export function completeness(fs: Filesystem, root: TreeRoot, maxBlocks = 200_000, memo?: CompletenessMemo): Completeness {
  let done = 0;
  let truncated = false;
  // Depth-first, children in slot order; the recursion is at most 8 deep (levels 7..0, strictly decreasing).
  const visit = (logical: bigint, level: number, generation: bigint | undefined): Readonly<Tally> => {
    if (done >= maxBlocks) {
      truncated = true;
      return { intact: 0, missing: 0, lost: [] };
    }
    if (memo && generation !== undefined) {
      if (level === 0 && memo.leafIntact(logical, generation)) {
        done++;
        return LEAF_INTACT;
      }
      const known = level > 0 ? memo.node(logical, level, generation) : undefined;
      // Only a subtree that fits in what is left of the budget: the walk must stop where it always would.
      if (known && done + known.intact + known.missing <= maxBlocks) {
        done += known.intact + known.missing;
        return known;
      }
    }
    done++;
    const r = fs.reader.read({ logical, level, ...(generation !== undefined ? { generation } : {}) });
    if (!r.block) return { intact: 0, missing: 1, lost: [{ logical, why: r.findings[0]?.message ?? 'unreadable' }] };
    const b = r.block;
    if (b.isLeaf) {
      if (memo && generation !== undefined) memo.setLeafIntact(logical, generation);
      return LEAF_INTACT;
    }
    const t: Tally = { intact: 1, missing: 0, lost: [] };
    for (let i = 0; i < r.validItems && !truncated; i++) {
      // Over a medium where each read is a round trip (the web app over serve), a level-1 node's
      // leaves not yet known intact come WARM_LEAVES to a request (nothing is read between them).
      if (b.level === 1 && i % WARM_LEAVES === 0 && fs.volume.warms) {
        const ahead: { logical: bigint; length: number }[] = [];
        for (let j = i; j < Math.min(r.validItems, i + WARM_LEAVES); j++) {
          if (!memo?.leafIntact(b.blockPtr(j), b.ptrGeneration(j))) ahead.push({ logical: b.blockPtr(j), length: fs.superblock.nodesize });
        }
        fs.volume.warm(ahead);
      }
      // Interior children too, WARM_NODES to a request: each is read right away, so that it waits
      // in the block cache (verified) while the walk goes through the leaves of those before it.
      if (b.level >= 2 && i % WARM_NODES === 0 && fs.volume.warms) {
        const ahead: { logical: bigint; level: number; generation: bigint }[] = [];
        for (let j = i; j < Math.min(r.validItems, i + WARM_NODES); j++) {
          const child = { logical: b.blockPtr(j), level: b.level - 1, generation: b.ptrGeneration(j) };
          if (!memo?.node(child.logical, child.level, child.generation)) ahead.push(child);
        }
        fs.volume.warm(ahead.map((c) => ({ logical: c.logical, length: fs.superblock.nodesize })));
        for (const c of ahead) fs.reader.read(c);
      }
      const c = visit(b.blockPtr(i), b.level - 1, b.ptrGeneration(i));
      t.intact += c.intact;
      t.missing += c.missing;
      for (const l of c.lost) if (t.lost.length < LOST_SHOWN) t.lost.push(l);
    }
    if (memo && generation !== undefined && !truncated) memo.setNode(logical, level, generation, t);
    return t;
  };
  const t = visit(root.bytenr, root.level, root.generation);
  return { intact: t.intact, missing: t.missing, truncated, lost: t.lost.slice() };
}

/** Roots of the root tree: the superblock's, its backup roots', and (unless a backup root serves `generation`) the scan's. */
export function rootTreeCandidates(fs: Filesystem, o: { generation?: bigint; scan?: boolean; scanned?: ScanResult }): RootCandidate[] {
  const sb = fs.superblock;
  const found = new Map<string, RootCandidate>();
  const add = (root: TreeRoot, source: string, copies?: number[]) => {
    const gen = root.generation ?? 0n;
    if (o.generation !== undefined && gen !== o.generation) return;
    const k = `${root.bytenr}:${gen}`;
    const c = found.get(k);
    if (c) {
      if (!c.sources.includes(source)) c.sources.push(source);
      return;
    }
    found.set(k, {
      tree: ObjectId.ROOT_TREE,
      generation: gen,
      root,
      sources: [source],
      ...(copies ? { copies } : {}),
      intact: 0,
      missing: 0,
      truncated: false,
      lost: [],
      current: root.bytenr === sb.root && gen === sb.generation,
    });
  };
  add({ tree: ObjectId.ROOT_TREE, bytenr: sb.root, level: sb.rootLevel, generation: sb.generation }, 'superblock');
  sb.backupRoots.forEach((b, i) => {
    if (b.treeRoot !== 0n) add({ tree: ObjectId.ROOT_TREE, bytenr: b.treeRoot, level: b.treeRootLevel, generation: b.treeRootGen }, `backup root ${i}`);
  });
  const fromBackup = [...found.values()].filter((c) => completeness(fs, c.root, 1).intact === 1);
  if (o.scan !== false && (o.generation === undefined || fromBackup.length === 0)) {
    // The caller's scan where it has one: a view through another volume (older chunks added) is not the one scanOf remembers.
    for (const t of (o.scanned ?? scanOf(fs)).trees) {
      if (t.owner !== ObjectId.ROOT_TREE) continue;
      for (const b of t.candidates)
        add(
          { tree: ObjectId.ROOT_TREE, bytenr: b.logical, level: b.level, generation: b.generation },
          'scan',
          b.copies.map((x) => x + 1),
        );
    }
  }
  const out = [...found.values()];
  for (const c of out) Object.assign(c, completeness(fs, c.root));
  return out.sort((a, b) => (a.generation !== b.generation ? (a.generation > b.generation ? -1 : 1) : b.intact - b.missing - (a.intact - a.missing)));
}

/**
 * Every tree root that survives, by tree and generation: the superblock's
 * trees and its backup roots, the trees each surviving root tree names, and
 * the top blocks of every (tree, generation) the metadata scan found. Each
 * with how complete it still is.
 */
export function surveyRoots(fs: Filesystem, scan: ScanResult, o: { maxBlocks?: number } = {}): RootCandidate[] {
  const sb = fs.superblock;
  const found = new Map<string, RootCandidate>();
  const add = (tree: bigint, root: TreeRoot, source: string, copies?: number[]) => {
    const gen = root.generation ?? 0n;
    const k = `${tree}:${root.bytenr}:${gen}`;
    const c = found.get(k);
    if (c) {
      if (!c.sources.includes(source)) c.sources.push(source);
      if (copies && !c.copies) c.copies = copies;
      return;
    }
    found.set(k, { tree, generation: gen, root: { ...root, tree }, sources: [source], ...(copies ? { copies } : {}), intact: 0, missing: 0, truncated: false, lost: [], current: false });
  };
  add(ObjectId.ROOT_TREE, fs.rootTree, 'superblock');
  add(ObjectId.CHUNK_TREE, fs.chunkTree, 'superblock');
  sb.backupRoots.forEach((b, i) => {
    const s = `backup root ${i}`;
    if (b.treeRoot) add(ObjectId.ROOT_TREE, { tree: 1n, bytenr: b.treeRoot, level: b.treeRootLevel, generation: b.treeRootGen }, s);
    if (b.chunkRoot) add(ObjectId.CHUNK_TREE, { tree: 3n, bytenr: b.chunkRoot, level: b.chunkRootLevel, generation: b.chunkRootGen }, s);
    if (b.extentRoot) add(ObjectId.EXTENT_TREE, { tree: 2n, bytenr: b.extentRoot, level: b.extentRootLevel, generation: b.extentRootGen }, s);
    if (b.fsRoot) add(ObjectId.FS_TREE, { tree: 5n, bytenr: b.fsRoot, level: b.fsRootLevel, generation: b.fsRootGen }, s);
    if (b.devRoot) add(ObjectId.DEV_TREE, { tree: 4n, bytenr: b.devRoot, level: b.devRootLevel, generation: b.devRootGen }, s);
    if (b.csumRoot) add(ObjectId.CSUM_TREE, { tree: 7n, bytenr: b.csumRoot, level: b.csumRootLevel, generation: b.csumRootGen }, s);
  });
  for (const t of scan.trees) {
    for (const b of t.candidates)
      add(
        t.owner,
        { tree: t.owner, bytenr: b.logical, level: b.level, generation: b.generation },
        'scan',
        b.copies.map((x) => x + 1),
      );
  }
  // The trees every readable root tree names (its ROOT_ITEMs).
  for (const rt of [...found.values()].filter((c) => c.tree === ObjectId.ROOT_TREE)) {
    for (const r of rootItemsQuiet(fs, rt.root)) add(r.tree, r, rt.current || rt.root.bytenr === sb.root ? 'current root tree' : `root tree gen ${rt.generation}`);
  }
  const cur = new Set(fs.roots().map((r) => `${r.tree}:${r.bytenr}`));
  cur.add(`${ObjectId.ROOT_TREE}:${sb.root}`);
  cur.add(`${ObjectId.CHUNK_TREE}:${sb.chunkRoot}`);
  const out = [...found.values()];
  const walked = new CompletenessMemo();
  for (const [i, c] of out.entries()) {
    // Over a medium where each read is a round trip, the next WARM_ROOTS root blocks come in one
    // request and wait verified in the block cache: most old roots are a block or two each.
    if (i % WARM_ROOTS === 0 && fs.volume.warms) {
      const next = out.slice(i, i + WARM_ROOTS).map((x) => ({ logical: x.root.bytenr, level: x.root.level, ...(x.root.generation !== undefined ? { generation: x.root.generation } : {}) }));
      fs.volume.warm(next.map((x) => ({ logical: x.logical, length: fs.superblock.nodesize })));
      for (const x of next) fs.reader.read(x);
    }
    c.current = cur.has(`${c.tree}:${c.root.bytenr}`);
    Object.assign(c, completeness(fs, c.root, o.maxBlocks, walked));
  }
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort((a, b) => cmp(a.tree, b.tree) || cmp(b.generation, a.generation) || cmp(a.root.bytenr, b.root.bytenr));
}

/** ROOT_ITEMs of a root tree, read without recording findings (an old root tree is expected to be partial). */
export function* rootItemsQuiet(fs: Filesystem, root: TreeRoot): Generator<TreeRoot> {
  const stack: { logical: bigint; level: number; generation?: bigint }[] = [{ logical: root.bytenr, level: root.level, ...(root.generation !== undefined ? { generation: root.generation } : {}) }];
  while (stack.length) {
    const e = stack.pop()!;
    const r = fs.reader.read(e);
    if (!r.block) continue;
    const b = r.block;
    if (!b.isLeaf) {
      for (let i = r.validItems - 1; i >= 0; i--) stack.push({ logical: b.blockPtr(i), level: b.level - 1, generation: b.ptrGeneration(i) });
      continue;
    }
    for (let s = 0; s < r.validItems; s++) {
      if (b.keyType(s) !== ItemType.ROOT_ITEM) continue;
      const d = b.itemData(s);
      if (d.length < 239) continue;
      const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
      // btrfs_root_item: generation @160, bytenr @176, level @238.
      yield { tree: b.keyObjectid(s), generation: dv.getBigUint64(160, true), bytenr: dv.getBigUint64(176, true), level: d[238]! };
    }
  }
}

/**
 * Tree roots some surviving root tree (or backup root) names, as "tree:bytenr":
 * committed versions, as opposed to blocks the scan found that were roots
 * only inside a transaction.
 */
export function committedRoots(fs: Filesystem, scanned?: ScanResult): Set<string> {
  const out = new Set<string>();
  for (const rt of rootTreeCandidates(fs, scanned ? { scanned } : {})) {
    for (const r of rootItemsQuiet(fs, rt.root)) out.add(`${r.tree}:${r.bytenr}`);
  }
  for (const b of fs.superblock.backupRoots) if (b.fsRoot) out.add(`${ObjectId.FS_TREE}:${b.fsRoot}`);
  return out;
}
