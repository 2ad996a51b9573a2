import { unzlibSync } from 'fflate';
import { type FindingCode, rule } from '../findingRules.js';
import type { Finding } from '../findings.js';
import { SUPER_INFO_SIZE } from '../format/constants.js';
import { clusterItem, decodeClusterHeader, ITEMS_PER_CLUSTER, METADUMP_BLOCK_SIZE, METADUMP_MAX_RANGE, METADUMP_SUPER_BYTENR, MetadumpCompress, metaClusterHeader } from '../format/metadump.js';
import { decodeSuperblock } from '../format/superblock.js';
import type { ByteSource } from '../io/ByteSource.js';

/** One range of a dump: `length` bytes of logical address space stored at `fileOffset` (zlib-compressed when `compressed`). */
interface Range {
  logical: bigint;
  length: number;
  fileOffset: bigint;
  stored: number;
  compressed: boolean;
}

/** What a dump is, for messages and `--json`. */
export interface MetadumpInfo {
  /** The dump file. */
  name: string;
  /** Format version (0: tree blocks only; 1: may hold data). */
  version: number;
  /**
   * The dump holds the data extents too: format 1, which btrfs-image writes only with -d
   * (image-create.c picks dump_versions[1] for dump_data). Inline file data and csum items are
   * zeroed in its tree blocks all the same.
   */
  data: boolean;
  clusters: number;
  /** Ranges of tree blocks and, with `data`, data extents (the superblock not counted). */
  ranges: number;
  /** Bytes of logical address space the ranges hold (tree blocks and data extents). */
  bytes: number;
  compressed: boolean;
}

/** Bytes of inflated ranges kept for reuse (a tree walk reads the blocks of one range together). */
const CACHE_BYTES = 64 * 1024 * 1024;

/**
 * A `btrfs-image` dump read in place: its index is read once, and logical
 * reads are served from the ranges it holds, as `btrfs-image -r` would have
 * written them to a device, without writing anything. Problems of the dump
 * itself (a cluster that does not continue where the last ended, a range
 * that does not inflate) are `findings`; reading stops at the first cluster
 * that cannot be indexed, and what came before stays readable.
 */
export class MetadumpImage {
  readonly findings: Finding[] = [];
  readonly info: MetadumpInfo;
  /** The primary superblock of the dumped device, as it was on the device. */
  readonly superblock: Uint8Array | null;
  private readonly ranges: Range[];
  private readonly starts: bigint[];
  private readonly cache = new Map<Range, Uint8Array>();
  private cached = 0;

  private constructor(
    private readonly source: ByteSource,
    version: number,
  ) {
    const ranges: Range[] = [];
    let superblock: Uint8Array | null = null;
    let clusters = 0;
    let compressed = false;
    let pos = 0n;
    const block = BigInt(METADUMP_BLOCK_SIZE);
    const maxRange = METADUMP_MAX_RANGE[version]!;
    while (pos + block <= source.size) {
      const index = source.read(pos, METADUMP_BLOCK_SIZE);
      const h = decodeClusterHeader(index);
      if (h.version === null) {
        // The dump ends where the clusters end; anything but zeros after the last one is reported.
        if (index.some((b) => b !== 0)) this.problem('metadump-cluster', `cluster at file offset ${pos}: no btrfs-image magic; the rest of the file is not read`, pos);
        break;
      }
      if (h.version !== version) {
        this.problem('metadump-cluster', `cluster at file offset ${pos} has the magic of format ${h.version}, the dump's first has format ${version}; the rest is not read`, pos);
        break;
      }
      if (h.bytenr !== pos) this.problem('metadump-cluster', `cluster at file offset ${pos} says it is at ${h.bytenr}`, pos);
      if (h.nritems > ITEMS_PER_CLUSTER) {
        this.problem('metadump-cluster', `cluster at file offset ${pos} lists ${h.nritems} ranges, more than the ${ITEMS_PER_CLUSTER} an index block holds; the rest is not read`, pos);
        break;
      }
      if (h.compress !== MetadumpCompress.NONE && h.compress !== MetadumpCompress.ZLIB) {
        this.problem('metadump-cluster', `cluster at file offset ${pos}: unknown compression ${h.compress}; the rest is not read`, pos);
        break;
      }
      clusters++;
      let at = pos + block;
      let truncated = false;
      for (let i = 0; i < h.nritems; i++) {
        const it = clusterItem(index, i);
        if (at + BigInt(it.size) > source.size) {
          this.problem('metadump-range', `range ${i} of the cluster at file offset ${pos} (logical ${it.bytenr}, ${it.size} bytes) runs past the end of the file`, at);
          truncated = true;
          break;
        }
        const range: Range = { logical: it.bytenr, length: it.size, fileOffset: at, stored: it.size, compressed: h.compress === MetadumpCompress.ZLIB };
        if (range.compressed) {
          compressed = true;
          // The index gives only the stored length: the range's own length is what it inflates to.
          const bytes = this.inflate(range, maxRange);
          if (!bytes) {
            at += BigInt(it.size);
            continue;
          }
          range.length = bytes.length;
          this.keep(range, bytes);
        }
        if (range.logical === METADUMP_SUPER_BYTENR && range.length === SUPER_INFO_SIZE) superblock = this.bytesOf(range);
        else if (range.length > 0) ranges.push(range);
        at += BigInt(it.size);
      }
      if (truncated) break;
      // The next cluster starts at the next 1 KiB boundary after the ranges.
      pos = ((at + block - 1n) / block) * block;
    }
    ranges.sort((a, b) => (a.logical < b.logical ? -1 : a.logical > b.logical ? 1 : 0));
    for (let i = 1; i < ranges.length; i++) {
      const prev = ranges[i - 1]!,
        cur = ranges[i]!;
      if (prev.logical + BigInt(prev.length) > cur.logical)
        this.problem('metadump-range', `ranges at logical ${prev.logical} (+${prev.length}) and ${cur.logical} overlap; the later one in address order is read there`, cur.fileOffset);
    }
    this.ranges = ranges;
    this.starts = ranges.map((r) => r.logical);
    this.superblock = superblock;
    if (!superblock) this.problem('metadump-super', 'the dump holds no superblock (a range at 65536 of 4096 bytes)', 0n);
    this.info = { name: source.name, version, data: version === 1, clusters, ranges: ranges.length, bytes: ranges.reduce((s, r) => s + r.length, 0), compressed };
  }

