import type { DevId, DevIdInput, DevicePlaceInput, LogicalInput, Physical, PhysicalInput } from '../format/addresses.js';
import type { Superblock } from '../format/superblock.js';
import { type ByteSource, type PrefetchRange, SourceError } from '../io/ByteSource.js';
import { ChunkMap, type Mapping, type PhysicalCopy } from './ChunkMap.js';
import { recoverRaid5, recoverRaid6 } from './raid56.js';
import { mapThroughStripes, type RaidStripeIndex, stripeTreeApplies } from './raidStripes.js';

/** One device of the filesystem; `source` is null when it was not found. */
export interface Device {
  devid: DevId;
  uuid: string;
  /** Path or name given by the user, or "missing". */
  name: string;
  source: ByteSource | null;
  superblock?: Superblock;
  /** A seed device of a sprouted filesystem (read-only, its own fsid in its superblock). */
  seed?: boolean;
}

/** The outcome of reading one way (copy) of a logical range. */
export interface CopyRead {
  bytes: Uint8Array | null;
  /** Why bytes is null: unmapped, device missing, past the end of a device, ... */
  error?: string;
  /** The physical places read (for messages). */
  places: PhysicalCopy[];
  /** True when the bytes were rebuilt from parity. */
  rebuilt?: boolean;
}

/**
 * Where logical addresses are read when they are not read through the
 * devices: a btrfs-image dump holds tree blocks by logical address, one copy
 * each (MetadumpImage). Null when it does not hold the range.
 */
export interface LogicalStore {
  read(logical: LogicalInput, length: number): Uint8Array | null;
}

/**
 * The logical address space of the filesystem over its devices: maps logical
 * ranges through the chunk map and reads any copy of them. Verifying what
 * was read (checksums) is the caller's job; it asks for the next copy when a
 * copy is bad, as the kernel does with mirror_num.
 */
export class Volume {
  /**
   * Chunks the filesystem no longer has, read from older chunk-tree leaves or superblock copies
   * (forensics: a block group removed after its data was deleted). Consulted only for logical
   * addresses no current chunk holds: logical addresses are not handed out twice while a chunk
   * holds them, so the current map always wins. Null on the filesystem as opened.
   */
  older: ChunkMap | null = null;
  /**
   * When set, every logical read is served from it (the chunk map still says
   * what is mapped): a metadata dump, which holds one copy of each block.
   */
  logicalStore: LogicalStore | null = null;
  /**
   * With the raid-stripe-tree feature (incompat bit 14): the stripe items,
   * loaded on first use, where data of the profiles it covers was written.
   */
  raidStripes: (() => RaidStripeIndex) | null = null;
  constructor(
    readonly devices: Map<bigint, Device>,
    readonly chunks: ChunkMap = new ChunkMap(),
  ) {}

  /** The same devices, chunk map and stripe items, with `older` behind it (see `older`). */
  withOlderChunks(older: ChunkMap): Volume {
    const v = new Volume(this.devices, this.chunks);
    v.logicalStore = this.logicalStore;
    v.raidStripes = this.raidStripes;
    v.older = older;
    return v;
  }

  /**
   * Where `logical` lives: the chunk's arithmetic (through the current chunk
   * map, else the older chunks when set), and for data the raid stripe tree
   * places the copies when the filesystem has one.
   */
  map(logical: LogicalInput): Mapping | undefined {
    const m = this.chunks.map(logical) ?? this.older?.map(logical);
    if (!m || !this.raidStripes || !stripeTreeApplies(m.chunk)) return m;
    return mapThroughStripes(m, logical, this.raidStripes().find(logical));
  }

  /**
   * Every logical address that `physical` on `devid` holds (ChunkMap.reverse);
   * with the raid stripe tree, data chunks it covers answer from its items
   * (`logical` null and `unplaced` when none puts data there).
   */
  reverse(devid: DevIdInput, physical: PhysicalInput): (ReturnType<ChunkMap['reverse']>[number] & { unplaced?: true })[] {
    const hits = this.chunks.reverse(devid, physical);
    if (!this.raidStripes) return hits;
    const index = this.raidStripes();
    return hits.map((h) => {
      if (!stripeTreeApplies(h.chunk)) return h;
      const logical = index.logicalAt(h.chunk, h.stripeIndex, devid, physical);
      return logical === null ? { ...h, logical, unplaced: true as const } : { ...h, logical };
    });
  }

