import { type ByteSource, SourceError } from '../io/ByteSource.js';
import { assembleVolumeGroups, type LvmLogicalVolume, type LvmVolumeGroup, openLv, readLvmPv, visibleLvs } from '../io/lvm/index.js';
import { hasBtrfsMagic } from '../io/partitions.js';
import { type CliIO, UsageError } from './context.js';

interface Candidate {
  vg: LvmVolumeGroup;
  lv: LvmLogicalVolume;
}

const lvName = (c: Candidate) => `${c.vg.metadata.name}/${c.lv.name}`;

function holdsBtrfs(c: Candidate): boolean {
  try {
    return hasBtrfsMagic(openLv(c.vg, c.lv));
  } catch (e) {
    if (e instanceof SourceError) return false;
    throw e;
  }
}

/**
 * The inputs with LVM2 physical volumes replaced by the logical volume they hold: PVs (the
 * IMAGE and any --device) are grouped into volume groups, and the LV is the one `--lv VG/LV`
 * names, else the only visible LV, else the only one holding btrfs (each said on stderr).
 * Inputs that are no PV pass unchanged. A PV the VG needs but nobody gave is named on stderr;
 * reads of the extents on it then fail, located, and the rest is read.
 */
export function resolveLvm(sources: ByteSource[], lv: string | undefined, io: CliIO): ByteSource[] {
  const pvs = sources.map(readLvmPv);
  if (pvs.every((p) => p === null)) {
    if (lv !== undefined) throw new UsageError(`--lv ${lv} given, but no input is an LVM physical volume`);
    return sources;
  }
  for (const p of pvs) {
    if (p && !p.metadata)
      throw new UsageError(
        `${p.source.name}: LVM physical volume ${p.label.pvUuid} with no readable volume group metadata (${p.problems.join('; ') || 'it holds no metadata area: give a PV of the same VG that does'})`,
      );
  }
  const vgs = assembleVolumeGroups(pvs.filter((p) => p !== null));
  const all: Candidate[] = vgs.flatMap((vg) => visibleLvs(vg.metadata).map((l) => ({ vg, lv: l })));
  const list = () => all.map((c) => `${lvName(c)} (${c.lv.extents * c.vg.metadata.extentBytes} bytes)`).join(', ') || 'none';
  let chosen: Candidate;
  if (lv !== undefined) {
    const [vgWanted, lvWanted] = lv.includes('/') ? lv.split('/', 2) : [undefined, lv];
    const hits = all.filter((c) => c.lv.name === lvWanted && (vgWanted === undefined || c.vg.metadata.name === vgWanted));
    // A snapshot (its copy-on-write store) is no visible LV, but is chosen by its name.
    if (hits.length === 0)
      hits.push(
        ...vgs.flatMap((vg) =>
          vg.metadata.lvs.filter((l) => l.name === lvWanted && l.snapshotOf !== undefined && (vgWanted === undefined || vg.metadata.name === vgWanted)).map((l) => ({ vg, lv: l })),
        ),
      );
    if (hits.length !== 1) throw new UsageError(`--lv ${lv}: ${hits.length ? 'names several logical volumes' : 'no such logical volume'} (logical volumes: ${list()})`);
    chosen = hits[0]!;
  } else if (all.length === 1) {
    chosen = all[0]!;
    io.stderr.write(`LVM volume group ${chosen.vg.metadata.name}: using its only logical volume ${lvName(chosen)}\n`);
  } else {
    const btrfs = all.filter(holdsBtrfs);
    if (btrfs.length !== 1) throw new UsageError(`${btrfs.length ? 'several logical volumes hold btrfs' : 'no logical volume holds btrfs'} (logical volumes: ${list()}); pick one with --lv VG/LV`);
    chosen = btrfs[0]!;
    io.stderr.write(`LVM volume group ${chosen.vg.metadata.name}: using logical volume ${lvName(chosen)}, the only one holding btrfs (logical volumes: ${list()})\n`);
  }
  const meta = chosen.vg.metadata;
  for (const p of chosen.vg.problems) io.stderr.write(`warning: LVM ${meta.name}: ${p}\n`);
  // A snapshot reads its store and, for the chunks it holds no exception for, its origin.
  const origin = chosen.lv.snapshotOf !== undefined ? meta.lvs.find((l) => l.name === chosen.lv.snapshotOf) : undefined;
  const needed = new Set([chosen.lv, ...(origin ? [origin] : [])].flatMap((l) => l.segments.flatMap((s) => s.areas.map((a) => a.pv))));
  for (const name of chosen.vg.missing) {
    if (!needed.has(name)) continue;
    const pv = meta.pvs.find((p) => p.name === name)!;
    io.stderr.write(
      `warning: ${lvName(chosen)} has extents on PV ${name} (uuid ${pv.id}${pv.deviceHint ? `, last seen as ${pv.deviceHint}` : ''}), which was not given; add it with --device (reads there fail and are reported)\n`,
    );
  }
  const source = openLv(chosen.vg, chosen.lv);
  // The LV takes the place of its first PV; the VG's other PVs leave the list, other inputs stay.
  const members = new Set(chosen.vg.present.values());
  const out: ByteSource[] = [];
  let placed = false;
  for (const s of sources) {
    if (!members.has(s)) out.push(s);
    else if (!placed) {
      out.push(source);
      placed = true;
    }
  }
  return out;
}
