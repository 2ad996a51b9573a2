import { md5, sha1 } from '@noble/hashes/legacy.js';
import { inflateSync } from 'fflate';
import type { ByteSource } from '../ByteSource.js';
import { ByteLru } from './ByteLru.js';
import { ContainerError } from './ContainerError.js';
import { CodecError, type ContainerCodecs, defaultCodecs } from './codecs.js';
import { FilledSource } from './FilledSource.js';

/**
 * EWF (Expert Witness Compression Format, EnCase 1-6 "E01" and SMART "S01"),
 * from libewf's "Expert Witness Compression Format (EWF)" documentation. A
 * set of segment files (.E01, .E02, ... .E99, .EAA, ...), each a 13-byte file
 * header then a chain of sections, each starting with a 76-byte descriptor
 * (type, next section's offset, size, Adler-32). The media is cut into chunks
 * (sectors per chunk x bytes per sector); "table" sections list where each
 * chunk lies in its segment and whether it is zlib-compressed; a stored
 * chunk is followed by its Adler-32. Everything is little-endian.
 */

/** File header: signature "EVF\x09\x0d\x0a\xff\x00", 0x01, segment number (u16), 0x0000. */
const EWF_SIGNATURE = [0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00];
const FILE_HEADER = 13;
const SEGMENT_NUMBER = 9;

/** Section descriptor: type (16 bytes), next offset (u64, from the file start), size (u64), padding, Adler-32 of the 72 bytes before it. */
const D = { type: 0, next: 16, size: 24, checksum: 72, length: 76 } as const;
/** Volume/disk/data section fields after the descriptor (libewf: EWF-E01 volume). */
const V = { mediaType: 0, chunkCount: 4, sectorsPerChunk: 8, bytesPerSector: 12, sectorCount: 16 } as const;
/** Table section: entry count (u32), padding, base offset (u64), padding, Adler-32; then the u32 entries (bit 31: compressed). */
const T = { count: 0, base: 8, header: 24 } as const;
const ENTRY_COMPRESSED = 0x80000000;

/** EnCase's largest chunk is 32768 sectors of 512 bytes; larger is damage. */
const MAX_CHUNK = 16 << 20;
const MAX_MEDIA = 1n << 56n;
/** Header sections are a few hundred bytes of text; more is refused rather than inflated. */
const MAX_HEADER_TEXT = 1 << 20;
/** libewf's last extension, .ZZZ: 14971 segments. */
export const MAX_EWF_SEGMENTS = 14971;
const DEFAULT_CACHE_BYTES = 32 << 20;

/** EWF2 (EnCase 7 .Ex01/.Lx01) signatures "EVF2\r\n\x81\x00" and "LEF2\r\n\x81\x00" (libewf's EWF2 documentation). */
export function hasEwf2Magic(head: Uint8Array): boolean {
  if (head.length < 8) return false;
  const sig = String.fromCharCode(...head.subarray(0, 4));
  return (sig === 'EVF2' || sig === 'LEF2') && head[4] === 0x0d && head[5] === 0x0a && head[6] === 0x81 && head[7] === 0x00;
}

export function hasEwfMagic(head: Uint8Array): boolean {
  return head.length >= FILE_HEADER && EWF_SIGNATURE.every((b, i) => head[i] === b);
}

/**
 * The name of segment `n` (1-based) of the set whose first segment is `first`:
 * .E01 ... .E99, then .EAA ... .EZZ, .FAA ... .ZZZ (keeping the first's case).
 */
export function ewfSegmentName(first: string, n: number): string | null {
  const m = /^(.*\.)([A-Za-z])01$/.exec(first);
  if (!m || n < 1 || n > MAX_EWF_SEGMENTS) return null;
  const [, stem, letter] = m as unknown as [string, string, string];
  const lower = letter === letter.toLowerCase();
  let ext: string;
  if (n <= 99) ext = letter + String(n).padStart(2, '0');
  else {
    const k = n - 100;
    const a = 'A'.charCodeAt(0);
    const firstCode = letter.toUpperCase().charCodeAt(0) + Math.floor(k / 676);
    if (firstCode > 'Z'.charCodeAt(0)) return null;
    ext = String.fromCharCode(firstCode, a + Math.floor((k % 676) / 26), a + (k % 26));
  }
  return stem + (lower ? ext.toLowerCase() : ext.toUpperCase());
}

