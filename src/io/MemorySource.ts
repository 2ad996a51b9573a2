import type { ByteSource } from './ByteSource.js';

/** A source over bytes already in memory (tests, browsers, small images). */
export class MemorySource implements ByteSource {
  readonly size: bigint;
  constructor(
    private readonly bytes: Uint8Array,
    readonly name = 'memory',
  ) {
    this.size = BigInt(bytes.length);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const start = Number(offset);
    return this.bytes.subarray(start, Math.min(start + length, this.bytes.length));
  }
}
