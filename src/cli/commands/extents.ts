import type { Command } from 'commander';
import { fileLayout } from '../../analysis/layout.js';
import { COMPRESSION_NAMES } from '../../analysis/layoutNames.js';
import { analyzeSharing } from '../../analysis/sharing.js';
import { displayPath } from '../../fs/names.js';
import type { Located } from '../../fs/select.js';
import { filefragText } from '../../report/filefrag.js';
import { openBatch, worst, writeBatch } from '../batch.js';
import { type CliIO, UsageError } from '../context.js';
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
      let served = 0;
      const code = writeBatch('extents', targets, paths.length > 1, opts.json, io, {
        json: (loc) => {
          const lay = fileLayout(view, loc.ref, sharing);
          return {
            subvol: loc.ref.subvol,
            ino: loc.ref.ino,
            size: loc.inode.size,
            extents: lay.extents.map((e) => ({ ...e, compressionName: COMPRESSION_NAMES[e.compression] ?? String(e.compression) })),
            fiemap: lay.fiemap,
            runs: lay.runs,
            fragmentation: lay.fragmentation,
          };
        },
        // filefrag names the filesystem type once per run (per device), and writes files one after another.
        separator: opts.filefrag ? '' : '\n',
        text: (loc) => {
          const lay = fileLayout(view, loc.ref, sharing);
          const ff = filefragText({
            typeLine: !opts.filefrag || served++ === 0,
            name: loc.path ? displayPath(loc.path) : `inode ${loc.ref.subvol}:${loc.ref.ino}`,
            size: loc.inode.size,
            blockSize: BigInt(view.sectorsize),
            fsBlocks: fs.superblock.totalBytes / BigInt(view.sectorsize),
            fiemap: lay.fiemap,
          });
          return opts.filefrag ? ff.slice(0, -1) : extentsText(loc, lay, ff);
        },
      });
      done(worst(finish(fs, io), code));
    });
}

function extentsText(loc: Extract<Located, { ok: true }>, lay: ReturnType<typeof fileLayout>, filefrag: string): string {
  const out: string[] = [];
  out.push(
    renderTable(
      ['file offset', 'length', 'type', 'compression', 'disk bytenr', 'disk size', 'offset in extent', 'copies (devid:physical)', 'shared with'],
      lay.extents.map((e) => [
        e.fileOffset,
        e.length,
        e.kind,
        COMPRESSION_NAMES[e.compression] ?? String(e.compression),
        e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskBytenr,
        e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskNumBytes,
        e.offset,
        e.copies.map((c) => `${c.devid}:${c.physical}`).join(' ') || '-',
        e.shared === null ? '?' : e.shared ? [e.sharedWith.length > 1 ? `subvols ${e.sharedWith.join(',')}` : '', e.otherInodes ? 'other inodes' : ''].filter(Boolean).join('; ') : 'no',
      ]),
      { title: `extents of inode ${loc.ref.ino} in subvolume ${loc.ref.subvol} (size ${loc.inode.size})` },
    ),
  );
  out.push(`fragmentation: ${lay.runs} contiguous run(s) on disk, ${lay.fragmentation} discontinuit${lay.fragmentation === 1 ? 'y' : 'ies'}`);
  out.push('as "filefrag -v -b1" prints it on the mounted filesystem (FIEMAP: physically adjacent extents merged; physical = btrfs logical address):');
  out.push(filefrag.slice(0, -1));
  return out.join('\n');
}
