/** The share of a source's decoded-block cache that decoding ahead may fill (a quarter). */
const AHEAD_SHARE = 4;

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

  /**
   * A block to decode ahead: a function that decodes it off this thread (its compressed bytes
   * already read), or null when there is nothing to do (a plain, zero or cached block, or a codec
   * with no asynchronous form). May throw for damage: the block is then left to the read.
   */
  protected aheadJob(_block: number): (() => Promise<Uint8Array>) | null {
    return null;
  }

  /** Keeps a block decoded ahead in the source's cache, where the read will find it. */
  protected keepDecoded(_block: number, _data: Uint8Array): void {}

  /** ByteSource.decodeAhead: set by a source whose codecs decode asynchronously (enableDecodeAhead). */
  decodeAhead?: (ranges: readonly { offset: bigint; length: number }[]) => Promise<void>;

  /** Blocks being decoded ahead: a second request for one waits for the first. */
  private readonly decoding = new Map<number, Promise<void>>();
  /** Decoded bytes in flight, and the requests waiting for room. */
  private aheadBytes = 0;
  private readonly waiting: (() => void)[] = [];

  /**
   * Turns decodeAhead on for a source whose decoded blocks are cached within `cacheBytes`. A
   * share of that bounds both the decoded bytes in flight at once and the blocks one call asks
   * for: what is decoded ahead must still be in the cache when the read that wants it comes.
   */
  protected enableDecodeAhead(cacheBytes: number): void {
    const maxBytes = Math.floor(cacheBytes / AHEAD_SHARE);
    this.decodeAhead = (ranges) => this.decodeBlocksAhead(ranges, maxBytes);
  }

  private async decodeBlocksAhead(ranges: readonly { offset: bigint; length: number }[], maxBytes: number): Promise<void> {
    const bs = BigInt(this.blockBytes);
    const waits: Promise<void>[] = [];
    let asked = 0;
    for (const r of ranges) {
      if (r.offset < 0n || r.offset >= this.size || r.length <= 0) continue;
      const end = r.offset + BigInt(r.length) > this.size ? this.size : r.offset + BigInt(r.length);
      const last = Number((end - 1n) / bs);
      for (let block = Number(r.offset / bs); block <= last && asked < maxBytes; block++, asked += this.blockBytes) {
        const running = this.decoding.get(block);
        if (running) {
          waits.push(running);
          continue;
        }
        let job: (() => Promise<Uint8Array>) | null;
        try {
          job = this.aheadJob(block);
        } catch {
          job = null; // damage: the read that follows reports it, located
        }
        if (!job) continue;
        const p = this.runAhead(block, job, maxBytes);
        this.decoding.set(block, p);
        waits.push(p);
      }
    }
    await Promise.all(waits);
  }

  /** Decodes one block when there is room for it in flight; never rejects. */
  private async runAhead(block: number, job: () => Promise<Uint8Array>, maxBytes: number): Promise<void> {
    while (this.aheadBytes > 0 && this.aheadBytes + this.blockBytes > maxBytes) await new Promise<void>((go) => this.waiting.push(go));
    this.aheadBytes += this.blockBytes;
    try {
      this.keepDecoded(block, await job());
    } catch {
      // Damage (or a codec that failed): the synchronous read decodes it again and reports it.
    } finally {
      this.aheadBytes -= this.blockBytes;
      this.decoding.delete(block);
      this.waiting.shift()?.();
    }
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
