/** Packs cached renderings (a fast compressor): text of tree blocks shrinks several times. */
export interface RenderCodec {
  pack(bytes: Uint8Array): Uint8Array;
  unpack(packed: Uint8Array): Uint8Array;
}

export interface RenderCacheOptions {
  /** Bytes kept (packed bytes when there is a codec). Default 160 MiB. */
  maxBytes?: number;
  /**
   * With a codec the cache keeps packed renderings and evicts the least
   * recently used; without one it admits until full and then evicts nothing
   * (see the class comment).
   */
  codec?: RenderCodec;
}

/**
 * Rendered output of tree blocks (text or NDJSON, already UTF-8), keyed by
 * logical address. Snapshots share most of their tree blocks, and a dump
 * prints every snapshot's tree in full: with this cache a shared leaf is
 * read, verified and rendered once, then its bytes are repeated. A logical
 * address always reads the same bytes within one image, so the key is enough.
 *
 * Each snapshot's tree shares most leaves with the tree dumped just before
 * it, so the cache pays off when it holds a whole tree's leaves. Packed
 * (codec), it can: then least-recently-used eviction keeps the last tree's
 * leaves. Unpacked it usually cannot, and an LRU would lose everything to
 * each tree's scan before reuse; admitting until full keeps a fixed set
 * that keeps paying off.
 */
export class RenderCache {
  private readonly map = new Map<bigint, { generation: bigint; bytes: Uint8Array }>();
  private bytes = 0;
  private readonly maxBytes: number;
  private readonly codec: RenderCodec | undefined;
  hits = 0;

  constructor(opts: RenderCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 160 * 1024 * 1024;
    this.codec = opts.codec;
  }

  /**
   * The rendering of the block at `logical`, only if it was rendered with the
   * generation the pointer now expects: a serve without a read must not skip
   * the transid check a read would make.
   */
  get(logical: bigint, generation: bigint): Uint8Array | undefined {
    const v = this.map.get(logical);
    if (!v || v.generation !== generation) return undefined;
    this.hits++;
    if (!this.codec) return v.bytes;
    // Most recently used last: Map keeps insertion order.
    this.map.delete(logical);
    this.map.set(logical, v);
    return this.codec.unpack(v.bytes);
  }

  set(logical: bigint, generation: bigint, rendered: Uint8Array): void {
    if (this.map.has(logical)) return;
    if (!this.codec) {
      if (this.bytes + rendered.length > this.maxBytes) return;
      // The caller's bytes may be a reused buffer (a DumpSink's contract): keep a copy.
      this.map.set(logical, { generation, bytes: rendered.slice() });
      this.bytes += rendered.length;
      return;
    }
    const packed = this.codec.pack(rendered);
    this.map.set(logical, { generation, bytes: packed });
    this.bytes += packed.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes || this.map.size <= 1) break;
      this.map.delete(k);
      this.bytes -= v.bytes.length;
    }
  }
}
