/**
 * The device scan of the chunk-map rebuild (rebuild.ts): every device read whole, block by
 * block, keeping the valid tree blocks of one filesystem as evidence of where their logical
 * addresses mapped, the newest root- and chunk-tree tops, and a bounded sample of data
 * checksums (for ordering striped data chunks).
 */
import { asLogical } from '../format/addresses.js';
import { csumMatches, csumSizeOf } from '../format/checksum.js';
import { CSUM_SIZE, CsumType, ItemType, ObjectId } from '../format/constants.js';
import { checkTreeBlockStructure, HEADER_SIZE, TreeBlock } from '../format/treeBlock.js';
import type { ByteSource } from '../io/ByteSource.js';

export interface ScanHint {
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

/** One valid block of an item-bearing tree, where it was found. */
export interface FoundBlock {
  /** Index of the device (as given) it was found on. */
  di: number;
  physical: bigint;
  generation: bigint;
  owner: bigint;
  level: number;
}

export interface DeviceScan {
  /** Undefined when no valid tree block was found (nothing identifies the filesystem). */
  nodesize: number | undefined;
  csumType: number | undefined;
  fsid: string | undefined;
  /** Per given device: physical -> bytenr of the valid blocks found there (the mapping evidence). */
  evidence: Map<bigint, bigint>[];
  /** Blocks of the chunk, device, extent and block-group trees by bytenr (every generation found). */
  found: Map<bigint, FoundBlock[]>;
  /** Data checksums by logical address (the csum of the first sector there), newest generation winning. */
  csumSamples: Map<bigint, { csum: Uint8Array; generation: bigint }>;
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
export const MAX_EVIDENCE = 1 << 20;
/** The trees whose items say where chunks are: chunk, device, extent and block-group trees. */
const ITEM_TREES = new Set<bigint>([ObjectId.CHUNK_TREE, ObjectId.DEV_TREE, ObjectId.EXTENT_TREE, ObjectId.BLOCK_GROUP_TREE]);
/** Data checksums kept to order the stripes of data chunks: at most this many in all, and per 64 MiB of logical space. */
const MAX_CSUM_SAMPLES = 1 << 16;
const CSUM_SAMPLES_PER_BUCKET = 64;
const CSUM_SECTORS_PER_ITEM = 8;

/** Whether `b` is newer than the root kept so far (a higher level breaks a generation tie: the top). */
export function newerRoot(r: FoundRoot | null, b: { generation: bigint; level: number }): boolean {
  return !r || b.generation > r.generation || (b.generation === r.generation && b.level > r.level);
}

/** Tree block fields read without trusting the block yet. */
function plausibleHeader(b: TreeBlock, size: number): boolean {
  const bytenr = b.bytenr;
  return bytenr !== 0n && bytenr % 4096n === 0n && b.level < 8 && b.generation > 0n && b.nritems <= Math.floor((size - HEADER_SIZE) / 17);
}

export function scanDevices(sources: ByteSource[], hint: ScanHint): DeviceScan {
  const scan: DeviceScan = {
    nodesize: hint.nodesize,
    csumType: hint.csumType,
    fsid: hint.fsid,
    evidence: sources.map(() => new Map<bigint, bigint>()),
    found: new Map(),
    csumSamples: new Map(),
    rootTree: null,
    chunkTree: null,
    generation: 0n,
    blocksFound: 0,
    bytesScanned: 0n,
  };
  const sectorsize = hint.sectorsize ?? 4096;
  const perBucket = new Map<bigint, number>();
  let kept = 0;
  const sampleCsums = (b: TreeBlock) => {
    const { validItems } = checkTreeBlockStructure(b);
    const size = csumSizeOf(scan.csumType!);
    for (let slot = 0; slot < validItems; slot++) {
      if (b.keyType(slot) !== ItemType.EXTENT_CSUM || b.keyObjectid(slot) !== ObjectId.EXTENT_CSUM) continue;
      const data = b.itemData(slot);
      if (data.length < size) continue;
      // A few sectors of the item, one per stripe unit (64 KiB apart): they fall on different stripes.
      const start = b.keyOffsetField(slot);
      const step = Math.max(1, Math.floor(65536 / sectorsize)) * size;
      for (let at = 0; at + size <= data.length && at < CSUM_SECTORS_PER_ITEM * step; at += step) {
        const logical = start + BigInt((at / size) * sectorsize);
        const was = scan.csumSamples.get(logical);
        if (was) {
          if (was.generation < b.generation) scan.csumSamples.set(logical, { csum: data.slice(at, at + size), generation: b.generation });
          continue;
        }
        const bucket = logical >> 26n;
        const k = perBucket.get(bucket) ?? 0;
        if (k >= CSUM_SAMPLES_PER_BUCKET || scan.csumSamples.size >= MAX_CSUM_SAMPLES) continue;
        perBucket.set(bucket, k + 1);
        scan.csumSamples.set(logical, { csum: data.slice(at, at + size), generation: b.generation });
      }
    }
  };
  const note = (b: TreeBlock, di: number, physical: bigint) => {
    if (b.generation > scan.generation) scan.generation = b.generation;
    if (b.owner === ObjectId.ROOT_TREE && newerRoot(scan.rootTree, b)) scan.rootTree = { bytenr: b.bytenr, level: b.level, generation: b.generation };
    if (b.owner === ObjectId.CHUNK_TREE && newerRoot(scan.chunkTree, b)) scan.chunkTree = { bytenr: b.bytenr, level: b.level, generation: b.generation };
    if (b.owner === ObjectId.CSUM_TREE && b.level === 0) sampleCsums(b);
    if (!ITEM_TREES.has(b.owner) || kept >= MAX_EVIDENCE) return;
    kept++;
    const l = scan.found.get(b.bytenr) ?? [];
    l.push({ di, physical, generation: b.generation, owner: b.owner, level: b.level });
    scan.found.set(b.bytenr, l);
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
        scan.nodesize = ns;
        scan.csumType = ct;
        scan.fsid = head.fsid;
        return true;
      }
    }
    return false;
  };
  sources.forEach((src, di) => {
    const ev = scan.evidence[di]!;
    for (let base = 0n; base < src.size; base += BigInt(PIECE)) {
      const n = Number(src.size - base < BigInt(PIECE) ? src.size - base : BigInt(PIECE));
      const piece = src.read(base, n);
      scan.bytesScanned += BigInt(piece.length);
      for (let off = 0; off + HEADER_SIZE <= piece.length; off += scan.nodesize ?? 4096) {
        const at = base + BigInt(off);
        const head = new TreeBlock(piece.subarray(off, Math.min(piece.length, off + (scan.nodesize ?? 4096))), 0n);
        if (!plausibleHeader(head, scan.nodesize ?? 65536)) continue;
        if (scan.nodesize === undefined) {
          if (!identify(src, at, head)) continue;
        } else if (head.fsid !== scan.fsid) continue;
        const ns = scan.nodesize!;
        const buf = off + ns <= piece.length ? piece.subarray(off, off + ns) : at + BigInt(ns) <= src.size ? src.read(at, ns) : null;
        if (!buf || !csumMatches(scan.csumType!, buf.subarray(CSUM_SIZE), buf, 0)) continue;
        const b = new TreeBlock(buf, asLogical(head.bytenr));
        if (checkTreeBlockStructure(b).problems.length) continue;
        scan.blocksFound++;
        if (ev.size < MAX_EVIDENCE) ev.set(at, b.bytenr);
        note(b, di, at);
      }
    }
  });
  return scan;
}
