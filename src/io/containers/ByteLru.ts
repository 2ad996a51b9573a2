/**
 * A least-recently-used cache of byte buffers bounded by their total size:
 * the decompressed clusters and chunks, and the tables, of container sources.
 * A hostile container can make every read miss, never make the cache grow.
 */
export class ByteLru<K> {
  private readonly map = new Map<K, Uint8Array>();
  private bytes = 0;
  constructor(readonly maxBytes: number) {}

  get(key: K): Uint8Array | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      // Map keeps insertion order: re-inserting makes this the newest.
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: K, value: Uint8Array): void {
    const old = this.map.get(key);
    if (old !== undefined) {
      this.bytes -= old.length;
      this.map.delete(key);
    }
    if (value.length > this.maxBytes) return;
    this.map.set(key, value);
    this.bytes += value.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }

  /** Bytes held now (tests check the bound). */
  get size(): number {
    return this.bytes;
  }
}
