import type { ByteSource } from '../io/ByteSource.js';
import { SUPER_INFO_SIZE, SUPER_MIRROR_OFFSETS } from '../format/constants.js';
import { checkSuperblock, decodeSuperblock, type Superblock, type SuperProblem } from '../format/superblock.js';

/** The state of one superblock copy on one device. */
export interface SuperMirror {
  index: number;
  offset: bigint;
  /** 'ok' (valid and current), 'older' (valid, lower generation), or why it is unusable. */
  state: 'ok' | 'older' | 'missing' | 'bad-magic' | 'bad-csum' | 'invalid';
  problems: SuperProblem[];
  generation?: bigint;
  superblock?: Superblock;
}

export interface DeviceSupers {
  mirrors: SuperMirror[];
  /** The newest valid copy, or undefined when no copy is valid. */
  best?: Superblock;
  bestIndex?: number;
}

/**
 * Reads every superblock copy the device is large enough for (64 KiB,
 * 64 MiB, 256 GiB) and picks the newest valid one.
 */
export function readSuperblocks(src: ByteSource): DeviceSupers {
  const mirrors: SuperMirror[] = SUPER_MIRROR_OFFSETS.map((offset, index) => {
    if (offset + BigInt(SUPER_INFO_SIZE) > src.size) return { index, offset, state: 'missing', problems: [] };
    const buf = src.read(offset, SUPER_INFO_SIZE);
    if (buf.length < SUPER_INFO_SIZE) return { index, offset, state: 'missing', problems: [] };
    const problems = checkSuperblock(buf, offset);
    if (problems.includes('bad-magic')) return { index, offset, state: 'bad-magic', problems };
    const sb = decodeSuperblock(buf);
    const state = problems.length === 0 ? 'ok' : problems.includes('bad-csum') ? 'bad-csum' : 'invalid';
    return { index, offset, state, problems, generation: sb.generation, superblock: sb };
  });
  let best: SuperMirror | undefined;
  for (const m of mirrors) if (m.state === 'ok' && (!best || m.generation! > best.generation!)) best = m;
  for (const m of mirrors) if (m.state === 'ok' && best && m.generation! < best.generation!) m.state = 'older';
  return { mirrors, ...(best ? { best: best.superblock!, bestIndex: best.index } : {}) };
}
