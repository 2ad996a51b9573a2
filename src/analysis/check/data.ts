import { rule } from '../../findingRules.js';
import { firstDifference } from '../../format/bytes.js';
import { csumMatches } from '../../format/checksum.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/** Bytes read per copy at a time: large enough to stream, small enough to stay bounded. */
const CHUNK_BYTES = 1 << 20;

export interface DataStats {
  bytes: bigint;
  sectors: number;
  sectorCopies: number;
  unavailable: number;
}

/** A run of checksummed sectors inside one chunk: what one verification step reads, from every copy. */
export interface DataJob {
  logical: bigint;
  sectors: number;
  /** Their checksums (a copy, so a job can travel to a worker). */
  csums: Uint8Array;
  at: { block: bigint; slot: number };
}

/**
 * What verifying a job found: per copy, a flag per bad sector, or why the copy could not be read;
 * and per sector, the number (from 1) of a copy whose bytes differ from the first copy's though
 * both match the checksum (0: none).
 */
export interface DataJobResult {
  copies: ({ bad: Uint8Array } | { unavailable: true } | { error: string })[];
  differ?: Uint8Array;
}

/**
 * The data jobs of the filesystem: every EXTENT_CSUM item of the csum tree
 * cut into runs of at most 1 MiB that stay in one chunk. Checksums pointing
 * outside every chunk are reported here.
 */
export function* dataJobs(fs: Filesystem, add: (f: CheckFinding) => void): Generator<DataJob> {
  const sb = fs.superblock;
  const cs = sb.csumSize,
    ss = sb.sectorsize,
    ssB = BigInt(ss);
  // Every csum tree: extent-tree-v2 keeps one per global root (mkfs 6.19 fills the one with id 0).
  const roots = fs.globalRoots(ObjectId.CSUM_TREE);
  if (!roots.length || cs === 0) return;
  const vol = fs.volume;
  const items = function* () {
    for (const root of roots)
      yield* fs.items(root, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: 0n }, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: 0xffffffffffffffffn });
  };
  for (const { block, slot } of items()) {
    if (block.keyType(slot) !== ItemType.EXTENT_CSUM) continue;
    const csums = block.itemData(slot);
    const start = block.keyOffsetField(slot);
    if (start % ssB !== 0n) continue; // reported by the item checks
    const total = Math.floor(csums.length / cs);
    for (let first = 0; first < total; ) {
      const logical = start + BigInt(first) * ssB;
      const m = vol.chunks.map(logical);
      if (!m) {
        add({ ...rule('csum-unmapped'), message: `checksums for logical ${logical} point outside every chunk`, location: { tree: ObjectId.CSUM_TREE, block: block.logical, slot, logical } });
        break;
      }
      // Stay inside one chunk and one bounded read.
      const left = m.chunk.logical + m.chunk.length - logical;
      let n = Math.min(total - first, CHUNK_BYTES / ss);
      if (BigInt(n) * ssB > left) n = Number(left / ssB);
      if (n <= 0) break;
      yield { logical, sectors: n, csums: csums.slice(first * cs, (first + n) * cs), at: { block: block.logical, slot } };
      first += n;
    }
  }
}

/** One read buffer per thread, reused job after job (jobs are at most CHUNK_BYTES): reading all data allocates nothing per read. */
let scratch: Uint8Array | undefined;
/** The first copy's bytes, kept while the other copies are read (to compare them). */
let firstCopy: Uint8Array | undefined;

/**
 * Calls `visit(i)` for each of the first `n` sectors of `ss` bytes where `a` and `b` differ,
 * comparing word by word: the common answer, equal, costs one pass.
 */
function differingSectors(a: Uint8Array, b: Uint8Array, ss: number, n: number, visit: (i: number) => void): void {
  const len = n * ss;
  for (let from = 0; from < len; ) {
    const at = firstDifference(a.subarray(0, len), b.subarray(0, len), from);
    if (at < 0) return;
    const i = Math.floor(at / ss);
    visit(i);
    from = (i + 1) * ss;
  }
}

/**
 * Bytes read at a time when a job has one copy. Read into a buffer this small, the bytes the kernel
 * copies out of the page cache are still in the core's cache when they are checksummed; a 1 MiB
 * buffer is not (on the bench machine, pread plus crc32c of 4 KiB sectors cost 1.9 GB/s of CPU with
 * 128 KiB reads against 1.2 GB/s with 1 MiB ones).
 */
const PIECE_BYTES = 128 << 10;
let pieceScratch: Uint8Array | undefined;