/** Adler-32 (RFC 1950), which every EWF descriptor, table and stored chunk carries. */
export function adler32(b: Uint8Array): number {
  let a = 1,
    s = 0;
  for (let i = 0; i < b.length; ) {
    // 5552 bytes is the most before the sums can pass 2^32 (zlib's NMAX).
    const end = Math.min(b.length, i + 5552);
    // 16 bytes a step (every stored chunk is summed: this is most of an E01's read cost after
    // inflation): a grows by their sum, s by 16 a plus each byte weighted by how many of the 16
    // running sums it enters, the same as 16 single steps.
    for (; i + 16 <= end; i += 16) {
      const x0 = b[i]!,
        x1 = b[i + 1]!,
        x2 = b[i + 2]!,
        x3 = b[i + 3]!,
        x4 = b[i + 4]!,
        x5 = b[i + 5]!,
        x6 = b[i + 6]!,
        x7 = b[i + 7]!;
      const x8 = b[i + 8]!,
        x9 = b[i + 9]!,
        x10 = b[i + 10]!,
        x11 = b[i + 11]!,
        x12 = b[i + 12]!,
        x13 = b[i + 13]!,
        x14 = b[i + 14]!,
        x15 = b[i + 15]!;
      s += 16 * a + 16 * x0 + 15 * x1 + 14 * x2 + 13 * x3 + 12 * x4 + 11 * x5 + 10 * x6 + 9 * x7 + 8 * x8 + 7 * x9 + 6 * x10 + 5 * x11 + 4 * x12 + 3 * x13 + 2 * x14 + x15;
      a += x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15;
    }
    for (; i < end; i++) {
      a += b[i]!;
      s += a;
    }
    a %= 65521;
    s %= 65521;
  }
  return ((s << 16) | a) >>> 0;
}

/** What the acquisition recorded: case metadata, media geometry, hashes. */
export interface EwfInfo {
  format: 'ewf';
  segments: number;
  mediaSize: bigint;
  bytesPerSector: number;
  sectorsPerChunk: number;
  chunks: number;
  compressedChunks: number;
  /** Header values by their EWF identifier, named: caseNumber (c), evidenceNumber (n), description (a), examiner (e), notes (t), ... */
  caseNumber?: string;
  evidenceNumber?: string;
  description?: string;
  examiner?: string;
  notes?: string;
  acquiredOn?: string;
  software?: string;
  /** Acquisition date as the header states it (an ISO time when it is a Unix time, as header2 writes it). */
  acquired?: string;
  systemDate?: string;
  /** The acquisition's hashes (hash and digest sections), lower-case hex. */
  md5?: string;
  sha1?: string;
  /** Sectors the acquisition could not read (error2 section): zeros in the image. */
  readErrors: { sector: bigint; count: number }[];
}

interface Chunk {
  segment: number;
  offset: number;
  length: number;
  compressed: boolean;
}

/** A running hash (node:crypto's Hash and @noble/hashes' both fit). */
export interface EwfHash {
  update(b: Uint8Array): unknown;
  digest(): Uint8Array;
}
export interface EwfHashers {
  md5(): EwfHash;
  sha1(): EwfHash;
}

export interface EwfOptions {
  codecs?: ContainerCodecs;
  cacheBytes?: number;
}

/** An EWF segment set read as the media it holds. */
export class EwfSource extends FilledSource implements ByteSource {
  readonly name: string;
  readonly size: bigint;
  private readonly chunkSize: number;
  protected readonly blockBytes: number;
  private readonly chunks: Chunk[] = [];
  private readonly cache: ByteLru<number>;
  private readonly codecs: ContainerCodecs;
  private readonly meta: EwfInfo;

