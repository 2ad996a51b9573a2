/**
 * LVM2's metadata text (lib/format_text/export.c writes it, lib/config parses it): sections
 * `name { ... }` holding `key = value` lines, where a value is an integer, a "string" (with \"
 * and \\ escapes), or a [list] of those; `#` starts a comment. One volume group is one section
 * at the top level, beside `contents`, `version`, `creation_time` and the like:
 *
 *   vg { id seqno extent_size (sectors) physical_volumes { pv0 { id pe_start pe_count ... } }
 *        logical_volumes { lv { id status segment_count
 *          segment1 { start_extent extent_count type stripe_count stripe_size stripes = ["pv0", pe, ...] } } } }
 *
 * A segment of type "striped" with stripe_count 1 is linear. Everything here is untrusted:
 * nesting, counts and sizes are bounded, and what does not fit the model is a problem, not a throw.
 */

export type LvmValue = bigint | string | LvmValue[];
export interface LvmSection {
  [key: string]: LvmValue | LvmSection;
}

/** Sections nest 4 deep in a VG's metadata (vg, logical_volumes, lv, segment); 16 is plenty. */
export const LVM_MAX_DEPTH = 16;
/** Segments of one LV, LVs and PVs of one VG taken at most (LVM2's own limits are far lower in practice). */
export const LVM_MAX_SEGMENTS = 65536;

export class LvmTextError extends Error {}

/** Parses metadata text. Throws LvmTextError at the first thing that is not the grammar above. */
export function parseLvmText(text: string): LvmSection {
  let i = 0;
  const n = text.length;
  const fail = (why: string): never => {
    throw new LvmTextError(`metadata text, at character ${i}: ${why}`);
  };
  const skip = () => {
    for (;;) {
      while (i < n && /\s/.test(text[i]!)) i++;
      if (text[i] === '#') {
        while (i < n && text[i] !== '\n') i++;
        continue;
      }
      return;
    }
  };
  const word = (): string => {
    const m = /^[A-Za-z0-9_.+-]+/.exec(text.slice(i, i + 256));
    if (!m) fail(`expected a name or number, found ${JSON.stringify(text.slice(i, i + 8))}`);
    i += m![0].length;
    return m![0];
  };
  const value = (depth: number): LvmValue => {
    skip();
    const c = text[i];
    if (c === '"') {
      let out = '';
      i++;
      while (i < n && text[i] !== '"') {
        if (text[i] === '\\' && i + 1 < n) i++;
        out += text[i++];
      }
      if (i >= n) fail('unterminated string');
      i++;
      return out;
    }
    if (c === '[') {
      if (depth > LVM_MAX_DEPTH) fail('lists nested too deep');
      i++;
      const list: LvmValue[] = [];
      for (;;) {
        skip();
        if (text[i] === ']') {
          i++;
          return list;
        }
        if (i >= n) fail('unterminated list');
        list.push(value(depth + 1));
        skip();
        if (text[i] === ',') i++;
      }
    }
    const w = word();
    if (!/^-?\d+$/.test(w)) {
      // Floats (LVM2 writes none in VG metadata) and bare words are kept as text.
      return w;
    }
    return BigInt(w);
  };
  const section = (depth: number, top: boolean): LvmSection => {
    if (depth > LVM_MAX_DEPTH) fail('sections nested too deep');
    const out: LvmSection = Object.create(null) as LvmSection;
    for (;;) {
      skip();
      if (i >= n) {
        if (!top) fail('unterminated section');
        return out;
      }
      if (text[i] === '}') {
        if (top) fail('"}" without a section');
        i++;
        return out;
      }
      if (text[i] === '\0') {
        // The text stored in a metadata area ends with a NUL.
        if (top) return out;
        fail('NUL inside a section');
      }
      const key = word();
      skip();
      if (text[i] === '{') {
        i++;
        out[key] = section(depth + 1, false);
      } else if (text[i] === '=') {
        i++;
        out[key] = value(depth);
      } else fail(`expected "=" or "{" after ${key}`);
    }
  };
  return section(0, true);
}

export interface LvmArea {
  /** The PV's name inside the VG's metadata ("pv0"). */
  pv: string;
  /** First physical extent on that PV. */
  pe: bigint;
}

export interface LvmSegment {
  startExtent: bigint;
  extentCount: bigint;
  type: string;
  /** Bytes per stripe chunk (stripe_size sectors * 512); 0 for one stripe. */
  stripeBytes: bigint;
  areas: LvmArea[];
}

export interface LvmLogicalVolume {
  name: string;
  id: string;
  status: string[];
  /** Sorted by start extent. */
  segments: LvmSegment[];
  /** Extents the segments cover. */
  extents: bigint;
  /** For LVM's internal snapshot LV (one segment of type "snapshot"): the origin LV's name. */
  origin?: string;
  /** For a snapshot's copy-on-write store (the LV the user named the snapshot): the origin LV's name. Its bytes are exceptions, not a disk. */
  snapshotOf?: string;
  /** With snapshotOf: the snapshot segment's chunk_size, in bytes (sectors * 512). */
  snapshotChunkBytes?: bigint;
}

export interface LvmPhysicalVolume {
  name: string;
  id: string;
  /** Where extent 0 starts, bytes from the PV's start (pe_start sectors * 512). */
  peStart: bigint;
  peCount: bigint;
  deviceHint?: string;
}

