import { IncompatFlag, SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from '../format/constants.js';
import { checkSuperblock, decodeSuperblock, type Superblock, type SuperProblem } from '../format/superblock.js';
import { type ByteSource, SourceError } from '../io/ByteSource.js';
import { MetadumpDeviceSource } from './metadump.js';

/** The state of one superblock copy on one device. */
export interface SuperMirror {
  index: number;
  offset: bigint;
  /**
   * 'ok' (valid, the generation of the copy used), 'older' or 'newer' (valid, a lower or higher
   * generation than the copy used), or why it is unusable.
   */
  state: 'ok' | 'older' | 'newer' | 'missing' | 'unreadable' | 'bad-magic' | 'bad-csum' | 'invalid';
  problems: SuperProblem[];
  /** Why an 'unreadable' copy could not be read (the medium's error: a container cluster past its file's end). */
  readError?: string;
  generation?: bigint;
  superblock?: Superblock;
  /** The copy's bytes (SUPER_INFO_SIZE), kept for comparing valid copies (check). */
  raw?: Uint8Array;
}

export interface DeviceSupers {
  mirrors: SuperMirror[];
  /** The copy every read is based on (see readSuperblocks), or undefined when none is usable. */
  best?: Superblock;
  bestIndex?: number;
}

/** Which superblock copy to use: `copy` (0-based) forces one, as `btrfs check --super N` does. */
export interface SuperChoice {
  copy?: number;
}

/**
 * Reads every superblock copy the device is large enough for (64 KiB,
 * 64 MiB, 256 GiB) and picks the one to use: the primary copy when it is
 * valid, as the kernel and btrfs-progs do (a backup copy is written only at
 * commit, so a valid one of a higher generation is a leftover or a forgery,
 * never the filesystem's state); else the newest valid backup. A forced copy
 * is used only when it is valid.
 */
export function readSuperblocks(src: ByteSource, choice: SuperChoice = {}): DeviceSupers {
  const mirrors: SuperMirror[] = SUPER_MIRROR_OFFSETS.map((offset, index) => {
    if (offset + BigInt(SUPER_INFO_SIZE) > src.size) return { index, offset, state: 'missing', problems: [] };
    // btrfs-image copies the primary superblock only.
    if (src instanceof MetadumpDeviceSource && index > 0) return { index, offset, state: 'missing', problems: [] };
    let buf: Uint8Array;
    try {
      buf = src.read(offset, SUPER_INFO_SIZE);
    } catch (e) {
      if (e instanceof SourceError) return { index, offset, state: 'unreadable', problems: [], readError: e.message };
      throw e;
    }
    if (buf.length < SUPER_INFO_SIZE) return { index, offset, state: 'missing', problems: [] };
    const problems = checkSuperblock(buf, offset);
    if (problems.includes('bad-magic')) return { index, offset, state: 'bad-magic', problems };
    const sb = decodeSuperblock(buf);
    const state = problems.length === 0 ? 'ok' : problems.includes('bad-csum') ? 'bad-csum' : 'invalid';
    return { index, offset, state, problems, generation: sb.generation, superblock: sb, raw: buf.slice() };
  });
  const log = choice.copy === undefined ? zonedLogNewest(src) : undefined;
  if (log) mirrors[0] = log;
  let best: SuperMirror | undefined;
  if (choice.copy !== undefined) {
    const forced = mirrors[choice.copy];
    if (forced?.state === 'ok') best = forced;
  } else if (mirrors[0]?.state === 'ok') {
    best = mirrors[0];
  } else {
    for (const m of mirrors) if (m.state === 'ok' && (!best || m.generation! > best.generation!)) best = m;
  }
  for (const m of mirrors) {
    if (m.state !== 'ok' || !best) continue;
    if (m.generation! < best.generation!) m.state = 'older';
    else if (m.generation! > best.generation!) m.state = 'newer';
  }
  return { mirrors, ...(best ? { best: best.superblock!, bestIndex: best.index } : {}) };
}

/** The size of one superblock slot in a zoned superblock log. */
const LOG_SLOT = 4096n;

/**
 * A zoned device keeps its primary superblock as a log in zones 0 and 1 (the
 * kernel appends a copy at every commit, resetting a zone when both are
 * full), not at 64 KiB, which is only some slot of zone 0. A copy of the
 * device holds no write pointers, so the newest copy is the valid one of the
 * highest generation among the consecutive valid slots from the start of
 * each of the two zones. Zone 1 starts at the zone size, which no on-disk
 * field records: it is the power of two (4 MiB to 8 GiB, the sizes btrfs
 * accepts) whose first slot holds a valid copy of the same filesystem.
 * Undefined when slot 0 is no zoned superblock.
 */
function zonedLogNewest(src: ByteSource): SuperMirror | undefined {
  const first = readLogSlot(src, 0n);
  if (!first || (first.superblock!.incompatFlags & IncompatFlag.ZONED) === 0n) return undefined;
  const fsid = first.superblock!.fsid;
  let best = first;
  // Returns where the run of valid slots from `start` ends.
  const scanZone = (start: bigint, end: bigint): bigint => {
    let off = start;
    for (; off + LOG_SLOT <= end; off += LOG_SLOT) {
      const m = readLogSlot(src, off);
      if (!m || m.superblock!.fsid !== fsid) break;
      if (m.generation! > best.generation!) best = m;
    }
    return off;
  };
  // Zone 1 starts past the written slots of zone 0 (a slot further on in zone 0 is no zone start).
  const written0 = scanZone(0n, src.size);
  for (let zone = 4n << 20n; zone <= 8n << 30n && zone + LOG_SLOT <= src.size; zone *= 2n) {
    if (zone < written0) continue;
    const m = readLogSlot(src, zone);
    if (!m || m.superblock!.fsid !== fsid) continue;
    scanZone(zone, zone * 2n);
    break;
  }
  return best;
}

/** One slot of a zoned superblock log when it holds a valid copy (its bytenr is the nominal 64 KiB). */
function readLogSlot(src: ByteSource, offset: bigint): SuperMirror | undefined {
  if (offset + BigInt(SUPER_INFO_SIZE) > src.size) return undefined;
  let buf: Uint8Array;
  try {
    buf = src.read(offset, SUPER_INFO_SIZE);
  } catch (e) {
    if (e instanceof SourceError) return undefined;
    throw e;
  }
  if (buf.length < SUPER_INFO_SIZE || checkSuperblock(buf, SUPER_MIRROR_OFFSETS[0]!).length > 0) return undefined;
  const sb = decodeSuperblock(buf);
  return { index: 0, offset, state: 'ok', problems: [], generation: sb.generation, superblock: sb, raw: buf.slice() };
}
