/**
 * A structural check of zstd compressed blocks, run before fzstd decodes
 * them (RFC 8878 is the reference for every layout here).
 *
 * fzstd trusts its input: a block of a few bytes that declares tens of
 * thousands of sequences with huge match lengths keeps it copying for
 * minutes, and reads past the start of the sequence bitstream silently yield
 * zero bits. This pass decodes each block's literals header and its whole
 * sequence section (FSE tables, states, extra bits and repeat offsets, but no
 * literal or match bytes) and rejects the block unless, as the reference
 * decoder requires, the bitstream is consumed exactly, every match offset
 * points into data already produced, and the block decodes to at most
 * Block_Maximum_Size bytes. A block that passes is a bounded amount of work
 * for fzstd, whatever its bytes.
 */

export class ZstdFormatError extends Error {}

const fail = (msg: string): never => {
  throw new ZstdFormatError(msg);
};

/** An FSE decoding table: per state, the symbol, the bits to read and the base of the next state. */
interface FseTable {
  log: number;
  symbol: Uint8Array;
  nbBits: Uint8Array;
  base: Uint16Array;
}

function highBit(v: number): number {
  return 31 - Math.clz32(v);
}

/** Builds the decoding table of a normalized distribution (-1 = "less than one"). */
function buildTable(norm: readonly number[], log: number): FseTable {
  const size = 1 << log;
  const symbol = new Uint8Array(size);
  const nbBits = new Uint8Array(size);
  const base = new Uint16Array(size);
  const next = new Uint16Array(norm.length);
  let high = size - 1;
  for (let s = 0; s < norm.length; s++) {
    if (norm[s] === -1) {
      symbol[high--] = s;
      next[s] = 1;
    } else {
      next[s] = norm[s]!;
    }
  }
  const step = (size >>> 1) + (size >>> 3) + 3;
  const mask = size - 1;
  let pos = 0;
  for (let s = 0; s < norm.length; s++) {
    for (let i = 0; i < norm[s]!; i++) {
      symbol[pos] = s;
      do pos = (pos + step) & mask;
      while (pos > high);
    }
  }
  if (pos !== 0) fail('FSE table does not spread evenly');
  for (let u = 0; u < size; u++) {
    const n = next[symbol[u]!]!++;
    const b = log - highBit(n);
    nbBits[u] = b;
    base[u] = (n << b) - size;
  }
  return { log, symbol, nbBits, base };
}

function rleTable(sym: number): FseTable {
  return { log: 0, symbol: new Uint8Array([sym]), nbBits: new Uint8Array(1), base: new Uint16Array(1) };
}

/**
 * Reads an FSE table description at src[p...end) (forward bitstream).
 * Returns the table and the offset after the description.
 */
function readTable(src: Uint8Array, p: number, end: number, maxSymbol: number, maxLog: number, what: string): [FseTable, number] {
  const start = p;
  let bit = 0;
  const avail = (end - start) * 8;
  const read = (n: number): number => {
    if (bit + n > avail) fail(`${what} table description runs past the block`);
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v |= ((src[start + (bit >>> 3)]! >>> (bit & 7)) & 1) << i;
    return v;
  };
  const peek = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const b = bit + i;
      if (b < avail) v |= ((src[start + (b >>> 3)]! >>> (b & 7)) & 1) << i;
    }
    return v;
  };
  const log = read(4) + 5;
  if (log > maxLog) fail(`${what} table accuracy log ${log} exceeds ${maxLog}`);
  let remaining = (1 << log) + 1;
  let threshold = 1 << log;
  let nb = log + 1;
  const norm: number[] = [];
  let prevZero = false;
  while (remaining > 1 && norm.length <= maxSymbol) {
    if (prevZero) {
      let rep: number;
      do {
        rep = read(2);
        for (let i = 0; i < rep; i++) norm.push(0);
      } while (rep === 3);
      if (norm.length > maxSymbol) fail(`${what} table has symbols past ${maxSymbol}`);
    }
    const max = 2 * threshold - 1 - remaining;
    let count: number;
    const low = peek(nb - 1);
    if (low < max) {
      count = low;
      read(nb - 1);
    } else {
      count = read(nb);
      if (count >= threshold) count -= max;
    }
    count--;
    remaining -= count < 0 ? -count : count;
    norm.push(count);
    prevZero = count === 0;
    while (remaining < threshold) {
      nb--;
      threshold >>= 1;
    }
  }
  if (remaining !== 1) fail(`${what} table probabilities do not sum to the table size`);
  if (norm.length > maxSymbol + 1) fail(`${what} table has symbols past ${maxSymbol}`);
  return [buildTable(norm, log), start + ((bit + 7) >>> 3)];
}

