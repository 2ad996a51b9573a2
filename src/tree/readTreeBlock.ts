import type { FindingCode } from '../findingRules.js';
import { rule } from '../findingRules.js';
import type { Finding } from '../findings.js';
import type { LogicalInput } from '../format/addresses.js';
import { firstDifference, toHex, uuidAt, uuidBytes } from '../format/bytes.js';
import { computeCsum, csumMatches, csumSizeOf } from '../format/checksum.js';
import { CSUM_SIZE } from '../format/constants.js';
import { type BlockExpectation, checkTreeBlockHeader, checkTreeBlockStructure, TreeBlock } from '../format/treeBlock.js';
import type { PhysicalCopy } from '../volume/ChunkMap.js';
import type { CopyRead, Volume } from '../volume/Volume.js';
import { BlockCache } from './BlockCache.js';

/** What a tree block read produced. */
export interface BlockRead {
  /** The first copy that passed every check; or, when none did, null. */
  block: TreeBlock | null;
  /** Problems of copies that failed (also when a later copy was good). */
  findings: Finding[];
  /** Which copy was used (0-based). */
  copy: number;
  /** How many items of the block are safe to read (less than nritems when the block is damaged). */
  validItems: number;
  /** When no copy was good: the least damaged copy, for dumping what is there. */
  damaged?: TreeBlock;
}

export interface TreeReaderOptions {
  nodesize: number;
  csumType: number;
  /** fsid tree blocks carry (metadata_uuid when that feature is on). */
  fsid: string;
  /** fsids of seed devices (BlockExpectation.seedFsids). */
  seedFsids?: string[];
  chunkTreeUuid?: string;
  cacheBytes?: number;
}

/**
 * Reads tree blocks through the volume and verifies each copy as the kernel
 * does at read time (btree_read_extent_buffer_pages + the tree-checker
 * basics): checksum over bytes 32..nodesize, bytenr, fsid, chunk tree uuid,
 * level and generation against the parent pointer, then item order and
 * bounds. A copy that fails is recorded and the next copy is tried.
 */
export class TreeReader {
  readonly cache: BlockCache;
  blocksRead = 0;
  private scratch: Uint8Array | undefined;
  /** Copies read ahead (readAhead), by logical address and copy number: read() takes them instead of reading. */
  private ahead = new Map<bigint, ({ bytes: Uint8Array; place: PhysicalCopy } | undefined)[]>();
  /** readAhead's buffer, reused from batch to batch (a block taken from it is copied out). */
  private aheadBuf: Uint8Array | undefined;
  /** opts.fsid and opts.chunkTreeUuid as bytes: headers are compared byte-wise (undefined: compared as strings). */
  private readonly fsidBytes: Uint8Array | undefined;
  private readonly chunkTreeUuidBytes: Uint8Array | undefined;
  constructor(
    readonly volume: Volume,
    readonly opts: TreeReaderOptions,
    cache?: BlockCache,
  ) {
    this.cache = cache ?? new BlockCache(opts.cacheBytes);
    this.fsidBytes = exactUuidBytes(opts.fsid);
    this.chunkTreeUuidBytes = opts.chunkTreeUuid ? exactUuidBytes(opts.chunkTreeUuid) : undefined;
  }

  /**
   * A reader of the same filesystem through `volume`, sharing this one's cache: `volume` must map
   * every address this one maps to the same place (Volume.withOlderChunks adds mappings only).
   */
  withVolume(volume: Volume): TreeReader {
    return new TreeReader(volume, this.opts, this.cache);
  }

  /** Whether a block carrying `fsid` belongs to this filesystem (its own, or a seed's). */
  ownsFsid(fsid: string): boolean {
    return fsid === this.opts.fsid || (this.opts.seedFsids?.includes(fsid) ?? false);
  }

  /**
   * Reads every copy of blocks ahead, for the read() calls that follow: from the start of
   * `logicals`, as many as READ_AHEAD_BYTES hold, in disk order with adjacent ones in one read
   * (Volume.readCopiesAhead). Returns how many it took; the others are read one by one as before,
   * and so is what an earlier call read ahead and read() did not take (it is dropped). A block's
   * bytes are the same either way, and so are the answers.
   */
  readAhead(logicals: readonly bigint[]): number {
    this.ahead.clear();
    this.aheadBuf ??= new Uint8Array(Math.max(this.opts.nodesize, READ_AHEAD_BYTES - (READ_AHEAD_BYTES % this.opts.nodesize)));
    const copies = this.volume.readCopiesAhead(logicals, this.opts.nodesize, this.aheadBuf);
    for (let i = 0; i < copies.length; i++) if (copies[i]!.length) this.ahead.set(logicals[i]!, copies[i]!);
    return copies.length;
  }