/**
 * The single copy of a job read and verified piece by piece: the bad-sector flags, or undefined when
 * a piece cannot be read (the caller then reads the job whole, to report the copy as it always has).
 */
function verifyInPieces(fs: Filesystem, job: DataJob): Uint8Array | undefined {
  const sb = fs.superblock,
    cs = sb.csumSize,
    ss = sb.sectorsize,
    n = job.sectors;
  pieceScratch ??= new Uint8Array(PIECE_BYTES);
  const bad = new Uint8Array(n);
  const per = PIECE_BYTES / ss;
  for (let first = 0; first < n; first += per) {
    const k = Math.min(per, n - first);
    const r = fs.volume.readCopy(job.logical + BigInt(first * ss), k * ss, 0, pieceScratch);
    if (!r.bytes) return undefined;
    for (let i = 0; i < k; i++) if (!csumMatches(sb.csumType, r.bytes.subarray(i * ss, (i + 1) * ss), job.csums, (first + i) * cs)) bad[first + i] = 1;
  }
  return bad;
}

/** Reads every copy of a job's sectors and verifies each sector (no findings: the caller reports). */
export function verifyDataJob(fs: Filesystem, job: DataJob): DataJobResult {
  const sb = fs.superblock,
    vol = fs.volume;
  const cs = sb.csumSize,
    ss = sb.sectorsize,
    n = job.sectors;
  const copies: DataJobResult['copies'] = [];
  const count = vol.copyCount(job.logical);
  if (count === 1 && n * ss > PIECE_BYTES && PIECE_BYTES % ss === 0) {
    const bad = verifyInPieces(fs, job);
    if (bad) return { copies: [{ bad }] };
  }
  if (!scratch || scratch.length < n * ss) scratch = new Uint8Array(Math.max(CHUNK_BYTES, n * ss));
  if (count > 1 && (!firstCopy || firstCopy.length < n * ss)) firstCopy = new Uint8Array(Math.max(CHUNK_BYTES, n * ss));
  let first: { bytes: Uint8Array; bad: Uint8Array } | undefined;
  let differ: Uint8Array | undefined;
  for (let c = 0; c < count; c++) {
    const r = vol.readCopy(job.logical, n * ss, c, c === 0 && count > 1 ? firstCopy : scratch);
    if (!r.bytes) {
      copies.push(r.places.some((p) => !vol.devices.get(p.devid)?.source) ? { unavailable: true } : { error: r.error ?? 'unreadable' });
      continue;
    }
    const bad = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (!csumMatches(sb.csumType, r.bytes.subarray(i * ss, (i + 1) * ss), job.csums, i * cs)) bad[i] = 1;
    copies.push({ bad });
    if (c === 0) first = { bytes: r.bytes, bad };
    else if (first) {
      // Mirrors are written from one buffer: copies that both match a checksum yet differ
      // mean a forged sector (crc32c collides at will), a tamper or firmware signal.
      const f = first;
      differingSectors(f.bytes, r.bytes, ss, n, (i) => {
        if (f.bad[i] || bad[i]) return;
        differ ??= new Uint8Array(n);
        if (!differ[i]) differ[i] = c + 1;
      });
    }
  }
  return differ ? { copies, differ } : { copies };
}

/**
 * Turns a job's result into findings: runs of bad sectors per copy, each
 * repairable when every sector of it is good in some other copy.
 */
export function reportDataJob(fs: Filesystem, job: DataJob, res: DataJobResult, add: (f: CheckFinding) => void, stats: DataStats): void {
  const ss = fs.superblock.sectorsize,
    ssB = BigInt(ss),
    n = job.sectors;
  const m = fs.volume.map(job.logical);
  const goodAny = new Uint8Array(n);
  for (const c of res.copies) if ('bad' in c) for (let i = 0; i < n; i++) if (!c.bad[i]) goodAny[i] = 1;
  res.copies.forEach((c, copy) => {
    if ('unavailable' in c) {
      stats.unavailable++;
      return;
    }
    if ('error' in c) {
      add({ ...rule('data-unreadable'), message: `data at logical ${job.logical} +${n * ss} copy ${copy + 1}: ${c.error}`, location: { logical: job.logical, copy } });
      return;
    }
    stats.sectorCopies += n;
    for (let i = 0; i < n; ) {
      if (!c.bad[i]) {
        i++;
        continue;
      }
      let j = i;
      let repairable = true;
      while (j < n && c.bad[j]) {
        if (!goodAny[j]) repairable = false;
        j++;
      }
      const at = job.logical + BigInt(i) * ssB;
      const rebuilt = m?.row && copy > 0 ? ` (rebuilt from ${copy === 2 ? 'Q' : 'P'} parity and the row's other data stripes: one of them is bad)` : '';
      add({
        ...rule('data-csum'),
        repairable,
        message: `data checksum mismatch at logical ${at} +${(j - i) * ss} copy ${copy + 1}${rebuilt}${repairable ? '; another copy is good' : '; no copy is good'}`,
        location: { logical: at, copy, ...placeOf(fs, at, copy) },
      });
      i = j;
    }
  });
  const differ = res.differ;
  for (let i = 0; differ && i < n; ) {
    const copy = differ[i]!;
    if (!copy) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && differ[j] === copy) j++;
    const at = job.logical + BigInt(i) * ssB;
    add({
      ...rule('data-copies-differ'),
      message: `data at logical ${at} +${(j - i) * ss}: copies 1 and ${copy} both match their checksums but differ (a checksum collision)`,
      location: { logical: at, copy: copy - 1, ...placeOf(fs, at, copy - 1) },
    });
    i = j;
  }
  stats.sectors += n;
  stats.bytes += BigInt(n * ss);
}

