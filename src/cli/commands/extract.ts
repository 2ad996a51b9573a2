import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import type { FsView } from '../../fs/FsView.js';
import type { Inode } from '../../fs/types.js';
import type { WalkItem } from '../../fs/walk.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { extractFiles as extractWith, prepareOutputDir, type ExtractIssue, type ExtractOptions, type ExtractSummary } from '../../node/extract/index.js';
import { EXIT_DAMAGE, EXIT_OK, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { reportFindings } from '../findings.js';
import { openTarget } from '../target.js';
import { Progress } from '../progress.js';

export type { ExtractIssue, ExtractSummary } from '../../node/extract/index.js';

/**
 * extract: writes files of the image to a directory of this machine, with
 * the extraction engine of src/node/extract/ (where its safety, limits and
 * speed are described); this file parses the options, draws the progress
 * line and prints the summary.
 */

interface ExtractCliOptions extends CommonOptions {
  output?: string;
  force?: boolean;
  verify?: boolean;
  subvol?: string;
  inode?: string;
}

export function registerExtract(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('extract').argument('[image]', 'image file or device').argument('[path]', 'file, directory or subvolume to extract (default: everything)'))
    .description('copy files out of the image to a directory: content (sparse), modes, times, symlinks, hard links, xattrs, ownership and special files when root')
    .requiredOption('-o, --output <dir>', 'directory to write into (created if missing)')
    .option('--force', 'replace existing files in the output directory')
    .option('--no-verify', 'do not verify data checksums')
    .option('--subvol <id|path>', 'extract this subvolume (or PATH inside it)')
    .option('--inode <subvol:ino>', 'extract this inode instead of a path')
    .addHelpText('after', `
Safety: names with "/" or NUL, ".", "..", empty or longer than 255 bytes are refused and
reported; nothing is written outside DIR and symlinks are never followed; existing files
are kept unless --force.
Limits: mtime/atime are restored to the microsecond (Node passes seconds as a double to
libuv); ownership, fifos and device nodes only when running as root (listed otherwise);
sockets are listed, not made; xattrs need the optional fs-xattr package, and xattrs of
symlinks are not restored. Exit 1 when anything could not be written or was refused.`)
    .action(async (image: string | undefined, path: string | undefined, opts: ExtractCliOptions) => {
      const { fs, view, loc, path: given } = openTarget(image, path, opts, io, { defaultPath: '/' });
      if (!loc.ok) return;
      const outDir = resolvePath(opts.output!);
      let created: boolean;
      try {
        created = prepareOutputDir(outDir).created;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (opts.verify === false) io.stderr.write('data checksums are not verified (--no-verify)\n');
      // The whole filesystem or a subvolume root goes into DIR itself; anything else into DIR/NAME.
      const isSubvolRoot = loc.ref.ino === view.rootOf(loc.ref.subvol).ino;
      let into: Uint8Array | null;
      if ((given === undefined || given === '/') && (isSubvolRoot || opts.inode === undefined)) into = null;
      else if (loc.path && loc.path.length > 0) into = loc.path[loc.path.length - 1]!;
      else into = new TextEncoder().encode(`inode-${loc.ref.subvol}-${loc.ref.ino}`);
      const s = await extractFiles(view, { ref: loc.ref, inode: loc.inode, into }, outDir, { force: opts.force ?? false, verify: opts.verify !== false, io, createdOutput: created });
      if (opts.json) io.stdout.write(toJson(jsonDocument('extract', s), 2) + '\n');
      else io.stdout.write(summaryText(s) + '\n');
      const damage = reportFindings(fs, io);
      done(s.failed.length || s.refused.length || damage ? EXIT_DAMAGE : EXIT_OK);
    });
}

/**
 * The engine's extractFiles, with its progress drawn on `io`'s stderr when
 * that is a terminal (the command's way in, and the tests').
 */
export function extractFiles(view: FsView, start: { ref: WalkItem['ref']; inode: Inode; into: Uint8Array | null }, outDir: string, opts: ExtractOptions & { io?: CliIO } = {}): Promise<ExtractSummary> {
  const { io, ...rest } = opts;
  return extractWith(view, start, outDir, io ? { ...rest, progress: new Progress(io, { intervalMs: 200 }) } : rest);
}

function summaryText(s: ExtractSummary): string {
  const w = s.written;
  const lines = [
    `extracted to ${s.output}: ${w.files} files (${w.bytes} bytes), ${w.directories} directories, ${w.symlinks} symlinks, ${w.hardlinks} hard links, ${w.fifos} fifos, ${w.devices} device nodes`,
    `xattrs restored: ${s.xattrs.restored}, not restored: ${s.xattrs.notRestored.length}; ownership ${s.ownership}; data checksums ${s.verify ? `verified (${s.read.verifiedSectors} sectors${s.read.repairedSectors ? `, ${s.read.repairedSectors} read from another copy` : ''}${s.read.unverifiedSectors ? `, ${s.read.unverifiedSectors} without checksum` : ''})` : 'not verified (--no-verify)'}`,
  ];
  for (const n of s.notes) lines.push(`note: ${n}`);
  const list = (title: string, items: ExtractIssue[]) => {
    if (!items.length) return;
    lines.push(`${title} (${items.length}):`);
    for (const i of items.slice(0, 50)) lines.push(`  ${i.path}: ${i.reason}`);
    if (items.length > 50) lines.push(`  ... and ${items.length - 50} more (--json lists all)`);
  };
  list('refused (unsafe names)', s.refused);
  list('failed', s.failed);
  list('not created', s.skipped);
  list('xattrs not restored', s.xattrs.notRestored.map((x) => ({ path: x.path, reason: `${x.name}: ${x.reason}` })));
  return lines.join('\n');
}
