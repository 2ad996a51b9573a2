import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { ObjectId } from '../../format/constants.js';
import { blockDamage, type DumpOptions, dumpAll, dumpRoots, dumpTree, printContextOf } from '../../report/dumpTree.js';
import { ndjsonHeader, toJson } from '../../report/json.js';
import { printTreeBlockLines } from '../../report/printTree.js';
import { RenderCache, type RenderCodec } from '../../report/RenderCache.js';
import { treeBlockJson, treeStartJson } from '../../report/treeJson.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { ByteWriter, type CliIO, EXIT_DAMAGE, UsageError } from '../context.js';
import { finish, reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseKey, parseTreeId, parseU64 } from '../parse.js';
import { metadataBlocks, Progress } from '../progress.js';
import { packRendering, unpackRendering } from '../renderPack.js';
import { TreeRenderPool } from './treeRenderPool.js';

/**
 * Cached renderings packed with zlib's fastest level (native): leaf text
 * shrinks about sixfold, so the cache holds a whole snapshot's leaves and
 * the next snapshot's shared leaves are served instead of rendered again
 * (bench image: 75,000 leaf renderings instead of 325,000; 120 MiB holds
 * nearly all that is reused).
 */
const deflateCodec: RenderCodec = { pack: packRendering, unpack: unpackRendering };

/** Used tree blocks (block groups' used metadata bytes / nodesize) from which a dump starts render threads unasked. */
const THREADS_FROM = 4096;

/** Packed leaf texts kept for the next snapshot's shared leaves (see deflateCodec). */
const CACHE_BYTES = 120 * 2 ** 20;

interface TreeOptions extends CommonOptions {
  tree?: string;
  block?: string;
  minKey?: string;
  maxKey?: string;
  dfs?: boolean;
  bfs?: boolean;
  expandShared?: boolean;
  jobs?: string;
}

/** The trees --tree names: one tree (a log tree brings the per-subvolume log trees with it). */
function selectedRoots(fs: Filesystem, treeArg: string) {
  const id = parseTreeId(treeArg);
  const all = dumpRoots(fs);
  if (id === ObjectId.TREE_LOG) {
    if (!fs.logRootTree) throw new UsageError('the superblock has no log tree (log_root is 0)');
    return all.filter((t) => t.root.tree === ObjectId.TREE_LOG);
  }
  const r = fs.treeRoot(id);
  if (!r) throw new UsageError(`tree ${treeArg} (${id}) has no root item in the root tree`);
  // extent-tree-v2: every global root of the tree, in key order, as dump-tree -t prints each ROOT_ITEM of the id.
  const globals = fs.globalRoots(id);
  if (globals.length > 1) return all.filter((t) => t.root.tree === id && t.key !== undefined && globals.some((g) => g.bytenr === t.root.bytenr)).map((t) => ({ ...t, titled: true }));
  return all.filter((t) => t.root === r || (t.root.tree === id && t.root.bytenr === r.bytenr)).slice(0, 1);
}

