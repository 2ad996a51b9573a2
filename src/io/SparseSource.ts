import type { ByteSource } from './ByteSource.js';

/**
 * A large, mostly-zero image held as runs of non-zero bytes: how the sample
 * images and the shared corpus are stored ("btrfs-corpus-runs 1": a header
 * line, a JSON line {"size", "runs": [[offset, length], ...]}, then the bytes
 * of every run in order). Everything outside the runs reads as zero.
 */
/** An index entry "[offset, length]," is at most this many characters per byte of run data it describes (31 digits + punctuation for a 1-byte run). */
const MAX_INDEX_CHARS_PER_BYTE = 40;

/** A whole number a double holds exactly: sizes and offsets of the runs format. */
function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export class SparseSource implements ByteSource {
  private readonly starts: number[];
  constructor(
    readonly size: bigint,
    private readonly runs: ReadonlyArray<{ offset: number; bytes: Uint8Array }>,
    readonly name = 'memory',
  ) {
    this.starts = runs.map((r) => r.offset);
  }

  /** Parses the decompressed runs format. Throws on malformed input. */
  static fromRunsFormat(data: Uint8Array, name = 'memory'): SparseSource {
    const nl1 = data.indexOf(10);
    const magic = new TextDecoder().decode(data.subarray(0, nl1));
    if (magic !== 'btrfs-corpus-runs 1') throw new Error(`${name}: not a runs image (header "${magic.slice(0, 40)}")`);
    const nl2 = data.indexOf(10, nl1 + 1);
    if (nl2 < 0) throw new Error(`${name}: runs image has no index line`);
    // Every run holds at least one byte of the file, so an index longer than the file's bytes lies.
    if (nl2 - nl1 > MAX_INDEX_CHARS_PER_BYTE * (data.length - nl2) + 64)
      throw new Error(`${name}: runs image index line is ${nl2 - nl1} bytes, more than its ${data.length - nl2} bytes of runs can need`);
    let head: unknown;
    try {
      head = JSON.parse(new TextDecoder().decode(data.subarray(nl1 + 1, nl2)));
    } catch {
      throw new Error('its index is not JSON');
    }
    const { size, runs: index } = (head ?? {}) as { size?: unknown; runs?: unknown };
    if (!isCount(size) || !Array.isArray(index)) throw new Error('its index has no whole-number size and runs list');
    let pos = nl2 + 1;
    const runs: { offset: number; bytes: Uint8Array }[] = [];
    let last = -1;
    for (const run of index as unknown[]) {
      const [offset, length] = Array.isArray(run) ? (run as unknown[]) : [];
      if (!isCount(offset) || !isCount(length) || !(offset > last) || offset + length > size || pos + length > data.length) {
        throw new Error(`${name}: runs image index is inconsistent at run offset ${String(offset)}`);
      }
      runs.push({ offset, bytes: data.subarray(pos, pos + length) });
      pos += length;
      last = offset + length - 1;
    }
    return new SparseSource(BigInt(size), runs, name);
  }

  read(offset: bigint, length: number): Uint8Array {
    if (offset < 0n || offset >= this.size || length <= 0) return new Uint8Array(0);
    const remain = this.size - offset;
    const out = new Uint8Array(BigInt(length) > remain ? Number(remain) : length);
    this.fill(offset, out);
    return out;
  }

  readInto(offset: bigint, into: Uint8Array): number {
    if (offset < 0n || offset >= this.size || into.length === 0) return 0;
    const remain = this.size - offset;
    const out = BigInt(into.length) > remain ? into.subarray(0, Number(remain)) : into;
    // A reused buffer holds the last read: the gaps between runs must be zeroed here.
    out.fill(0);
    this.fill(offset, out);
    return out.length;
  }

  /** Copies the runs' bytes that fall in [offset, +out.length) into `out` (which reads as zeros elsewhere). */
  private fill(offset: bigint, out: Uint8Array): void {
    const n = out.length;
    const start = Number(offset);
    const end = start + n;
    // Binary search for the last run starting at or before `start`.
    let lo = 0,
      hi = this.starts.length - 1,
      i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= start) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let r = Math.max(i, 0); r < this.runs.length; r++) {
      const run = this.runs[r]!;
      if (run.offset >= end) break;
      const a = Math.max(start, run.offset);
      const b = Math.min(end, run.offset + run.bytes.length);
      if (a < b) out.set(run.bytes.subarray(a - run.offset, b - run.offset), a - start);
    }
  }
}
