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

  /**
   * Where block `block` lies as it is (stored whole, uncompressed) in the container's file, or
   * null: blocks stored back to back there are read with one `readPlain` instead of one read
   * per block (a qcow2's 64 KiB clusters are mostly allocated in guest order).
   */
  protected plainAt(_block: number): bigint | null {
    return null;
  }

  /** Reads `out` from the container's file at `at` (a run of plain blocks; `pos` is the disk offset, for messages). */
  protected readPlain(_at: bigint, _out: Uint8Array, _pos: bigint): void {
    throw new Error('readPlain: a source that has plain blocks reads them');
  }

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
      let take = Math.min(out.length - done, this.blockBytes - inBlock);
      const host = this.plainAt(block);
      if (host === null) {
        this.fillBlock(block, inBlock, out.subarray(done, done + take), offset + BigInt(done));
        done += take;
        continue;
      }
      // Following blocks stored right after this one join the read.
      for (let next = host + bs; done + take < out.length && this.plainAt(block + 1) === next; next += bs) {
        block++;
        take += Math.min(out.length - done - take, this.blockBytes);
      }
      this.readPlain(host + BigInt(inBlock), out.subarray(done, done + take), offset + BigInt(done));
      done += take;
    }
  }
}