  /**
   * `ctx.allCopies` (used by check) bypasses the cache and verifies every
   * copy, also those after the first good one, whose problems are then
   * reported as repairable.
   */
  read(e: Omit<BlockExpectation, 'fsid'>, ctx: { tree?: bigint; allCopies?: boolean } = {}): BlockRead {
    const cached = ctx.allCopies ? undefined : this.cache.get(e.logical);
    if (cached && (e.level === undefined || cached.level === e.level) && (e.generation === undefined || cached.generation === e.generation)) {
      return { block: cached, findings: [], copy: 0, validItems: cached.nritems };
    }
    const findings: Finding[] = [];
    const expect: BlockExpectation = {
      ...e,
      fsid: this.opts.fsid,
      ...(this.opts.seedFsids?.length ? { seedFsids: this.opts.seedFsids } : {}),
      ...(this.opts.chunkTreeUuid ? { chunkTreeUuid: this.opts.chunkTreeUuid } : {}),
    };
    const n = this.volume.copyCount(e.logical);
    if (n === 0) {
      findings.push({ ...rule('unmapped-block'), message: `tree block ${e.logical} is not in any chunk`, location: { logical: e.logical, ...(ctx.tree !== undefined ? { tree: ctx.tree } : {}) } });
      return { block: null, findings, copy: -1, validItems: 0 };
    }
    let damaged: { block: TreeBlock; valid: number; score: number } | undefined;
    // Copies on a device known to be missing are reported once, at open; here only if nothing else works.
    const missing: Finding[] = [];
    let good: { block: TreeBlock; copy: number; validItems: number; place: PhysicalCopy | undefined } | undefined;
    const ahead = this.ahead.get(e.logical);
    if (ahead) this.ahead.delete(e.logical);
    for (let copy = 0; copy < n; copy++) {
      const pre = ahead?.[copy];
      // Once a good copy is in hand, the others are only verified: they are read into one reused buffer.
      // A copy read ahead lies in a shared buffer: it is copied out before it can become a block.
      const r: CopyRead = pre
        ? { bytes: good ? pre.bytes : pre.bytes.slice(), places: [pre.place] }
        : this.volume.readCopy(e.logical, this.opts.nodesize, copy, good ? (this.scratch ??= new Uint8Array(this.opts.nodesize)) : undefined);
      const place = r.places[0];
      if (!r.bytes) {
        const loc = this.location(e.logical, copy, ctx.tree, place);
        const f: Finding = { ...rule('tree-block-unreadable'), message: `tree block ${e.logical} copy ${copy + 1}: ${r.error}`, location: loc };
        if (r.places.some((p) => !this.volume.devices.get(p.devid)?.source)) missing.push(f);
        else findings.push(f);
        continue;
      }
      this.blocksRead++;
      // A copy byte for byte equal to the good one passes every check the good one passed, with the
      // same answers (they read nothing but the bytes and the expectation): it is not checked again.
      if (good && firstDifference(good.block.data, r.bytes, 0) < 0) {
        if (ctx.allCopies) continue;
        break;
      }
      const block = new TreeBlock(r.bytes, e.logical);
      const csumOk = csumMatches(this.opts.csumType, r.bytes.subarray(CSUM_SIZE), r.bytes, 0);
      const header = checkTreeBlockHeader(block, expect, this.fsidBytes, this.chunkTreeUuidBytes);
      const s = checkTreeBlockStructure(block);
      if (csumOk && header.length === 0 && s.problems.length === 0) {
        if (!good) good = { block, copy, validItems: s.validItems, place };
        else {
          // Two valid copies of one block are written together from one buffer: different bytes
          // are a tamper or firmware signal, whichever of them the kernel would read.
          // From past the checksum: both are valid, so equal bytes after it mean equal checksums.
          const at = firstDifference(good.block.data, r.bytes, CSUM_SIZE);
          if (at >= 0) {
            const loc = this.location(e.logical, copy, ctx.tree, place);
            const where = (l: { device?: string; physical?: bigint }) => (l.device !== undefined ? `${l.device} physical ${l.physical}` : 'unplaced');
            findings.push({
              ...rule('tree-block-copies-differ'),
              message: `tree block ${e.logical}: copies ${good.copy + 1} (${where(this.location(e.logical, good.copy, ctx.tree, good.place))}) and ${copy + 1} (${where(loc)}) are both valid but differ, first at byte ${at}`,
              location: { ...loc, block: e.logical },
            });
          }
        }
        if (ctx.allCopies) continue;
        break;
      }
      // A bad checksum means the bytes are not what was written: what the header and
      // items then say is noise, so the checksum alone is reported.
      const problems: { code: FindingCode; message: string; slot?: number }[] = csumOk
        ? collapse([...header, ...s.problems])
        : [
            {
              code: 'tree-block-csum',
              message: `checksum mismatch (on disk ${csumText(r.bytes, 0, this.opts.csumType)}, computed ${csumText(computeCsum(this.opts.csumType, r.bytes.subarray(CSUM_SIZE)), 0, this.opts.csumType)})`,
            },
          ];
      const how = r.rebuilt ? ' (rebuilt from parity)' : '';
      const loc = this.location(e.logical, copy, ctx.tree, place);
      for (const p of problems) {
        findings.push({
          ...rule(p.code),
          message: `tree block ${e.logical} copy ${copy + 1}${how}: ${p.message}`,
          location: { ...loc, block: e.logical, ...(p.slot !== undefined ? { slot: p.slot } : {}) },
        });
      }
      // Keep the copy that is least wrong (a bad checksum alone beats a wrong address).
      const score = problems.length + (csumOk ? 0 : 10) + (header.some((p) => p.code === 'bytenr-mismatch' || p.code === 'fsid-mismatch') ? 100 : 0);
      if (!damaged || score < damaged.score) damaged = { block, valid: s.validItems, score };
    }
    if (good) {
      this.cache.set(good.block);
      for (const f of findings) f.repairable = true;
      return { block: good.block, findings, copy: good.copy, validItems: good.validItems };
    }
    findings.push(...missing);
    return { block: null, findings, copy: -1, validItems: damaged?.valid ?? 0, ...(damaged ? { damaged: damaged.block } : {}) };
  }

