import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { viewpoint } from '../analysis/forensics/viewpoint.js';
import { hasSuperMagic } from '../format/superblock.js';
import type { ByteSource } from '../io/ByteSource.js';
import { isLvmPv } from '../io/lvm/index.js';
import { liveUse } from '../io/node/liveUse.js';
import { type OpenSourceOptions, openByteSource } from '../io/node/openSource.js';
import { findBtrfsPartitions, type PartitionTable, PartitionTableError, readPartitionTable } from '../io/partitions.js';
import { SliceSource } from '../io/SliceSource.js';
import { Filesystem, NotRebuiltError } from '../tree/Filesystem.js';
import { NotBtrfsError } from '../volume/assemble.js';
import type { RebuildResult } from '../volume/rebuild.js';
import type { DeviceSupers, SuperChoice } from '../volume/superblocks.js';
import { type CliIO, InputError, NotServedError, UsageError } from './context.js';
import { DEMO_HINT, demoImagePath } from './demo.js';
import { resolveLvm } from './lvm.js';
import { parseInputFormat } from './options.js';

export interface SourceOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  /** Superblock copy to use, 1-based as every message numbers copies. */
  superblock?: string;
  generation?: string;
  root?: string;
  replayLog?: boolean;
  demo?: boolean;
  /** The LVM logical volume to read (VG/LV) when the inputs are physical volumes. */
  lv?: string;
  /** The qcow2 internal snapshot (id or name) of IMAGE to read. */
  snapshot?: string;
  /** --input-format: IMAGE's container format, overriding detection. */
  inputFormat?: string;
  /** --rebuild: the chunk map (and, when none survives, the superblock) rebuilt from a scan of the devices. */
  rebuild?: boolean;
}

function parseBytes(s: string, what: string): bigint {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(s)) throw new UsageError(`${what} must be a whole number of bytes, got "${s}"`);
  return BigInt(s);
}

export { DEMO_HINT, demoImagePath, withDemoImage } from './demo.js';

/** Warns (never refuses: a forensic read of a live system can be wanted) when the kernel is using the device or image. */
export function warnIfLive(path: string, io: CliIO): void {
  const uses = liveUse(path);
  if (uses.length === 0) return;
  io.stderr.write(
    `btrfs-inspect: warning: ${path} is in use: ${uses.join('; ')}. A live filesystem may change while it is read: what is shown (a check's verdict too) can be wrong; unmount it, or read a copy or snapshot of the device\n`,
  );
}

