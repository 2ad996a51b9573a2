import { type ByteSource, forwardRange, type PrefetchRange } from './ByteSource.js';

/**
 * Another source with some bytes replaced and, optionally, cut short:
 * damage made in memory for tests and fuzzing, never written anywhere.
 */
export class OverlaySource implements ByteSource {
  private readonly patches: { offset: bigint; bytes: Uint8Array }[] = [];
  readonly name: string;
  size: bigint;

  constructor(
    private readonly inner: ByteSource,
    name?: string,
  ) {
    this.name = name ?? inner.name;
    this.size = inner.size;
    if (inner.prefetch) this.prefetch = (ranges) => this.forward(inner, ranges);
  }

  /** Read-ahead forwarded to the source below, cut at the (possibly truncated) end, patches laid over what it reads; present only when the source below reads ahead. */
  readonly prefetch?: (ranges: readonly PrefetchRange[]) => void;

  private forward(inner: ByteSource, ranges: readonly PrefetchRange[]): void {
    const out: PrefetchRange[] = [];
    for (const r of ranges) {
      const f = forwardRange(r, this.size, 0n);
      if (!f) continue;
      out.push({
        ...f,
        done: (err, n, direct) => {
          if (!err) this.lay(r.offset, f.into.subarray(0, n));
          r.done(err, n, direct);
        },
      });
    }
    if (out.length) inner.prefetch!(out);
  }

  /** Lays the patches over `bytes`, which were read at `offset`. */
  private lay(offset: bigint, bytes: Uint8Array): void {
    const end = offset + BigInt(bytes.length);
    for (const p of this.patches) {
      const pEnd = p.offset + BigInt(p.bytes.length);
      if (pEnd <= offset || p.offset >= end) continue;
      const a = p.offset > offset ? p.offset : offset;
      const b = pEnd < end ? pEnd : end;
      bytes.set(p.bytes.subarray(Number(a - p.offset), Number(b - p.offset)), Number(a - offset));
    }
  }

  /** Replaces bytes at `offset` (later patches win where they overlap). */
  patch(offset: bigint, bytes: Uint8Array): this {
    this.patches.push({ offset, bytes: bytes.slice() });
    return this;
  }

  /** Makes the source end at `size` bytes, like a truncated image. */
  truncate(size: bigint): this {
    if (size < this.size) this.size = size;
    return this;
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const max = this.size - offset;
    const n = BigInt(length) > max ? Number(max) : length;
    const base = this.inner.read(offset, n);
    const end = offset + BigInt(base.length);
    if (!this.patches.some((p) => p.offset < end && p.offset + BigInt(p.bytes.length) > offset)) return base;
    const out = base.slice();
    this.lay(offset, out);
    return out;
  }
}
