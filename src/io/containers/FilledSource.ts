/**
 * A container's disk assembled piece by piece (qcow2 clusters, EWF chunks,
 * VMDK grains, VHD/VHDX blocks) by `fill`: `read` and `readInto` clip a
 * request to the disk's size and hand the rest to it, the same for every
 * format.
 */
export abstract class FilledSource {
  abstract readonly size: bigint;

  /** Fills `out` with the disk's bytes at `offset`; the range lies inside the disk. */
  protected abstract fill(offset: bigint, out: Uint8Array): void;

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const n = BigInt(length) > this.size - offset ? Number(this.size - offset) : length;
    const out = new Uint8Array(n);
    this.fill(offset, out);
    return out;
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const n = BigInt(into.length) > this.size - offset ? Number(this.size - offset) : into.length;
    this.fill(offset, into.subarray(0, n));
    return n;
  }
}