  /** Where a copy of a block is, for a finding (made only when there is one to report). */
  private location(logical: LogicalInput, copy: number, tree: bigint | undefined, place: PhysicalCopy | undefined) {
    return {
      logical,
      copy,
      ...(tree !== undefined ? { tree } : {}),
      ...(place ? { devid: place.devid, physical: place.physical, device: this.volume.devices.get(place.devid)?.name ?? 'missing' } : {}),
    };
  }
}

/** What readAhead holds at most: 2 MiB, 64 blocks of 16 KiB in each of two copies. */
const READ_AHEAD_BYTES = 2 << 20;

/** A uuid string's bytes, when it spells them exactly as a header's uuid is spelled (so comparing bytes is comparing strings). */
function exactUuidBytes(s: string): Uint8Array | undefined {
  const b = uuidBytes(s);
  return b && uuidAt(b, 0) === s ? b : undefined;
}

/** A checksum as dump-tree shows one: 0x and its bytes as stored (the csum type's size of them). */
function csumText(b: Uint8Array, off: number, csumType: number): string {
  return `0x${toHex(b, off, csumSizeOf(csumType) || CSUM_SIZE)}`;
}

/** One finding per problem code: the first occurrence, with how many more there were. */
function collapse(problems: { code: FindingCode; message: string; slot?: number }[]): { code: FindingCode; message: string; slot?: number }[] {
  const byCode = new Map<FindingCode, { first: { code: FindingCode; message: string; slot?: number }; more: number }>();
  for (const p of problems) {
    const e = byCode.get(p.code);
    if (e) e.more++;
    else byCode.set(p.code, { first: p, more: 0 });
  }
  return [...byCode.values()].map(({ first, more }) => (more ? { ...first, message: `${first.message} (and ${more} more like it)` } : first));
}
