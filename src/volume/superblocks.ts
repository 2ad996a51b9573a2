import { SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from '../format/constants.js';
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