const LL_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const ML_BITS = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const baselines = (bits: number[], first: number) => {
  const b: number[] = [];
  let v = first;
  for (const n of bits) {
    b.push(v);
    v += 1 << n;
  }
  return b;
};
const LL_BASE = baselines(LL_BITS, 0);
const ML_BASE = baselines(ML_BITS, 3);
const LL_MAX = 35;
const ML_MAX = 52;
const OF_MAX = 31;

// Predefined distributions (RFC 8878 3.1.1.3.2.2).
const LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1];
const ML_DEFAULT = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1];
const OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1];
let defaults: [FseTable, FseTable, FseTable] | null = null;
function defaultTables(): [FseTable, FseTable, FseTable] {
  defaults ??= [buildTable(LL_DEFAULT, 6), buildTable(OF_DEFAULT, 5), buildTable(ML_DEFAULT, 6)];
  return defaults;
}

/**
 * Checks a Huffman tree description at src[p, end). Weights compressed with
 * FSE are decoded the way fzstd decodes them (two interleaved states, stopping
 * when the bitstream is used up): a table whose states read no bits would
 * never use it up and keep fzstd looping forever, so more than 255 weights
 * is an error here.
 */
function checkHuffmanTree(src: Uint8Array, p: number, end: number): void {
  if (p >= end) fail('Huffman tree description missing');
  const hb = src[p]!;
  if (hb >= 128) {
    if (1 + Math.ceil((hb - 127) / 2) > end - p) fail('Huffman weights run past the literals');
    return;
  }
  const wEnd = p + 1 + hb;
  if (hb === 0 || wEnd > end) fail('Huffman weights run past the literals');
  const [t, q] = readTable(src, p + 1, wEnd, 255, 6, 'Huffman weight');
  const last = src[wEnd - 1]!;
  if (last === 0 || q >= wEnd) fail('Huffman weight bitstream has no end marker');
  const start = q * 8;
  let pos = (wEnd - 1) * 8 + highBit(last);
  const bits = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const b = pos + i;
      v |= ((src[b >>> 3]! >>> (b & 7)) & 1) << i;
    }
    return v;
  };
  let s1 = 0;
  let s2 = 0;
  let n1 = t.log;
  let n2 = t.log;
  for (let weights = 0; ; weights += 2) {
    if (weights > 255) fail('Huffman weights never end');
    pos -= n1;
    if (pos < start) break;
    s1 += bits(n1);
    pos -= n2;
    if (pos < start) break;
    s2 += bits(n2);
    if (s1 >= t.symbol.length || s2 >= t.symbol.length) fail('Huffman weight state out of range');
    n1 = t.nbBits[s1]!;
    s1 = t.base[s1]!;
    n2 = t.nbBits[s2]!;
    s2 = t.base[s2]!;
  }
}

/** What carries from one block of a frame to the next. */
export interface FrameState {
  /** Bytes the frame has produced before the current block. */
  produced: number;
  /** Literal-length, offset and match-length tables of the last block with sequences. */
  tables: [FseTable | null, FseTable | null, FseTable | null];
  /** Whether a Huffman table exists (for treeless literals). */
  huffman: boolean;
  rep: [number, number, number];
}

