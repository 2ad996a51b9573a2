import type { Command } from 'commander';
import { newReadStats, readFile, symlinkTarget } from '../../fs/fileData.js';
import { displayPath } from '../../fs/names.js';
import { tableName } from '../../report/fs.js';
import { EXIT_DAMAGE, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { openTarget } from '../target.js';
import { finish } from '../findings.js';

interface CatOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  verify?: boolean;
}

const ZEROS = new Uint8Array(1 << 20);

/** Writes to the CLI's stdout, waiting for 'drain' when a stream asks to (so big files stream, not buffer). */
export async function writeOut(io: CliIO, chunk: Uint8Array): Promise<void> {
  const out = io.stdout as CliIO['stdout'] & { once?: (ev: string, f: () => void) => unknown; off?: (ev: string, f: () => void) => unknown; writableNeedDrain?: boolean };
  const ok = out.write(chunk);
  if (ok !== false || typeof out.once !== 'function') return;
  await new Promise<void>((resolve) => {
    const end = () => {
      out.off?.('drain', end); out.off?.('close', end); out.off?.('error', end);
      resolve();
    };
    out.once!('drain', end); out.once!('close', end); out.once!('error', end);
  });
}

export function registerCat(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('cat').argument('[image]', 'image file or device').argument('[path]', 'path as a mount of subvolume 5 shows it'))
    .description('write a file\'s exact bytes to stdout, verifying data checksums (a bad copy is read from the next one)')
    .option('--inode <subvol:ino>', 'the file to read, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--no-verify', 'do not verify data checksums (read what is there)')
    .action(async (image: string | undefined, path: string | undefined, opts: CatOptions) => {
      const { fs, view, loc } = openTarget(image, path, opts, io);
      if (!loc.ok) return;
      const name = loc.path ? displayPath(loc.path, { controls: true }) : `inode ${loc.ref.subvol}:${loc.ref.ino}`;
      const inode = loc.inode;
      if (inode.kind === 'dir') throw new UsageError(`${name}: is a directory`);
      if (inode.kind === 'symlink') {
        const t = symlinkTarget(view, inode);
        throw new UsageError(`${name}: is a symbolic link${t ? ` to ${tableName(t)}` : ''} (not followed; cat reads regular files)`);
      }
      if (inode.kind !== 'file') throw new UsageError(`${name}: is not a regular file (${inode.kind})`);
      const verify = opts.verify !== false;
      if (!verify) io.stderr.write(`${name}: data checksums are not verified (--no-verify)\n`);
      const stats = newReadStats();
      for (const seg of readFile(view, inode, { verify, stats })) {
        if (seg.kind === 'data') {
          await writeOut(io, seg.bytes);
        } else if (seg.kind === 'zero') {
          let left = seg.length;
          while (left > 0n) {
            const n = left > BigInt(ZEROS.length) ? ZEROS.length : Number(left);
            await writeOut(io, ZEROS.subarray(0, n));
            left -= BigInt(n);
          }
        } else {
          io.stderr.write(`btrfs-inspect: ${name}: cannot read file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}: ${seg.message}\n`);
          finish(fs, io);
          return done(EXIT_DAMAGE);
        }
      }
      done(finish(fs, io));
    });
}
