import { COW_EXCEPTION_BYTES, COW_MAX_CHUNK_SECTORS, COW_VERSION, cowAreaChunk, cowException, decodeCowHeader } from '../../format/lvm/snapshot.js';
import { type ByteSource, readExact, SourceError } from '../ByteSource.js';
import { FilledSource } from '../containers/FilledSource.js';

/** More exceptions than this (16 bytes of index each) is not read: 2^24 chunks of 4 KiB is a 64 GiB store. */
export const MAX_COW_EXCEPTIONS = 1 << 24;

/**
 * An LVM2 (thick) snapshot read as the disk it shows: the origin LV as it is now, except the
 * chunks the copy-on-write store holds an exception for, which read from the store
 * (format/lvm/snapshot.ts). The exception list is read at the first read (opening never
 * throws: a damaged store fails that read with a SourceError), bounded by the store's size.
 */
export class SnapshotSource extends FilledSource implements ByteSource {
  readonly size: bigint;
  private table: { chunkBytes: number; olds: Float64Array; news: Float64Array } | null = null;

  constructor(
    readonly name: string,
    private readonly origin: ByteSource,
    private readonly store: ByteSource,
  ) {
    super();
    this.size = origin.size;
  }

  protected get blockBytes(): number {
    return this.exceptionTable().chunkBytes;
  }

  /** How many exceptions the store holds. */
  get exceptions(): number {
    return this.exceptionTable().olds.length;
  }

  /** Origin chunks with an exception, ascending, and the store chunk of each (read once). */
  private exceptionTable(): { chunkBytes: number; olds: Float64Array; news: Float64Array } {
    if (this.table) return this.table;
    const { origin, store } = this;
    const h = decodeCowHeader(readExact(store, 0n, 512) ?? new Uint8Array(0));
    if (!h?.magicOk) this.fail(0n, 'no snapshot exception store header (magic "SnAp"): the store was never used by device-mapper, or is damaged');
    if (!h.valid) this.fail(4n, 'the snapshot is marked invalid (its store overflowed or it was dropped): its bytes are lost; read the origin');
    if (h.version !== COW_VERSION) this.fail(8n, `exception store version ${h.version}, not ${COW_VERSION}`);
    const sectors = h.chunkSectors;
    if (sectors < 1 || sectors > COW_MAX_CHUNK_SECTORS || (sectors & (sectors - 1)) !== 0) this.fail(12n, `chunk size of ${sectors} sectors is not a power of two up to ${COW_MAX_CHUNK_SECTORS}`);
    const cb = sectors * 512;
    const storeChunks = Number(store.size / BigInt(cb));
    const originChunks = Number((origin.size + BigInt(cb) - 1n) / BigInt(cb));
    const perArea = cb / COW_EXCEPTION_BYTES;
    const olds: number[] = [];
    const news: number[] = [];
    // Areas follow each other until one is not full (its list ends) or the store ends.
    read: for (let area = 0; ; area++) {
      const at = cowAreaChunk(area, perArea);
      if (at >= storeChunks) break;
      const b = readExact(store, BigInt(at) * BigInt(cb), cb);
      if (!b) this.fail(BigInt(at) * BigInt(cb), `exception area ${area} lies past the end of the store`);
      for (let i = 0; i < perArea; i++) {
        const e = cowException(b, i);
        if (e.newChunk === 0n) break read;
        const where = BigInt(at) * BigInt(cb) + BigInt(i * COW_EXCEPTION_BYTES);
        if (e.oldChunk >= BigInt(originChunks)) this.fail(where, `exception ${olds.length} names origin chunk ${e.oldChunk}, past the origin's ${originChunks} chunks`);
        if (e.newChunk >= BigInt(storeChunks)) this.fail(where, `exception ${olds.length} puts origin chunk ${e.oldChunk} at store chunk ${e.newChunk}, past the store's ${storeChunks} chunks`);
        if (olds.length >= MAX_COW_EXCEPTIONS) this.fail(where, `more than ${MAX_COW_EXCEPTIONS} exceptions`);
        olds.push(Number(e.oldChunk));
        news.push(Number(e.newChunk));
      }
    }
    // Sorted by origin chunk for a binary search; of two exceptions for one chunk the later counts.
    const order = Array.from(olds.keys()).sort((a, b) => olds[a]! - olds[b]! || a - b);
    const keep = order.filter((k, j) => j + 1 === order.length || olds[order[j + 1]!] !== olds[k]);
    this.table = { chunkBytes: cb, olds: Float64Array.from(keep, (k) => olds[k]!), news: Float64Array.from(keep, (k) => news[k]!) };
    return this.table;
  }

  private fail(offset: bigint, why: string): never {
    throw new SourceError(`${this.name} (copy-on-write store ${this.store.name})`, offset, why);
  }

  /** The store chunk holding origin chunk `chunk`'s snapshot bytes, or -1 (the origin's). */
  private storeChunk(chunk: number): number {
    const { olds, news } = this.exceptionTable();
    let lo = 0,
      hi = olds.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = olds[mid]!;
      if (v === chunk) return news[mid]!;
      if (v < chunk) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  protected fillBlock(chunk: number, inChunk: number, out: Uint8Array, pos: bigint): void {
    const n = this.storeChunk(chunk);
    const [src, at] = n < 0 ? [this.origin, pos] : [this.store, BigInt(n) * BigInt(this.blockBytes) + BigInt(inChunk)];
    const got = src.readInto ? src.readInto(at, out) : copyInto(out, src.read(at, out.length));
    if (got < out.length) throw new SourceError(this.name, pos, `${n < 0 ? 'origin' : 'copy-on-write store'} ${src.name} ends at ${at + BigInt(got)}, inside the snapshot`);
  }

  close(): void {
    this.origin.close?.();
    this.store.close?.();
  }
}

function copyInto(out: Uint8Array, b: Uint8Array): number {
  out.set(b.subarray(0, out.length));
  return Math.min(b.length, out.length);
}
