import type { Command } from 'commander';
import { analyzeSharing } from '../../analysis/sharing.js';
import { fileLayout } from '../../analysis/layout.js';
import { COMPRESSION_NAMES } from '../../analysis/layoutNames.js';
import { renderTable } from '../table.js';
import type { CliIO } from '../context.js';
import type { Located } from '../../fs/select.js';
import { openBatch, worst, writeBatch } from '../batch.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { finish } from '../findings.js';

interface ExtentsOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  sharing?: boolean;
}

export function registerExtents(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('extents').argument('[image]', 'image file or device').argument('[paths...]', 'paths as a mount of subvolume 5 shows them (several: each in turn)'))
    .description('every extent of a file with its physical copies, sharing, fragmentation, and what "filefrag -v" (FIEMAP) shows')
    .option('--inode <subvol:ino>', 'the inode to show, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--no-sharing', 'skip the sharing analysis (shared flags unknown; faster on huge filesystems)')
    .action((image: string | undefined, paths: string[], opts: ExtentsOptions) => {
      const { fs, view, targets } = openBatch(image, paths, opts, io);
      const sharing = opts.sharing === false ? null : analyzeSharing(view);
      const code = writeBatch('extents', targets, paths.length > 1, opts.json, io, {
        json: (loc) => {
          const lay = fileLayout(view, loc.ref, sharing);
          return {
            subvol: loc.ref.subvol, ino: loc.ref.ino, size: loc.inode.size,
            extents: lay.extents.map((e) => ({ ...e, compressionName: COMPRESSION_NAMES[e.compression] ?? String(e.compression) })),
            fiemap: lay.fiemap, runs: lay.runs, fragmentation: lay.fragmentation,
          };
        },
        text: (loc) => extentsText(loc, fileLayout(view, loc.ref, sharing)),
      });
      done(worst(finish(fs, io), code));
    });
}

function extentsText(loc: Extract<Located, { ok: true }>, lay: ReturnType<typeof fileLayout>): string {
  const out: string[] = [];
  out.push(renderTable(['file offset', 'length', 'type', 'compression', 'disk bytenr', 'disk size', 'offset in extent', 'copies (devid:physical)', 'shared with'],
    lay.extents.map((e) => [e.fileOffset, e.length, e.kind, COMPRESSION_NAMES[e.compression] ?? String(e.compression),
      e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskBytenr, e.kind === 'inline' || e.kind === 'hole' ? '-' : e.diskNumBytes, e.offset,
      e.copies.map((c) => `${c.devid}:${c.physical}`).join(' ') || '-',
      e.shared === null ? '?' : e.shared ? [e.sharedWith.length > 1 ? `subvols ${e.sharedWith.join(',')}` : '', e.otherInodes ? 'other inodes' : ''].filter(Boolean).join('; ') : 'no']),
    { title: `extents of inode ${loc.ref.ino} in subvolume ${loc.ref.subvol} (size ${loc.inode.size})` }));
  out.push(`fragmentation: ${lay.runs} contiguous run(s) on disk, ${lay.fragmentation} discontinuit${lay.fragmentation === 1 ? 'y' : 'ies'}`);
  out.push(renderTable(['ext', 'logical_offset', 'physical_offset', 'length', 'flags'],
    lay.fiemap.map((f, i) => [i, `${f.logical}..${f.logical + f.length - 1n}`, `${f.physical}..${f.physical + f.length - 1n}`, f.length, f.flags.join(',')]),
    { title: 'as filefrag -v -b1 shows it (FIEMAP: physically adjacent extents merged; physical = btrfs logical address)' }));
  return out.join('\n');
}
