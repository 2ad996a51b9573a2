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
  private readonly map = new Map<bigint, Uint8Array>();
  private bytes = 0;
  hits = 0;
  constructor(private readonly maxBytes = 256 * 1024 * 1024) {}

  get(logical: bigint): Uint8Array | undefined {
    const v = this.map.get(logical);
    if (v) this.hits++;
    return v;
  }

  set(logical: bigint, v: Uint8Array): void {
    if (this.bytes + v.length > this.maxBytes || this.map.has(logical)) return;
    this.map.set(logical, v);
    this.bytes += v.length;
  }
}
