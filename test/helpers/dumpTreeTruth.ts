import { ItemType, ObjectId } from '../../src/format/constants.js';
import { HEADER_SIZE } from '../../src/format/treeBlock.js';
import type { Filesystem } from '../../src/tree/Filesystem.js';
import type { TreeRoot } from '../../src/tree/walk.js';

/** One tree block as `btrfs inspect-internal dump-tree` printed it. */
export interface TruthBlock {
  bytenr: bigint;
  level: number;
  nritems: number;
  generation: bigint;
  owner: string;
  /** Leaf items: key, itemoff, itemsize. Node pointers: key, block, gen. */
  entries: string[];
}

const OBJ_NAMES: Record<string, bigint> = {
  ...Object.fromEntries(Object.entries(ObjectId).map(([k, v]) => [k, v])),
  // dump-tree's names that differ from the uapi header's.
  FS_TREE: 5n,
  ROOT_TREE: 1n,
  EXTENT_TREE: 2n,
  CHUNK_TREE: 3n,
  DEV_TREE: 4n,
  CSUM_TREE: 7n,
  QUOTA_TREE: 8n,
  UUID_TREE: 9n,
  FREE_SPACE_TREE: 10n,
  BLOCK_GROUP_TREE: 11n,
  DEV_STATS: 0n,
  DEV_ITEMS: 1n,
  FIRST_CHUNK_TREE: 256n,
};
const TYPE_NAMES: Record<string, number> = { ...ItemType, BALANCE_ITEM: 248, DEV_STATS: 249, UNTYPED: 0 };

/** A key component as dump-tree prints it: a number, -N, 0xHEX, a symbolic name, or a qgroup "L/ID". */
export function parseKeyPart(s: string): bigint {
  if (/^-\d+$/.test(s)) return BigInt.asUintN(64, BigInt(s));
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) return BigInt(s);
  const q = /^(\d+)\/(\d+)$/.exec(s);
  if (q) return (BigInt(q[1]!) << 48n) | BigInt(q[2]!);
  const n = OBJ_NAMES[s];
  if (n === undefined) throw new Error(`unknown key part ${s}`);
  return n;
}

export function parseKeyType(s: string): number {
  const u = /^UNKNOWN\.(\d+)$/.exec(s);
  if (u) return Number(u[1]);
  const n = TYPE_NAMES[s];
  if (n === undefined) throw new Error(`unknown key type ${s}`);
  return n;
}

export function keyString(objectid: bigint, type: number, offset: bigint): string {
  return `${objectid} ${type} ${offset}`;
}

/** Every block of a dump-tree text, by bytenr (a block shared by snapshots is printed more than once, identically). */
export function parseDumpTree(text: string): Map<bigint, TruthBlock> {
  const blocks = new Map<bigint, TruthBlock>();
  let cur: TruthBlock | undefined;
  for (const line of text.split('\n')) {
    let m = /^(leaf|node) (\d+) (?:level (\d+) )?items (\d+) free space (-?\d+) generation (\d+) owner (\S+)/.exec(line);
    if (m) {
      cur = { bytenr: BigInt(m[2]!), level: m[1] === 'leaf' ? 0 : Number(m[3]), nritems: Number(m[4]), generation: BigInt(m[6]!), owner: m[7]!, entries: [] };
      blocks.set(cur.bytenr, cur);
      continue;
    }
    if (!cur) continue;
    m = /^\titem (\d+) key \((\S+) (\S+) (\S+)\) itemoff (\d+) itemsize (\d+)/.exec(line);
    if (m) {
      cur.entries.push(`${keyString(parseKeyPart(m[2]!), parseKeyType(m[3]!), parseKeyPart(m[4]!))} off ${m[5]} size ${m[6]}`);
      continue;
    }
    m = /^\tkey \((\S+) (\S+) (\S+)\) block (\d+) gen (\d+)/.exec(line);
    if (m) cur.entries.push(`${keyString(parseKeyPart(m[1]!), parseKeyType(m[2]!), parseKeyPart(m[3]!))} block ${m[4]} gen ${m[5]}`);
  }
  return blocks;
}

/** A block as the walk reaches it, in the shape parseDumpTree gives dump-tree's. */
export interface WalkedBlock {
  level: number;
  nritems: number;
  generation: bigint;
  entries: string[];
}

/** Every block the given trees reach (each once), keyed by logical address, to compare with parseDumpTree. */
export function walkedBlocks(fs: Filesystem, roots: readonly TreeRoot[]): Map<bigint, WalkedBlock> {
  const seen = new Map<bigint, WalkedBlock>();
  for (const root of roots) {
    fs.walk(root, {
      block(b) {
        if (seen.has(b.logical)) return false;
        const entries: string[] = [];
        for (let i = 0; i < b.nritems; i++) {
          const k = b.key(i);
          const ks = keyString(k.objectid, k.type, k.offset);
          entries.push(b.isLeaf ? `${ks} off ${b.itemOffset(i) - HEADER_SIZE} size ${b.itemSize(i)}` : `${ks} block ${b.blockPtr(i)} gen ${b.ptrGeneration(i)}`);
        }
        seen.set(b.logical, { level: b.level, nritems: b.nritems, generation: b.generation, entries });
        return true;
      },
    });
  }
  return seen;
}