/**
 * Every sector that has a checksum in the csum tree, read from every copy
 * (each mirror; for RAID5/6 the data stripe, then the rebuild from P, and
 * from Q) and verified, on this thread.
 */
export function checkDataCsums(fs: Filesystem, add: (f: CheckFinding) => void, progress?: (done: bigint) => void): DataStats {
  const stats: DataStats = { bytes: 0n, sectors: 0, sectorCopies: 0, unavailable: 0 };
  for (const job of dataJobs(fs, add)) {
    reportDataJob(fs, job, verifyDataJob(fs, job), add, stats);
    progress?.(stats.bytes);
  }
  return stats;
}

/** Findings of mirrors that differ where nothing checks them, at most this many. */
const MAX_MIRROR_FINDINGS = 1000;

/**
 * Data without checksums (regular extents of NODATASUM inodes, the part no csum item covers)
 * in mirrored chunks (DUP, RAID1/1C3/1C4, RAID10): every copy is compared with the first, as
 * nothing else would notice them differ; the kernel reads whichever mirror it picks. RAID5/6
 * rebuilds are not compared (a stale parity is not a second copy of the data).
 */
export function compareUnsummedMirrors(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const ss = fs.superblock.sectorsize,
    ssB = BigInt(ss),
    vol = fs.volume;
  const ranges = mergeRanges(facts.unsummed);
  if (ranges.length === 0) return;
  const covered = mergeRanges(facts.csumRanges);
  const a = new Uint8Array(CHUNK_BYTES),
    b = new Uint8Array(CHUNK_BYTES);
  let reported = 0;
  let k = 0;
  for (const r of ranges) {
    let pos = r.start;
    while (pos < r.end && reported < MAX_MIRROR_FINDINGS) {
      // Skip what checksums cover (verified, and compared, by the data jobs).
      while (k < covered.length && covered[k]!.end <= pos) k++;
      const c = covered[k];
      if (c && c.start <= pos) {
        pos = c.end;
        continue;
      }
      let end = c && c.start < r.end ? c.start : r.end;
      const m = vol.chunks.map(pos);
      if (!m) break; // reported by the extent checks
      const chunkEnd = m.chunk.logical + m.chunk.length;
      if (end > chunkEnd) end = chunkEnd;
      const count = vol.copyCount(pos);
      if (count < 2 || m.row) {
        pos = end;
        continue;
      }
      const len = Number(end - pos > BigInt(CHUNK_BYTES) ? BigInt(CHUNK_BYTES) : end - pos);
      const n = Math.ceil(len / ss);
      const r0 = vol.readCopy(pos, len, 0, a);
      for (let copy = 1; r0.bytes && copy < count; copy++) {
        const rc = vol.readCopy(pos, len, copy, b);
        if (!rc.bytes) continue; // an unreadable copy is the data check's and the device's to report
        let run = -1;
        const flush = (to: number) => {
          if (run < 0) return;
          const at = pos + BigInt(run) * ssB;
          if (reported++ < MAX_MIRROR_FINDINGS)
            add({
              ...rule('data-copies-differ'),
              message: `data at logical ${at} +${Math.min(to * ss, len) - run * ss}: copies 1 and ${copy + 1} differ and no checksum tells which is right (NODATASUM)`,
              location: { logical: at, copy, ...placeOf(fs, at, copy) },
            });
          run = -1;
        };
        let last = -2;
        differingSectors(padded(r0.bytes, n * ss, a), padded(rc.bytes, n * ss, b), ss, n, (i) => {
          if (i !== last + 1) {
            flush(last + 1);
            run = i;
          }
          last = i;
        });
        flush(last + 1);
      }
      pos += BigInt(len);
    }
  }
}

