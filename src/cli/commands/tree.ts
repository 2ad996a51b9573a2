import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Command } from 'commander';
import { ObjectId } from '../../format/constants.js';
import { dumpAll, dumpRoots, dumpTree, printContextOf, type DumpOptions } from '../../report/dumpTree.js';
import { RenderCache, type RenderCodec } from '../../report/RenderCache.js';
import { treeBlockJson, treeStartJson } from '../../report/treeJson.js';
import { printTreeBlock } from '../../report/printTree.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { openFilesystem } from '../open.js';
import { ByteWriter, EXIT_DAMAGE, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseKey, parseTreeId, parseU64 } from '../parse.js';
import { finish, reportFindings } from '../findings.js';
import { metadataBlocks, Progress } from '../progress.js';

/**
 * Cached renderings packed with zlib's fastest level (native): leaf text
 * shrinks about sixfold, so the cache holds a whole snapshot's leaves and
 * the next snapshot's shared leaves are served instead of rendered again
 * (bench image: 75,000 leaf renderings instead of 325,000; 120 MiB holds
 * nearly all that is reused).
 */
const deflateCodec: RenderCodec = {
  // zlib hands back a view into a larger output chunk: keep an exact-size copy, not the chunk.
  pack: (b) => Uint8Array.prototype.slice.call(deflateRawSync(b, { level: 1 })),
  unpack: (b) => inflateRawSync(b),
};

interface TreeOptions extends CommonOptions {
  tree?: string;
  block?: string;
  minKey?: string;
  maxKey?: string;
  dfs?: boolean;
  bfs?: boolean;
  expandShared?: boolean;
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
    .action((image: string | undefined, opts: TreeOptions) => {
      const fs = openFilesystem(image, opts, io);
      const w = new ByteWriter(io.stdout);
      const enc = new TextEncoder();
      const ctx = printContextOf(fs);
      if (opts.block !== undefined) {
        const logical = parseU64(opts.block, '--block');
        const r = fs.reader.read({ logical });
        for (const f of r.findings) fs.findings.add(f);
        const b = r.block ?? r.damaged;
        if (!b) {
          reportFindings(fs, io);
          return done(EXIT_DAMAGE);
        }
        w.write(enc.encode(opts.json ? treeBlockJson(b, ctx, r.validItems) : printTreeBlock(b, ctx) + '\n'));
        w.flush();
        return done(finish(fs, io));
      }
      const dumpOpts: DumpOptions = {
        format: opts.json ? 'json' : 'text',
        // NDJSON has no order to keep with dump-tree: depth-first needs no queue.
        order: opts.dfs || (opts.json && !opts.bfs) ? 'dfs' : 'bfs',
        // Text repeats shared blocks as dump-tree does (from a cache); NDJSON refers back to them.
        ...(opts.json && !opts.expandShared ? { emitted: new Set<bigint>() } : { cache: new RenderCache({ codec: deflateCodec, maxBytes: 120 * 2 ** 20 }) }),
        ...(opts.minKey !== undefined ? { min: parseKey(opts.minKey, '--min-key', 'min') } : {}),
        ...(opts.maxKey !== undefined ? { max: parseKey(opts.maxKey, '--max-key', 'max') } : {}),
      };
      if (opts.tree === undefined) {
        const progress = new Progress(io);
        if (progress.enabled) {
          // A full dump reads about every used metadata block once: block groups' used bytes / nodesize.
          const total = metadataBlocks(fs);
          let n = 0;
          progress.phase('dumping trees', { items: 'tree blocks' }, total);
          dumpOpts.onBlock = () => { n++; if ((n & 255) === 0) progress.update(n, Math.max(n, total)); };
        }
        dumpAll(fs, w.write, dumpOpts);
        progress.done();
      } else {
        for (const t of selectedRoots(fs, opts.tree)) {
          if (opts.json) w.write(enc.encode(treeStartJson(t.root.tree, t.title.replace(/ key .*$/, '').trim(), t.root.bytenr, t.root.level, t.key)));
          dumpTree(fs, t.root, w.write, dumpOpts);
        }
      }
      w.flush();
      done(finish(fs, io));
    });
}
