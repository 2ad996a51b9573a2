import { type ByteSource, forwardRange, type PrefetchRange } from './ByteSource.js';

/** A window of another source: a partition, or an image at a byte offset. */
export class SliceSource implements ByteSource {
  readonly size: bigint;
  constructor(
    private readonly inner: ByteSource,
    readonly start: bigint,
    size: bigint | undefined,
    readonly name: string,
  ) {
    const avail = inner.size > start ? inner.size - start : 0n;
    this.size = size === undefined || size > avail ? avail : size;
    if (inner.prefetch) this.prefetch = (ranges) => this.forward(inner, ranges);
    if (inner.warm) {
      const warm = inner.warm.bind(inner);
      this.warm = (ranges) => warm(this.shifted(ranges));
    }
    if (inner.decodeAhead) {
      const decodeAhead = inner.decodeAhead.bind(inner);
      this.decodeAhead = (ranges) => decodeAhead(this.shifted(ranges));
    }
  }

  /** Ranges cut at this slice's end and moved to the inner source's offsets, as reads are. */
  private shifted(ranges: readonly { offset: bigint; length: number }[]): { offset: bigint; length: number }[] {
    return ranges
      .filter((r) => r.offset >= 0n && r.offset < this.size && r.length > 0)
      .map((r) => ({ offset: this.start + r.offset, length: this.size - r.offset < BigInt(r.length) ? Number(this.size - r.offset) : r.length }));
  }

  private forward(inner: ByteSource, ranges: readonly PrefetchRange[]): void {
    const out: PrefetchRange[] = [];
    for (const r of ranges) {
      const f = forwardRange(r, this.size, this.start);
      if (f) out.push(f);
    }
    if (out.length) inner.prefetch!(out);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const max = this.size - offset;
    const n = BigInt(length) > max ? Number(max) : length;
    return this.inner.read(this.start + offset, n);
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const max = this.size - offset;
    const n = BigInt(into.length) > max ? Number(max) : into.length;
    const target = into.subarray(0, n);
    if (this.inner.readInto) return this.inner.readInto(this.start + offset, target);
    const b = this.inner.read(this.start + offset, n);
    target.set(b);
    return b.length;
  }

  /**
   * Read-ahead forwarded to the source below, at `start` further (a
   * partition's or --offset's window), cut at the window's end; present only
   * when the source below reads ahead.
   */
  readonly prefetch?: (ranges: readonly PrefetchRange[]) => void;
  /** ByteSource.warm, forwarded when the source below batches. */
  readonly warm?: (ranges: readonly { offset: bigint; length: number }[]) => void;
  /** ByteSource.decodeAhead, forwarded when the source below decodes (a partition inside a compressed container). */
  readonly decodeAhead?: (ranges: readonly { offset: bigint; length: number }[]) => Promise<void>;

  close(): void {
    this.inner.close?.();
  }
}
