import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { streamLayout } from '../../analysis/layout.js';
import { analyzeSharing } from '../../analysis/sharing.js';
import { FsView } from '../../fs/FsView.js';
import { displayPath } from '../../fs/names.js';
import { locate } from '../../fs/select.js';
import { blockGroupScene, deviceMapInput, deviceScene, fileScene, renderPng, renderSvg, type Scene } from '../../report/heatmap.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, NotServedError, UsageError } from '../context.js';
import { reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';

interface HeatmapOptions extends CommonOptions {
  output?: string;
  blockGroup?: string;
  file?: string;
}

export function registerHeatmap(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('heatmap').argument('[image]', 'image file or device'))
    .description("a picture (PNG, or SVG by extension) of each device's physical space: block groups coloured by type, shaded by fullness; or one block group, or one file's extents")
    .requiredOption('-o, --output <file>', 'where to write the picture (.png or .svg)')
    .option('--block-group <logical>', 'picture of the block group containing this logical address')
    .option('--file <path>', "picture of one file's extents")
    .action((image: string | undefined, opts: HeatmapOptions) => {
      const out = opts.output!;
      const svg = /\.svg$/i.test(out);
      if (!svg && !/\.png$/i.test(out)) throw new UsageError(`-o ${out}: the name must end in .png or .svg`);
      if (opts.blockGroup !== undefined && opts.file !== undefined) throw new UsageError('give --block-group or --file, not both');
      const fs = openFilesystem(image, opts, io);
      let scene: Scene;
      if (opts.blockGroup !== undefined) {
        if (!/^(0x[0-9a-f]+|\d+)$/i.test(opts.blockGroup)) throw new UsageError(`--block-group must be a logical address, got "${opts.blockGroup}"`);
        const s = blockGroupScene(fs, BigInt(opts.blockGroup));
        if ('error' in s) throw new NotServedError(`--block-group ${opts.blockGroup}: ${s.error}`, '"chunks" lists the block groups');
        scene = s;
      } else if (opts.file !== undefined) {
        const view = new FsView(fs);
        const loc = locate(view, { path: opts.file });
        if (!loc.ok) throw new UsageError(`--file ${opts.file}: ${loc.error}`);
        const sharing = analyzeSharing(view);
        // Walked twice (span, then drawing) rather than held: a deduplicated file can have a million extents.
        scene = fileScene(`file ${loc.path ? displayPath(loc.path) : opts.file} (subvol ${loc.ref.subvol} inode ${loc.ref.ino})`, loc.inode.size, (visit) => {
          streamLayout(view, loc.ref, sharing, loc.inode.size, visit);
        });
      } else {
        scene = deviceScene(deviceMapInput(fs), `btrfs ${fs.superblock.fsid}: physical space per device (top band = type, body shade = how full)`);
      }
      try {
        writeFileSync(out, svg ? renderSvg(scene) : renderPng(scene), { flag: 'w' });
      } catch (e) {
        throw new UsageError(`${out}: ${(e as Error).message}`);
      }
      io.stderr.write(`wrote ${out} (${scene.width}x${scene.height})\n`);
      done(reportFindings(fs, io, opts) ? EXIT_DAMAGE : EXIT_OK);
    });
}
