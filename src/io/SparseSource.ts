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

/** Runs as three parallel number arrays (image offset, length, place in `data`): no object per run. */
interface RunTable {
  count: number;
  offsets: Float64Array;
  lengths: Float64Array;
  places: Float64Array;
  data: Uint8Array;
}

export class SparseSource implements ByteSource {
  private readonly t: RunTable;
  constructor(
    readonly size: bigint,
    runs: ReadonlyArray<{ offset: number; bytes: Uint8Array }> | RunTable,
    readonly name = 'memory',
  ) {
    if (!Array.isArray(runs)) {
      this.t = runs as RunTable;
      return;
    }
    const list = runs as ReadonlyArray<{ offset: number; bytes: Uint8Array }>;
    const data = new Uint8Array(list.reduce((n, r) => n + r.bytes.length, 0));
    const t: RunTable = { count: list.length, offsets: new Float64Array(list.length), lengths: new Float64Array(list.length), places: new Float64Array(list.length), data };
    let pos = 0;
    list.forEach((r, i) => {
      t.offsets[i] = r.offset;
      t.lengths[i] = r.bytes.length;
      t.places[i] = pos;
      data.set(r.bytes, pos);
      pos += r.bytes.length;
    });
    this.t = t;
  }

  /**
   * Parses the decompressed runs format. Throws on malformed input. The index is scanned in
   * place into number arrays, not given to JSON.parse: a hostile 22 MiB gzip holds six million
   * runs, whose JSON arrays and per-run objects took 1.7 GiB (issue 25).
   */
  static fromRunsFormat(data: Uint8Array, name = 'memory'): SparseSource {
    const nl1 = data.indexOf(10);
    const magic = new TextDecoder().decode(data.subarray(0, nl1));
    if (magic !== 'btrfs-corpus-runs 1') throw new Error(`${name}: not a runs image (header "${magic.slice(0, 40)}")`);
    const nl2 = data.indexOf(10, nl1 + 1);
    if (nl2 < 0) throw new Error(`${name}: runs image has no index line`);
    // Every run holds at least one byte of the file, so an index longer than the file's bytes lies.
    if (nl2 - nl1 > MAX_INDEX_CHARS_PER_BYTE * (data.length - nl2) + 64)
      throw new Error(`${name}: runs image index line is ${nl2 - nl1} bytes, more than its ${data.length - nl2} bytes of runs can need`);
    // Two passes: the first checks the index and counts its runs, the second fills arrays of that size.
    const { size, count } = scanIndex(data, nl1 + 1, nl2);
    const t: RunTable = { count, offsets: new Float64Array(count), lengths: new Float64Array(count), places: new Float64Array(count), data };
    scanIndex(data, nl1 + 1, nl2, t);
    let pos = nl2 + 1;
    let last = -1;
    for (let i = 0; i < t.count; i++) {
      const offset = t.offsets[i]!;
      const length = t.lengths[i]!;
      if (!(offset > last) || offset + length > size || pos + length > data.length) {
        throw new Error(`${name}: runs image index is inconsistent at run offset ${String(offset)}`);
      }
      t.places[i] = pos;
      pos += length;
      last = offset + length - 1;
    }
    return new SparseSource(BigInt(size), t, name);
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
    const { count, offsets, lengths, places, data } = this.t;
    const n = out.length;
    const start = Number(offset);
    const end = start + n;
    // Binary search for the last run starting at or before `start`.
    let lo = 0,
      hi = count - 1,
      i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (offsets[mid]! <= start) {
        i = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    for (let r = Math.max(i, 0); r < count; r++) {
      const runOffset = offsets[r]!;
      if (runOffset >= end) break;
      const a = Math.max(start, runOffset);
      const b = Math.min(end, runOffset + lengths[r]!);
      const place = places[r]!;
      if (a < b) out.set(data.subarray(place + a - runOffset, place + b - runOffset), a - start);
    }
  }
}

/**
 * The index line {"size": N, "runs": [[offset, length], ...]} read from bytes [from, to): JSON
 * (any whitespace, key order, other members skipped), with `size` and every offset and length
 * a whole non-negative number; `into`: the runs stored there. Throws "its index is not JSON" or the shape it lacks.
 */
function scanIndex(b: Uint8Array, from: number, to: number, into?: RunTable): { size: number; count: number } {
  let p = from;
  const notJson = (): never => {
    throw new Error('its index is not JSON');
  };
  const ws = () => {
    while (p < to && (b[p] === 0x20 || b[p] === 0x0a || b[p] === 0x0d || b[p] === 0x09)) p++;
  };
  const expect = (c: number) => {
    ws();
    if (b[p] !== c) notJson();
    p++;
  };
  const string = (): string => {
    expect(0x22);
    const s = p;
    while (p < to && b[p] !== 0x22) p += b[p] === 0x5c ? 2 : 1;
    if (p >= to) notJson();
    const text = b.subarray(s, p++);
    try {
      return JSON.parse(`"${new TextDecoder().decode(text)}"`) as string;
    } catch {
      return notJson();
    }
  };
  /** A JSON number; anything else (a string, true, null, an array) is undefined and skipped. */
  const number = (): number | undefined => {
    ws();
    const s = p;
    // Digits alone (what every writer of the format makes) are summed here; other forms go to Number().
    let v = 0;
    let plain = true;
    for (; p < to; p++) {
      const c = b[p]!;
      if (c >= 0x30 && c <= 0x39) v = v * 10 + (c - 0x30);
      else if (c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) plain = false;
      else break;
    }
    if (p === s) {
      skip();
      return undefined;
    }
    if (plain) return v;
    const n = Number(new TextDecoder().decode(b.subarray(s, p)));
    return Number.isNaN(n) ? notJson() : n;
  };
  /** Skips one JSON value of any kind (nesting counted outside strings). */
  const skip = () => {
    ws();
    const c = b[p];
    if (c === 0x22) {
      string();
      return;
    }
    if (c === 0x5b || c === 0x7b) {
      let depth = 0;
      do {
        if (p >= to) notJson();
        const d = b[p]!;
        if (d === 0x22) {
          string();
          continue;
        }
        if (d === 0x5b || d === 0x7b) depth++;
        else if (d === 0x5d || d === 0x7d) depth--;
        p++;
      } while (depth > 0);
      return;
    }
    const s = p;
    while (p < to && b[p] !== 0x2c && b[p] !== 0x5d && b[p] !== 0x7d && b[p] !== 0x20 && b[p] !== 0x0a && b[p] !== 0x0d && b[p] !== 0x09) p++;
    if (p === s) notJson();
  };
  let size: unknown;
  let count: number | undefined;
  const shape = () => {
    throw new Error('its index has no whole-number size and runs list');
  };
  expect(0x7b);
  ws();
  if (b[p] === 0x7d) p++;
  else
    for (;;) {
      const key = string();
      expect(0x3a);
      if (key === 'size') size = number();
      else if (key === 'runs') {
        ws();
        if (b[p] !== 0x5b) {
          skip();
          count = undefined;
        } else count = runList();
      } else skip();
      ws();
      if (b[p] === 0x2c) {
        p++;
        continue;
      }
      expect(0x7d);
      break;
    }
  ws();
  if (p !== to) notJson();
  if (!isCount(size) || count === undefined) return shape();
  return { size, count };

  /** Counts the runs (into === undefined) or stores them into the arrays the count sized. */
  function runList(): number {
    let count = 0;
    const inconsistent = (at: unknown): never => {
      throw new Error(`runs image index is inconsistent at run offset ${String(at)}`);
    };
    expect(0x5b);
    ws();
    if (b[p] === 0x5d) p++;
    else
      for (;;) {
        ws();
        if (b[p] !== 0x5b) {
          skip();
          inconsistent(undefined);
        }
        p++;
        const offset = number();
        ws();
        if (b[p] !== 0x2c) inconsistent(offset);
        p++;
        const length = number();
        expect(0x5d);
        if (!isCount(offset) || !isCount(length)) inconsistent(offset);
        if (into) {
          into.offsets[count] = offset as number;
          into.lengths[count] = length as number;
        }
        count++;
        ws();
        if (b[p] === 0x2c) {
          p++;
          continue;
        }
        expect(0x5d);
        break;
      }
    return count;
  }
}