export function newFrameState(): FrameState {
  return { produced: 0, tables: [null, null, null], huffman: false, rep: [1, 4, 8] };
}

/**
 * Checks the compressed block src[p, end) of a frame whose blocks may each
 * produce at most blockMax bytes and whose window is windowSize bytes.
 * Returns the number of bytes the block decodes to and updates the state.
 */
export function checkCompressedBlock(src: Uint8Array, p: number, end: number, blockMax: number, windowSize: number, st: FrameState): number {
  // Literals section header.
  if (p >= end) fail('empty compressed block');
  const b0 = src[p]!;
  const litType = b0 & 3;
  const sizeFormat = (b0 >>> 2) & 3;
  let regen: number;
  let litBytes: number;
  if (litType < 2) {
    let hdr: number;
    if ((sizeFormat & 1) === 0) {
      regen = b0 >>> 3;
      hdr = 1;
    } else if (sizeFormat === 1) {
      hdr = 2;
      regen = (b0 >>> 4) + ((src[p + 1] ?? 0) << 4);
    } else {
      hdr = 3;
      regen = (b0 >>> 4) + ((src[p + 1] ?? 0) << 4) + ((src[p + 2] ?? 0) << 12);
    }
    if (end - p < hdr) fail('literals header runs past the block');
    litBytes = litType === 0 ? regen : 1;
    p += hdr;
  } else {
    const hdr = sizeFormat < 2 ? 3 : sizeFormat === 2 ? 4 : 5;
    if (end - p < hdr) fail('literals header runs past the block');
    const b1 = src[p + 1]!;
    const b2 = src[p + 2]!;
    if (hdr === 3) {
      regen = (b0 >>> 4) + ((b1 & 0x3f) << 4);
      litBytes = (b1 >>> 6) + (b2 << 2);
    } else if (hdr === 4) {
      const b3 = src[p + 3]!;
      regen = (b0 >>> 4) + (b1 << 4) + ((b2 & 3) << 12);
      litBytes = (b2 >>> 2) + (b3 << 6);
    } else {
      const b3 = src[p + 3]!;
      const b4 = src[p + 4]!;
      regen = (b0 >>> 4) + (b1 << 4) + ((b2 & 0x3f) << 12);
      litBytes = (b2 >>> 6) + (b3 << 2) + (b4 << 10);
    }
    if (litType === 3 && !st.huffman) fail('treeless literals with no previous Huffman table');
    p += hdr;
    if (litType === 2) {
      if (litBytes > end - p) fail('literals run past the block');
      checkHuffmanTree(src, p, p + litBytes);
      st.huffman = true;
    }
  }
  if (regen > blockMax) fail(`block has ${regen} literals, more than the ${blockMax}-byte block limit`);
  if (litBytes > end - p) fail('literals run past the block');
  p += litBytes;

  // Sequences section header.
  if (p >= end) fail('sequences section missing');
  let ns = src[p++]!;
  if (ns >= 128) {
    if (ns < 255) {
      if (p >= end) fail('sequence count runs past the block');
      ns = ((ns - 128) << 8) + src[p++]!;
    } else {
      if (end - p < 2) fail('sequence count runs past the block');
      ns = src[p]! + (src[p + 1]! << 8) + 0x7f00;
      p += 2;
    }
  }
  if (ns === 0) {
    if (p !== end) fail(`${end - p} bytes after a block with no sequences`);
    st.produced += regen;
    return regen;
  }
  // Every sequence produces at least a 3-byte match.
  if (ns * 3 > blockMax) fail(`block declares ${ns} sequences, more than its ${blockMax}-byte limit allows`);
  if (p >= end) fail('sequence modes run past the block');
  const modes = src[p++]!;
  if (modes & 3) fail('reserved bits set in the sequence compression modes');
  const maxSym = [LL_MAX, OF_MAX, ML_MAX];
  const maxLog = [9, 8, 9];
  const names = ['literal length', 'offset', 'match length'];
  const tables = st.tables;
  for (let k = 0; k < 3; k++) {
    const mode = (modes >>> (6 - 2 * k)) & 3;
    if (mode === 0) tables[k] = defaultTables()[k]!;
    else if (mode === 1) {
      if (p >= end) fail(`${names[k]} RLE symbol runs past the block`);
      const s = src[p++]!;
      if (s > maxSym[k]!) fail(`${names[k]} RLE symbol ${s} out of range`);
      tables[k] = rleTable(s);
    } else if (mode === 2) {
      [tables[k], p] = readTable(src, p, end, maxSym[k]!, maxLog[k]!, names[k]!);
    } else if (!tables[k]) {
      fail(`${names[k]} table repeated but none was defined`);
    }
  }
  const [ll, of, ml] = tables as [FseTable, FseTable, FseTable];

  // The sequence bitstream is read backward from its last byte's highest set bit.
  if (p >= end) fail('sequence bitstream missing');
  const last = src[end - 1]!;
  if (last === 0) fail('sequence bitstream has no end marker');
  const base = p;
  let pos = (end - 1 - base) * 8 + highBit(last);
  // Reads n <= 24 bits ending at the current position (bytes past the block are masked off).
  const read = (n: number): number => {
    pos -= n;
    if (pos < 0) fail('sequence bitstream overread');
    const i = base + (pos >>> 3);
    return ((src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)) >>> (pos & 7)) & ((1 << n) - 1);
  };
  let sLL = read(ll.log);
  let sOF = read(of.log);
  let sML = read(ml.log);
  let out = 0;
  let litUsed = 0;
  const rep = st.rep;
  for (let i = 0; i < ns; i++) {
    const ofCode = of.symbol[sOF]!;
    const mlCode = ml.symbol[sML]!;
    const llCode = ll.symbol[sLL]!;
    if (ofCode > OF_MAX) fail(`offset code ${ofCode} out of range`);
    const ofValue = ofCode <= 24 ? (1 << ofCode) + read(ofCode) : 2 ** ofCode + read(ofCode - 24) * 0x1000000 + read(24);
    const mlen = ML_BASE[mlCode]! + read(ML_BITS[mlCode]!);
    const llen = LL_BASE[llCode]! + read(LL_BITS[llCode]!);
    let offset: number;
    if (ofValue > 3) {
      offset = ofValue - 3;
      rep[2] = rep[1];
      rep[1] = rep[0];
      rep[0] = offset;
    } else {
      const idx = ofValue - (llen !== 0 ? 1 : 0);
      if (idx === 0) offset = rep[0];
      else {
        offset = idx === 3 ? rep[0] - 1 : rep[idx]!;
        if (idx > 1) rep[2] = rep[1];
        rep[1] = rep[0];
        rep[0] = offset;
      }
    }
    litUsed += llen;
    if (litUsed > regen) fail(`sequences use more literals than the block's ${regen}`);
    out += llen;
    if (offset === 0 || offset > st.produced + out || offset > windowSize) {
      fail(`match offset ${offset} reaches before the start of the frame or window`);
    }
    out += mlen;
    if (out + (regen - litUsed) > blockMax) fail(`block decodes to more than its ${blockMax}-byte limit`);
    if (i !== ns - 1) {
      sLL = ll.base[sLL]! + read(ll.nbBits[sLL]!);
      sML = ml.base[sML]! + read(ml.nbBits[sML]!);
      sOF = of.base[sOF]! + read(of.nbBits[sOF]!);
    }
  }
  if (pos !== 0) fail(`${pos} bits of the sequence bitstream left unread`);
  const total = out + (regen - litUsed);
  st.produced += total;
  return total;
}
