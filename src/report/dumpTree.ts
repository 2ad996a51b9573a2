import { rule } from '../findingRules.js';
import { ObjectId } from '../format/constants.js';
import type { Key } from '../format/key.js';
import type { TreeBlock } from '../format/treeBlock.js';
import type { Filesystem } from '../tree/Filesystem.js';
import type { BlockRead } from '../tree/readTreeBlock.js';
import { readRoot, type TreeRoot } from '../tree/walk.js';
import { toJson } from './json.js';
import { formatKey, type PrintContext, printTreeBlockLines } from './printTree.js';
import { RenderCache } from './RenderCache.js';
import { treeBlockJson, treeStartJson } from './treeJson.js';

/** Tree names as `btrfs inspect-internal dump-tree` heads each tree ("extent tree key (...)"). */
export function treeTitle(id: bigint): string {
  const names: [bigint, string][] = [
    [ObjectId.EXTENT_TREE, 'extent'],
    [ObjectId.DEV_TREE, 'device'],
    [ObjectId.FS_TREE, 'fs'],
    [ObjectId.ROOT_TREE_DIR, 'directory'],
    [ObjectId.CSUM_TREE, 'checksum'],
    [ObjectId.ORPHAN, 'orphan'],
    [ObjectId.TREE_LOG, 'log'],
    [ObjectId.TREE_LOG_FIXUP, 'log fixup'],
    [ObjectId.TREE_RELOC, 'reloc'],
    [ObjectId.DATA_RELOC_TREE, 'data reloc'],
    [ObjectId.EXTENT_CSUM, 'extent checksum'],
    [ObjectId.QUOTA_TREE, 'quota'],
    [ObjectId.UUID_TREE, 'uuid'],
    [ObjectId.FREE_SPACE_TREE, 'free space'],
    [ObjectId.BLOCK_GROUP_TREE, 'block group'],
    [ObjectId.RAID_STRIPE_TREE, 'raid stripe'],
    [ObjectId.ROOT_TREE, 'root'],
    [ObjectId.CHUNK_TREE, 'chunk'],
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
  /** 'text' as dump-tree prints it, or NDJSON records. */
  format?: 'text' | 'json';
  /** Rendered blocks to reuse across trees (snapshots share most blocks). */
  cache?: RenderCache;
  /**
   * Subtrees already emitted in this dump (NDJSON): a later tree that shares
   * one gets a "shared" record instead of the repeat, so the walk costs the
   * distinct blocks, not blocks × snapshots. Leave undefined to repeat them.
   */
  emitted?: Set<bigint>;
  /** Called after each tree block read (a long dump's progress). */
  onBlock?: () => void;
  /**
   * Whether this tree's leaf renderings go into the cache (default true):
   * dumpAll says false when no tree dumped later can share its leaves, so
   * nothing is packed that no one will ask for.
   */
  keepLeaves?: boolean;
  /**
   * Where blocks are rendered and all output goes, in order (e.g. rendered
   * on other threads), in `format`. Default: rendered here, leaves kept in
   * `cache`, written to the sink.
   */
  output?: DumpOutput;
}

/**
 * The ordered output of a dump. Blocks may be rendered elsewhere and later,
 * but their bytes reach the sink in the order of the calls.
 */
export interface DumpOutput {
  /** Bytes made by the walk itself (titles, error lines, shared records). */
  bytes(b: Uint8Array): void;
  /** Emits the rendering of the leaf at `logical` if one made with this generation is at hand; false if not. */
  cachedLeaf(logical: bigint, generation: bigint): boolean;
  /** Emits the rendering of a block just read (`validItems` of its items usable); `keep`: cache a leaf's for a later tree. */
  block(b: TreeBlock, validItems: number, keep: boolean): void;
}

/** How a block is rendered in each format (text as dump-tree prints it; one NDJSON record). */
export function renderBlock(format: 'text' | 'json', b: TreeBlock, ctx: PrintContext, validItems: number): string {
  return format === 'json' ? treeBlockJson(b, ctx, validItems) : printTreeBlockLines(b, ctx);
}

/** Blocks rendered on this thread as they come, leaves kept in `cache` when there is one. */
export function directOutput(sink: DumpSink, ctx: PrintContext, format: 'text' | 'json' = 'text', cache?: RenderCache): DumpOutput {
  return {
    bytes: sink,
    cachedLeaf(logical, generation) {
      const hit = cache?.get(logical, generation);
      if (hit) sink(hit);
      return hit !== undefined;
    },
    block(b, validItems, keep) {
      const r = encodeReused(renderBlock(format, b, ctx, validItems));
      // Only leaves: a cached render is served for a level-0 pointer without a read, so a
      // pointer at a node (wrong level) must miss and be read and checked.
      if (keep && b.isLeaf) cache?.set(b.logical, b.generation, r);
      sink(r);
    },
  };
}

/** Receives a dump's output as UTF-8 bytes; they may be a view of a buffer reused after the call (copy to keep). */
export type DumpSink = (bytes: Uint8Array) => void;

const utf8 = new TextEncoder();

/** One block's rendering as UTF-8 (a leaf's text is tens of KiB: a buffer per block was a fifth of an NDJSON dump's time). */
let scratch = new Uint8Array(1 << 18);

/** `s` as UTF-8 in a buffer reused by the next call (a sink copies what it keeps). */
function encodeReused(s: string): Uint8Array {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a buffer that large always fits.
  if (s.length * 3 > scratch.length) scratch = new Uint8Array(s.length * 3);
  return scratch.subarray(0, utf8.encodeInto(s, scratch).written);
}

/**
 * Dumps a whole tree block by block, following child pointers, as text like
 * dump-tree or as NDJSON. Blocks that cannot be read are named where they
 * would be. A leaf whose rendering is cached is not read again at all.
 */
export function dumpTree(fs: Filesystem, root: TreeRoot, sink: DumpSink, opts: DumpOptions = {}): void {
  const ctx = printContextOf(fs);
  const json = opts.format === 'json';
  const cache = opts.cache;
  const out = opts.output ?? directOutput(sink, ctx, json ? 'json' : 'text', cache);
  sink = out.bytes;
  const line = (s: string) => sink(utf8.encode(s + '\n'));
  const error = (message: string, logical: bigint) => line(json ? toJson({ record: 'error', logical, message }) : `ERROR: ${message}`);
  const r = readRoot(fs.reader, root, { ...fs.walkOptions, useDamaged: true });
  if (!r.block) {
    error(`tree block ${root.bytenr} of tree ${root.tree} could not be read`, root.bytenr);
    return;
  }
  const inRange = (b: TreeBlock, i: number) => (!opts.min || (i + 1 < b.nritems ? b.compareKey(i + 1, opts.min) > 0 : true)) && (!opts.max || b.compareKey(i, opts.max) <= 0);
  // Children are queued as pointers, not blocks, so a wide level never sits in memory.
  type Ptr = { logical: bigint; level: number; generation: bigint; parent: bigint; slot: number };
  const pointers = (b: TreeBlock, valid: number): Ptr[] => {
    const out: Ptr[] = [];
    for (let i = 0; i < valid; i++) {
      if ((opts.min || opts.max) && !inRange(b, i)) continue;
      out.push({ logical: b.blockPtr(i), level: b.level - 1, generation: b.ptrGeneration(i), parent: b.logical, slot: i });
    }
    return out;
  };
  /** Emits a block; returns it when its children must be followed. */
  const emitted = opts.min || opts.max ? undefined : opts.emitted;
  // A dump that refers back to emitted subtrees never asks for a leaf twice: nothing to cache.
  const keep = (opts.keepLeaves ?? true) && emitted === undefined;
  // A block named twice in one tree makes a DAG, never a tree: each is dumped once, so the
  // output is bounded by the blocks the tree holds, not by the paths through it.
  // (A pointer naming a seen block at another level is read: the level check reports it, and it is not followed.)
  const seen = new Map<bigint, number>();
  const visit = (p: Ptr): { block: TreeBlock; valid: number } | null => {
    if (seen.get(p.logical) === p.level) {
      const message = `tree block ${p.logical} (slot ${p.slot} of ${p.parent}) is reached a second time in tree ${root.tree}: not dumped again`;
      fs.findings.add({ ...rule('block-reached-twice'), message, location: { tree: root.tree, block: p.logical, logical: p.logical } });
      error(message, p.logical);
      return null;
    }
    seen.set(p.logical, p.level);
    if (emitted?.has(p.logical)) {
      line(toJson({ record: 'shared', bytenr: p.logical, level: p.level, generation: p.generation, parent: p.parent, slot: p.slot }));
      return null;
    }
    if (p.level === 0 && out.cachedLeaf(p.logical, p.generation)) return null;
    const res = fs.reader.read({ logical: p.logical, level: p.level, generation: p.generation }, { tree: root.tree });
    opts.onBlock?.();
    for (const f of res.findings) fs.blockSink.add(f);
    const b = res.block ?? res.damaged ?? null;
    const notes = blockDamage(res, p.logical, p.parent ? ` (slot ${p.slot} of ${p.parent})` : '');
    if (!b) {
      for (const m of notes.before) error(m, p.logical);
      return null;
    }
    for (const m of notes.before) error(m, p.logical);
    // A damaged block's rendering is never kept: served from a cache it would lose its ERROR lines.
    const intact = res.block !== null && res.validItems === b.nritems;
    if (!b.isLeaf || !out.cachedLeaf(b.logical, b.generation)) out.block(b, res.validItems, keep && intact);
    for (const m of notes.after) error(m, p.logical);
    emitted?.add(b.logical);
    // A damaged copy at the wrong level is shown but not followed: levels must strictly fall.
    return !b.isLeaf && b.level === p.level ? { block: b, valid: res.validItems } : null;
  };
  const top: Ptr = { logical: root.bytenr, level: r.block.level, generation: r.block.generation, parent: 0n, slot: 0 };
  if ((opts.order ?? 'bfs') === 'dfs') {
    const walk = (p: Ptr) => {
      const v = visit(p);
      if (v) for (const c of pointers(v.block, v.valid)) walk(c);
    };
    walk(top);
    return;
  }
  // Breadth-first, level by level, as btrfs-progs prints by default.
  let queue: Ptr[] = [top];
  while (queue.length) {
    const next: Ptr[] = [];
    for (const p of queue) {
      const v = visit(p);
      if (v) for (const c of pointers(v.block, v.valid)) next.push(c);
    }
    queue = next;
  }
}

/**
 * What a dump says about a block read that was not clean, where the block
 * is shown (dump-tree prints a bad checksum with both values; the dump marks
 * the block, not only stderr): `before` the block (no good copy, and why
 * each copy failed), `after` it (only its first items pass the item checks).
 */
export function blockDamage(res: BlockRead, logical: bigint, where = ''): { before: string[]; after: string[] } {
  const b = res.block ?? res.damaged ?? null;
  const why = res.findings.map((f) => f.message.replace(`tree block ${logical} `, '')).join('; ');
  if (!b) return { before: [`tree block ${logical}${where} could not be read${why ? `: ${why}` : ''}`], after: [] };
  const before = res.block ? [] : [`tree block ${logical}${where} has no good copy${why ? ` (${why})` : ''}; shown as the least damaged copy holds it, not to be trusted`];
  const what = b.isLeaf ? 'items' : 'pointers';
  const after =
    res.validItems < b.nritems
      ? [
          `tree block ${logical}: only the first ${res.validItems} of its ${b.nritems} ${what} pass the item checks (bounds, order); ${what} from slot ${res.validItems} on are not trusted${b.isLeaf ? '' : ' and not followed'}`,
        ]
      : [];
  return { before, after };
}

/** Every tree a full dump covers, in dump-tree's order, with the title it prints before each. */
export function dumpRoots(fs: Filesystem): { root: TreeRoot; title: string; key?: Key }[] {
  const out: { root: TreeRoot; title: string; key?: Key }[] = [
    { root: fs.rootTree, title: 'root tree' },
    { root: fs.chunkTree, title: 'chunk tree' },
  ];
  const log = fs.logRootTree;
  if (log) out.push({ root: log, title: 'log root tree' });
  for (const r of [...fs.roots(), ...fs.logTrees()]) out.push({ root: r, title: `${treeTitle(r.tree)} tree key ${formatKey(r.key)} `, key: r.key });
  return out;
}

/** The full default dump: root tree, chunk tree, log root tree, every tree the root tree names, the log trees, then totals. */
export function dumpAll(fs: Filesystem, sink: DumpSink, opts: DumpOptions = {}): void {
  const o = opts.emitted || opts.cache || opts.output ? opts : { ...opts, cache: new RenderCache() };
  // Titles and totals go through the blocks' output too, to stay in order with them.
  if (o.output) sink = o.output.bytes;
  const roots = dumpRoots(fs);
  // Only subvolume trees (and relocation trees, copies of them) share blocks with other trees.
  const shares = roots.map((t) => t.root.tree === ObjectId.FS_TREE || t.root.tree === ObjectId.TREE_RELOC || (t.root.tree >= ObjectId.FIRST_FREE && t.root.tree <= ObjectId.LAST_FREE));
  for (const [i, t] of roots.entries()) {
    const keepLeaves = shares[i]! && shares.indexOf(true, i + 1) > 0;
    sink(utf8.encode(o.format === 'json' ? treeStartJson(t.root.tree, t.title.replace(/ key .*$/, '').trim(), t.root.bytenr, t.root.level, t.key) : t.title + '\n'));
    dumpTree(fs, t.root, sink, { ...o, keepLeaves });
  }
  if (o.format !== 'json') {
    const sb = fs.superblock;
    sink(utf8.encode(`total bytes ${sb.totalBytes}\nbytes used ${sb.bytesUsed}\nuuid ${sb.fsid}\n`));
  }
}

/** The full dump as text lines (for tests and small images). */
export function dumpAllText(fs: Filesystem, emit: (text: string) => void, opts: DumpOptions = {}): void {
  const dec = new TextDecoder();
  let buf = '';
  dumpAll(
    fs,
    (b) => {
      buf += dec.decode(b, { stream: true });
    },
    { ...opts, format: 'text' },
  );
  buf += dec.decode();
  emit(buf.endsWith('\n') ? buf.slice(0, -1) : buf);
}
