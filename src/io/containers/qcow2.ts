import type { ByteSource } from '../ByteSource.js';
import { ByteLru } from './ByteLru.js';
import { ContainerError } from './ContainerError.js';
import { CodecError, type ContainerCodecs, defaultCodecs } from './codecs.js';
import { FilledSource } from './FilledSource.js';

/**
 * qcow2, versions 2 and 3 (QEMU's docs/interop/qcow2.txt). Everything in
 * the header is big-endian. A guest offset splits into an L1 index, an L2
 * index and an offset in the cluster; the L2 entry says where the cluster
 * lives in the file, that it is compressed, that it reads as zeros, or that
 * it is not allocated (then it reads from the backing file, or as zeros).
 */

export const QCOW2_MAGIC = 0x514649fb; // "QFI\xfb"

/** Header fields (qcow2.txt "Header"). */
const H = {
  magic: 0,
  version: 4,
  backingFileOffset: 8,
  backingFileSize: 16,
  clusterBits: 20,
  size: 24,
  cryptMethod: 32,
  l1Size: 36,
  l1TableOffset: 40,
  nbSnapshots: 60,
  snapshotsOffset: 64,
  // Version 3 only:
  incompatible: 72,
  compatible: 80,
  autoclear: 88,
  refcountOrder: 96,
  headerLength: 100,
  compressionType: 104,
} as const;
const V2_HEADER_LENGTH = 72;
const V3_MIN_HEADER_LENGTH = 104;

/** Incompatible feature bits (qcow2.txt). */
const INCOMPAT_DIRTY = 1n << 0n;
const INCOMPAT_CORRUPT = 1n << 1n;
const INCOMPAT_EXTERNAL_DATA = 1n << 2n;
const INCOMPAT_COMPRESSION_TYPE = 1n << 3n;
const INCOMPAT_EXTENDED_L2 = 1n << 4n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_EXTERNAL_DATA | INCOMPAT_COMPRESSION_TYPE | INCOMPAT_EXTENDED_L2;

/** Header extension types (qcow2.txt "Header extensions"). */
const EXT_END = 0;
const EXT_BACKING_FORMAT = 0xe2792aca;

/** L1/L2 entry bits: bits 9-55 hold a host offset; 62 compressed; 63 "copied" (refcount 1, ignored on read); 0 reads as zeros (v3). */
const OFFSET_MASK = 0x00fffffffffffe00n;
const L2_COMPRESSED = 1n << 62n;
const L2_ZERO = 1n;

/** QEMU's limits: clusters of 512 B to 2 MiB, an L1 table of at most 32 MiB, a backing name of at most 1023 bytes. */
const MIN_CLUSTER_BITS = 9;
const MAX_CLUSTER_BITS = 21;
const MAX_L1_BYTES = 32 << 20;
const MAX_BACKING_NAME = 1023;
/** A virtual disk larger than 2^56 bytes (64 PiB) is not a disk anyone made. */
const MAX_VIRTUAL_SIZE = 1n << 56n;
/** Backing files deeper than this are a loop the file names alone cannot show. */
export const MAX_BACKING_DEPTH = 64;
/** Default bound of the caches: decompressed clusters, and L2 tables. */
const DEFAULT_CACHE_BYTES = 32 << 20;

export interface Qcow2Header {
  version: 2 | 3;
  clusterBits: number;
  clusterSize: number;
  /** The guest disk's size. */
  size: bigint;
  l1Size: number;
  l1TableOffset: bigint;
  incompatible: bigint;
  compressionType: 'zlib' | 'zstd';
  extendedL2: boolean;
  /** The backing file's name as the header stores it (relative to the image's directory when not absolute), or null. */
  backingFile: string | null;
  backingFormat: string | null;
  /** Internal snapshots: how many, and where their table starts. */
  snapshots: number;
  snapshotsOffset: bigint;
}