  /** The dump `source` holds, or null when it does not start with a btrfs-image cluster. */
  static open(source: ByteSource): MetadumpImage | null {
    if (source.size < BigInt(metaClusterHeader.size)) return null;
    const h = decodeClusterHeader(source.read(0n, metaClusterHeader.size));
    return h.version === null ? null : new MetadumpImage(source, h.version);
  }

  /** The size of the dumped device, as its superblock's dev_item gives it (0 without a superblock). */
  get deviceSize(): bigint {
    return this.superblock ? decodeSuperblock(this.superblock).devItem.totalBytes : 0n;
  }

  /**
   * `length` bytes at `logical`, or null when the dump does not hold all of
   * them (data extents of a dump without -d, and blocks btrfs-image did not copy).
   */
  read(logical: bigint, length: number): Uint8Array | null {
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const at = logical + BigInt(done);
      const r = this.rangeAt(at);
      if (!r) return null;
      const from = Number(at - r.logical);
      const n = Math.min(length - done, r.length - from);
      if (n <= 0) return null;
      if (!r.compressed) {
        // Only the bytes asked for: a range of a -d dump can be 256 MiB of data.
        const b = this.source.read(r.fileOffset + BigInt(from), n);
        if (b.length !== n) return null;
        out.set(b, done);
      } else {
        const bytes = this.bytesOf(r);
        if (!bytes || bytes.length < from + n) return null;
        out.set(bytes.subarray(from, from + n), done);
      }
      done += n;
    }
    return out;
  }

  private rangeAt(logical: bigint): Range | null {
    let lo = 0,
      hi = this.starts.length - 1,
      i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= logical) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const r = i >= 0 ? this.ranges[i]! : null;
    return r && logical < r.logical + BigInt(r.length) ? r : null;
  }

  private bytesOf(r: Range): Uint8Array | null {
    if (!r.compressed) {
      const b = this.source.read(r.fileOffset, r.stored);
      return b.length === r.stored ? b : null;
    }
    const hit = this.cache.get(r);
    if (hit) return hit;
    const b = this.inflate(r, r.length);
    if (b) this.keep(r, b);
    return b;
  }

  private inflate(r: Range, max: number): Uint8Array | null {
    try {
      const b = unzlibSync(this.source.read(r.fileOffset, r.stored));
      if (b.length > max) {
        this.problem('metadump-range', `range at logical ${r.logical} inflates to ${b.length} bytes, more than the ${max} a range of this format holds`, r.fileOffset);
        return null;
      }
      return b;
    } catch (e) {
      this.problem('metadump-range', `range at logical ${r.logical} (file offset ${r.fileOffset}) does not inflate: ${(e as Error).message}`, r.fileOffset);
      return null;
    }
  }

  private keep(r: Range, bytes: Uint8Array): void {
    this.cache.set(r, bytes);
    this.cached += bytes.length;
    for (const [k, v] of this.cache) {
      if (this.cached <= CACHE_BYTES) break;
      this.cache.delete(k);
      this.cached -= v.length;
    }
  }

  private problem(code: FindingCode & `metadump-${string}`, message: string, fileOffset: bigint): void {
    this.findings.push({ ...rule(code), message: `${this.source.name}: ${message}`, location: { device: this.source.name, physical: fileOffset } });
  }
}

/**
 * The dumped device as a byte source: its superblock at 65536 and zeros
 * elsewhere, as large as its dev_item says. Tree blocks are read through the
 * dump's logical ranges (Volume.logicalStore), never from here; the backup
 * superblock copies are not in a dump and read as zeros.
 */
export class MetadumpDeviceSource implements ByteSource {
  readonly size: bigint;
  readonly name: string;
  constructor(private readonly dump: MetadumpImage) {
    this.name = dump.info.name;
    // Without a dev_item size (no superblock, or a zero one) the source still holds the superblock's place.
    const told = dump.deviceSize;
    this.size = told > 0n ? told : METADUMP_SUPER_BYTENR + BigInt(SUPER_INFO_SIZE);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const out = new Uint8Array(BigInt(length) > this.size - offset ? Number(this.size - offset) : length);
    const sb = this.dump.superblock;
    if (!sb) return out;
    const start = METADUMP_SUPER_BYTENR,
      end = start + BigInt(sb.length);
    const a = offset > start ? offset : start;
    const b = offset + BigInt(out.length) < end ? offset + BigInt(out.length) : end;
    if (a < b) out.set(sb.subarray(Number(a - start), Number(b - start)), Number(a - offset));
    return out;
  }
}

/** The device a source holds: the dumped device when it is a btrfs-image dump, else the source itself. */
export function dumpedDevice(source: ByteSource): { source: ByteSource; dump: MetadumpImage | null } {
  const dump = MetadumpImage.open(source);
  return dump ? { source: new MetadumpDeviceSource(dump), dump } : { source, dump: null };
}
