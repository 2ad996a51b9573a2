import type { Command } from 'commander';
import { InodeFlag } from '../../format/constants.js';
import type { FsView } from '../../fs/FsView.js';
import { newReadStats, readFile, symlinkTarget } from '../../fs/fileData.js';
import { displayPath, displayText } from '../../fs/names.js';
import type { Located } from '../../fs/select.js';
import { readInodeVerity, VerityVerifier } from '../../fs/verity.js';
import { openBatch, worst } from '../batch.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, EXIT_USAGE, UsageError } from '../context.js';
import { finish, type SaidRanges } from '../findings.js';
import { addSourceOptions, type CommonOptions } from '../options.js';

interface CatOptions extends CommonOptions {
  subvol?: string;
  inode?: string;
  verify?: boolean;
  zeroFillBad?: boolean;
}

const ZEROS = new Uint8Array(1 << 20);

/** Writes to the CLI's stdout, waiting for 'drain' when a stream asks to (so big files stream, not buffer). */
export async function writeOut(io: CliIO, chunk: Uint8Array): Promise<void> {
  const out = io.stdout as CliIO['stdout'] & { once?: (ev: string, f: () => void) => unknown; off?: (ev: string, f: () => void) => unknown; writableNeedDrain?: boolean };
  const ok = out.write(chunk);
  if (ok !== false || typeof out.once !== 'function') return;
  await new Promise<void>((resolve) => {
    const end = () => {
      out.off?.('drain', end);
      out.off?.('close', end);
      out.off?.('error', end);
      resolve();
    };
    out.once!('drain', end);
    out.once!('close', end);
    out.once!('error', end);
  });
}

export function registerCat(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('cat').argument('[image]', 'image file or device').argument('[paths...]', 'paths as a mount of subvolume 5 shows them (several: written one after another)'))
    .description("write a file's exact bytes to stdout, verifying data checksums (a bad copy is read from the next one)")
    .option('--inode <subvol:ino>', 'the file to read, instead of a path')
    .option('--subvol <id|path>', 'paths (and a bare --inode number) are in this subvolume')
    .option('--no-verify', 'do not verify data checksums (read what is there)')
    .option('--zero-fill-bad', 'go on past bytes no copy holds good (checksum failures, unreadable): write zeros there and name each such range on stderr; exit 1')
    .action(async (image: string | undefined, paths: string[], opts: CatOptions) => {
      const { fs, view, targets } = openBatch(image, paths, opts, io);
      let code = EXIT_OK;
      const said: SaidRanges = [];
      for (const t of targets) {
        if ('error' in t) {
          io.stderr.write(`btrfs-inspect: ${t.error}\n`);
          code = worst(code, t.code);
          continue;
        }
        const c = await catOne(view, t.loc, opts, io, targets.length > 1, said);
        code = worst(code, c);
        // A file that stopped half-way: what follows on stdout would be taken for its rest.
        if (c === EXIT_DAMAGE && !opts.zeroFillBad) break;
      }
      done(worst(finish(fs, io, said), code));
    });
}

/** Writes one file's bytes; the exit code it calls for. A file that is not a regular one is refused (2). */
async function catOne(view: FsView, loc: Extract<Located, { ok: true }>, opts: CatOptions, io: CliIO, several: boolean, said: SaidRanges): Promise<number> {
  const name = loc.path ? displayPath(loc.path) : `inode ${loc.ref.subvol}:${loc.ref.ino}`;
  const inode = loc.inode;
  const refuse = (why: string) => {
    if (!several) throw new UsageError(why);
    io.stderr.write(`btrfs-inspect: ${why}\n`);
    return EXIT_USAGE;
  };
  if (inode.kind === 'dir') return refuse(`${name}: is a directory`);
  if (inode.kind === 'symlink') {
    const t = symlinkTarget(view, inode);
    return refuse(`${name}: is a symbolic link${t ? ` to ${displayText(t)}` : ''} (not followed; cat reads regular files)`);
  }
  if (inode.kind !== 'file') return refuse(`${name}: is not a regular file (${inode.kind})`);
  const verify = opts.verify !== false;
  const hasVerity = (inode.flags & InodeFlag.RO_VERITY) !== 0n;
  if (!verify) io.stderr.write(`${name}: data checksums${hasVerity ? ' and fs-verity are' : ' are'} not verified (--no-verify)\n`);
  const found = verify && hasVerity ? verityOf(view, loc) : null;
  if (typeof found === 'string') {
    io.stderr.write(`btrfs-inspect: ${name}: ${found}\n`);
    return EXIT_DAMAGE;
  }
  let verity = found;
  // Each segment is checked against the Merkle tree before it is written: a mismatch stops the file there.
  const verityFails = () => {
    io.stderr.write(`btrfs-inspect: ${name}: ${verity!.mismatch!.message}\n`);
    return EXIT_DAMAGE;
  };
  if (verity?.mismatch) return verityFails();
  const stats = newReadStats();
  let code = EXIT_OK;
  for (const seg of readFile(view, inode, { verify, stats })) {
    if (seg.kind === 'data') {
      if (verity && !verity.update(seg.bytes)) return verityFails();
      await writeOut(io, seg.bytes);
    } else if (seg.kind === 'zero') {
      if (verity && !feedZeros(verity, seg.length)) return verityFails();
      await writeZeros(io, seg.length);
    } else {
      const at = `file offset ${seg.offset} (+${seg.length})${seg.logical !== undefined ? ` at logical ${seg.logical}` : ''}`;
      if (seg.logical !== undefined) said.push({ logical: seg.logical, length: seg.length });
      if (!opts.zeroFillBad) {
        io.stderr.write(`btrfs-inspect: ${name}: cannot read ${at}: ${seg.message} (--zero-fill-bad writes zeros there and goes on)\n`);
        return EXIT_DAMAGE;
      }
      io.stderr.write(`btrfs-inspect: ${name}: zero-filled ${at}: ${seg.message}\n`);
      // The zeros are not the file's bytes: the Merkle tree would only name this same range again.
      if (verity) io.stderr.write(`btrfs-inspect: ${name}: fs-verity not checked from file offset ${seg.offset} on\n`);
      verity = null;
      await writeZeros(io, seg.length);
      code = EXIT_DAMAGE;
    }
  }
  if (verity && !verity.finish()) return verityFails();
  return code;
}

/** The verifier of a file with the fs-verity flag, or why it has none (its descriptor is missing or damaged). */
function verityOf(view: FsView, loc: Extract<Located, { ok: true }>): VerityVerifier | string {
  const v = readInodeVerity(view, loc.ref);
  if (!v) return 'has the fs-verity flag but no fs-verity descriptor (VERITY_DESC items)';
  if (!('digest' in v.descriptor) || v.descriptor.errors.length) return `fs-verity descriptor is damaged: ${v.descriptor.errors.join('; ')}`;
  return new VerityVerifier(v.descriptor, v.tree);
}

function feedZeros(verity: VerityVerifier, length: bigint): boolean {
  let left = length;
  while (left > 0n) {
    const n = left > BigInt(ZEROS.length) ? ZEROS.length : Number(left);
    if (!verity.update(ZEROS.subarray(0, n))) return false;
    left -= BigInt(n);
  }
  return true;
}

async function writeZeros(io: CliIO, length: bigint): Promise<void> {
  let left = length;
  while (left > 0n) {
    const n = left > BigInt(ZEROS.length) ? ZEROS.length : Number(left);
    await writeOut(io, ZEROS.subarray(0, n));
    left -= BigInt(n);
  }
}
