/**
 * The items of the chunk-map rebuild (rebuild.ts): chunk and device items (chunk tree),
 * block-group items (extent or block-group tree) and device extents (device tree), read from
 * the blocks the device scan found.
 */
import { asLogical } from '../format/addresses.js';
import { csumMatches } from '../format/checksum.js';
import { CSUM_SIZE, ItemType, ObjectId } from '../format/constants.js';
import { blockGroupFlags } from '../format/items/blockGroup.js';
import { type ChunkItem, decodeChunkItem } from '../format/items/chunk.js';
import { DEV_EXTENT_SIZE, DEV_ITEM_SIZE, type DevItem, decodeDevExtent, decodeDevItem } from '../format/items/dev.js';
import { checkTreeBlockStructure, TreeBlock } from '../format/treeBlock.js';
import type { ByteSource } from '../io/ByteSource.js';
import { type DeviceScan, type FoundRoot, MAX_EVIDENCE, newerRoot } from './rebuildScan.js';

export interface FoundDevExtent {
  devid: bigint;
  physical: bigint;
  chunkOffset: bigint;
  length: bigint;
  generation: bigint;
}

export interface FoundItems {
  /** Chunk items by logical address, newest generation winning. */
  chunkItems: Map<bigint, { item: ChunkItem; generation: bigint }>;
  devItems: Map<bigint, { item: DevItem; generation: bigint }>;
  /** Block-group items by logical address. */
  bgs: Map<bigint, { length: bigint; flags: bigint; generation: bigint }>;
  /** Device extents by `devid:physical`. */
  devExtents: Map<string, FoundDevExtent>;
  /** The trees read whole from their newest root (their items are the current ones). */
  wholeTrees: Set<bigint>;
}

/**
 * Each tree's items as its newest root has them (a deleted item survives in older leaves: only
 * a walk from the root leaves it out); a tree whose root or some block is not found: the newest
 * version of each key in every leaf of it found.
 */
export function collectItems(sources: ByteSource[], scan: DeviceScan): FoundItems {
  const items: FoundItems = { chunkItems: new Map(), devItems: new Map(), bgs: new Map(), devExtents: new Map(), wholeTrees: new Set() };
  const ns = scan.nodesize;
  const csumType = scan.csumType;
  if (ns === undefined || csumType === undefined) return items;
  const read = (bytenr: bigint, gen: bigint | null): TreeBlock | null => {
    for (const x of scan.found.get(bytenr) ?? []) {
      if (gen !== null && x.generation !== gen) continue;
      const buf = sources[x.di]!.read(x.physical, ns);
      const b = new TreeBlock(buf, asLogical(bytenr));
      if (b.bytenr === bytenr && csumMatches(csumType, buf.subarray(CSUM_SIZE), buf, 0)) return b;
    }
    return null;
  };
  for (const owner of [ObjectId.CHUNK_TREE, ObjectId.DEV_TREE, ObjectId.EXTENT_TREE, ObjectId.BLOCK_GROUP_TREE]) {
    let top: FoundRoot | null = null;
    for (const [bytenr, l] of scan.found) for (const x of l) if (x.owner === owner && newerRoot(top, x)) top = { bytenr, level: x.level, generation: x.generation };
    if (!top) continue;
    const leaves: TreeBlock[] = [];
    let whole = true;
    const visit = (bytenr: bigint, gen: bigint, depth: number) => {
      const b = depth > 8 || leaves.length > MAX_EVIDENCE ? null : read(bytenr, gen);
      if (!b) {
        whole = false;
        return;
      }
      if (b.level === 0) leaves.push(b);
      else for (let i = 0; i < b.nritems; i++) visit(b.blockPtr(i), b.ptrGeneration(i), depth + 1);
    };
    visit(top.bytenr, top.generation, 0);
    if (whole) {
      items.wholeTrees.add(owner);
      for (const b of leaves) takeItems(b, items);
    } else
      for (const [bytenr, l] of scan.found)
        for (const x of l) {
          if (x.owner !== owner || x.level !== 0) continue;
          const b = read(bytenr, x.generation);
          if (b) takeItems(b, items);
        }
  }
  return items;
}

/** The chunk, device, block-group and device-extent items of one leaf, newer generations replacing older. */
function takeItems(b: TreeBlock, items: FoundItems): void {
  const owner = b.owner;
  const { validItems } = checkTreeBlockStructure(b);
  for (let slot = 0; slot < validItems; slot++) {
    const type = b.keyType(slot);
    const data = b.itemData(slot);
    if (type === ItemType.CHUNK_ITEM && owner === ObjectId.CHUNK_TREE && data.length >= 48) {
      const logical = b.keyOffsetField(slot);
      const was = items.chunkItems.get(logical);
      if (!was || was.generation < b.generation) items.chunkItems.set(logical, { item: decodeChunkItem(data, 0, data.length), generation: b.generation });
    } else if (type === ItemType.DEV_ITEM && owner === ObjectId.CHUNK_TREE && data.length >= DEV_ITEM_SIZE) {
      const d = decodeDevItem(data, 0);
      const was = items.devItems.get(d.devid);
      if (!was || was.generation < b.generation) items.devItems.set(d.devid, { item: d, generation: b.generation });
    } else if (type === ItemType.BLOCK_GROUP_ITEM && (owner === ObjectId.EXTENT_TREE || owner === ObjectId.BLOCK_GROUP_TREE) && data.length >= 24) {
      const logical = b.keyObjectid(slot);
      const was = items.bgs.get(logical);
      if (!was || was.generation < b.generation) items.bgs.set(logical, { length: b.keyOffsetField(slot), flags: blockGroupFlags(data, 0), generation: b.generation });
    } else if (type === ItemType.DEV_EXTENT && owner === ObjectId.DEV_TREE && data.length >= DEV_EXTENT_SIZE) {
      const devid = b.keyObjectid(slot);
      const physical = b.keyOffsetField(slot);
      const k = `${devid}:${physical}`;
      const was = items.devExtents.get(k);
      const e = decodeDevExtent(data, 0);
      if (!was || was.generation < b.generation) items.devExtents.set(k, { devid, physical, chunkOffset: e.chunkOffset, length: e.length, generation: b.generation });
    }
  }
}