  /**
   * How many different ways `logical` can be read: the mirrors of mirrored
   * profiles; for RAID5 the data stripe then a rebuild from P; for RAID6
   * also a rebuild from Q alone. 0 when unmapped.
   */
  copyCount(logical: LogicalInput): number {
    const m = this.map(logical);
    if (!m) return 0;
    if (this.logicalStore) return 1;
    // Mapped by its chunk but placed by no raid stripe item: one way, whose read fails saying so.
    if (m.unmapped && m.copies.length === 0) return 1;
    if (m.chunk.profile === 'RAID5') return 2;
    if (m.chunk.profile === 'RAID6') return 3;
    return m.copies.length;
  }

  /**
   * Reads `length` bytes at `logical` from copy number `copy`, across stripe
   * units as needed. With `into` (at least `length` bytes) the bytes land
   * there when the sources allow it, so a caller streaming data can reuse one
   * buffer; the answer's bytes may then be (part of) `into`.
   */
  readCopy(logical: LogicalInput, length: number, copy = 0, into?: Uint8Array): CopyRead {
    if (this.logicalStore) return this.readStore(this.logicalStore, logical, length, copy, into);
    let out: Uint8Array | undefined;
    const places: PhysicalCopy[] = [];
    let done = 0;
    let rebuilt = false;
    while (done < length) {
      const at = logical + BigInt(done);
      const m = this.map(at);
      if (!m) return { bytes: null, error: `logical ${at} is not in any chunk`, places };
      const n = Math.min(length - done, Number(m.contiguous > 0x7fffffffn ? 0x7fffffffn : m.contiguous));
      const seg = this.readSegment(m, n, copy, into?.subarray(done, done + n));
      places.push(...seg.places);
      if (!seg.bytes) return { bytes: null, error: seg.error ?? 'unreadable', places };
      if (seg.rebuilt) rebuilt = true;
      // The common case, one segment: its buffer is the answer (no second buffer, no copy).
      if (n === length) return { bytes: seg.bytes, places, rebuilt };
      out ??= into ? into.subarray(0, length) : new Uint8Array(length);
      if (seg.bytes.buffer !== out.buffer || seg.bytes.byteOffset !== out.byteOffset + done) out.set(seg.bytes, done);
      done += n;
    }
    return { bytes: out ?? new Uint8Array(0), places, rebuilt };
  }

  /**
   * Reads every copy of ranges of `length` bytes (tree blocks) at once, in disk order, each run of
   * adjacent ones in one read, into `buf` (each copy of a range at a multiple of `length`). Takes
   * the ranges in the order given while their copies fit in `buf`, and answers for those: per range,
   * per copy, the bytes and their place, byte for byte what readCopy(logical, length, copy) returns.
   * Only plain mirrored copies within one stripe unit on a device that is present are read here;
   * undefined marks a copy left to readCopy (RAID5/6, a read that failed, a missing device, a
   * btrfs-image dump). Fewer, larger reads in address order cost less than one read a block (a
   * system call each, and a seek each on a cold disk).
   */
  readCopiesAhead(logicals: readonly bigint[], length: number, buf: Uint8Array): ({ bytes: Uint8Array; place: PhysicalCopy } | undefined)[][] {
    const out: ({ bytes: Uint8Array; place: PhysicalCopy } | undefined)[][] = [];
    if (this.logicalStore || length <= 0) return out;
    const slots = Math.floor(buf.length / length);
    const want: { i: number; copy: number; place: PhysicalCopy }[] = [];
    const len = BigInt(length);
    for (let i = 0; i < logicals.length; i++) {
      const m = this.map(logicals[i]!);
      if (m && !m.row && !m.unmapped && m.contiguous >= len) {
        if (want.length + m.copies.length > slots) break;
        for (let copy = 0; copy < m.copies.length; copy++) {
          const place = m.copies[copy]!;
          if (this.devices.get(place.devid)?.source?.readInto) want.push({ i, copy, place });
        }
      }
      out.push([]);
    }
    want.sort((a, b) => (a.place.devid !== b.place.devid ? (a.place.devid < b.place.devid ? -1 : 1) : a.place.physical < b.place.physical ? -1 : a.place.physical > b.place.physical ? 1 : 0));
    for (let s = 0; s < want.length; ) {
      // A run: the same device, each place right after the previous one.
      let e = s + 1;
      while (e < want.length && want[e]!.place.devid === want[s]!.place.devid && want[e]!.place.physical === want[e - 1]!.place.physical + len) e++;
      const into = buf.subarray(s * length, e * length);
      const r = this.readPhysical(want[s]!.place, into.length, into);
      if (r.bytes) {
        for (let k = s; k < e; k++) {
          const w = want[k]!;
          out[w.i]![w.copy] = { bytes: r.bytes.subarray((k - s) * length, (k - s + 1) * length), place: w.place };
        }
      }
      s = e;
    }
    return out;
  }

