import type { Command } from 'commander';
import { LogOverlay } from '../../analysis/forensics/logReplay.js';
import { type RootCandidate, surveyRoots } from '../../analysis/forensics/roots.js';
import { ItemType } from '../../format/constants.js';
import { displayName } from '../../fs/names.js';
import { rootJson } from '../../report/forensicsJson.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { objectidToString } from '../../report/printTree.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { CliIO } from '../context.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseCount, parseTreeId } from '../parse.js';
import { Progress, scanWithProgress } from '../progress.js';
import { renderTable } from '../table.js';

interface RootsOptions extends CommonOptions {
  maxBlocks?: string;
  tree?: string;
}

const treeName = (id: bigint) => `${objectidToString(id, ItemType.ROOT_ITEM)}${/^\d+$/.test(objectidToString(id, ItemType.ROOT_ITEM)) ? '' : ` (${id})`}`;

/**
 * roots: every surviving tree root (superblock, backup roots, the trees
 * surviving root trees name, and a scan of all metadata space), by tree and
 * generation, with how complete each still is; then what the log tree holds.
 */
export function registerRoots(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('roots').argument('[image]', 'image file or device'))
    .description('every surviving tree root by tree and generation (superblock, backup roots, a scan of all metadata chunks) with how complete each old tree is; and what the log tree holds')
    .option('--max-blocks <n>', 'most blocks walked per tree when measuring completeness (default 200000)')
    .option('--tree <name|id>', 'only this tree (object id, or a name as tree --tree takes it: root, fs, extent, ...)')
    .action((image: string | undefined, opts: RootsOptions) => {
      // Parsed before the scan: a mistyped count or tree is a usage error, found at once.
      const maxBlocks = opts.maxBlocks !== undefined ? parseCount(opts.maxBlocks, '--max-blocks', 1, 1e9) : undefined;
      const onlyTree = opts.tree !== undefined ? parseTreeId(opts.tree) : undefined;
      const fs = openFilesystem(image, opts, io);
      const scan = scanWithProgress(fs, io);
      const progress = new Progress(io);
      progress.phase('measuring old trees');
      let roots = surveyRoots(fs, scan, maxBlocks !== undefined ? { maxBlocks } : {});
      if (onlyTree !== undefined) roots = roots.filter((r) => r.tree === onlyTree);
      const log = logSummary(fs);
      progress.done();
      if (opts.json) {
        io.stdout.write(
          toJson(
            jsonDocument('roots', {
              superblock: { generation: fs.superblock.generation, root: fs.superblock.root, logRoot: fs.superblock.logRoot },
              scan: { chunks: scan.chunks, copiesRead: scan.copiesRead, validCopies: scan.validCopies, validBlocks: scan.validBlocks },
              roots: roots.map(rootJson),
              log,
            }),
            2,
          ) + '\n',
        );
        return done(finish(fs, io));
      }
      const out: string[] = [];
      out.push(
        `metadata scan: ${scan.chunks} metadata/system chunks, ${scan.copiesRead} block copies read, ${scan.validCopies} valid (checksum, fsid, bytenr), ${scan.validBlocks} distinct tree blocks`,
      );
      out.push(
        renderTable(
          ['tree', 'generation', 'root block', 'level', 'found via', 'intact', 'missing', 'complete', ''],
          roots.map((r) => [
            treeName(r.tree),
            r.generation,
            r.root.bytenr,
            r.root.level,
            r.sources.join(', ') + (r.copies ? ` [copy ${r.copies.join(',')}]` : ''),
            r.intact,
            r.missing,
            `${pct(r)}${r.truncated ? '+' : ''}`,
            r.current ? 'current' : '',
          ]),
        ),
      );
      if (log) out.push(...logText(log));
      else out.push('log tree: none (superblock log_root 0)');
      io.stdout.write(out.join('\n') + '\n');
      done(finish(fs, io));
    });
}

