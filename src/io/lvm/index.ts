import type { LvmLogicalVolume, LvmVolumeGroupMetadata } from '../../format/lvm/metadata.js';
import type { ByteSource } from '../ByteSource.js';
import { LvSource } from './LvSource.js';
import { type LvmPv, readLvmPv } from './pv.js';
import { SnapshotSource } from './SnapshotSource.js';

export type { LvmLogicalVolume, LvmPhysicalVolume, LvmSegment, LvmVolumeGroupMetadata } from '../../format/lvm/metadata.js';
export { LvSource } from './LvSource.js';
export { findLvmLabel, isLvmPv, type LvmPv, readLvmPv } from './pv.js';
export { MAX_COW_EXCEPTIONS, SnapshotSource } from './SnapshotSource.js';

/** A volume group as assembled from the PVs given: the newest metadata any of them holds, and which PVs are here. */
export interface LvmVolumeGroup {
  metadata: LvmVolumeGroupMetadata;
  /** The metadata's PV name ("pv0") to the source holding it, for the PVs given. */
  present: Map<string, ByteSource>;
  /** The metadata's PVs that no given source holds. */
  missing: string[];
  problems: string[];
}

/**
 * Groups PVs into volume groups by VG id, taking the metadata with the highest seqno among
 * them (a PV left out of the latest change holds an older copy), and matches each PV of that
 * metadata to a source by its uuid.
 */
export function assembleVolumeGroups(pvs: readonly LvmPv[]): LvmVolumeGroup[] {
  const byId = new Map<string, LvmPv[]>();
  for (const pv of pvs) {
    if (!pv.metadata) continue;
    const list = byId.get(pv.metadata.id) ?? [];
    list.push(pv);
    byId.set(pv.metadata.id, list);
  }
  const out: LvmVolumeGroup[] = [];
  for (const list of byId.values()) {
    const newest = list.reduce((a, b) => (b.metadata!.seqno > a.metadata!.seqno ? b : a)).metadata!;
    const present = new Map<string, ByteSource>();
    const missing: string[] = [];
    for (const p of newest.pvs) {
      const src = list.find((x) => x.label.pvUuid === p.id)?.source;
      if (src) present.set(p.name, src);
      else missing.push(p.name);
    }
    out.push({ metadata: newest, present, missing, problems: [...newest.problems, ...list.flatMap((p) => p.problems)] });
  }
  return out;
}

/** The LVs of a VG that hold data (not hidden sub-volumes of snapshots or mirrors): those with the VISIBLE status. */
export function visibleLvs(vg: LvmVolumeGroupMetadata): LvmLogicalVolume[] {
  return vg.lvs.filter((l) => l.status.includes('VISIBLE'));
}

/**
 * A source over LV `lv` of `vg`: its extents; for a snapshot (the copy-on-write store the user
 * named), the disk the snapshot shows: its origin LV through the store's exceptions. Never
 * throws: what cannot be read (a missing PV, a damaged store) fails the read with a SourceError.
 */
export function openLv(vg: LvmVolumeGroup, lv: LvmLogicalVolume): LvSource | SnapshotSource {
  const own = new LvSource(vg.metadata, lv, vg.present);
  if (lv.snapshotOf === undefined) return own;
  const origin = vg.metadata.lvs.find((l) => l.name === lv.snapshotOf);
  // An origin the metadata does not list: an LV of no segments, whose every read fails located.
  const originLv = origin ?? { name: lv.snapshotOf, id: '', status: [], segments: [], extents: lv.extents };
  return new SnapshotSource(own.name, new LvSource(vg.metadata, originLv, vg.present), own);
}

/** Reads the PVs among `sources` (null for a source that is no PV). */
export function readPvs(sources: readonly ByteSource[]): (LvmPv | null)[] {
  return sources.map(readLvmPv);
}
