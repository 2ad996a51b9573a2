import type { ByteSource, PrefetchRange } from './ByteSource.js';

/**
 * Several sources read as one, back to back: the segments of a split raw
 * image (`disk.001`, `disk.002`, ...). A read crossing a boundary is served
 * by both segments. Read-ahead is forwarded for ranges inside one segment;
 * a range crossing a boundary ends at once with an error and is read as usual.
 */
export class ConcatSource implements ByteSource {
  readonly size: bigint;
  /** starts[i]: offset of segment i in the whole; starts[n] is the size. */
  private readonly starts: bigint[];

  constructor(
    private readonly parts: readonly ByteSource[],
    readonly name: string,
  ) {
    if (parts.length === 0) throw new Error(`${name}: no segments`);
    this.starts = [0n];
    for (const p of parts) this.starts.push(this.starts[this.starts.length - 1]! + p.size);
    this.size = this.starts[parts.length]!;
    if (parts.every((p) => p.prefetch)) this.prefetch = (ranges) => this.forward(ranges);
  }

  /** The segment holding byte `offset` (binary search; the last segment for the end). */
  private segmentAt(offset: bigint): number {
    let lo = 0,
      hi = this.parts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const n = BigInt(length) > this.size - offset ? Number(this.size - offset) : length;
    const i = this.segmentAt(offset);
    // The common case, one segment: no copy.
    if (offset + BigInt(n) <= this.starts[i + 1]!) return this.parts[i]!.read(offset - this.starts[i]!, n);
    const out = new Uint8Array(n);
    const got = this.readInto(offset, out);
    return got === n ? out : out.subarray(0, got);
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const n = BigInt(into.length) > this.size - offset ? Number(this.size - offset) : into.length;
    let done = 0;
    let i = this.segmentAt(offset);
    while (done < n && i < this.parts.length) {
      const pos = offset + BigInt(done);
      const inSeg = pos - this.starts[i]!;
      const left = this.starts[i + 1]! - pos;
      const take = BigInt(n - done) > left ? Number(left) : n - done;
      const part = this.parts[i]!;
      const target = into.subarray(done, done + take);
      let got: number;
      if (part.readInto) got = part.readInto(inSeg, target);
      else {
        const b = part.read(inSeg, take);
        target.set(b);
        got = b.length;
      }
      done += got;
      // A segment shorter than it said (truncated while open): the whole ends here.
      if (got < take) break;
      i++;
    }
    return done;
  }

  readonly prefetch?: (ranges: readonly PrefetchRange[]) => void;

  private forward(ranges: readonly PrefetchRange[]): void {
    const bySegment = new Map<number, PrefetchRange[]>();
    for (const r of ranges) {
      if (r.offset < 0n || r.offset >= this.size) {
        void Promise.resolve().then(() => r.done(null, 0, false));
        continue;
      }
      const i = this.segmentAt(r.offset);
      const end = r.offset + BigInt(r.into.length);
      if (end > this.starts[i + 1]! && i + 1 < this.parts.length) {
        void Promise.resolve().then(() => r.done(new Error(`${this.name}: read-ahead range crosses a segment boundary`), 0, false));
        continue;
      }
      let list = bySegment.get(i);
      if (!list) bySegment.set(i, (list = []));
      list.push({ ...r, offset: r.offset - this.starts[i]! });
    }
    for (const [i, list] of bySegment) this.parts[i]!.prefetch!(list);
  }

  close(): void {
    for (const p of this.parts) p.close?.();
  }
}