/** Opens one input for a command (IMAGE or a --device): exit 2 naming the path when it cannot be read. */
export function openOne(path: string, io: CliIO, hint?: string, opts: OpenSourceOptions = {}): ByteSource {
  if (!existsSync(path)) throw new InputError(`${path}: no such file or device`, hint);
  warnIfLive(path, io);
  try {
    return openByteSource(path, opts);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/**
 * The source a user meant by IMAGE: the file itself, a window at --offset,
 * the partition picked by --partition, or the only btrfs partition of a
 * whole-disk image (said on stderr).
 */
export function selectSource(src: ByteSource, opts: SourceOptions, io: CliIO): ByteSource {
  if (opts.offset !== undefined) {
    const off = parseBytes(opts.offset, '--offset');
    return new SliceSource(src, off, undefined, `${src.name}@${off}`);
  }
  let table: PartitionTable | null;
  try {
    table = readPartitionTable(src);
  } catch (e) {
    if (e instanceof PartitionTableError) throw new InputError(`${src.name}: ${e.message}`);
    throw e;
  }
  if (opts.partition !== undefined) {
    if (!table) throw new UsageError(`${src.name}: --partition given, but the image has no MBR or GPT partition table`);
    const n = Number(opts.partition);
    const p = table.partitions.find((x) => x.index === n);
    if (!p) throw new UsageError(`${src.name}: no partition ${opts.partition} (partitions: ${table.partitions.map((x) => x.index).join(', ') || 'none'})`);
    return new SliceSource(src, p.start, p.size, `${src.name} partition ${n}`);
  }
  const head = src.read(0x10000n, 4096);
  if (hasSuperMagic(head) || !table) return src;
  const found = findBtrfsPartitions(src, table);
  if (found.length === 1) {
    const p = found[0]!;
    io.stderr.write(`${src.name}: ${table.type.toUpperCase()} disk; using btrfs partition ${p.index} at offset ${p.start}\n`);
    return new SliceSource(src, p.start, p.size, `${src.name} partition ${p.index}`);
  }
  if (found.length > 1) {
    throw new UsageError(`${src.name}: several btrfs partitions (${found.map((p) => `${p.index} at ${p.start}`).join(', ')}); pick one with --partition N`);
  }
  // No btrfs partition: one that is an LVM physical volume is the next layer down (resolveLvm).
  const pvs = table.partitions
    .filter((p) => p.kind !== 'extended')
    .map((p) => ({ p, s: new SliceSource(src, p.start, p.size, `${src.name} partition ${p.index}`) }))
    .filter((x) => isLvmPv(x.s));
  if (pvs.length === 1) {
    const { p, s } = pvs[0]!;
    io.stderr.write(`${src.name}: ${table.type.toUpperCase()} disk; using LVM physical volume partition ${p.index} at offset ${p.start}\n`);
    return s;
  }
  if (pvs.length > 1) {
    throw new UsageError(`${src.name}: several LVM physical volume partitions (${pvs.map(({ p }) => `${p.index} at ${p.start}`).join(', ')}); pick one with --partition N`);
  }
  return src;
}

/** The byte sources named by a command's IMAGE and --device options (the demo image when IMAGE is absent). */
export function openSources(image: string | undefined, opts: SourceOptions, io: CliIO): ByteSource[] {
  let path = image;
  if (path === undefined || opts.demo) {
    // The demo only when asked (--demo), or when the command was given no positional at all.
    path = demoImagePath();
    if (!existsSync(path)) throw new UsageError(`${opts.demo ? '--demo given' : 'no image given'}, and the bundled demo image is not there`);
    if (!opts.demo) io.stderr.write(`No image given: using the bundled demo image ${join('sample-images', 'default')}.\n`);
  }
  const format = parseInputFormat(opts.inputFormat);
  const imageOpts = { ...(opts.snapshot !== undefined ? { snapshot: opts.snapshot } : {}), ...(format !== undefined ? { format } : {}) };
  const sources = [selectSource(openOne(path, io, DEMO_HINT, imageOpts), opts, io), ...(opts.device ?? []).map((d) => selectSource(openOne(d, io), {}, io))];
  return resolveLvm(sources, opts.lv, io);
}

/**
 * --superblock N: the copy every device's superblock is read from (1 = the
 * primary at 64 KiB, 2 = 64 MiB, 3 = 256 GiB), as a 0-based SuperChoice.
 */
export function superChoice(opts: SourceOptions): SuperChoice {
  if (opts.superblock === undefined) return {};
  if (!/^[1-3]$/.test(opts.superblock)) throw new UsageError(`--superblock must be 1, 2 or 3 (the copy at 64 KiB, 64 MiB or 256 GiB), got "${opts.superblock}"`);
  return { copy: Number(opts.superblock) - 1 };
}

/** The options that pick the sources (for another thread opening the same filesystem). */
export function sourceOptionsOf(opts: SourceOptions): SourceOptions {
  const { device, partition, offset, superblock, rebuild } = opts;
  return {
    ...(device ? { device } : {}),
    ...(partition !== undefined ? { partition } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(superblock !== undefined ? { superblock } : {}),
    ...(rebuild ? { rebuild } : {}),
  };
}

/** Why the forced superblock copy cannot be used (a usage error: another copy may be valid). */
export function forcedCopyError(e: { source: string; supers: DeviceSupers }, copy: number): UsageError {
  const m = e.supers.mirrors[copy];
  const state = m ? `copy ${copy + 1} at ${m.offset} is ${m.state}${m.problems.length ? ` (${m.problems.join(', ')})` : ''}` : `the device has no copy ${copy + 1}`;
  const valid = e.supers.mirrors.filter((x) => x.state === 'ok').map((x) => x.index + 1);
  return new UsageError(`${e.source}: --superblock ${copy + 1}: ${state}${valid.length ? `; valid copies: ${valid.join(', ')}` : ''}`);
}

/** What --rebuild did, for stderr: how many blocks it found and how sure its mappings are (`chunks` lists each with its evidence). */
function rebuildNote(r: RebuildResult, madeSuper: boolean): string {
  const by = (c: 'high' | 'medium' | 'low') => r.chunks.filter((x) => x.confidence === c).length;
  return (
    `note: --rebuild: ${r.blocksFound} tree blocks found in ${r.bytesScanned} bytes scanned; ${r.chunks.length} chunks mapped ` +
    `(${by('high')} high, ${by('medium')} medium, ${by('low')} low confidence; "chunks --rebuild" lists the evidence)` +
    (madeSuper ? `; no valid superblock: one made from the scan (root tree ${r.rootTree?.bytenr ?? 'not found'}, generation ${r.generation})` : '')
  );
}

/** Opens the filesystem named by a command's IMAGE and --device options. */
export function openFilesystem(image: string | undefined, opts: SourceOptions, io: CliIO): Filesystem {
  const choice = superChoice(opts);
  const sources = openSources(image, opts, io);
  let fs: Filesystem;
  try {
    fs = Filesystem.open(sources, { superblock: choice, ...(opts.rebuild ? { rebuild: true } : {}) });
  } catch (e) {
    if (e instanceof NotRebuiltError) throw new InputError(e.message);
    if (e instanceof NotBtrfsError) throw choice.copy !== undefined ? forcedCopyError(e, choice.copy) : new InputError(e.message);
    throw e;
  }
  if (fs.rebuilt)
    io.stderr.write(
      `${rebuildNote(
        fs.rebuilt,
        fs.assembly.supers.every((d) => !d.supers.best),
      )}\n`,
    );
  if (choice.copy !== undefined) io.stderr.write(`note: reading superblock copy ${choice.copy + 1} (--superblock ${choice.copy + 1}), generation ${fs.superblock.generation}\n`);
  const v = viewpoint(fs, opts);
  if ('error' in v) throw v.unserved ? new NotServedError(v.error) : new UsageError(v.error);
  if (v.note) io.stderr.write(`${v.note}\n`);
  return v.fs;
}