/** An internal snapshot (qcow2.txt "Snapshot table"): a saved L1 table, and so a saved disk. */
export interface Qcow2Snapshot {
  id: string;
  name: string;
  /** When it was taken (date_sec, date_nsec), as an ISO time. */
  date: string;
  l1TableOffset: bigint;
  l1Size: number;
  /** The disk's size when it was taken (version 3 extra data), or null: the image's size then. */
  diskSize: bigint | null;
  /** Bytes of saved VM state (RAM), not part of the disk. */
  vmStateSize: bigint;
}

export interface Qcow2Options {
  /**
   * Opens the backing file the header names, read-only (src/io/node resolves it
   * against the image's directory and refuses loops). Without it an image with a
   * backing file is refused.
   */
  openBacking?: (name: string, format: string | null) => ByteSource;
  codecs?: ContainerCodecs;
  /** Bound of each cache in bytes (decompressed clusters; L2 tables). */
  cacheBytes?: number;
  /** Read this internal snapshot (by id or name) instead of the current state. */
  snapshot?: string;
}

const be32 = (b: Uint8Array, o: number): number => new DataView(b.buffer, b.byteOffset + o, 4).getUint32(0);
const be64 = (b: Uint8Array, o: number): bigint => new DataView(b.buffer, b.byteOffset + o, 8).getBigUint64(0);

export function hasQcow2Magic(head: Uint8Array): boolean {
  return head.length >= 4 && be32(head, 0) === QCOW2_MAGIC;
}

