import type { ByteSource } from './ByteSource.js';

/** A window of another source: a partition, or an image at a byte offset. */
export class SliceSource implements ByteSource {
  readonly size: bigint;
  constructor(private readonly inner: ByteSource, readonly start: bigint, size: bigint | undefined, readonly name: string) {
    const avail = inner.size > start ? inner.size - start : 0n;
    this.size = size === undefined || size > avail ? avail : size;
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const max = this.size - offset;
    const n = BigInt(length) > max ? Number(max) : length;
    return this.inner.read(this.start + offset, n);
  }

  close(): void {
    this.inner.close?.();
  }
}
