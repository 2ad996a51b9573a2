import { asLogical } from '../format/addresses.js';
import { csumMatches, csumSizeOf } from '../format/checksum.js';
import { BlockGroupFlag, CSUM_SIZE, CsumType, ItemType, ObjectId, type Profile, profileOf } from '../format/constants.js';
import { blockGroupFlags } from '../format/items/blockGroup.js';
import { type ChunkItem, decodeChunkItem } from '../format/items/chunk.js';
import { DEV_EXTENT_SIZE, DEV_ITEM_SIZE, type DevItem, decodeDevExtent, decodeDevItem } from '../format/items/dev.js';
import { checkTreeBlockStructure, HEADER_SIZE, TreeBlock } from '../format/treeBlock.js';
import type { ByteSource } from '../io/ByteSource.js';
import { type Chunk, chunkFromItem, chunkProblem, dataStripes, mapInChunk } from './ChunkMap.js';
import { assignDevids } from './rebuildDevids.js';
import { bestAssignment, COPIES, perStripe, profileBits, synth } from './rebuildStripes.js';

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

export interface RebuildHint {
  fsid?: string;
  nodesize?: number;
  csumType?: number;
  /** The sector size data checksums cover (4096 when not known). */
  sectorsize?: number;
}

/** The newest top block of one tree the scan found. */
export interface FoundRoot {
  bytenr: bigint;
  level: number;
  generation: bigint;
}

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

const NODESIZES = [16384, 4096, 8192, 32768, 65536];
const CSUM_TYPES = [CsumType.CRC32, CsumType.XXHASH, CsumType.SHA256, CsumType.BLAKE2];
/** Bytes read at a time while scanning a device. */
const PIECE = 1 << 20;
/** Found blocks kept as mapping evidence, per device (a bounded sample past this: memory stays bounded on a big device). */
const MAX_EVIDENCE = 1 << 20;
/** The trees whose items say where chunks are: chunk, device, extent and block-group trees. */
const ITEM_TREES = new Set<bigint>([ObjectId.CHUNK_TREE, ObjectId.DEV_TREE, ObjectId.EXTENT_TREE, ObjectId.BLOCK_GROUP_TREE]);
/** Data checksums kept to order the stripes of data chunks: at most this many in all, and per 64 MiB of logical space. */
const MAX_CSUM_SAMPLES = 1 << 16;
const CSUM_SAMPLES_PER_BUCKET = 64;
const CSUM_SECTORS_PER_ITEM = 8;
/** Votes looked at per stripe index before its order is taken as settled. */
const MAX_VOTES = 64;
/** Csum samples read per chunk while voting its stripe order (each reads one sector per stripe). */
const MAX_SAMPLES_PER_CHUNK = 256;
/**
 * Most device extents a striped chunk is rebuilt from: a chunk item holds at most about 500
 * stripes at 16 KiB nodes, but the order vote is quadratic in them (hostile device trees).
 */
const MAX_STRIPED = 64;

/** Tree block fields read without trusting the block yet. */
function plausibleHeader(b: TreeBlock, size: number): boolean {
  const bytenr = b.bytenr;
  return bytenr !== 0n && bytenr % 4096n === 0n && b.level < 8 && b.generation > 0n && b.nritems <= Math.floor((size - HEADER_SIZE) / 17);
}