/** Reads and validates the header: every size it states is bounded before anything is allocated from it. */
export function readQcow2Header(file: ByteSource): Qcow2Header {
  const fail = (offset: number | bigint, why: string): never => {
    throw new ContainerError(file.name, BigInt(offset), `qcow2: ${why}`);
  };
  const head = file.read(0n, 512);
  if (head.length < V2_HEADER_LENGTH) fail(0, `file of ${file.size} bytes is too short for a header`);
  if (be32(head, H.magic) !== QCOW2_MAGIC) fail(0, 'no qcow2 magic');
  const version = be32(head, H.version);
  if (version !== 2 && version !== 3) fail(H.version, `version ${version} is not 2 or 3`);
  const clusterBits = be32(head, H.clusterBits);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) fail(H.clusterBits, `cluster_bits ${clusterBits} outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  const clusterSize = 1 << clusterBits;
  const size = be64(head, H.size);
  if (size > MAX_VIRTUAL_SIZE) fail(H.size, `virtual size ${size} is beyond ${MAX_VIRTUAL_SIZE} bytes`);
  const crypt = be32(head, H.cryptMethod);
  if (crypt !== 0) fail(H.cryptMethod, `the image is encrypted (crypt_method ${crypt}); decrypt it first (qemu-img convert)`);

  let incompatible = 0n;
  let headerLength = V2_HEADER_LENGTH;
  let compressionType: 'zlib' | 'zstd' = 'zlib';
  if (version === 3) {
    if (head.length < V3_MIN_HEADER_LENGTH) fail(0, 'file too short for a version 3 header');
    incompatible = be64(head, H.incompatible);
    headerLength = be32(head, H.headerLength);
    if (headerLength < V3_MIN_HEADER_LENGTH || headerLength > clusterSize || headerLength % 8 !== 0)
      fail(H.headerLength, `header_length ${headerLength} is not a multiple of 8 in ${V3_MIN_HEADER_LENGTH}..${clusterSize}`);
    const unknown = incompatible & ~INCOMPAT_KNOWN;
    if (unknown) fail(H.incompatible, `unknown incompatible features 0x${unknown.toString(16)}`);
    if (incompatible & INCOMPAT_EXTERNAL_DATA) fail(H.incompatible, 'the data lives in an external data file, which is not supported; convert the image (qemu-img convert)');
    if (incompatible & INCOMPAT_COMPRESSION_TYPE) {
      if (headerLength <= H.compressionType) fail(H.headerLength, 'compression type feature set but the header has no compression_type field');
      const t = head[H.compressionType]!;
      if (t === 1) compressionType = 'zstd';
      else if (t !== 0) fail(H.compressionType, `unknown compression_type ${t}`);
    }
  }
  const extendedL2 = (incompatible & INCOMPAT_EXTENDED_L2) !== 0n;
  // L2 entries are 8 bytes (16 with extended L2): one L1 entry covers cluster * entries bytes.
  const l2Bits = clusterBits - (extendedL2 ? 4 : 3);
  const perL1 = 1n << BigInt(clusterBits + l2Bits);
  const needL1 = (size + perL1 - 1n) / perL1;
  const l1Size = be32(head, H.l1Size);
  if (BigInt(l1Size) < needL1) fail(H.l1Size, `L1 table of ${l1Size} entries is too small for the virtual size ${size} (needs ${needL1})`);
  if (needL1 * 8n > BigInt(MAX_L1_BYTES)) fail(H.l1Size, `L1 table of ${needL1 * 8n} bytes is over the ${MAX_L1_BYTES}-byte limit`);
  const l1TableOffset = be64(head, H.l1TableOffset);
  if (needL1 > 0n && (l1TableOffset === 0n || l1TableOffset % BigInt(clusterSize) !== 0n || l1TableOffset + needL1 * 8n > file.size)) {
    fail(H.l1TableOffset, `L1 table at ${l1TableOffset} (${needL1 * 8n} bytes) is not cluster-aligned or lies past the end of the file (${file.size} bytes)`);
  }

  let backingFile: string | null = null;
  const bOff = be64(head, H.backingFileOffset);
  const bLen = be32(head, H.backingFileSize);
  if (bOff !== 0n) {
    if (bLen === 0 || bLen > MAX_BACKING_NAME || bOff + BigInt(bLen) > BigInt(clusterSize))
      fail(H.backingFileOffset, `backing file name (${bLen} bytes at ${bOff}) is empty, longer than ${MAX_BACKING_NAME} bytes or outside the first cluster`);
    const b = file.read(bOff, bLen);
    if (b.length !== bLen) fail(bOff, 'backing file name lies past the end of the file');
    backingFile = new TextDecoder('utf-8', { fatal: false }).decode(b);
    if (backingFile.includes('\0')) fail(bOff, 'backing file name contains a NUL byte');
  }

  // Header extensions follow the header, within the first cluster; only the backing format is used.
  let backingFormat: string | null = null;
  const first = file.read(0n, clusterSize);
  for (let p = headerLength; ; ) {
    if (p + 8 > first.length) break;
    const type = be32(first, p);
    const len = be32(first, p + 4);
    if (type === EXT_END) break;
    if (p + 8 + len > first.length) fail(p, `header extension 0x${type.toString(16)} of ${len} bytes runs past the first cluster`);
    if (type === EXT_BACKING_FORMAT) backingFormat = new TextDecoder().decode(first.subarray(p + 8, p + 8 + len));
    p += 8 + Math.ceil(len / 8) * 8;
  }

  return {
    version: version as 2 | 3,
    clusterBits,
    clusterSize,
    size,
    l1Size: Number(needL1),
    l1TableOffset,
    incompatible,
    compressionType,
    extendedL2,
    backingFile,
    backingFormat,
    snapshots: be32(head, H.nbSnapshots),
    snapshotsOffset: be64(head, H.snapshotsOffset),
  };
}

/** QEMU's limits on the snapshot table: 65536 snapshots, 1 KiB of extra data each, 64 MiB in all. */
const MAX_SNAPSHOTS = 65536;
const MAX_SNAPSHOT_EXTRA = 1024;
const MAX_SNAPSHOT_TABLE = 64 << 20;
/** Snapshot table entry fields (qcow2.txt). */
const S = { l1TableOffset: 0, l1Size: 8, idSize: 12, nameSize: 14, dateSec: 16, dateNsec: 20, vmStateSize: 32, extraSize: 36, extra: 40 } as const;

/** The internal snapshots of a qcow2 image, oldest first, every size bounded. */
export function readQcow2Snapshots(file: ByteSource, h: Qcow2Header = readQcow2Header(file)): Qcow2Snapshot[] {
  const fail = (offset: bigint, why: string): never => {
    throw new ContainerError(file.name, offset, `qcow2: ${why}`);
  };
  if (h.snapshots === 0) return [];
  if (h.snapshots > MAX_SNAPSHOTS) fail(BigInt(H.nbSnapshots), `${h.snapshots} snapshots, more than ${MAX_SNAPSHOTS}`);
  if (h.snapshotsOffset % BigInt(h.clusterSize) !== 0n || h.snapshotsOffset === 0n || h.snapshotsOffset >= file.size)
    fail(BigInt(H.snapshotsOffset), `snapshot table at ${h.snapshotsOffset} is not a cluster-aligned offset inside the file`);
  const table = file.read(h.snapshotsOffset, Math.min(MAX_SNAPSHOT_TABLE, Number(file.size - h.snapshotsOffset)));
  const out: Qcow2Snapshot[] = [];
  let p = 0;
  for (let i = 0; i < h.snapshots; i++) {
    if (p + S.extra > table.length) fail(h.snapshotsOffset + BigInt(p), `snapshot ${i} lies past the end of the table`);
    const extra = be32(table, p + S.extraSize);
    const idSize = table[p + S.idSize]! * 256 + table[p + S.idSize + 1]!;
    const nameSize = table[p + S.nameSize]! * 256 + table[p + S.nameSize + 1]!;
    if (extra > MAX_SNAPSHOT_EXTRA) fail(h.snapshotsOffset + BigInt(p), `snapshot ${i} has ${extra} bytes of extra data, more than ${MAX_SNAPSHOT_EXTRA}`);
    const end = p + S.extra + extra + idSize + nameSize;
    if (end > table.length) fail(h.snapshotsOffset + BigInt(p), `snapshot ${i} lies past the end of the table`);
    const text = (a: number, n: number) => new TextDecoder().decode(table.subarray(a, a + n));
    const sec = be32(table, p + S.dateSec);
    const nsec = be32(table, p + S.dateNsec);
    out.push({
      id: text(p + S.extra + extra, idSize),
      name: text(p + S.extra + extra + idSize, nameSize),
      date: `${new Date(sec * 1000).toISOString().slice(0, 19)}.${String(nsec).padStart(9, '0')}Z`,
      l1TableOffset: be64(table, p + S.l1TableOffset),
      l1Size: be32(table, p + S.l1Size),
      // Extra data: vm_state_size_large (8 bytes), then disk_size (8 bytes).
      diskSize: extra >= 16 ? be64(table, p + S.extra + 8) : null,
      vmStateSize: extra >= 8 ? be64(table, p + S.extra) : BigInt(be32(table, p + S.vmStateSize)),
    });
    p = Math.ceil(end / 8) * 8;
  }
  return out;
}

/** A qcow2 image read as the disk it holds. */
export class Qcow2Source extends FilledSource implements ByteSource {
  readonly size: bigint;
  readonly name: string;
  readonly header: Qcow2Header;
  /** The internal snapshot read (options.snapshot), or null for the current state. */
  readonly snapshot: Qcow2Snapshot | null;
  /** The backing image (itself possibly a container), or null. */
  readonly backing: ByteSource | null;
  private readonly l1: BigUint64Array;
  private readonly cs: number;
  protected readonly blockBytes: number;
  private readonly cb: bigint;
  private readonly l2Bits: number;
  private readonly entryBytes: number;
  private readonly codecs: ContainerCodecs;
  private readonly l2Cache: ByteLru<bigint>;
  private readonly clusterCache: ByteLru<bigint>;
  /** The codecs' asynchronous deflate, when clusters are decoded ahead. */
  private readonly inflateAsync: ((input: Uint8Array, size: number) => Promise<Uint8Array>) | null = null;
  /** Entries per L2 table (2^l2Bits), as a Number for the plain-cluster path. */
  private readonly l2Entries: number;
  /** The L2 table last looked up by plainAt (by L1 index): consecutive clusters share it, and a read-only table never changes. */
  private lastL1 = -1;
  private lastL2: DataView | null = null;

  constructor(
    private readonly file: ByteSource,
    opts: Qcow2Options = {},
  ) {
    super();
    this.name = file.name;
    const h = (this.header = readQcow2Header(file));
    this.cs = this.blockBytes = h.clusterSize;
    this.cb = BigInt(h.clusterBits);
    this.entryBytes = h.extendedL2 ? 16 : 8;
    this.l2Bits = h.clusterBits - (h.extendedL2 ? 4 : 3);
    this.l2Entries = 2 ** this.l2Bits;
    this.codecs = opts.codecs ?? defaultCodecs;
    const cache = opts.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.l2Cache = new ByteLru(cache);
    this.clusterCache = new ByteLru(cache);
    // zstd stays synchronous (fzstd, in JS): only deflate clusters are decoded ahead.
    const inflate = h.compressionType === 'zlib' ? this.codecs.async?.inflateRaw : undefined;
    if (inflate) {
      this.inflateAsync = inflate;
      this.enableDecodeAhead(cache);
    }
    let l1Offset = h.l1TableOffset;
    let l1Entries = h.l1Size;
    this.size = h.size;
    this.snapshot = null;
    if (opts.snapshot !== undefined) {
      const all = readQcow2Snapshots(file, h);
      const snap = all.find((x) => x.id === opts.snapshot) ?? all.find((x) => x.name === opts.snapshot);
      if (!snap) this.fail(0n, `no internal snapshot "${opts.snapshot}" (the image has ${all.length ? all.map((x) => `${x.id} "${x.name}"`).join(', ') : 'none'})`);
      this.snapshot = snap;
      this.size = snap.diskSize ?? h.size;
      const perL1 = 1n << BigInt(h.clusterBits + this.l2Bits);
      const need = (this.size + perL1 - 1n) / perL1;
      if (BigInt(snap.l1Size) < need || need * 8n > BigInt(MAX_L1_BYTES))
        this.fail(snap.l1TableOffset, `snapshot ${snap.id}: L1 table of ${snap.l1Size} entries does not cover its ${this.size}-byte disk within the ${MAX_L1_BYTES}-byte limit`);
      if (snap.l1TableOffset % BigInt(this.cs) !== 0n) this.fail(snap.l1TableOffset, `snapshot ${snap.id}: L1 table at ${snap.l1TableOffset} is not cluster-aligned`);
      l1Offset = snap.l1TableOffset;
      l1Entries = Number(need);
    }
    const raw = file.read(l1Offset, l1Entries * 8);
    if (raw.length !== l1Entries * 8) throw new ContainerError(this.name, l1Offset, 'qcow2: L1 table is cut short by the end of the file');
    this.l1 = new BigUint64Array(l1Entries);
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.length);
    for (let i = 0; i < l1Entries; i++) this.l1[i] = dv.getBigUint64(i * 8);
    if (h.backingFile !== null) {
      if (!opts.openBacking) throw new ContainerError(this.name, 0n, `qcow2: the image needs its backing file "${h.backingFile}", and no way to open files was given`);
      this.backing = opts.openBacking(h.backingFile, h.backingFormat);
    } else {
      this.backing = null;
    }
  }

  private fail(offset: bigint, why: string): never {
    throw new ContainerError(this.name, offset, `qcow2: ${why}`);
  }

  /** The L2 table at `offset` (validated: cluster-aligned, inside the file, not the header). */
  private l2Table(offset: bigint, l1Index: number): Uint8Array {
    const hit = this.l2Cache.get(offset);
    if (hit) return hit;
    if (offset % BigInt(this.cs) !== 0n || offset === 0n) this.fail(offset, `L1 entry ${l1Index} points to ${offset}, not a cluster-aligned offset past the header`);
    const t = this.file.read(offset, this.cs);
    if (t.length !== this.cs) this.fail(offset, `L2 table of L1 entry ${l1Index} at ${offset} lies past the end of the file (${this.file.size} bytes)`);
    this.l2Cache.set(offset, t);
    return t;
  }

  /** The image's internal snapshots (qcow2.txt "Snapshot table"), oldest first. */
  snapshots(): Qcow2Snapshot[] {
    return readQcow2Snapshots(this.file, this.header);
  }

  /** Fills `out` from one guest cluster, starting `inCluster` bytes into it. */
  /** Guest cluster `cluster`'s L2 entry (the bitmap follows it in an extended one), or null without an L2 table. */
  private l2Entry(cluster: bigint): DataView | null {
    const l1Index = Number(cluster >> BigInt(this.l2Bits));
    const l2Index = Number(cluster & ((1n << BigInt(this.l2Bits)) - 1n));
    const l2Offset = this.l1[l1Index]! & OFFSET_MASK;
    if (l2Offset === 0n) return null;
    const table = this.l2Table(l2Offset, l1Index);
    return new DataView(table.buffer, table.byteOffset + l2Index * this.entryBytes, this.entryBytes);
  }

  protected fillBlock(block: number, inCluster: number, out: Uint8Array, guest: bigint): void {
    const cluster = BigInt(block);
    const dv = this.l2Entry(cluster);
    if (!dv) {
      this.fromBacking(guest, out);
      return;
    }
    const entry = dv.getBigUint64(0);
    if (entry & L2_COMPRESSED) {
      const data = this.compressedCluster(entry, cluster);
      out.set(data.subarray(inCluster, inCluster + out.length));
      return;
    }
    const host = entry & OFFSET_MASK;
    if (this.header.extendedL2) {
      this.fillSubclusters(host, dv.getBigUint64(8), inCluster, out, guest, cluster);
      return;
    }
    if (this.header.version === 3 && entry & L2_ZERO) out.fill(0);
    else if (host === 0n) this.fromBacking(guest, out);
    else this.fromFile(host, cluster, inCluster, out);
  }

  /**
   * A cluster stored as it is (allocated, not compressed, not zeroed, aligned): its host offset.
   * Called once per cluster of every read, so it stays in Number arithmetic: the L2 entry's two
   * big-endian halves give bit 62 (compressed: bit 30 of the high half), bit 0 (reads as zeros, v3)
   * and the host offset in bits 9-55; an offset at or past 2^53 takes fillBlock's BigInt path.
   */
  protected override plainAt(block: number): bigint | null {
    if (this.header.extendedL2) return null;
    const l1Index = Math.floor(block / this.l2Entries);
    if (l1Index !== this.lastL1) {
      const l2Offset = this.l1[l1Index]! & OFFSET_MASK;
      const table = l2Offset === 0n ? null : this.l2Table(l2Offset, l1Index);
      this.lastL2 = table && new DataView(table.buffer, table.byteOffset, table.length);
      this.lastL1 = l1Index;
    }
    if (!this.lastL2) return null;
    const at = (block - l1Index * this.l2Entries) * 8;
    const hi = this.lastL2.getUint32(at);
    const lo = this.lastL2.getUint32(at + 4);
    if (hi & 0x40000000 || (this.header.version === 3 && lo & 1)) return null;
    const hiOffset = hi & 0x00ffffff;
    if (hiOffset >= 0x200000) return null;
    const host = hiOffset * 2 ** 32 + ((lo & 0xfffffe00) >>> 0);
    // Zero (backing) and misaligned (damage, reported by fillBlock) clusters take the slow path.
    return host === 0 || host % this.cs !== 0 ? null : BigInt(host);
  }

  protected override readPlain(at: bigint, out: Uint8Array, pos: bigint): void {
    const got = this.file.readInto ? this.file.readInto(at, out) : copyInto(out, this.file.read(at, out.length));
    if (got !== out.length) this.fail(at, `data of guest clusters from ${pos >> this.cb} lies past the end of the file (${this.file.size} bytes)`);
  }

  /** Extended L2: 32 subclusters, each allocated (bit i), reading as zeros (bit 32+i), or neither (backing). */
  private fillSubclusters(host: bigint, bitmap: bigint, inCluster: number, out: Uint8Array, guest: bigint, cluster: bigint): void {
    const sub = this.cs / 32;
    for (let done = 0; done < out.length; ) {
      const at = inCluster + done;
      const i = Math.floor(at / sub);
      const take = Math.min(out.length - done, (i + 1) * sub - at);
      const piece = out.subarray(done, done + take);
      if ((bitmap >> BigInt(32 + i)) & 1n) piece.fill(0);
      else if ((bitmap >> BigInt(i)) & 1n) {
        if (host === 0n) this.fail(guest, `cluster ${cluster} has allocated subclusters but no host offset`);
        this.fromFile(host, cluster, at, piece);
      } else this.fromBacking(guest + BigInt(done), piece);
      done += take;
    }
  }

  private fromFile(host: bigint, cluster: bigint, inCluster: number, out: Uint8Array): void {
    if (host % BigInt(this.cs) !== 0n) this.fail(host, `L2 entry of guest cluster ${cluster} points to ${host}, not a cluster-aligned offset`);
    const at = host + BigInt(inCluster);
    const got = this.file.readInto ? this.file.readInto(at, out) : copyInto(out, this.file.read(at, out.length));
    if (got !== out.length) this.fail(at, `data of guest cluster ${cluster} lies past the end of the file (${this.file.size} bytes)`);
  }

  private fromBacking(guest: bigint, out: Uint8Array): void {
    if (!this.backing) {
      out.fill(0);
      return;
    }
    // A backing file shorter than the overlay reads as zeros past its end.
    const got = this.backing.readInto ? this.backing.readInto(guest, out) : copyInto(out, this.backing.read(guest, out.length));
    if (got < out.length) out.fill(0, got);
  }

  /**
   * A compressed cluster: the descriptor holds the host byte offset in its low
   * 62 - (cluster_bits - 8) bits and, above, the number of 512-byte sectors the
   * data occupies beyond the first (qcow2.txt "Compressed Clusters Descriptor").
   */
  private compressedCluster(entry: bigint, cluster: bigint): Uint8Array {
    const hit = this.clusterCache.get(cluster);
    if (hit) return hit;
    const { host, input } = this.compressedInput(entry, cluster);
    let data: Uint8Array;
    try {
      data = this.header.compressionType === 'zstd' ? this.codecs.zstd(input, this.cs) : this.codecs.inflateRaw(input, this.cs);
    } catch (e) {
      if (e instanceof CodecError) this.fail(host, `compressed guest cluster ${cluster}: ${e.message}`);
      throw e;
    }
    this.clusterCache.set(cluster, data);
    return data;
  }

  /** A compressed cluster's bytes in the file, and where they start. */
  private compressedInput(entry: bigint, cluster: bigint): { host: bigint; input: Uint8Array } {
    const x = 62n - (this.cb - 8n);
    const host = entry & ((1n << x) - 1n);
    const sectors = Number((entry >> x) & ((1n << (this.cb - 8n)) - 1n)) + 1;
    const length = sectors * 512 - Number(host & 511n);
    if (host >= this.file.size || host === 0n) this.fail(host, `compressed guest cluster ${cluster} at ${host} lies outside the file (${this.file.size} bytes)`);
    // The last compressed cluster may end inside its last sector, at the end of the file.
    return { host, input: this.file.read(host, length) };
  }

  /** A deflate cluster not in the cache: its bytes read now, inflated off this thread. */
  protected override aheadJob(block: number): (() => Promise<Uint8Array>) | null {
    const inflate = this.inflateAsync;
    const cluster = BigInt(block);
    if (!inflate || this.clusterCache.get(cluster)) return null;
    const entry = this.l2Entry(cluster)?.getBigUint64(0) ?? 0n;
    if (!(entry & L2_COMPRESSED)) return null;
    const { input } = this.compressedInput(entry, cluster);
    return () => inflate(input, this.cs);
  }

  protected override keepDecoded(block: number, data: Uint8Array): void {
    this.clusterCache.set(BigInt(block), data);
  }

  close(): void {
    this.file.close?.();
    this.backing?.close?.();
  }
}

function copyInto(out: Uint8Array, b: Uint8Array): number {
  out.set(b.subarray(0, out.length));
  return Math.min(b.length, out.length);
}
