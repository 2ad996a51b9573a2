import { u64 } from '../../format/bytes.js';
import { csumMatches } from '../../format/checksum.js';
import { BlockGroupFlag, CSUM_SIZE } from '../../format/constants.js';
import { checkTreeBlockStructure, TreeBlock } from '../../format/treeBlock.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { type Chunk, dataStripes } from '../../volume/ChunkMap.js';

/** A valid tree block found by the scan. */
export interface ScannedBlock {
  logical: bigint;
  owner: bigint;
  generation: bigint;
  level: number;
  nritems: number;
  /** Copies (0-based) on which this block read valid. */
  copies: number[];
}

/** The highest-level blocks of one tree at one generation: its root, or what survives of its top. */
export interface TreeGeneration {
  owner: bigint;
  generation: bigint;
  level: number;
  candidates: ScannedBlock[];
  /** Valid blocks of this owner written at this generation. */
  blocks: number;
}

export interface ScanResult {
  chunks: number;
  /** Block copies read. */
  copiesRead: number;
  /** Block copies whose checksum, fsid and bytenr were valid. */
  validCopies: number;
  /** Distinct valid blocks. */
  validBlocks: number;
  /** By owner, then generation (both ascending). */
  trees: TreeGeneration[];
  /** Every valid leaf, by owner (for what no surviving root reaches). */
  leaves: Map<bigint, { logical: bigint; generation: bigint }[]>;
}

export interface ScanOptions {
  /** Called every few thousand blocks (progress). */
  progress?: (done: bigint, total: bigint) => void;
}

/**
 * Reads every nodesize-aligned block of every copy of every metadata and
 * system chunk, allocated or not, and keeps those that are tree blocks of
 * this filesystem: checksum over bytes 32..nodesize valid, header fsid =
 * the filesystem's, header bytenr = the address read (a block copied
 * elsewhere, or stale content of a moved chunk, fails this), items well
 * formed. Streams: one block in memory at a time; what is kept is a small
 * record per (tree, generation) top-level block and the address of each leaf.
 */
/**
 * Bytes of each copy fetched ahead in one go while scanning, where the medium batches
 * (Volume.warms): over `serve`, one 16 MiB range request per window and copy.
 */
const WARM_WINDOW = 16 * 1024 * 1024;

export function scanMetadata(fs: Filesystem, opts: ScanOptions = {}): ScanResult {
  const ns = fs.superblock.nodesize;
  const nsB = BigInt(ns);
  const fsid = fs.reader.opts.fsid;
  const csumType = fs.superblock.csumType;
  const vol = fs.volume;
  const meta = vol.chunks.all.filter((c) => (c.type & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) !== 0n);
  // A chunk can claim any length (a damaged or hostile item says 2^63): scan only what its
  // stripes' devices can hold, by their real size and by the size the filesystem gives them.
  const scanLength = (c: Chunk): bigint => {
    let room = 0n;
    for (const st of c.stripes) {
      const d = vol.devices.get(st.devid);
      const real = d?.source?.size ?? 0n;
      const told = fs.devItems.get(st.devid)?.totalBytes ?? real;
      const size = told < real ? told : real;
      if (size > st.offset && size - st.offset > room) room = size - st.offset;
    }
    const cap = room * BigInt(dataStripes(c));
    return cap < c.length ? cap : c.length;
  };
  const total = meta.reduce((s, c) => s + scanLength(c) / nsB, 0n);
  const byKey = new Map<string, TreeGeneration>();
  const leaves = new Map<bigint, { logical: bigint; generation: bigint }[]>();
  let copiesRead = 0,
    validCopies = 0,
    validBlocks = 0;
  const scratch = new Uint8Array(ns);
  let done = 0n;
  // A source where every read is a round trip (the web app over serve) gets the blocks of the
  // next window of each copy in one batch: 16 MiB per request instead of one request per block.
  const warms = vol.warms;
  const windowBlocks = BigInt(Math.max(1, Math.floor(WARM_WINDOW / ns)));
  for (const c of meta) {
    const length = scanLength(c);
    for (let off = 0n; off + nsB <= length; off += nsB) {
      const logical = c.logical + off;
      if (warms && (off / nsB) % windowBlocks === 0n) {
        const blocks: { logical: bigint; length: number }[] = [];
        for (let o = off; o + nsB <= length && o < off + windowBlocks * nsB; o += nsB) blocks.push({ logical: c.logical + o, length: ns });
        for (let copy = 0; copy < vol.copyCount(logical); copy++) vol.warm(blocks, copy);
      }
      if (++done % 4096n === 0n) opts.progress?.(done, total);
      const n = vol.copyCount(logical);
      let rec: ScannedBlock | null = null;
      for (let copy = 0; copy < n; copy++) {
        // Nothing of a copy is kept past this loop: every read reuses one buffer (most of a metadata chunk is free space).
        const r = vol.readCopy(logical, ns, copy, scratch);
        copiesRead++;
        if (!r.bytes) continue;
        const b = r.bytes;
        if (u64(b, 0x30) !== logical) continue;
        const block = new TreeBlock(b, logical);
        if (block.fsid !== fsid && !fs.reader.ownsFsid(block.fsid)) continue;
        if (!csumMatches(csumType, b.subarray(CSUM_SIZE), b, 0)) continue;
        if (block.level >= 8 || checkTreeBlockStructure(block).problems.length) continue;
        validCopies++;
        if (rec && rec.generation === block.generation && rec.owner === block.owner) {
          rec.copies.push(copy);
          continue;
        }
        // Copies that disagree (a torn write): the newer one is what a read would find valid first.
        if (rec && rec.generation >= block.generation) continue;
        rec = { logical, owner: block.owner, generation: block.generation, level: block.level, nritems: block.nritems, copies: [copy] };
      }
      if (!rec) continue;
      validBlocks++;
      const key = `${rec.owner}:${rec.generation}`;
      let t = byKey.get(key);
      if (!t) byKey.set(key, (t = { owner: rec.owner, generation: rec.generation, level: rec.level, candidates: [], blocks: 0 }));
      t.blocks++;
      if (rec.level > t.level) {
        t.level = rec.level;
        t.candidates = [rec];
      } else if (rec.level === t.level) t.candidates.push(rec);
      if (rec.level === 0) {
        let l = leaves.get(rec.owner);
        if (!l) leaves.set(rec.owner, (l = []));
        l.push({ logical, generation: rec.generation });
      }
    }
  }
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const trees = [...byKey.values()].sort((a, b) => cmp(a.owner, b.owner) || cmp(a.generation, b.generation));
  return { chunks: meta.length, copiesRead, validCopies, validBlocks, trees, leaves };
}
