import { BlockGroupFlag, ObjectId, type Profile, profileOf } from '../format/constants.js';
import type { DevItem } from '../format/items/dev.js';
import type { ByteSource } from '../io/ByteSource.js';
import { type Chunk, chunkFromItem, chunkProblem, dataStripes } from './ChunkMap.js';
import { assignDevids } from './rebuildDevids.js';
import { collectItems, type FoundItems } from './rebuildItems.js';
import { type FoundRoot, type ScanHint, scanDevices } from './rebuildScan.js';
import { COPIES, confirmingBlocks, type MappingEvidence, perStripe, profileBits, synth, voteStripeOrder } from './rebuildStripes.js';

export type { FoundRoot } from './rebuildScan.js';

/**
 * Rebuilding the chunk map from what the devices still hold, for a
 * filesystem whose chunk tree (every copy) or superblocks are destroyed: the
 * approach of `btrfs rescue chunk-recover` and btrfs-rec's
 * rebuild-mappings. Every device is read whole, block by block; a block is a
 * tree block of this filesystem when its header's fsid is the filesystem's,
 * its checksum (over bytes 32..nodesize) matches and its items are well
 * formed. Its header bytenr is the logical address it was written to, and
 * the physical place it was found at is where that address mapped: the
 * evidence every mapping is checked against. From the leaves found: chunk
 * items (chunk tree), block-group items (extent or block-group tree) and
 * device extents (device tree), the newest generation of each key winning.
 *
 * Striped profiles (RAID0, RAID10, RAID5, RAID6) need the order of their
 * stripes, which device extents do not record (only the chunk item's stripe
 * array does). It is read from the data: a tree block found at some place of
 * a device extent, or a data sector there whose checksum a csum item (key
 * offset = its logical address) holds, says which stripe index that device
 * extent is, since the offset inside the stripe does not depend on the order.
 */

/** How sure a rebuilt mapping is, and why. */
export interface RebuiltChunk extends Chunk {
  /**
   * high: a chunk item from a chunk-tree leaf, or a block group and its device extents that tree
   * blocks found on the devices confirm; medium: a block group item and device extents that agree
   * (length, count for the profile) with no tree block to confirm them (data); low: device extents
   * alone (profile guessed from their count and devices).
   */
  confidence: 'high' | 'medium' | 'low';
  evidence: string;
  /** Tree blocks found on the devices at the physical place this mapping gives their bytenr. */
  confirmingBlocks: number;
}

export interface RebuildDevice {
  /** The devid, when the device's superblock says it; null: learned from the device extents. */
  devid: bigint | null;
  source: ByteSource;
}

export type RebuildHint = ScanHint;

export interface RebuildResult {
  fsid: string;
  nodesize: number;
  csumType: number;
  chunks: RebuiltChunk[];
  /** The devid each given device was found to be (index as given). */
  devids: bigint[];
  /** DEV_ITEMs from the newest chunk-tree leaves found. */
  devItems: DevItem[];
  /** The newest root-tree and chunk-tree top blocks found (for a superblock that is gone too). */
  rootTree: FoundRoot | null;
  chunkTree: FoundRoot | null;
  /** The highest generation of any block found. */
  generation: bigint;
  blocksFound: number;
  bytesScanned: bigint;
}

/**
 * Most device extents a striped chunk is rebuilt from: a chunk item holds at most about 500
 * stripes at 16 KiB nodes, but the order vote is quadratic in them (hostile device trees).
 */
const MAX_STRIPED = 64;

