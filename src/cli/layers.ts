import { decodeSuperblock, hasSuperMagic } from '../format/superblock.js';
import { type ByteSource, SourceError } from '../io/ByteSource.js';
import { detectContainer } from '../io/containers/detect.js';
import { assembleVolumeGroups, type LvmLogicalVolume, type LvmVolumeGroup, openLv, readLvmPv } from '../io/lvm/index.js';
import { isRunsImagePath } from '../io/node/openSource.js';
import { openSplitOrFile } from '../io/node/split.js';

/** The outermost layer of an input: the container format the file is read through, and the size of the disk it holds. */
export interface ContainerLayer {
  /** qcow2, ewf, vmdk, vhd, vhdx, "split raw", "runs" (this project's sparse images) or "raw". */
  format: string;
  /** Bytes of the disk inside (the virtual size). */
  size: bigint;
}

/**
 * Which container `path` is: the format the user named (--input-format), or
 * read again from the file's first bytes, as openByteSource detects it.
 */
export function containerLayer(path: string, disk: ByteSource, given?: string): ContainerLayer {
  if (isRunsImagePath(path)) return { format: 'runs', size: disk.size };
  if (given !== undefined) return { format: given, size: disk.size };
  const file = openSplitOrFile(path);
  try {
    const kind = detectContainer(file);
    return { format: kind ?? (file.name !== path ? 'split raw' : 'raw'), size: disk.size };
  } finally {
    file.close?.();
  }
}

/** A btrfs superblock at 64 KiB of `src`, summarized, or null (also when the medium fails there). */
export function btrfsAt(src: ByteSource): { fsid: string; label: string; devid: bigint; generation: bigint } | null {
  let head: Uint8Array;
  try {
    head = src.read(0x10000n, 4096);
  } catch (e) {
    if (e instanceof SourceError) return null;
    throw e;
  }
  if (!hasSuperMagic(head)) return null;
  const sb = decodeSuperblock(head);
  return { fsid: sb.fsid, label: sb.label, devid: sb.devItem.devid, generation: sb.generation };
}

export interface LvmLayer {
  /** Where the PV starts in the disk (0 for a whole-disk PV) and its size. */
  offset: bigint;
  size: bigint;
  partition: number | null;
  pvUuid: string;
  /** The VG this PV's newest metadata describes; null when none is readable. */
  vg: { name: string; uuid: string; seqno: bigint; extentBytes: bigint; pvs: { name: string; uuid: string; peStart: bigint; peCount: bigint; here: boolean }[] } | null;
  lvs: {
    vg: string;
    lv: string;
    size: bigint;
    status: string[];
    origin?: string;
    snapshotOf?: string;
    segments: { startExtent: bigint; extentCount: bigint; type: string; stripeBytes: bigint; areas: { pv: string; pe: bigint; pvOffset: bigint | null }[] }[];
    /** The btrfs in the LV, when every extent it needs is on this PV and it has a superblock. */
    btrfs: ReturnType<typeof btrfsAt>;
  }[];
  problems: string[];
}

/** The btrfs in an LV (a snapshot: in the disk it shows), or null; a snapshot whose store is unreadable holds none that can be shown. */
function btrfsOfLv(vg: LvmVolumeGroup, lv: LvmLogicalVolume): ReturnType<typeof btrfsAt> {
  try {
    return btrfsAt(openLv(vg, lv));
  } catch (e) {
    if (e instanceof SourceError) return null;
    throw e;
  }
}

/** The LVM layer of `src` (a whole disk or a partition) when it is a PV: its VG, LVs, segments and where each lies on the PV. */
export function lvmLayer(src: ByteSource, offset: bigint, partition: number | null): LvmLayer | null {
  const pv = readLvmPv(src);
  if (!pv) return null;
  const base = { offset, size: src.size, partition, pvUuid: pv.label.pvUuid };
  if (!pv.metadata) return { ...base, vg: null, lvs: [], problems: pv.problems };
  const [vg] = assembleVolumeGroups([pv]);
  const m = vg!.metadata;
  const here = new Set(vg!.present.keys());
  return {
    ...base,
    vg: { name: m.name, uuid: m.id, seqno: m.seqno, extentBytes: m.extentBytes, pvs: m.pvs.map((p) => ({ name: p.name, uuid: p.id, peStart: p.peStart, peCount: p.peCount, here: here.has(p.name) })) },
    lvs: m.lvs.map((lv) => {
      // A snapshot's view needs its origin's extents too.
      const origin = lv.snapshotOf !== undefined ? m.lvs.find((l) => l.name === lv.snapshotOf) : undefined;
      const onHere = [lv, ...(origin ? [origin] : [])].every((l) => l.segments.every((s) => s.areas.every((a) => here.has(a.pv))));
      return {
        vg: m.name,
        lv: lv.name,
        size: lv.extents * m.extentBytes,
        status: lv.status,
        ...(lv.origin !== undefined ? { origin: lv.origin } : {}),
        ...(lv.snapshotOf !== undefined ? { snapshotOf: lv.snapshotOf } : {}),
        segments: lv.segments.map((s) => ({
          startExtent: s.startExtent,
          extentCount: s.extentCount,
          type: s.type,
          stripeBytes: s.stripeBytes,
          areas: s.areas.map((a) => {
            const p = m.pvs.find((x) => x.name === a.pv);
            return { pv: a.pv, pe: a.pe, pvOffset: p ? p.peStart + a.pe * m.extentBytes : null };
          }),
        })),
        btrfs: onHere && lv.origin === undefined ? btrfsOfLv(vg!, lv) : null,
      };
    }),
    problems: vg!.problems,
  };
}
