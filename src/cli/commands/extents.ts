import type { Command } from 'commander';
import { type FiemapMerger, streamLayout } from '../../analysis/layout.js';
import { COMPRESSION_NAMES } from '../../analysis/layoutNames.js';
import { analyzeSharing, type SharingResult } from '../../analysis/sharing.js';
import type { FsView } from '../../fs/FsView.js';
import { displayPath } from '../../fs/names.js';
import type { Located } from '../../fs/select.js';
import { FilefragLines } from '../../report/filefrag.js';
import { JsonLater, JsonStreamArray, jsonDocument, writeJsonStream } from '../../report/json.js';
import { type BatchTarget, openBatch, worst } from '../batch.js';
import { type CliIO, EXIT_OK, TextOut, UsageError } from '../context.js';
import { finish } from '../findings.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderTable } from '../table.js';

interface ExtentsOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  sharing?: boolean;
  filefrag?: boolean;
}

export function registerExtents(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('extents').argument('[image]', 'image file or device').argument('[paths...]', 'paths as a mount of subvolume 5 shows them (several: each in turn)'))
    .description('every extent of a file with its physical copies, sharing, fragmentation, and what "filefrag -v" (FIEMAP) shows')
    .option('--inode <subvol:ino>', 'the inode to show, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--no-sharing', 'skip the sharing analysis (shared flags unknown; faster on huge filesystems)')
    .option('--filefrag', 'print only what "filefrag -v -b1" prints for the file (mounted at /)')
    .action((image: string | undefined, paths: string[], opts: ExtentsOptions) => {
      if (opts.filefrag && opts.json) throw new UsageError('--filefrag is text (what filefrag prints); --json has the same extents in fiemap[]');
      const { fs, view, targets } = openBatch(image, paths, opts, io);
      const sharing = opts.sharing === false ? null : analyzeSharing(view);
      // Everything is streamed: a deduplicated file can have a million extents (issue 25).
      const out = new TextOut(io.stdout);
      let code = EXIT_OK;
      const failed = (t: Extract<BatchTarget, { error: string }>) => {
        io.stderr.write(`btrfs-inspect: ${t.error}\n`);
        code = worst(code, t.code);
      };
      if (opts.json) {
        const several = paths.length > 1;
        const docOf = (t: BatchTarget): Record<string, unknown> => {
          if ('error' in t) {
            failed(t);
            return { request: t.name, error: t.error };
          }
          return { ...(several ? { request: t.name } : {}), ...extentsJson(view, t.loc, sharing) };
        };
        const body = targets.length === 1 ? docOf(targets[0]!) : { files: new JsonStreamArray((emit) => targets.forEach((t) => emit(docOf(t)))) };
        writeJsonStream(jsonDocument('extents', body), out.write);
        out.write('\n');
      } else {
        let served = 0;
        for (const t of targets) {
          if ('error' in t) {
            failed(t);
            continue;
          }
          // filefrag names the filesystem type once per run (per device), and writes files one after another.
          if (served > 0 && !opts.filefrag) out.write('\n');
          const loc = t.loc;
          const ff = (typeLine: boolean) =>
            new FilefragLines(
              {
                typeLine,
                name: loc.path ? displayPath(loc.path) : `inode ${loc.ref.subvol}:${loc.ref.ino}`,
                size: loc.inode.size,
                blockSize: BigInt(view.sectorsize),
                fsBlocks: fs.superblock.totalBytes / BigInt(view.sectorsize),
              },
              (line) => out.write(`${line}\n`),
            );
          if (opts.filefrag) {
            const lines = ff(served === 0);
            lines.end(streamLayout(view, loc.ref, sharing, loc.inode.size, undefined, (f) => lines.extent(f)).filefragCount);
          } else extentsText(view, loc, sharing, out, ff);
          served++;
        }
      }
      out.flush();
      done(worst(finish(fs, io), code));
    });
}

/** Rows of the text table at most (the rest are counted and said; --json and the filefrag lines list every extent). */
const TABLE_ROWS = 10_000;

/** A file's extents document, its extents[] and fiemap[] streamed (two walks of the file's extents). */
function extentsJson(view: FsView, loc: Extract<Located, { ok: true }>, sharing: SharingResult | null): Record<string, unknown> {
  let merger: FiemapMerger | undefined;
  const size = loc.inode.size;
  return {
    subvol: loc.ref.subvol,
    ino: loc.ref.ino,
    size,
    extents: new JsonStreamArray((emit) => {
      streamLayout(view, loc.ref, sharing, size, (e) => emit({ ...e, compressionName: COMPRESSION_NAMES[e.compression] ?? String(e.compression) }));
    }),
    fiemap: new JsonStreamArray((emit) => {
      merger = streamLayout(view, loc.ref, sharing, size, undefined, emit);
    }),
    runs: new JsonLater(() => merger!.runs),
    fragmentation: new JsonLater(() => Math.max(0, merger!.runs - 1)),
  };
}

function extentsText(view: FsView, loc: Extract<Located, { ok: true }>, sharing: SharingResult | null, out: TextOut, filefrag: (typeLine: boolean) => FilefragLines): void {
  const rows: (string | bigint)[][] = [];
  let extents = 0;
  const counts = streamLayout(view, loc.ref, sharing, loc.inode.size, (e) => {
    if (extents++ >= TABLE_ROWS) return;
    rows.push([
      e.fileOffset,
      e.length,
      e.kind,
      COMPRESSION_NAMES[e.compression] ?? String(e.compression),
      e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskBytenr,
      e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskNumBytes,
      e.offset,
      e.copies.map((c) => `${c.devid}:${c.physical}`).join(' ') || '-',
      e.shared === null ? '?' : e.shared ? [e.sharedWith.length > 1 ? `subvols ${e.sharedWith.join(',')}` : '', e.otherInodes ? 'other inodes' : ''].filter(Boolean).join('; ') : 'no',
    ]);
  });
  out.write(
    renderTable(['file offset', 'length', 'type', 'compression', 'disk bytenr', 'disk size', 'offset in extent', 'copies (devid:physical)', 'shared with'], rows, {
      title: `extents of inode ${loc.ref.ino} in subvolume ${loc.ref.subvol} (size ${loc.inode.size})`,
    }) + '\n',
  );
  if (extents > TABLE_ROWS) out.write(`(${extents - TABLE_ROWS} more extents not shown: the table stops at ${TABLE_ROWS} rows; --json lists every one, the filefrag lines below every merged one)\n`);
  const runs = counts.runs;
  out.write(`fragmentation: ${runs} contiguous run(s) on disk, ${Math.max(0, runs - 1)} discontinuit${runs - 1 === 1 ? 'y' : 'ies'}\n`);
  out.write('as "filefrag -v -b1" prints it on the mounted filesystem (FIEMAP: physically adjacent extents merged; physical = btrfs logical address):\n');
  const lines = filefrag(true);
  lines.end(streamLayout(view, loc.ref, sharing, loc.inode.size, undefined, (f) => lines.extent(f)).filefragCount);
}
