/**
 * A container's disk assembled block by block (qcow2 clusters, EWF chunks,
 * VMDK grains, VHD/VHDX blocks): `read` and `readInto` clip a request to the
 * disk's size and cut the rest at block boundaries, handing each piece to
 * `fillBlock`, the same for every format.
 */
export abstract class FilledSource {
  abstract readonly size: bigint;

  /** Bytes per block: every container's are a power of two or a whole number of sectors, and fit a Number. */
  protected abstract readonly blockBytes: number;

  /**
   * Fills `out` with block `block`'s bytes from `inBlock` on (`out` never
   * crosses the block's end); `pos` is the disk offset of `out[0]`.
   */
  protected abstract fillBlock(block: number, inBlock: number, out: Uint8Array, pos: bigint): void;

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

  /** Fills `out` (inside the disk) block by block. */
  private fill(offset: bigint, out: Uint8Array): void {
    const bs = BigInt(this.blockBytes);
    let block = Number(offset / bs);
    let inBlock = Number(offset % bs);
    for (let done = 0; done < out.length; block++, inBlock = 0) {
      const take = Math.min(out.length - done, this.blockBytes - inBlock);
      this.fillBlock(block, inBlock, out.subarray(done, done + take), offset + BigInt(done));
      done += take;
    }
  }
}
