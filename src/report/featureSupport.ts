import { CompatRoFlag, IncompatFlag } from '../format/constants.js';
import type { Superblock } from '../format/superblock.js';

/** A feature bit set in a superblock that btrfs-inspect does not fully understand. */
export interface FeatureGap {
  /** Which flags field holds it. */
  field: 'incompat_flags' | 'compat_ro_flags' | 'compat_flags';
  /** The flag's name, or `unknown 0x...` for a bit no btrfs release names. */
  flag: string;
  bit: bigint;
  /** 'partial': decoded, some commands do not use it yet; 'unknown': nothing is known of it. */
  support: 'partial' | 'unknown';
  /** What is not handled. */
  note: string;
  /** Commands whose answers may then be incomplete or wrong. */
  commands: string[];
}

type Gap = Omit<FeatureGap, 'field' | 'flag' | 'bit' | 'support'>;

/** Every command, for a feature that may change what any of them reads. */
const ALL = ['every command'];

const INCOMPAT_GAPS: Partial<Record<keyof typeof IncompatFlag, Gap>> = {
  ZONED: {
    note: 'zoned: emulated zones (mkfs on a regular file or a device without zones: conventional) keep the superblock at its fixed offsets and are read; on a host-managed zoned device the superblock is a log in two zones, not at 64 KiB, which is not read',
    commands: ALL,
  },
  EXTENT_TREE_V2: {
    note: 'extent-tree-v2 (experimental, the format is not final): every global root of the extent, csum and free-space trees is read, an item found by searching them all; check does not verify that an item is in the global root its block group names',
    commands: ['check'],
  },
  SIMPLE_QUOTA: {
    note: 'simple quotas: owner refs and the qgroup items are decoded; check does not verify squota accounting',
    commands: ['check'],
  },
  REMAP_TREE: {
    note: 'remap tree (btrfs-progs 6.19, experimental): ranges relocated through it are not remapped on read',
    commands: ALL,
  },
};

const COMPAT_RO_GAPS: Partial<Record<keyof typeof CompatRoFlag, Gap>> = {
  VERITY: {
    note: 'fs-verity: stat shows the descriptor and its digest, cat checks file contents against the Merkle tree; extract and check --data do not',
    commands: ['extract', 'check --data'],
  },
};

function gaps(field: FeatureGap['field'], flags: bigint, names: Record<string, bigint>, known: Partial<Record<string, Gap>>): FeatureGap[] {
  const out: FeatureGap[] = [];
  for (let i = 0n; i < 64n; i++) {
    const bit = 1n << i;
    if (!(flags & bit)) continue;
    const name = Object.entries(names).find(([, b]) => b === bit)?.[0];
    if (name === undefined) {
      out.push({ field, flag: `unknown 0x${bit.toString(16)}`, bit, support: 'unknown', note: 'a feature bit no btrfs release known to btrfs-inspect names', commands: ALL });
      continue;
    }
    const g = known[name];
    if (g) out.push({ field, flag: name, bit, support: 'partial', ...g });
  }
  return out;
}

/** The feature bits of `sb` that btrfs-inspect does not fully understand, and which commands may then be incomplete. */
export function featureGaps(sb: Superblock): FeatureGap[] {
  return [
    ...gaps('incompat_flags', sb.incompatFlags, IncompatFlag, INCOMPAT_GAPS),
    ...gaps('compat_ro_flags', sb.compatRoFlags, CompatRoFlag, COMPAT_RO_GAPS),
    ...gaps('compat_flags', sb.compatFlags, {}, {}),
  ];
}
