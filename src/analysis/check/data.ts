import { csumMatches } from '../../format/checksum.js';
import { ItemType, ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/** Bytes read per copy at a time: large enough to stream, small enough to stay bounded. */
const CHUNK_BYTES = 1 << 20;

export interface DataStats { bytes: bigint; sectors: number; sectorCopies: number; unavailable: number }

/**
 * Every sector that has a checksum in the csum tree, read from every copy
 * (each mirror; for RAID5/6 the data stripe, then the rebuild from P, and
 * from Q) and verified. Bad sectors are reported per copy, as runs; a run
 * is repairable when every sector of it is good in some other copy.
 */
export function checkDataCsums(fs: Filesystem, add: (f: CheckFinding) => void, progress?: (done: bigint) => void): DataStats {
  const sb = fs.superblock;
  const cs = sb.csumSize, ss = sb.sectorsize, ssB = BigInt(ss);
  const stats: DataStats = { bytes: 0n, sectors: 0, sectorCopies: 0, unavailable: 0 };
  const root = fs.treeRoot(ObjectId.CSUM_TREE);
  if (!root || cs === 0) return stats;
  const vol = fs.volume;
  for (const { block, slot } of fs.items(root, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: 0n }, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: 0xffffffffffffffffn })) {
    if (block.keyType(slot) !== ItemType.EXTENT_CSUM) continue;
    const csums = block.itemData(slot);
    const start = block.keyOffsetField(slot);
    if (start % ssB !== 0n) continue; // reported by the item checks
    const total = Math.floor(csums.length / cs);
    for (let first = 0; first < total;) {
      const logical = start + BigInt(first) * ssB;
      const m = vol.chunks.map(logical);
      if (!m) {
        add({ code: 'csum-unmapped', severity: 'error', message: `checksums for logical ${logical} point outside every chunk`, location: { tree: ObjectId.CSUM_TREE, block: block.logical, slot, logical } });
        break;
      }
      // Stay inside one chunk and one bounded read.
      const left = m.chunk.logical + m.chunk.length - logical;
      let n = Math.min(total - first, CHUNK_BYTES / ss);
      if (BigInt(n) * ssB > left) n = Number(left / ssB);
      if (n <= 0) break;
      const len = n * ss;
      const copies = vol.copyCount(logical);
      const bad: Uint8Array[] = [];
      let goodAny = new Uint8Array(n);
      for (let c = 0; c < copies; c++) {
        const r = vol.readCopy(logical, len, c);
        if (!r.bytes) {
          if (r.places.some((p) => !vol.devices.get(p.devid)?.source)) { stats.unavailable++; bad.push(new Uint8Array(0)); continue; }
          add({ code: 'data-unreadable', severity: 'error', message: `data at logical ${logical} +${len} copy ${c + 1}: ${r.error}`, location: { logical, copy: c } });
          bad.push(new Uint8Array(0));
          continue;
        }
        const flags = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          if (csumMatches(sb.csumType, r.bytes.subarray(i * ss, (i + 1) * ss), csums, (first + i) * cs)) goodAny[i] = 1;
          else flags[i] = 1;
        }
        stats.sectorCopies += n;
        bad.push(flags);
      }
      // Report runs of bad sectors per copy.
      for (let c = 0; c < bad.length; c++) {
        const flags = bad[c]!;
        for (let i = 0; i < flags.length;) {
          if (!flags[i]) { i++; continue; }
          let j = i;
          let repairable = true;
          while (j < flags.length && flags[j]) { if (!goodAny[j]) repairable = false; j++; }
          const at = logical + BigInt(i) * ssB;
          const place = placeOf(fs, at, c);
          const rebuilt = m.row && c > 0 ? ` (rebuilt from ${c === 2 ? 'Q' : 'P'} parity and the row's other data stripes: one of them is bad)` : '';
          add({
            code: 'data-csum', severity: 'error', repairable,
            message: `data checksum mismatch at logical ${at} +${(j - i) * ss} copy ${c + 1}${rebuilt}${repairable ? '; another copy is good' : '; no copy is good'}`,
            location: { logical: at, copy: c, ...place },
          });
          i = j;
        }
      }
      goodAny = new Uint8Array(0);
      stats.sectors += n;
      stats.bytes += BigInt(len);
      first += n;
      progress?.(stats.bytes);
    }
  }
  return stats;
}

/**
 * Device and physical offset of copy `copy` of `logical`: the mirror; for
 * RAID5/6 the data stripe (copy 0), or the P (1) or Q (2) stripe whose
 * rebuild was bad.
 */
function placeOf(fs: Filesystem, logical: bigint, copy: number): { devid?: bigint; physical?: bigint; device?: string } {
  const m = fs.volume.chunks.map(logical);
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
export function checkCsumCoverage(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  if (facts.lost.some((l) => l.tree === ObjectId.CSUM_TREE || l.tree === ObjectId.EXTENT_TREE)) return;
  const data = facts.extents.filter((e) => !e.isTree).sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
  const csums = [...facts.csumRanges].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  // Csum ranges outside every data extent.
  let k = 0;
  let prevEnd = 0n;
  for (const c of csums) {
    if (c.start < prevEnd) add({ code: 'csum-overlap', severity: 'error', message: `checksum item at ${c.start} overlaps the previous one (ends at ${prevEnd})`, location: { tree: ObjectId.CSUM_TREE, block: c.at.block, slot: c.at.slot, logical: c.start } });
    if (c.end > prevEnd) prevEnd = c.end;
    let pos = c.start;
    while (pos < c.end) {
      while (k < data.length && data[k]!.bytenr + data[k]!.length <= pos) k++;
      const e = data[k];
      if (!e || e.bytenr > pos) {
        const stop = e && e.bytenr < c.end ? e.bytenr : c.end;
        add({ code: 'csum-orphan', severity: 'error', message: `checksums for logical ${pos} +${stop - pos} belong to no data extent`, location: { tree: ObjectId.CSUM_TREE, block: c.at.block, slot: c.at.slot, logical: pos } });
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
        if (reported++ < 1000) add({ code: 'data-csum-missing', severity: 'error', message: `data at logical ${pos} +${stop - pos} of a checksummed file has no checksums`, location: { logical: pos } });
        pos = stop;
      } else pos = c.end < n.end ? c.end : n.end;
    }
  }
}
