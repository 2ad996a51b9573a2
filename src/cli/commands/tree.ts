import type { Command } from 'commander';
import { ObjectId } from '../../format/constants.js';
import { dumpAllText, dumpTreeText, printContextOf, type DumpOptions } from '../../report/dumpTree.js';
import { treeBlockJsonLines } from '../../report/treeJson.js';
import { printTreeBlock } from '../../report/printTree.js';
import type { TreeRoot } from '../../tree/walk.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { openFilesystem } from '../open.js';
import { EXIT_DAMAGE, EXIT_OK, LineWriter, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseKey, parseTreeId, parseU64 } from '../parse.js';
import { reportFindings } from '../findings.js';

interface TreeOptions extends CommonOptions {
  tree?: string;
  block?: string;
  minKey?: string;
  maxKey?: string;
  dfs?: boolean;
  bfs?: boolean;
}

/** Every root a dump covers: one tree, or all of them in dump-tree's order. */
function rootsToDump(fs: Filesystem, treeArg: string | undefined): TreeRoot[] {
  if (treeArg === undefined) {
    const log = fs.logRootTree;
    return [fs.rootTree, fs.chunkTree, ...(log ? [log] : []), ...fs.roots(), ...fs.logTrees()];
  }
  const id = parseTreeId(treeArg);
  if (id === ObjectId.TREE_LOG) {
    const log = fs.logRootTree;
    if (!log) throw new UsageError('the superblock has no log tree (log_root is 0)');
    return [log, ...fs.logTrees()];
  }
  const r = fs.treeRoot(id);
  if (!r) throw new UsageError(`tree ${treeArg} (${id}) has no root item in the root tree`);
  return [r];
}

export function registerTree(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('tree').argument('[image]', 'image file or device'))
    .description('dump trees like `btrfs inspect-internal dump-tree`: all, one (--tree), one block (--block), or a key range')
    .option('--tree <name|id>', 'one tree: root, chunk, extent, dev, fs, csum, quota, uuid, free-space, block-group, data-reloc, log, or an object id')
    .option('--block <logical>', 'print one tree block (no children)')
    .option('--min-key <key>', 'only items with key >= "OBJECTID [TYPE [OFFSET]]"')
    .option('--max-key <key>', 'only items with key <= "OBJECTID [TYPE [OFFSET]]"')
    .option('--dfs', 'depth-first block order')
    .option('--bfs', 'breadth-first block order (default, as dump-tree)')
    .action((image: string | undefined, opts: TreeOptions) => {
      const fs = openFilesystem(image, opts, io);
      const w = new LineWriter(io.stdout);
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
        if (opts.json) treeBlockJsonLines(b, b.owner, ctx, r.validItems, (l) => w.line(l));
        else w.line(printTreeBlock(b, ctx));
        w.flush();
        return done(reportFindings(fs, io) ? EXIT_DAMAGE : EXIT_OK);
      }
      const dumpOpts: DumpOptions = {
        order: opts.dfs ? 'dfs' : 'bfs',
        ...(opts.minKey !== undefined ? { min: parseKey(opts.minKey, '--min-key', 'min') } : {}),
        ...(opts.maxKey !== undefined ? { max: parseKey(opts.maxKey, '--max-key', 'max') } : {}),
      };
      if (opts.json) {
        for (const root of rootsToDump(fs, opts.tree)) {
          fs.walk(root, {
            block(b, info) {
              treeBlockJsonLines(b, root.tree, ctx, info.validItems, (l) => w.line(l));
            },
          }, { useDamaged: true });
        }
      } else if (opts.tree === undefined) {
        dumpAllText(fs, (t) => w.line(t), dumpOpts);
      } else {
        for (const root of rootsToDump(fs, opts.tree)) dumpTreeText(fs, root, (t) => w.line(t), dumpOpts);
      }
      w.flush();
      done(reportFindings(fs, io) ? EXIT_DAMAGE : EXIT_OK);
    });
}