/** `bytes` as `len` bytes (a short read's tail as zeros), in `into` when it is not already there. */
function padded(bytes: Uint8Array, len: number, into: Uint8Array): Uint8Array {
  if (bytes.length >= len) return bytes;
  if (bytes.buffer !== into.buffer || bytes.byteOffset !== into.byteOffset) into.set(bytes);
  into.fill(0, bytes.length, len);
  return into;
}

/** Ranges sorted by start, overlapping and touching ones joined. */
function mergeRanges(list: readonly { start: bigint; end: bigint }[]): { start: bigint; end: bigint }[] {
  const sorted = list.map((r) => ({ start: r.start, end: r.end })).sort((x, y) => (x.start < y.start ? -1 : x.start > y.start ? 1 : 0));
  const out: { start: bigint; end: bigint }[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) {
      if (r.end > last.end) last.end = r.end;
    } else out.push(r);
  }
  return out;
}

/**
 * Device and physical offset of copy `copy` of `logical`: the mirror; for
 * RAID5/6 the data stripe (copy 0), or the P (1) or Q (2) stripe whose
 * rebuild was bad.
 */
function placeOf(fs: Filesystem, logical: bigint, copy: number): { devid?: bigint; physical?: bigint; device?: string } {
  const m = fs.volume.map(logical);
  let p: { devid: bigint; physical: bigint } | undefined = m?.copies[copy];
  if (m?.row) {
    const parity = copy === 1 ? m.row.p : copy === 2 ? m.row.q : undefined;
    p = parity ? { devid: parity.devid, physical: parity.physical + m.row.unitOffset } : m.copies[0];
  }
  if (!p) return {};
  return { devid: p.devid, physical: p.physical, device: fs.volume.devices.get(p.devid)?.name ?? 'missing' };
}

/**
 * Checksums against data extents (metadata only): a checksum for bytes no
 * data extent holds, and written extents of checksummed inodes that lack
 * checksums.
 */
export function checkCsumCoverage(facts: MetaFacts, add: (f: CheckFinding) => void): void {
  if (facts.lost.some((l) => l.tree === ObjectId.CSUM_TREE || l.tree === ObjectId.EXTENT_TREE)) return;
  const data = facts.extents.filter((e) => !e.isTree).sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
  const csums = [...facts.csumRanges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  // Csum ranges outside every data extent.
  let k = 0;
  let prevEnd = 0n;
  for (const c of csums) {
    if (c.start < prevEnd)
      add({
        ...rule('csum-overlap'),
        message: `checksum item at ${c.start} overlaps the previous one (ends at ${prevEnd})`,
        location: { tree: ObjectId.CSUM_TREE, block: c.at.block, slot: c.at.slot, logical: c.start },
      });
    if (c.end > prevEnd) prevEnd = c.end;
    let pos = c.start;
    while (pos < c.end) {
      while (k < data.length && data[k]!.bytenr + data[k]!.length <= pos) k++;
      const e = data[k];
      if (!e || e.bytenr > pos) {
        const stop = e && e.bytenr < c.end ? e.bytenr : c.end;
        add({
          ...rule('csum-orphan'),
          message: `checksums for logical ${pos} +${stop - pos} belong to no data extent`,
          location: { tree: ObjectId.CSUM_TREE, block: c.at.block, slot: c.at.slot, logical: pos },
        });
        pos = stop;
      } else pos = e.bytenr + e.length < c.end ? e.bytenr + e.length : c.end;
    }
  }
  // Needed ranges without checksums.
  const needs = [...facts.csumNeeds].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let i = 0;
  let reported = 0;
  for (const n of needs) {
    let pos = n.start;
    while (i > 0 && csums[i - 1]!.end > pos) i--;
    while (pos < n.end) {
      while (i < csums.length && csums[i]!.end <= pos) i++;
      const c = csums[i];
      if (!c || c.start > pos) {
        const stop = c && c.start < n.end ? c.start : n.end;
        if (reported++ < 1000) add({ ...rule('data-csum-missing'), message: `data at logical ${pos} +${stop - pos} of a checksummed file has no checksums`, location: { logical: pos } });
        pos = stop;
      } else pos = c.end < n.end ? c.end : n.end;
    }
  }
}
