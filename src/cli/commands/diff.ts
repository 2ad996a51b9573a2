import type { Command } from 'commander';
import { diffTrees, type FileChange, treeAtGeneration } from '../../analysis/diff.js';
import { FsView } from '../../fs/FsView.js';
import { selectSubvolume } from '../../fs/select.js';
import { jsonDocument, toJson } from '../../report/json.js';
import type { TreeRoot } from '../../tree/walk.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, UsageError } from '../context.js';
import { reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderTable } from '../table.js';

/** "SUBVOL" (id or path) or "SUBVOL@GEN" (that subvolume's tree at an older commit, from the backup roots). */
function treeOf(view: FsView, spec: string): { root: TreeRoot; label: string; rootDir: bigint } {
  const m = /^(.*)@(\d+)$/.exec(spec);
  const sv = selectSubvolume(view, m ? m[1] || '5' : spec);
  if (!sv.ok) throw new UsageError(sv.error.replace(/^--subvol /, ''));
  const id = sv.root.subvol;
  if (m) {
    const t = treeAtGeneration(view.fs, id, BigInt(m[2]!));
    if ('error' in t) throw new UsageError(`${spec}: ${t.error}`);
    return { root: t, label: spec, rootDir: sv.root.ino };
  }
  return { root: view.tree(id)!, label: spec, rootDir: sv.root.ino };
}

function rangesText(c: FileChange): string {
  return c.ranges.map(([s, e]) => `[${s}, ${e})`).join(' ');
}

export function describeChange(c: FileChange): string {
  const from = c.pathsA.join(' | '),
    to = c.pathsB.join(' | ');
  switch (c.kind) {
    case 'added':
      return `added ${c.type} ${to}`;
    case 'deleted':
      return `deleted ${c.type} ${from}`;
    default: {
      const parts: string[] = [];
      if (c.renamed) parts.push(`renamed ${from} -> ${to}`);
      if (c.ranges.length) parts.push(`data ${rangesText(c)}`);
      if (c.sizeA !== c.sizeB) parts.push(`size ${c.sizeA} -> ${c.sizeB}`);
      const f = c.fields.filter((x) => x !== 'size');
      if (f.length) parts.push(`fields ${f.join(',')}`);
      if (c.xattrs.length) parts.push(`xattrs ${c.xattrs.join(',')}`);
      if (c.entries) parts.push('entries changed');
      return `${c.kind} ${c.type} ${to || from}: ${parts.join('; ')}`;
    }
  }
}

export function registerDiff(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(
    program.command('diff').argument('[image]', 'image file or device').argument('<a>', 'subvolume (id or path), or SUBVOL@GEN').argument('<b>', 'subvolume (id or path), or SUBVOL@GEN'),
  )
    .description(
      'what changed between two snapshots of the same lineage (or one subvolume at two generations): files added, deleted, renamed, modified (byte ranges), metadata; shared subtrees are skipped unread',
    )
    .action((image: string | undefined, a: string, b: string, opts: CommonOptions) => {
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      const ta = treeOf(view, a),
        tb = treeOf(view, b);
      const r = diffTrees(fs, ta.root, tb.root);
      if (opts.json) {
        const side = (spec: string, t: TreeRoot) => ({ spec, subvol: t.tree, bytenr: t.bytenr, level: t.level, generation: t.generation ?? null });
        io.stdout.write(toJson(jsonDocument('diff', { a: side(a, ta.root), b: side(b, tb.root), stats: r.stats, itemsCompared: r.itemsCompared, changes: r.changes }), 2) + '\n');
      } else {
        const out: string[] = [];
        out.push(
          renderTable(
            ['ino', 'change', 'type', 'path in A', 'path in B', 'detail'],
            r.changes.map((c) => {
              const d = describeChange(c);
              return [c.ino, c.kind, c.type, c.pathsA.join('\n') || '-', c.pathsB.join('\n') || '-', d.slice(d.indexOf(':') + 1).trim() || '-'];
            }),
          ),
        );
        out.push(`${r.changes.length} changed inodes; ${r.stats.blocksRead} tree blocks read, ${r.stats.subtreesSkipped} shared subtrees skipped unread`);
        io.stdout.write(out.join('\n') + '\n');
      }
      done(reportFindings(fs, io, opts) ? EXIT_DAMAGE : EXIT_OK);
    });
}