  private readStore(store: LogicalStore, logical: LogicalInput, length: number, copy: number, into?: Uint8Array): CopyRead {
    if (!this.map(logical)) return { bytes: null, error: `logical ${logical} is not in any chunk`, places: [] };
    if (copy > 0) return { bytes: null, error: `copy ${copy + 1} does not exist (a btrfs-image dump holds one copy of each block)`, places: [] };
    const b = store.read(logical, length);
    if (!b) return { bytes: null, error: `logical ${logical} +${length} is not in the btrfs-image dump (it holds tree blocks, and data extents only when made with -d)`, places: [] };
    if (!into) return { bytes: b, places: [] };
    into.set(b);
    return { bytes: into.subarray(0, length), places: [] };
  }

  /** Reads the first copy that can be read at all (no verification); `into` as for readCopy. */
  read(logical: LogicalInput, length: number, into?: Uint8Array): CopyRead {
    const n = Math.max(1, this.copyCount(logical));
    let last: CopyRead = { bytes: null, error: 'unmapped', places: [] };
    for (let c = 0; c < n; c++) {
      last = this.readCopy(logical, length, c, into);
      if (last.bytes) return last;
    }
    return last;
  }

  /**
   * Where [logical, +length) of the first copy lies when it can be read
   * ahead: within one stripe unit, on a device whose source reads ahead
   * (ByteSource.prefetch). Null otherwise (the range is then read as usual).
   */
  prefetchPlace(logical: LogicalInput, length: number): { source: ByteSource; physical: Physical } | null {
    if (this.logicalStore) return null;
    const m = this.map(logical);
    const c = m?.copies[0];
    if (!m || !c || m.contiguous < BigInt(length)) return null;
    const source = this.devices.get(c.devid)?.source;
    return source?.prefetch ? { source, physical: c.physical } : null;
  }

  /**
   * Reads ranges of the first copy ahead: each range's offset is a logical
   * address, mapped to its device and forwarded to that device's source. A
   * range that cannot be read ahead (prefetchPlace) ends with an error.
   */
  prefetch(ranges: readonly PrefetchRange[]): void {
    const bySource = new Map<ByteSource, PrefetchRange[]>();
    for (const r of ranges) {
      const place = this.prefetchPlace(r.offset, r.into.length);
      if (!place) {
        void Promise.resolve().then(() => r.done(new Error(`logical ${r.offset} +${r.into.length} cannot be read ahead`), 0, false));
        continue;
      }
      let list = bySource.get(place.source);
      if (!list) bySource.set(place.source, (list = []));
      list.push({ ...r, offset: place.physical });
    }
    for (const [source, list] of bySource) source.prefetch!(list);
  }

  /**
   * Decodes ahead, on every device whose source decodes (ByteSource.decodeAhead: a compressed
   * container), what reading [logical, +length) from any copy needs, so that the reads that follow
   * find it decoded. A hint: resolves, never rejects; unmapped ranges are left to the reads.
   */
  decodeAhead(logical: LogicalInput, length: number): Promise<void> {
    if (this.logicalStore || !this.decodes) return Promise.resolve();
    const bySource = new Map<ByteSource, { offset: bigint; length: number }[]>();
    for (let done = 0; done < length; ) {
      const m = this.map(logical + BigInt(done));
      if (!m) break;
      const n = Math.min(length - done, Number(m.contiguous > 0x7fffffffn ? 0x7fffffffn : m.contiguous));
      for (const c of m.copies) {
        const source = this.devices.get(c.devid)?.source;
        if (!source?.decodeAhead) continue;
        let list = bySource.get(source);
        if (!list) bySource.set(source, (list = []));
        list.push({ offset: c.physical, length: n });
      }
      done += n;
    }
    return Promise.all([...bySource].map(([source, list]) => source.decodeAhead!(list))).then(() => undefined);
  }

  /** Whether some device's source decodes ahead (ByteSource.decodeAhead). */
  get decodes(): boolean {
    for (const d of this.devices.values()) if (d.source?.decodeAhead) return true;
    return false;
  }

  /**
   * Whether some device's source fetches batches (ByteSource.warm): only then
   * does planning a batch of reads pay.
   */
  get warms(): boolean {
    if (this.logicalStore) return false;
    for (const d of this.devices.values()) if (d.source?.warm) return true;
    return false;
  }