export function rebuildChunkMap(devices: RebuildDevice[], hint: RebuildHint = {}): RebuildResult {
  const sources = devices.map((d) => d.source);
  const scan = scanDevices(sources, hint);
  const { rootTree, chunkTree, generation, blocksFound, bytesScanned, nodesize, csumType, fsid } = scan;
  const found = collectItems(sources, scan);
  if (nodesize === undefined || csumType === undefined || fsid === undefined)
    return {
      fsid: hint.fsid ?? '',
      nodesize: hint.nodesize ?? 0,
      csumType: hint.csumType ?? 0,
      chunks: [],
      devids: devices.map((d) => d.devid ?? 0n),
      devItems: [],
      rootTree,
      chunkTree,
      generation,
      blocksFound,
      bytesScanned,
    };
  const devids = assignDevids(devices, scan.evidence, found.devExtents, found.bgs);
  const byDevid = new Map<bigint, number>();
  devids.forEach((id, i) => byDevid.set(id, i));
  const ev: MappingEvidence = {
    blocksOn: (devid) => scan.evidence[byDevid.get(devid) ?? -1],
    sourceOf: (devid) => sources[byDevid.get(devid) ?? -1],
    nodesize,
    csumType,
    sectorsize: hint.sectorsize ?? 4096,
    csumSamples: [...scan.csumSamples].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
  };
  const out: RebuiltChunk[] = [];
  fromChunkItems(found, ev, out);
  const extentsOf = new Map<bigint, { devid: bigint; physical: bigint; length: bigint }[]>();
  for (const e of found.devExtents.values()) {
    const l = extentsOf.get(e.chunkOffset) ?? [];
    l.push(e);
    extentsOf.set(e.chunkOffset, l);
  }
  fromBlockGroups(found, extentsOf, ev, out);
  fromDevExtents(extentsOf, ev, out);
  out.sort((a, b) => (a.logical < b.logical ? -1 : 1));
  const devItems = [...found.devItems.values()].map((d) => d.item);
  return { fsid, nodesize, csumType, chunks: out, devids, devItems, rootTree, chunkTree, generation, blocksFound, bytesScanned };
}

function covered(out: RebuiltChunk[], logical: bigint, length: bigint): boolean {
  return out.some((c) => c.logical < logical + length && logical < c.logical + c.length);
}

/** 1. Chunk items that survive in chunk-tree leaves: the chunk tree's own word. */
function fromChunkItems(found: FoundItems, ev: MappingEvidence, out: RebuiltChunk[]): void {
  const chunkTreeWhole = found.wholeTrees.has(ObjectId.CHUNK_TREE);
  const bgWhole = found.wholeTrees.has(ObjectId.EXTENT_TREE) || found.wholeTrees.has(ObjectId.BLOCK_GROUP_TREE);
  const devWhole = found.wholeTrees.has(ObjectId.DEV_TREE);
  for (const [logical, { item, generation: g }] of [...found.chunkItems].sort((a, b) => (a[1].generation > b[1].generation ? -1 : 1))) {
    const c = chunkFromItem(logical, item, 'rebuilt');
    if (chunkProblem(c) || covered(out, c.logical, c.length)) continue;
    // The newest chunk tree found can be a stale one (mkfs's first, or one from before block groups
    // were removed, left in space no chunk holds now): a chunk item is taken only where the
    // current block groups and device extents (when their trees were read whole) agree with it.
    const bg = found.bgs.get(logical);
    if (bgWhole && (!bg || bg.length !== c.length)) continue;
    if (devWhole && !c.stripes.every((st) => found.devExtents.get(`${st.devid}:${st.offset}`)?.chunkOffset === logical)) continue;
    const n = confirmingBlocks(c, ev);
    out.push({
      ...c,
      generation: g,
      confidence: bgWhole || devWhole || n > 0 ? 'high' : 'medium',
      evidence: `chunk item in ${chunkTreeWhole ? 'the newest chunk tree found' : 'a chunk-tree leaf'} (generation ${g})${bgWhole ? ', its block group item agreeing' : ''}${devWhole ? ', its device extents agreeing' : ''}${n ? `; ${n} tree blocks found where it maps them` : ''}`,
      confirmingBlocks: n,
    });
  }
}