export interface LvmVolumeGroupMetadata {
  name: string;
  id: string;
  seqno: bigint;
  /** Bytes per extent (extent_size sectors * 512). */
  extentBytes: bigint;
  pvs: LvmPhysicalVolume[];
  lvs: LvmLogicalVolume[];
  /** What in the text does not fit (a segment with no stripes, gaps between segments, ...). */
  problems: string[];
}

const isSection = (v: LvmValue | LvmSection | undefined): v is LvmSection => v !== undefined && typeof v === 'object' && !Array.isArray(v);
const num = (s: LvmSection, k: string): bigint | undefined => (typeof s[k] === 'bigint' ? (s[k] as bigint) : undefined);
const str = (s: LvmSection, k: string): string | undefined => (typeof s[k] === 'string' ? (s[k] as string) : undefined);
const strList = (s: LvmSection, k: string): string[] => (Array.isArray(s[k]) ? (s[k] as LvmValue[]).filter((x): x is string => typeof x === 'string') : []);

/** The volume group in parsed metadata text: the one top-level section with an `id` and `seqno`; null when there is none. */
export function decodeVolumeGroup(root: LvmSection): LvmVolumeGroupMetadata | null {
  const entry = Object.entries(root).find(([, v]) => isSection(v) && str(v, 'id') !== undefined && num(v, 'seqno') !== undefined);
  if (!entry) return null;
  const [name, vg] = entry as [string, LvmSection];
  const problems: string[] = [];
  const extentSectors = num(vg, 'extent_size') ?? 0n;
  if (extentSectors <= 0n) problems.push(`extent_size ${extentSectors} is not positive`);
  const pvs: LvmPhysicalVolume[] = [];
  const pvSec = vg.physical_volumes;
  if (isSection(pvSec)) {
    for (const [pvName, p] of Object.entries(pvSec)) {
      if (!isSection(p)) continue;
      const hint = str(p, 'device');
      pvs.push({ name: pvName, id: str(p, 'id') ?? '', peStart: (num(p, 'pe_start') ?? 0n) * 512n, peCount: num(p, 'pe_count') ?? 0n, ...(hint !== undefined ? { deviceHint: hint } : {}) });
    }
  }
  const lvs: LvmLogicalVolume[] = [];
  const lvSec = vg.logical_volumes;
  if (isSection(lvSec)) {
    for (const [lvName, l] of Object.entries(lvSec)) {
      if (!isSection(l) || lvs.length >= LVM_MAX_SEGMENTS) continue;
      const segments: LvmSegment[] = [];
      let origin: string | undefined;
      let cowStore: string | undefined;
      let chunkBytes: bigint | undefined;
      for (const [k, s] of Object.entries(l)) {
        if (!/^segment\d+$/.test(k) || !isSection(s) || segments.length >= LVM_MAX_SEGMENTS) continue;
        const stripes = Array.isArray(s.stripes) ? (s.stripes as LvmValue[]) : [];
        const areas: LvmArea[] = [];
        for (let j = 0; j + 1 < stripes.length; j += 2) {
          const pv = stripes[j],
            pe = stripes[j + 1];
          if (typeof pv === 'string' && typeof pe === 'bigint') areas.push({ pv, pe });
        }
        const type = str(s, 'type') ?? '';
        if (type === 'snapshot') {
          origin = str(s, 'origin');
          cowStore = str(s, 'cow_store');
          chunkBytes = (num(s, 'chunk_size') ?? 0n) * 512n;
        }
        segments.push({ startExtent: num(s, 'start_extent') ?? 0n, extentCount: num(s, 'extent_count') ?? 0n, type, stripeBytes: areas.length > 1 ? (num(s, 'stripe_size') ?? 0n) * 512n : 0n, areas });
      }
      segments.sort((a, b) => (a.startExtent < b.startExtent ? -1 : a.startExtent > b.startExtent ? 1 : 0));
      let next = 0n;
      for (const s of segments) {
        if (s.startExtent !== next) problems.push(`LV ${lvName}: segment at extent ${s.startExtent} does not follow the previous one (extent ${next})`);
        next = s.startExtent + s.extentCount;
      }
      lvs.push({
        name: lvName,
        id: str(l, 'id') ?? '',
        status: strList(l, 'status'),
        segments,
        extents: next,
        ...(origin !== undefined ? { origin } : {}),
        ...(cowStore !== undefined ? { cowStore, chunkBytes } : {}),
      } as LvmLogicalVolume);
    }
  }
  // A snapshot is two LVs: a hidden one whose segment of type "snapshot" names the origin and
  // the copy-on-write store, and the store itself, which carries the snapshot's name.
  for (const l of lvs as (LvmLogicalVolume & { cowStore?: string; chunkBytes?: bigint })[]) {
    const store = l.cowStore !== undefined ? lvs.find((x) => x.name === l.cowStore) : undefined;
    if (store && l.origin !== undefined) {
      store.snapshotOf = l.origin;
      store.snapshotChunkBytes = l.chunkBytes ?? 0n;
    }
    delete l.cowStore;
    delete l.chunkBytes;
  }
  return { name, id: str(vg, 'id') ?? '', seqno: num(vg, 'seqno') ?? 0n, extentBytes: extentSectors * 512n, pvs, lvs, problems };
}