export function registerTree(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('tree').argument('[image]', 'image file or device'))
    .description('dump trees like `btrfs inspect-internal dump-tree`: all, one (--tree), one block (--block), or a key range')
    .option('--tree <name|id>', 'one tree: root, chunk, extent, dev, fs, csum, quota, uuid, free-space, block-group, data-reloc, log, or an object id')
    .option('--block <logical>', 'print one tree block (no children)')
    .option('--min-key <key>', 'only blocks holding keys >= "OBJECTID [TYPE [OFFSET]]"')
    .option('--max-key <key>', 'only blocks holding keys <= "OBJECTID [TYPE [OFFSET]]"')
    .option('--dfs', 'depth-first block order (default for --json)')
    .option('--bfs', 'breadth-first block order (default for text, as dump-tree)')
    .option('--expand-shared', 'NDJSON: repeat subtrees shared with an earlier tree instead of a "shared" record')
    .option('--jobs <n>', 'threads rendering blocks (default: one per core, up to 4, when the image has over 4,096 tree blocks; 1 = on the main thread)')
    .action(async (image: string | undefined, opts: TreeOptions) => {
      const jobs = opts.jobs === undefined ? Math.min(4, availableParallelism()) : Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, got "${opts.jobs}"`);
      const fs = openFilesystem(image, opts, io);
      const w = new ByteWriter(io.stdout);
      const enc = new TextEncoder();
      const ctx = printContextOf(fs);
      if (opts.block !== undefined) {
        const logical = parseU64(opts.block, '--block');
        const r = fs.reader.read({ logical });
        for (const f of r.findings) fs.blockSink.add(f);
        const b = r.block ?? r.damaged;
        if (!b) {
          reportFindings(fs, io);
          return done(EXIT_DAMAGE);
        }
        // A block with no good copy is marked as the full dump marks it.
        const notes = blockDamage(r, logical);
        const mark = (m: string) => (opts.json ? toJson({ record: 'error', logical, message: m }) + '\n' : `ERROR: ${m}\n`);
        w.write(
          enc.encode(
            (opts.json ? ndjsonHeader('tree') : '') +
              notes.before.map(mark).join('') +
              (opts.json ? treeBlockJson(b, ctx, r.validItems) : printTreeBlockLines(b, ctx)) +
              notes.after.map(mark).join(''),
          ),
        );
        w.flush();
        return done(finish(fs, io));
      }
      // Parsed before any thread starts: a usage error leaves nothing running.
      const min = opts.minKey !== undefined ? parseKey(opts.minKey, '--min-key', 'min') : undefined;
      const max = opts.maxKey !== undefined ? parseKey(opts.maxKey, '--max-key', 'max') : undefined;
      // Used metadata blocks (block groups' used bytes / nodesize): read once, for the threads' choice and the progress line.
      let blocks: number | undefined;
      const usedBlocks = () => (blocks ??= metadataBlocks(fs));
      // Blocks rendered (and cached leaf texts packed and unpacked) on other threads; by default only where
      // rendering outweighs starting them (tens of milliseconds): a dump of more than THREADS_FROM blocks.
      const threads = jobs > 1 && (opts.jobs !== undefined || usedBlocks() > THREADS_FROM);
      const pool = threads ? await TreeRenderPool.start(jobs, opts.json ? 'json' : 'text', ctx, w.write, CACHE_BYTES) : undefined;
      const dumpOpts: DumpOptions = {
        format: opts.json ? 'json' : 'text',
        // NDJSON has no order to keep with dump-tree: depth-first needs no queue.
        order: opts.dfs || (opts.json && !opts.bfs) ? 'dfs' : 'bfs',
        // Text repeats shared blocks as dump-tree does (from a cache: the pool's, or one here); NDJSON refers back to them.
        ...(opts.json && !opts.expandShared ? { emitted: new Set<bigint>() } : pool ? {} : { cache: new RenderCache({ codec: deflateCodec, maxBytes: CACHE_BYTES }) }),
        ...(min ? { min } : {}),
        ...(max ? { max } : {}),
        ...(pool ? { output: pool } : {}),
      };
      // NDJSON: a header record, then the dump's "tree", "block", "item", "ptr", "shared" and "error" records.
      if (opts.json) w.write(enc.encode(ndjsonHeader('tree')));
      try {
        dump(fs, dumpOpts, opts, w, io, usedBlocks);
        pool?.finish();
      } finally {
        pool?.close();
      }
      w.flush();
      done(finish(fs, io));
    });
}

/** The full dump, or the trees --tree names. */
function dump(fs: Filesystem, dumpOpts: DumpOptions, opts: TreeOptions, w: ByteWriter, io: CliIO, usedBlocks: () => number): void {
  if (opts.tree === undefined) {
    const progress = new Progress(io);
    if (progress.enabled) {
      // A full dump reads about every used metadata block once.
      const total = usedBlocks();
      let n = 0;
      progress.phase('dumping trees', { items: 'tree blocks' }, total);
      dumpOpts.onBlock = () => {
        n++;
        if ((n & 255) === 0) progress.update(n, Math.max(n, total));
      };
    }
    dumpAll(fs, w.write, dumpOpts);
    progress.done();
  } else {
    for (const t of selectedRoots(fs, opts.tree)) {
      if (opts.json) w.write(new TextEncoder().encode(treeStartJson(t.root.tree, t.title.replace(/ key .*$/, '').trim(), t.root.bytenr, t.root.level, t.key)));
      // Several global roots of one tree: each under its title, as dump-tree prints them.
      else if ('titled' in t) w.write(new TextEncoder().encode(`${t.title}\n`));
      // One tree (or the log trees): no later tree can share its leaves, so none is cached.
      dumpTree(fs, t.root, w.write, { ...dumpOpts, keepLeaves: false });
    }
  }
}
