import { ItemType, ObjectId } from '../format/constants.js';
import type { Key } from '../format/key.js';
import { UsageError } from './context.js';

/** A u64 from decimal or 0x-hex text, exact. */
export function parseU64(s: string, what: string): bigint {
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) throw new UsageError(`${what}: "${s}" is not a whole number`);
  const v = BigInt(t);
  if (v > 0xffffffffffffffffn) throw new UsageError(`${what}: ${s} does not fit in 64 bits`);
  return v;
}

/** A count given on the command line (--max-blocks, --extents): a whole number within [min, max], else a usage error. */
export function parseCount(s: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(s.trim())) throw new UsageError(`${what}: "${s}" is not a whole number`);
  const v = Number(s.trim());
  if (v < min || v > max) throw new UsageError(`${what}: ${s} is not within ${min}..${max}`);
  return v;
}

const TREE_NAMES: Record<string, bigint> = {
  root: ObjectId.ROOT_TREE,
  extent: ObjectId.EXTENT_TREE,
  chunk: ObjectId.CHUNK_TREE,
  dev: ObjectId.DEV_TREE,
  device: ObjectId.DEV_TREE,
  fs: ObjectId.FS_TREE,
  csum: ObjectId.CSUM_TREE,
  checksum: ObjectId.CSUM_TREE,
  quota: ObjectId.QUOTA_TREE,
  uuid: ObjectId.UUID_TREE,
  'free-space': ObjectId.FREE_SPACE_TREE,
  'block-group': ObjectId.BLOCK_GROUP_TREE,
  'raid-stripe': ObjectId.RAID_STRIPE_TREE,
  'data-reloc': ObjectId.DATA_RELOC_TREE,
  log: ObjectId.TREE_LOG,
  reloc: ObjectId.TREE_RELOC,
};

/** A tree by name (fs, extent, csum, ...) or object id (257, or -8 for TREE_RELOC). */
export function parseTreeId(s: string): bigint {
  const named = TREE_NAMES[s.toLowerCase()];
  if (named !== undefined) return named;
  if (/^-\d+$/.test(s)) return BigInt.asUintN(64, BigInt(s));
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return parseU64(s, '--tree');
  throw new UsageError(`--tree: unknown tree "${s}" (names: ${Object.keys(TREE_NAMES).join(', ')}; or an object id)`);
}

/** A key as "OBJECTID TYPE OFFSET" (commas allowed; TYPE by number or name; OBJECTID may be -N or a tree name). */
export function parseKey(s: string, what: string, fill: 'min' | 'max' = 'min'): Key {
  const parts = s.replace(/[(),]/g, ' ').trim().split(/\s+/);
  if (parts.length < 1 || parts.length > 3 || parts[0] === '') throw new UsageError(`${what}: expected "OBJECTID [TYPE [OFFSET]]", got "${s}"`);
  const obj = /^-\d+$/.test(parts[0]!) ? BigInt.asUintN(64, BigInt(parts[0]!)) : ((ObjectId as Record<string, bigint>)[parts[0]!.toUpperCase()] ?? parseU64(parts[0]!, what));
  let type = fill === 'max' ? 255 : 0;
  if (parts[1] !== undefined) {
    const named = (ItemType as Record<string, number>)[parts[1].toUpperCase()];
    type = named ?? Number(parseU64(parts[1], what));
    if (type > 255) throw new UsageError(`${what}: key type ${type} > 255`);
  }
  const offset = parts[2] !== undefined ? parseU64(parts[2], what) : fill === 'max' ? 0xffffffffffffffffn : 0n;
  return { objectid: obj, type, offset };
}

/** A byte count typed by a person: digits, optionally K, M, G or T (powers of 1024) and "B"/"iB". */
export function parseByteCount(s: string, what: string): bigint {
  const m = /^(\d+)([KMGT]?)(i?B)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`${what} must be a size such as 1073741824 or 1G, got "${s}"`);
  return BigInt(m[1]!) << { '': 0n, K: 10n, M: 20n, G: 30n, T: 40n }[m[2]!.toUpperCase() as '']!;
}