function pct(r: RootCandidate): string {
  const n = r.intact + r.missing;
  return n === 0 ? '0%' : `${Math.floor((r.intact * 1000) / n) / 10}%`;
}

interface LogSummary {
  logRoot: bigint;
  trees: Record<string, unknown>[];
}

function logSummary(fs: Filesystem): LogSummary | null {
  const o = LogOverlay.build(fs);
  if (!o) return null;
  const name = displayName;
  return {
    logRoot: fs.superblock.logRoot,
    trees: o.logged.map((t) => ({
      subvol: t.subvol,
      bytenr: t.root.bytenr,
      level: t.root.level,
      inodes: t.inodes.map((i) => ({ ino: i.ino, mode: i.mode.toString(8), size: i.size, nlink: i.nlink, transid: i.transid, block: i.place.block, slot: i.place.slot })),
      names: t.names.map((n) => ({ ino: n.ino, parent: n.parent, name: name(n.name), index: n.index })),
      extents: t.extents,
      dirEntries: t.dirEntries.map((d) => ({ dir: d.dir, type: d.type, offset: d.offset, name: name(d.name), target: d.target.objectid })),
      deletionRanges: t.dirRanges,
      xattrs: t.xattrs,
      csumRanges: t.csumRanges,
      otherItems: t.other,
    })),
  };
}

function logText(l: LogSummary): string[] {
  const out = [`log tree: log root ${l.logRoot} (fsync'd after the last commit; "--replay-log" reads the filesystem as after its replay)`];
  for (const t of l.trees) {
    const inodes = t['inodes'] as { ino: bigint; mode: string; size: bigint; nlink: number; transid: bigint }[];
    const names = t['names'] as { ino: bigint; parent: bigint; name: string; index: bigint }[];
    out.push(
      renderTable(
        ['ino', 'mode', 'size', 'nlink', 'transid', 'names (parent/name index)'],
        inodes.map((i) => [
          i.ino,
          i.mode,
          i.size,
          i.nlink,
          i.transid,
          names
            .filter((n) => n.ino === i.ino)
            .map((n) => `${n.parent}/${n.name} #${n.index}`)
            .join(', '),
        ]),
        { title: `subvolume ${t['subvol']}: log tree at ${t['bytenr']}, ${inodes.length} inode(s)` },
      ),
    );
    const ex = t['extents'] as { ino: bigint; fileOffset: bigint; kind: string; diskBytenr: bigint; diskNumBytes: bigint; offset: bigint; length: bigint }[];
    if (ex.length)
      out.push(
        renderTable(
          ['ino', 'file offset', 'length', 'kind', 'disk (logical +size)', 'offset in extent'],
          ex.map((e) => [e.ino, e.fileOffset, e.length, e.kind, e.kind === 'regular' || e.kind === 'prealloc' ? `${e.diskBytenr} +${e.diskNumBytes}` : '', e.offset]),
          { title: 'extents written' },
        ),
      );
    const de = t['dirEntries'] as { dir: bigint; type: string; offset: bigint; name: string; target: bigint }[];
    if (de.length)
      out.push(
        renderTable(
          ['dir', 'item', 'key offset', 'name', 'inode'],
          de.map((d) => [d.dir, d.type, d.offset, d.name, d.target]),
          { title: 'directory entries' },
        ),
      );
    const dr = t['deletionRanges'] as { dir: bigint; type: string; start: bigint; end: bigint }[];
    if (dr.length)
      out.push(
        renderTable(
          ['dir', 'item', 'from', 'to'],
          dr.map((d) => [d.dir, d.type, d.start, d.end]),
          { title: 'logged directory ranges (entries in them not in the log were deleted)' },
        ),
      );
    const cr = t['csumRanges'] as { start: bigint; end: bigint }[];
    out.push(`checksums for ${cr.length} range(s)${cr.length ? `: ${cr.map((c) => `[${c.start}, ${c.end})`).join(', ')}` : ''}; xattr items ${t['xattrs']}; other items ${t['otherItems']}`);
  }
  return out;
}
