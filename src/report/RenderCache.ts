/**
 * Rendered output of tree blocks (text or NDJSON, already UTF-8), keyed by
 * logical address. Snapshots share most of their tree blocks, and a dump
 * prints every snapshot's tree in full: with this cache a shared leaf is
 * read, verified and rendered once, then its bytes are repeated. A logical
 * address always reads the same bytes within one image, so the key is enough.
 * Bounded by bytes, and it admits until full and then evicts nothing: a dump
 * scans each snapshot's leaves in the same order, a scan that evicts an LRU's
 * whole content before reuse, while a fixed set keeps paying off.
 */
export class RenderCache {
  private readonly map = new Map<bigint, { generation: bigint; bytes: Uint8Array }>();
  private bytes = 0;
  hits = 0;
  constructor(private readonly maxBytes = 160 * 1024 * 1024) {}

  /**
   * The rendering of the block at `logical`, only if it was rendered with the
   * generation the pointer now expects: a serve without a read must not skip
   * the transid check a read would make.
   */
  get(logical: bigint, generation: bigint): Uint8Array | undefined {
    const v = this.map.get(logical);
    if (!v || v.generation !== generation) return undefined;
    this.hits++;
    return v.bytes;
  }

  set(logical: bigint, generation: bigint, v: Uint8Array): void {
    if (this.bytes + v.length > this.maxBytes || this.map.has(logical)) return;
    this.map.set(logical, { generation, bytes: v });
    this.bytes += v.length;
  }
}