/**
 * 2. Block groups with their device extents: mirrored profiles directly (their stripes are whole
 * copies, so order does not matter), striped ones with the stripe order the evidence votes for.
 */
function fromBlockGroups(found: FoundItems, extentsOf: Map<bigint, { devid: bigint; physical: bigint; length: bigint }[]>, ev: MappingEvidence, out: RebuiltChunk[]): void {
  for (const [logical, bg] of [...found.bgs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (covered(out, logical, bg.length)) continue;
    const profile = profileOf(bg.flags);
    const ext = (extentsOf.get(logical) ?? []).sort((a, b) => (a.devid !== b.devid ? (a.devid < b.devid ? -1 : 1) : a.physical < b.physical ? -1 : 1));
    const meta = (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) !== 0n;
    const want = COPIES[profile];
    if (want) {
      if (ext.length !== want || ext.some((e) => e.length !== bg.length)) continue;
      const c = synth(logical, bg.length, bg.flags, ext);
      if (chunkProblem(c)) continue;
      const n = confirmingBlocks(c, ev);
      out.push({
        ...c,
        generation: bg.generation,
        confidence: n > 0 ? 'high' : 'medium',
        evidence: `block group item (generation ${bg.generation}) and ${ext.length} device extent(s) of its length${n ? `; ${n} tree blocks found where it maps them` : meta ? '; no tree block found where it maps' : ''}`,
        confirmingBlocks: n,
      });
      continue;
    }
    // Striped: each device extent holds length / (stripes carrying data) of the chunk.
    const shape = synth(logical, bg.length, bg.flags, ext);
    const per = perStripe(shape);
    if (ext.length === 0 || ext.length > MAX_STRIPED || ext.some((e) => e.length !== per) || chunkProblem(shape)) continue;
    const o = voteStripeOrder(shape, ev);
    const n = confirmingBlocks(o.chunk, ev);
    const by = o.blocks ? `${o.blocks} tree blocks` : o.sectors ? `${o.sectors} data sectors with matching csum items` : '';
    out.push({
      ...o.chunk,
      generation: bg.generation,
      confidence: o.settled && by ? 'high' : o.settled ? 'medium' : 'low',
      evidence:
        `block group item (generation ${bg.generation}) and ${ext.length} device extent(s) of length / ${dataStripes(shape)}; ` +
        (ext.length === 1
          ? 'one stripe'
          : by
            ? `stripe order from ${by} found where it maps them${o.settled ? '' : ' (not every stripe placed: the rest in devid order, a guess)'}`
            : 'stripe order not found (devid order, a guess)') +
        (n && !o.blocks ? `; ${n} tree blocks found where it maps them` : ''),
      confirmingBlocks: n,
    });
  }
}

/** 3. Device extents alone: one is SINGLE, two of one chunk on one device DUP, on two devices RAID1. */
function fromDevExtents(extentsOf: Map<bigint, { devid: bigint; physical: bigint; length: bigint }[]>, ev: MappingEvidence, out: RebuiltChunk[]): void {
  for (const [logical, ext] of extentsOf) {
    const len = ext[0]!.length;
    if (covered(out, logical, len) || ext.some((e) => e.length !== len) || ext.length > 2) continue;
    const profile: Profile = ext.length === 1 ? 'SINGLE' : ext[0]!.devid === ext[1]!.devid ? 'DUP' : 'RAID1';
    const base = synth(logical, len, profileBits(profile), ext);
    const n = confirmingBlocks(base, ev);
    const type = n > 0 ? BlockGroupFlag.METADATA : BlockGroupFlag.DATA;
    const c = { ...base, type: type | profileBits(profile) };
    if (chunkProblem(c)) continue;
    out.push({
      ...c,
      confidence: 'low',
      evidence: `${ext.length} device extent(s) alone (no chunk or block group item): ${profile} guessed${n ? `; ${n} tree blocks found where it maps them` : ''}`,
      confirmingBlocks: n,
    });
  }
}