  /**
   * Hands copy `copy` (a mirror; the first by default) of each
   * [logical, +length) to its device's source to fetch together
   * (ByteSource.warm); a rebuilt copy (RAID5/6), ranges that cross a stripe unit or
   * lie on a source that does not batch are left to the reads that follow.
   */
  warm(ranges: readonly { logical: bigint; length: number }[], copy = 0): void {
    if (this.logicalStore) return;
    const bySource = new Map<ByteSource, { offset: bigint; length: number }[]>();
    for (const r of ranges) {
      const m = this.map(r.logical);
      const c = m?.copies[copy];
      if (!m || !c || m.contiguous < BigInt(r.length)) continue;
      const source = this.devices.get(c.devid)?.source;
      if (!source?.warm) continue;
      let list = bySource.get(source);
      if (!list) bySource.set(source, (list = []));
      list.push({ offset: c.physical, length: r.length });
    }
    for (const [source, list] of bySource) source.warm!(list);
  }

  /** Reads bytes from one physical place; null with a reason when it cannot. */
  readPhysical(place: DevicePlaceInput, length: number, into?: Uint8Array): { bytes: Uint8Array | null; error?: string } {
    const dev = this.devices.get(place.devid);
    if (!dev?.source) return { bytes: null, error: `device ${place.devid} is missing` };
    const src = dev.source;
    let b: Uint8Array;
    try {
      b = into && src.readInto ? into.subarray(0, src.readInto(place.physical, into.subarray(0, length))) : src.read(place.physical, length);
    } catch (e) {
      // The medium failed here (a container's cluster past the end of its file, a truncated
      // segment, a PV not given): this copy is unreadable, as on a missing device; the caller
      // tries the next copy and reports the place.
      if (e instanceof SourceError) return { bytes: null, error: `${dev.name}: offset ${place.physical} +${length} cannot be read: ${e.message}` };
      throw e;
    }
    if (b.length < length) return { bytes: null, error: `${dev.name}: offset ${place.physical} +${length} is past the end of the device (${dev.source.size} bytes)` };
    return { bytes: b };
  }

  private readSegment(m: Mapping, n: number, copy: number, into?: Uint8Array): { bytes: Uint8Array | null; error?: string; places: PhysicalCopy[]; rebuilt?: boolean } {
    const row = m.row;
    if (!row) {
      const place = m.copies[copy];
      if (!place && m.unmapped) return { bytes: null, error: m.unmapped, places: [] };
      if (!place) return { bytes: null, error: `copy ${copy + 1} does not exist (${m.chunk.profile} has ${m.copies.length})`, places: [] };
      return { ...this.readPhysical(place, n, into), places: [place] };
    }
    const target = m.copies[0]!;
    if (copy === 0) {
      const r = this.readPhysical(target, n, into);
      if (r.bytes) return { bytes: r.bytes, places: [target] };
      // The data stripe's device is gone or short: rebuild from parity, as the kernel does.
    }
    return this.rebuild(m, n, copy === 2 ? 'q' : 'p');
  }

  /**
   * Rebuilds the target unit range of a RAID5/6 row from the other data
   * stripes and parity. `using` = 'p' rebuilds with P (and Q if more is
   * missing); 'q' treats P as unavailable, to get a second independent copy.
   */
  private rebuild(m: Mapping, n: number, using: 'p' | 'q'): { bytes: Uint8Array | null; error?: string; places: PhysicalCopy[]; rebuilt?: boolean } {
    const row = m.row!;
    const off = row.unitOffset;
    const places: PhysicalCopy[] = [];
    const readAt = (p: PhysicalCopy) => {
      places.push(p);
      return this.readPhysical({ devid: p.devid, physical: p.physical + off }, n).bytes;
    };
    const data = row.data.map((p, j) => (j === row.dataIndex ? null : readAt(p)));
    const p = using === 'q' ? null : readAt(row.p);
    const q = row.q ? readAt(row.q) : null;
    const missing = data.filter((d) => d === null).length;
    try {
      if (!row.q) {
        if (!p || missing > 1) return { bytes: null, error: `RAID5 row at logical ${row.logicalStart}: cannot rebuild (${missing} data stripes and ${p ? 'no' : 'the'} parity unreadable)`, places };
        return { bytes: recoverRaid5(data, p)[row.dataIndex]!, places, rebuilt: true };
      }
      if (missing + (p ? 0 : 1) + (q ? 0 : 1) > 2) return { bytes: null, error: `RAID6 row at logical ${row.logicalStart}: more than two stripes unreadable`, places };
      return { bytes: recoverRaid6(data, p, q)[row.dataIndex]!, places, rebuilt: true };
    } catch (e) {
      return { bytes: null, error: `rebuild of row at logical ${row.logicalStart} failed: ${(e as Error).message}`, places };
    }
  }
}