  /**
   * `segments[0]` is the .E01 file; `openSegment(n)` opens segment n (2, 3, ...)
   * or returns null when it does not exist. Refuses (ContainerError) a set
   * whose sections, tables or segment numbers are inconsistent.
   */
  constructor(
    private readonly segments: ByteSource[],
    openSegment: (n: number) => ByteSource | null,
    opts: EwfOptions = {},
  ) {
    super();
    this.name = segments[0]!.name;
    this.codecs = opts.codecs ?? defaultCodecs;
    this.cache = new ByteLru(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    const meta: EwfInfo = { format: 'ewf', segments: 0, mediaSize: 0n, bytesPerSector: 0, sectorsPerChunk: 0, chunks: 0, compressedChunks: 0, readErrors: [] };
    let volume: { chunkSize: number; mediaSize: bigint; chunkCount: number } | null = null;
    let headerText: string | null = null;
    let header2Text: string | null = null;

    for (let n = 1; ; n++) {
      if (n > MAX_EWF_SEGMENTS) this.fail(0, 0n, `more than ${MAX_EWF_SEGMENTS} segments`);
      let seg = this.segments[n - 1];
      if (!seg) {
        const opened = openSegment(n);
        if (!opened) this.fail(n - 1, 0n, `segment ${n - 1} ends with a "next" section, but segment ${n} does not exist; an EWF set needs every segment file`);
        seg = opened;
        this.segments.push(seg);
      }
      const head = seg.read(0n, FILE_HEADER);
      if (!hasEwfMagic(head)) this.fail(n, 0n, `segment ${n} (${seg.name}) is not an EWF segment file`);
      const number = head[SEGMENT_NUMBER]! | (head[SEGMENT_NUMBER + 1]! << 8);
      if (number !== n) this.fail(n, 9n, `segment file ${seg.name} says it is segment ${number}, not ${n}${n === 1 ? '; give the first segment (.E01)' : ''}`);

      let lastSectors: { start: number; end: number } | null = null;
      let ended: 'next' | 'done' | null = null;
      for (let off = FILE_HEADER; ; ) {
        const d = seg.read(BigInt(off), D.length);
        if (d.length < D.length) this.fail(n, BigInt(off), `section descriptor at ${off} is cut short by the end of ${seg.name} (${seg.size} bytes): the segment is truncated`);
        if (adler32(d.subarray(0, D.checksum)) !== le32(d, D.checksum)) this.fail(n, BigInt(off), `section descriptor at ${off} of ${seg.name} has a wrong checksum`);
        const type = new TextDecoder().decode(d.subarray(0, 16)).replace(/\0.*$/s, '');
        const next = le64(d, D.next);
        const size = le64(d, D.size);
        const dataStart = off + D.length;
        // The section's data ends at the next section (a "done" or "next" section points at itself).
        const end = next > BigInt(off) ? Number(next) : Number(seg.size);
        if (type === 'done' || type === 'next') {
          if (next !== BigInt(off)) this.fail(n, BigInt(off), `"${type}" section at ${off} points to ${next}, not to itself`);
          ended = type;
          break;
        }
        if (next <= BigInt(off)) this.fail(n, BigInt(off), `section chain loops: "${type}" section at ${off} points back to ${next}`);
        if (next > seg.size) this.fail(n, BigInt(off), `"${type}" section at ${off} points to ${next}, past the end of ${seg.name} (${seg.size} bytes): the segment is truncated`);
        if (size > next - BigInt(off)) this.fail(n, BigInt(off), `"${type}" section at ${off} is ${size} bytes, more than the ${next - BigInt(off)} before the next section`);
        const dataLength = Math.min(Number(size) || end - off, end - off) - D.length;
        switch (type) {
          case 'header':
          case 'header2':
            if (n === 1 && dataLength <= MAX_HEADER_TEXT) {
              const text = inflateHeader(seg.read(BigInt(dataStart), dataLength), type === 'header2');
              if (type === 'header') headerText ??= text;
              else header2Text ??= text;
            }
            break;
          case 'volume':
          case 'disk':
          case 'data':
            if (!volume) {
              volume = this.volume(seg.read(BigInt(dataStart), 24), n, dataStart);
              meta.bytesPerSector = le32(seg.read(BigInt(dataStart + V.bytesPerSector), 4), 0);
              meta.sectorsPerChunk = le32(seg.read(BigInt(dataStart + V.sectorsPerChunk), 4), 0);
            }
            break;
          case 'sectors':
            lastSectors = { start: dataStart, end: off + Math.max(Number(size), D.length) };
            break;
          case 'table':
            if (!volume) this.fail(n, BigInt(off), 'table section before any volume section');
            this.table(seg, n, dataStart, dataLength, lastSectors ?? { start: dataStart, end }, volume);
            break;
          case 'hash':
            meta.md5 ??= hex(seg.read(BigInt(dataStart), 16));
            break;
          case 'digest': {
            const b = seg.read(BigInt(dataStart), 36);
            meta.md5 = hex(b.subarray(0, 16));
            if (b.subarray(16, 36).some((x) => x !== 0)) meta.sha1 = hex(b.subarray(16, 36));
            break;
          }
          case 'error2':
            this.errors(seg.read(BigInt(dataStart), Math.min(dataLength, 1 << 20)), meta.readErrors);
            break;
          default:
            // table2 mirrors table; ltree, session and others say nothing about the media's bytes.
            break;
        }
        off = Number(next);
      }
      meta.segments = n;
      if (ended === 'done') break;
    }
    if (!volume) this.fail(1, 0n, 'no volume section: the media size is unknown');
    if (this.chunks.length < volume.chunkCount) this.fail(meta.segments, 0n, `the set holds ${this.chunks.length} of the ${volume.chunkCount} chunks its volume section announces`);
    this.chunkSize = this.blockBytes = volume.chunkSize;
    this.size = volume.mediaSize;
    meta.mediaSize = volume.mediaSize;
    meta.chunks = volume.chunkCount;
    meta.compressedChunks = this.chunks.filter((c) => c.compressed).length;
    Object.assign(meta, headerValues(header2Text ?? headerText));
    this.meta = meta;
    if (this.codecs.async && meta.compressedChunks > 0) this.enableDecodeAhead(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
  }

  private fail(segment: number, offset: bigint, why: string): never {
    const seg = this.segments[segment - 1];
    throw new ContainerError(seg ? seg.name : this.name, offset, `EWF: ${why}`);
  }

  private volume(v: Uint8Array, n: number, at: number): { chunkSize: number; mediaSize: bigint; chunkCount: number } {
    if (v.length < 24) this.fail(n, BigInt(at), 'volume section is cut short');
    const spc = le32(v, V.sectorsPerChunk);
    const bps = le32(v, V.bytesPerSector);
    const sectors = le64(v, V.sectorCount);
    const chunkSize = spc * bps;
    if (spc === 0 || bps === 0 || chunkSize > MAX_CHUNK) this.fail(n, BigInt(at), `volume section: ${spc} sectors of ${bps} bytes per chunk is not a chunk size up to ${MAX_CHUNK}`);
    const mediaSize = sectors * BigInt(bps);
    if (mediaSize > MAX_MEDIA) this.fail(n, BigInt(at), `volume section: ${sectors} sectors is beyond ${MAX_MEDIA} bytes`);
    const chunkCount = Number((mediaSize + BigInt(chunkSize) - 1n) / BigInt(chunkSize));
    return { chunkSize, mediaSize, chunkCount };
  }

  /** A table section: its entries become the next chunks, in order; each ends where the next begins. */
  private table(seg: ByteSource, n: number, at: number, length: number, sectors: { start: number; end: number }, volume: { chunkSize: number; chunkCount: number }): void {
    const head = seg.read(BigInt(at), T.header);
    if (head.length < T.header) this.fail(n, BigInt(at), 'table header is cut short');
    if (adler32(head.subarray(0, 20)) !== le32(head, 20)) this.fail(n, BigInt(at), 'table header has a wrong checksum');
    const count = le32(head, T.count);
    const base = le64(head, T.base);
    if (count * 4 > length - T.header) this.fail(n, BigInt(at), `table of ${count} entries does not fit its ${length}-byte section`);
    if (this.chunks.length + count > volume.chunkCount) this.fail(n, BigInt(at), `table entries run past the ${volume.chunkCount} chunks of the media`);
    const raw = seg.read(BigInt(at + T.header), count * 4);
    const starts: number[] = [];
    for (let i = 0; i < count; i++) starts.push(Number(base) + (le32(raw, i * 4) & 0x7fffffff));
    for (let i = 0; i < count; i++) {
      const entry = le32(raw, i * 4);
      const start = starts[i]!;
      // The last chunk of a table ends with its sectors section (or, EnCase 1, where the table's chunks end).
      const end = i + 1 < count ? starts[i + 1]! : sectors.end;
      if (start < FILE_HEADER || end <= start || end > Number(seg.size)) {
        this.fail(n, BigInt(at), `table entry ${i} (chunk ${this.chunks.length}) spans ${start}..${end}, outside ${seg.name} (${seg.size} bytes) or empty`);
      }
      // A stored chunk is its bytes and an Adler-32; zlib can grow data a little: twice the chunk is damage.
      if (end - start > 2 * volume.chunkSize + 1024) this.fail(n, BigInt(at), `table entry ${i} (chunk ${this.chunks.length}) is ${end - start} bytes, far more than a ${volume.chunkSize}-byte chunk`);
      this.chunks.push({ segment: n - 1, offset: start, length: end - start, compressed: (entry & ENTRY_COMPRESSED) !== 0 });
    }
  }

  private errors(b: Uint8Array, out: EwfInfo['readErrors']): void {
    if (b.length < 520) return;
    const count = le32(b, 0);
    for (let i = 0; i < count && 520 + i * 8 + 8 <= b.length; i++) out.push({ sector: BigInt(le32(b, 520 + i * 8)), count: le32(b, 524 + i * 8) });
  }

  /** Case metadata, geometry and the acquisition's hashes. */
  info(): EwfInfo {
    return { ...this.meta, readErrors: [...this.meta.readErrors] };
  }

  /**
   * Reads every byte of the media and hashes it, to compare with the hashes the
   * acquisition stored. The default hashers are @noble/hashes (browser-safe, slow:
   * about 15 MB/s); Node callers pass node:crypto's (`createHash('md5')`).
   */
  verify(opts: { hashers?: EwfHashers; progress?: (done: bigint, total: bigint) => void } = {}): { md5: string; sha1: string; md5Matches: boolean | null; sha1Matches: boolean | null } {
    const m = opts.hashers?.md5() ?? md5.create();
    const s = opts.hashers?.sha1() ?? sha1.create();
    const progress = opts.progress;
    const piece = this.chunkSize * 32;
    for (let o = 0n; o < this.size; o += BigInt(piece)) {
      const b = this.read(o, piece);
      m.update(b);
      s.update(b);
      progress?.(o + BigInt(b.length), this.size);
    }
    const md5Hex = hex(m.digest());
    const sha1Hex = hex(s.digest());
    return {
      md5: md5Hex,
      sha1: sha1Hex,
      md5Matches: this.meta.md5 ? this.meta.md5 === md5Hex : null,
      sha1Matches: this.meta.sha1 ? this.meta.sha1 === sha1Hex : null,
    };
  }

  /** Chunk `index`'s bytes as stored, and the size it holds (the last chunk may be short). */
  private chunkInput(index: number): { c: Chunk; raw: Uint8Array; want: number } {
    const c = this.chunks[index]!;
    const seg = this.segments[c.segment]!;
    const want = Number(BigInt(index + 1) * BigInt(this.chunkSize) > this.size ? this.size - BigInt(index) * BigInt(this.chunkSize) : BigInt(this.chunkSize));
    const raw = seg.read(BigInt(c.offset), c.length);
    if (raw.length !== c.length) this.fail(c.segment + 1, BigInt(c.offset), `chunk ${index} lies past the end of ${seg.name}`);
    return { c, raw, want };
  }

  private chunk(index: number): Uint8Array {
    const hit = this.cache.get(index);
    if (hit) return hit;
    const { c, raw, want } = this.chunkInput(index);
    let data: Uint8Array;
    if (c.compressed) {
      try {
        data = this.codecs.inflateZlib(raw, want);
      } catch (e) {
        if (e instanceof CodecError) this.fail(c.segment + 1, BigInt(c.offset), `chunk ${index}: ${e.message}`);
        throw e;
      }
    } else {
      if (raw.length < want + 4) this.fail(c.segment + 1, BigInt(c.offset), `stored chunk ${index} is ${raw.length} bytes, too short for ${want} bytes and its checksum`);
      data = raw.subarray(0, want);
      if (adler32(data) !== le32(raw, want)) this.fail(c.segment + 1, BigInt(c.offset), `stored chunk ${index} does not match its Adler-32: the evidence file is damaged`);
    }
    this.cache.set(index, data);
    return data;
  }

  /**
   * A compressed chunk not in the cache: its bytes read now, inflated off this thread. Stored
   * chunks stay with the read (their Adler-32 is summed there).
   */
  protected override aheadJob(index: number): (() => Promise<Uint8Array>) | null {
    const inflate = this.codecs.async?.inflateZlib;
    if (!inflate || !this.chunks[index]?.compressed || this.cache.get(index)) return null;
    const { raw, want } = this.chunkInput(index);
    return () => inflate(raw, want);
  }

  protected override keepDecoded(index: number, data: Uint8Array): void {
    this.cache.set(index, data);
  }

  protected fillBlock(index: number, inChunk: number, out: Uint8Array): void {
    out.set(this.chunk(index).subarray(inChunk, inChunk + out.length));
  }

  close(): void {
    for (const s of this.segments) s.close?.();
  }
}

function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function le64(b: Uint8Array, o: number): bigint {
  return BigInt(le32(b, o)) | (BigInt(le32(b, o + 4)) << 32n);
}
function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A header section's text: zlib-compressed ASCII (header) or UTF-16 with a byte order mark (header2). */
function inflateHeader(data: Uint8Array, utf16: boolean): string | null {
  if (data.length < 2 || (data[0]! & 0x0f) !== 8) return null;
  let text: Uint8Array;
  try {
    text = inflateSync(data.subarray(2), { out: new Uint8Array(MAX_HEADER_TEXT) });
  } catch {
    return null;
  }
  if (!utf16) return new TextDecoder('latin1').decode(text);
  const be = text[0] === 0xfe && text[1] === 0xff;
  return new TextDecoder(be ? 'utf-16be' : 'utf-16le').decode(text.subarray(text[0] === 0xff || be ? 2 : 0));
}

/** The "main" category of a header: a line of identifiers and a line of values, tab-separated. */
function headerValues(text: string | null): Partial<EwfInfo> {
  if (!text) return {};
  const lines = text.split(/\r?\n/);
  const at = lines.indexOf('main');
  if (at < 0 || at + 2 >= lines.length) return {};
  const keys = lines[at + 1]!.split('\t');
  const values = lines[at + 2]!.split('\t');
  const v = (k: string): string | undefined => {
    const i = keys.indexOf(k);
    const s = i >= 0 ? values[i] : undefined;
    return s ? s : undefined;
  };
  const date = (s: string | undefined): string | undefined => {
    if (!s) return undefined;
    // header2 writes a Unix time; header writes "YYYY M D h m s" in the acquiring machine's local time.
    if (/^\d+$/.test(s)) return new Date(Number(s) * 1000).toISOString();
    return s;
  };
  const out: { [K in keyof EwfInfo]?: EwfInfo[K] | undefined } = {
    caseNumber: v('c'),
    evidenceNumber: v('n'),
    description: v('a'),
    examiner: v('e'),
    notes: v('t'),
    acquiredOn: v('ov'),
    software: v('av'),
    acquired: date(v('m')),
    systemDate: date(v('u')),
  };
  for (const k of Object.keys(out) as (keyof EwfInfo)[]) if (out[k] === undefined) delete out[k];
  return out as Partial<EwfInfo>;
}