export function rebuildChunkMap(devices: RebuildDevice[], hint: RebuildHint = {}): RebuildResult {
  let nodesize = hint.nodesize;
  let csumType = hint.csumType;
  let fsid = hint.fsid;
  // Per given device: physical -> bytenr of the valid blocks found (the evidence).
  const evidence = devices.map(() => new Map<bigint, bigint>());
  const chunkItems = new Map<bigint, { item: ChunkItem; generation: bigint }>();
  const devItems = new Map<bigint, { item: DevItem; generation: bigint }>();
  const bgs = new Map<bigint, { length: bigint; flags: bigint; generation: bigint }>();
  // Device extents by (devid, physical).
  const devExtents = new Map<string, { devid: bigint; physical: bigint; chunkOffset: bigint; length: bigint; generation: bigint }>();
  let rootTree: FoundRoot | null = null;
  let chunkTree: FoundRoot | null = null;
  let generation = 0n;
  let blocksFound = 0;
  let bytesScanned = 0n;
  const newer = (r: FoundRoot | null, b: { generation: bigint; level: number }) => !r || b.generation > r.generation || (b.generation === r.generation && b.level > r.level);
  // Where each valid block was found, by bytenr (every version: a bytenr is reused by later generations).
  const found = new Map<bigint, { di: number; physical: bigint; generation: bigint; owner: bigint; level: number }[]>();
  let kept = 0;
  const sectorsize = hint.sectorsize ?? 4096;
  // Data checksums (logical address -> the csum of its first sector) from csum-tree leaves, newest generation winning.
  const csumSamples = new Map<bigint, { csum: Uint8Array; generation: bigint }>();
  const perBucket = new Map<bigint, number>();
  const sampleCsums = (b: TreeBlock) => {
    const { validItems } = checkTreeBlockStructure(b);
    const size = csumSizeOf(csumType!);
    for (let slot = 0; slot < validItems; slot++) {
      if (b.keyType(slot) !== ItemType.EXTENT_CSUM || b.keyObjectid(slot) !== ObjectId.EXTENT_CSUM) continue;
      const data = b.itemData(slot);
      if (data.length < size) continue;
      // A few sectors of the item, one per stripe unit (64 KiB apart): they fall on different stripes.
      const start = b.keyOffsetField(slot);
      const step = Math.max(1, Math.floor(65536 / sectorsize)) * size;
      for (let at = 0; at + size <= data.length && at < CSUM_SECTORS_PER_ITEM * step; at += step) {
        const logical = start + BigInt((at / size) * sectorsize);
        const was = csumSamples.get(logical);
        if (was) {
          if (was.generation < b.generation) csumSamples.set(logical, { csum: data.slice(at, at + size), generation: b.generation });
          continue;
        }
        const bucket = logical >> 26n;
        const k = perBucket.get(bucket) ?? 0;
        if (k >= CSUM_SAMPLES_PER_BUCKET || csumSamples.size >= MAX_CSUM_SAMPLES) continue;
        perBucket.set(bucket, k + 1);
        csumSamples.set(logical, { csum: data.slice(at, at + size), generation: b.generation });
      }
    }
  };
  const take = (b: TreeBlock) => {
    const type0 = b.owner;
    const { validItems } = checkTreeBlockStructure(b);
    for (let slot = 0; slot < validItems; slot++) {
      const type = b.keyType(slot);
      const data = b.itemData(slot);
      if (type === ItemType.CHUNK_ITEM && type0 === ObjectId.CHUNK_TREE && data.length >= 48) {
        const logical = b.keyOffsetField(slot);
        const was = chunkItems.get(logical);
        if (!was || was.generation < b.generation) chunkItems.set(logical, { item: decodeChunkItem(data, 0, data.length), generation: b.generation });
      } else if (type === ItemType.DEV_ITEM && type0 === ObjectId.CHUNK_TREE && data.length >= DEV_ITEM_SIZE) {
        const d = decodeDevItem(data, 0);
        const was = devItems.get(d.devid);
        if (!was || was.generation < b.generation) devItems.set(d.devid, { item: d, generation: b.generation });
      } else if (type === ItemType.BLOCK_GROUP_ITEM && (type0 === ObjectId.EXTENT_TREE || type0 === ObjectId.BLOCK_GROUP_TREE) && data.length >= 24) {
        const logical = b.keyObjectid(slot);
        const was = bgs.get(logical);
        if (!was || was.generation < b.generation) bgs.set(logical, { length: b.keyOffsetField(slot), flags: blockGroupFlags(data, 0), generation: b.generation });
      } else if (type === ItemType.DEV_EXTENT && type0 === ObjectId.DEV_TREE && data.length >= DEV_EXTENT_SIZE) {
        const devid = b.keyObjectid(slot);
        const physical = b.keyOffsetField(slot);
        const k = `${devid}:${physical}`;
        const was = devExtents.get(k);
        const e = decodeDevExtent(data, 0);
        if (!was || was.generation < b.generation) devExtents.set(k, { devid, physical, chunkOffset: e.chunkOffset, length: e.length, generation: b.generation });
      }
    }
  };
  const note = (b: TreeBlock, di: number, physical: bigint) => {
    if (b.generation > generation) generation = b.generation;
    if (b.owner === ObjectId.ROOT_TREE && newer(rootTree, b)) rootTree = { bytenr: b.bytenr, level: b.level, generation: b.generation };
    if (b.owner === ObjectId.CHUNK_TREE && newer(chunkTree, b)) chunkTree = { bytenr: b.bytenr, level: b.level, generation: b.generation };
    if (b.owner === ObjectId.CSUM_TREE && b.level === 0) sampleCsums(b);
    if (!ITEM_TREES.has(b.owner) || kept >= MAX_EVIDENCE) return;
    kept++;
    const l = found.get(b.bytenr) ?? [];
    l.push({ di, physical, generation: b.generation, owner: b.owner, level: b.level });
    found.set(b.bytenr, l);
  };
  // Finds nodesize, checksum type and fsid from the first block that checks out with some combination.
  const identify = (src: ByteSource, at: bigint, head: TreeBlock): boolean => {
    if (hint.fsid && head.fsid !== hint.fsid) return false;
    for (const ns of hint.nodesize ? [hint.nodesize] : NODESIZES) {
      if (at + BigInt(ns) > src.size) continue;
      const buf = src.read(at, ns);
      for (const ct of hint.csumType !== undefined ? [hint.csumType] : CSUM_TYPES) {
        if (!csumMatches(ct, buf.subarray(CSUM_SIZE), buf, 0)) continue;
        if (checkTreeBlockStructure(new TreeBlock(buf, head.bytenr)).problems.length) continue;
        nodesize = ns;
        csumType = ct;
        fsid = head.fsid;
        return true;
      }
    }
    return false;
  };
  devices.forEach((d, di) => {
    const src = d.source;
    const ev = evidence[di]!;
    for (let base = 0n; base < src.size; base += BigInt(PIECE)) {
      const n = Number(src.size - base < BigInt(PIECE) ? src.size - base : BigInt(PIECE));
      const piece = src.read(base, n);
      bytesScanned += BigInt(piece.length);
      for (let off = 0; off + HEADER_SIZE <= piece.length; off += nodesize ?? 4096) {
        const at = base + BigInt(off);
        const head = new TreeBlock(piece.subarray(off, Math.min(piece.length, off + (nodesize ?? 4096))), 0n);
        if (!plausibleHeader(head, nodesize ?? 65536)) continue;
        if (nodesize === undefined) {
          if (!identify(src, at, head)) continue;
        } else if (head.fsid !== fsid) continue;
        const ns = nodesize!;
        const buf = off + ns <= piece.length ? piece.subarray(off, off + ns) : at + BigInt(ns) <= src.size ? src.read(at, ns) : null;
        if (!buf || !csumMatches(csumType!, buf.subarray(CSUM_SIZE), buf, 0)) continue;
        const b = new TreeBlock(buf, asLogical(head.bytenr));
        if (checkTreeBlockStructure(b).problems.length) continue;
        blocksFound++;
        if (ev.size < MAX_EVIDENCE) ev.set(at, b.bytenr);
        note(b, di, at);
      }
    }
  });
  // Each tree's items as its newest root has them (a deleted item survives in older leaves: only
  // a walk from the root leaves it out); a tree whose root or some block is not found: the
  // newest version of each key in every leaf of it found.
  const wholeTrees = new Set<bigint>();
  if (nodesize !== undefined) {
    const ns = nodesize;
    const read = (bytenr: bigint, gen: bigint | null): TreeBlock | null => {
      const v = (found.get(bytenr) ?? []).filter((x) => gen === null || x.generation === gen);
      for (const x of v) {
        const buf = devices[x.di]!.source.read(x.physical, ns);
        const b = new TreeBlock(buf, asLogical(bytenr));
        if (b.bytenr === bytenr && csumMatches(csumType!, buf.subarray(CSUM_SIZE), buf, 0)) return b;
      }
      return null;
    };
    for (const owners of [[ObjectId.CHUNK_TREE], [ObjectId.DEV_TREE], [ObjectId.EXTENT_TREE, ObjectId.BLOCK_GROUP_TREE]]) {
      for (const owner of owners) {
        let top: FoundRoot | null = null;
        for (const [bytenr, l] of found) for (const x of l) if (x.owner === owner && newer(top, x)) top = { bytenr, level: x.level, generation: x.generation };
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
          wholeTrees.add(owner);
          for (const b of leaves) take(b);
        } else
          for (const [bytenr, l] of found)
            for (const x of l) {
              if (x.owner !== owner || x.level !== 0) continue;
              const b = read(bytenr, x.generation);
              if (b) take(b);
            }
      }
    }
  }
  if (nodesize === undefined || csumType === undefined || fsid === undefined) {
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
  }
  const devids = assignDevids(devices, evidence, devExtents, bgs);
  const byDevid = new Map<bigint, number>();
  devids.forEach((id, i) => byDevid.set(id, i));
  // How many found blocks lie where a chunk says their bytenr maps (every profile: the chunk's own address arithmetic).
  const confirm = (c: Chunk): number => {
    let n = 0;
    const per = perStripe(c);
    c.stripes.forEach((s, i) => {
      const ev = evidence[byDevid.get(s.devid) ?? -1];
      if (!ev) return;
      for (let p: bigint = s.offset; p < s.offset + per; p += BigInt(nodesize!)) {
        const b = ev.get(p);
        if (b === undefined || b < c.logical || b >= c.logical + c.length) continue;
        if (mapInChunk(c, b).copies.some((x) => x.stripeIndex === i && x.physical === p)) n++;
      }
    });
    return n;
  };
  const sortedSamples = [...csumSamples].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  // Striped profiles: which device extent is which stripe index. Votes come from tree blocks
  // (a block of bytenr X found at offset o of extent k, where X maps to offset o of index i: k is
  // index i) and from data sectors whose checksum a csum item holds (the same test on content).
  const order = (c: Chunk): { chunk: Chunk; blocks: number; sectors: number; settled: boolean } => {
    const n = c.stripes.length;
    const votes = c.stripes.map(() => new Array<number>(n).fill(0));
    const per = perStripe(c);
    let blocks = 0;
    let sectors = 0;
    c.stripes.forEach((s, k) => {
      const ev = evidence[byDevid.get(s.devid) ?? -1];
      if (!ev) return;
      for (let p: bigint = s.offset; p < s.offset + per; p += BigInt(nodesize!)) {
        const b = ev.get(p);
        if (b === undefined || b < c.logical || b >= c.logical + c.length) continue;
        let hit = false;
        for (const x of mapInChunk(c, b).copies)
          if (x.physical - c.stripes[x.stripeIndex]!.offset === p - s.offset) {
            votes[x.stripeIndex]![k]!++;
            hit = true;
          }
        if (hit) blocks++;
      }
    });
    if (blocks === 0) {
      const size = csumSizeOf(csumType!);
      const want = new Array<number>(n).fill(0);
      // The samples in the chunk's range (binary search in the sorted list), a bounded number of them.
      let lo = 0,
        hi = sortedSamples.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (sortedSamples[mid]![0] < c.logical) lo = mid + 1;
        else hi = mid;
      }
      for (let i = lo, taken = 0; i < sortedSamples.length && taken < MAX_SAMPLES_PER_CHUNK; i++, taken++) {
        const [logical, { csum }] = sortedSamples[i]!;
        if (logical >= c.logical + c.length) break;
        const m = mapInChunk(c, logical);
        if (m.copies.some((x) => want[x.stripeIndex]! >= MAX_VOTES)) continue;
        const rel = m.copies[0]!.physical - c.stripes[m.copies[0]!.stripeIndex]!.offset;
        c.stripes.forEach((s, k) => {
          const src = devices[byDevid.get(s.devid) ?? -1]?.source;
          if (!src || s.offset + rel + BigInt(sectorsize) > src.size) return;
          if (!csumMatches(csumType!, src.read(s.offset + rel, sectorsize), csum.subarray(0, size), 0)) return;
          for (const x of m.copies) {
            votes[x.stripeIndex]![k]!++;
            want[x.stripeIndex]!++;
          }
          sectors++;
        });
      }
    }
    const perm = bestAssignment(votes);
    const unvoted = perm.filter((k, i) => votes[i]![k]! === 0).length;
    const chunk = { ...c, stripes: perm.map((k) => c.stripes[k]!) };
    return { chunk, blocks, sectors, settled: unvoted <= (c.profile === 'RAID10' ? c.subStripes : 1) };
  };
  const chunkTreeWhole = wholeTrees.has(ObjectId.CHUNK_TREE);
  const bgWhole = wholeTrees.has(ObjectId.EXTENT_TREE) || wholeTrees.has(ObjectId.BLOCK_GROUP_TREE);
  const devWhole = wholeTrees.has(ObjectId.DEV_TREE);
  const out: RebuiltChunk[] = [];
  const covered = (logical: bigint, length: bigint) => out.some((c) => c.logical < logical + length && logical < c.logical + c.length);
  // 1. Chunk items that survive in chunk-tree leaves: the chunk tree's own word.
  for (const [logical, { item, generation: g }] of [...chunkItems].sort((a, b) => (a[1].generation > b[1].generation ? -1 : 1))) {
    const c = chunkFromItem(logical, item, 'rebuilt');
    if (chunkProblem(c) || covered(c.logical, c.length)) continue;
    // The newest chunk tree found can be a stale one (mkfs's first, or one from before block groups
    // were removed, left in space no chunk holds now): a chunk item is taken only where the
    // current block groups and device extents (when their trees were read whole) agree with it.
    const bg = bgs.get(logical);
    if (bgWhole && (!bg || bg.length !== c.length)) continue;
    if (devWhole && !c.stripes.every((st) => devExtents.get(`${st.devid}:${st.offset}`)?.chunkOffset === logical)) continue;
    const n = confirm(c);
    out.push({
      ...c,
      generation: g,
      confidence: bgWhole || devWhole || n > 0 ? 'high' : 'medium',
      evidence: `chunk item in ${chunkTreeWhole ? 'the newest chunk tree found' : 'a chunk-tree leaf'} (generation ${g})${bgWhole ? ', its block group item agreeing' : ''}${devWhole ? ', its device extents agreeing' : ''}${n ? `; ${n} tree blocks found where it maps them` : ''}`,
      confirmingBlocks: n,
    });
  }
  // 2. Block groups with their device extents (the profiles whose stripes are whole copies: their order does not matter).
  const extentsOf = new Map<bigint, { devid: bigint; physical: bigint; length: bigint }[]>();
  for (const e of devExtents.values()) {
    const l = extentsOf.get(e.chunkOffset) ?? [];
    l.push(e);
    extentsOf.set(e.chunkOffset, l);
  }
  for (const [logical, bg] of [...bgs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (covered(logical, bg.length)) continue;
    const profile = profileOf(bg.flags);
    const ext = (extentsOf.get(logical) ?? []).sort((a, b) => (a.devid !== b.devid ? (a.devid < b.devid ? -1 : 1) : a.physical < b.physical ? -1 : 1));
    const meta = (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) !== 0n;
    const want = COPIES[profile];
    if (want) {
      if (ext.length !== want || ext.some((e) => e.length !== bg.length)) continue;
      const c = synth(logical, bg.length, bg.flags, ext);
      if (chunkProblem(c)) continue;
      const n = confirm(c);
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
    const o = order(shape);
    const n = confirm(o.chunk);
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
  // 3. Device extents alone: one is SINGLE, two of one chunk on one device DUP, on two devices RAID1.
  for (const [logical, ext] of extentsOf) {
    const len = ext[0]!.length;
    if (covered(logical, len) || ext.some((e) => e.length !== len) || ext.length > 2) continue;
    const profile: Profile = ext.length === 1 ? 'SINGLE' : ext[0]!.devid === ext[1]!.devid ? 'DUP' : 'RAID1';
    const base = synth(logical, len, profileBits(profile), ext);
    const n = confirm(base);
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
  out.sort((a, b) => (a.logical < b.logical ? -1 : 1));
  const items = [...devItems.values()].map((d) => d.item);
  return { fsid, nodesize, csumType, chunks: out, devids, devItems: items, rootTree, chunkTree, generation, blocksFound, bytesScanned };
}
