import { rule } from '../findingRules.js';
import type { Finding } from '../findings.js';
import { SuperFlag } from '../format/constants.js';
import { type Superblock, superblockFieldProblems } from '../format/superblock.js';
import type { ByteSource } from '../io/ByteSource.js';
import type { MetadumpInfo } from './metadump.js';
import { type DeviceSupers, readSuperblocks, type SuperChoice, type SuperMirror } from './superblocks.js';
import type { Device } from './Volume.js';

/** The devices given to a command, matched into one filesystem. */
export interface Assembly {
  /** The superblock every read is based on: the first device's primary copy (see readSuperblocks). */
  superblock: Superblock;
  devices: Map<bigint, Device>;
  /** Superblock copies of every given source, in the order given. */
  supers: { name: string; devid?: bigint; supers: DeviceSupers }[];
  findings: Finding[];
  /**
   * Devices of other filesystems that are seeds (superblock flag SEEDING): the filesystem may
   * have sprouted from them. They join `devices` when the chunk tree names them (a DEV_ITEM of
   * their devid and uuid whose fsid is theirs); the rest are reported then.
   */
  seedCandidates: Device[];
  /** Set when the image is a btrfs-image dump read in place (tree blocks by logical address, no file data). */
  metadump?: MetadumpInfo;
}

/** Why the first source cannot be opened as btrfs at all. */
export class NotBtrfsError extends Error {
  constructor(
    readonly source: string,
    readonly supers: DeviceSupers,
  ) {
    const states = supers.mirrors.map((m) => `copy ${m.index + 1} at ${m.offset}: ${m.state}${otherProblems(m)}`).join('; ');
    super(`${source}: no valid btrfs superblock (${states})`);
    this.name = 'NotBtrfsError';
  }
}

/**
 * Matches sources to devices by the superblock's fsid and dev_item.devid
 * (as `btrfs device scan` does). The first source names the filesystem;
 * others of another filesystem, or duplicates of a devid, are reported and
 * left out. Devices the filesystem has but nobody gave are found later, from
 * the chunk tree's DEV_ITEMs.
 */
export function assemble(sources: ByteSource[], choice: SuperChoice = {}): Assembly {
  const findings: Finding[] = [];
  const supers = sources.map((s) => ({ name: s.name, source: s, supers: readSuperblocks(s, choice) }));
  if (!supers[0]) throw new Error('no device given');
  // A seed given first beside a device of another filesystem that is no seed: that one is the
  // sprout, the filesystem meant (the seed alone is its own, older, read-only filesystem).
  const isSeed = (b: Superblock | undefined) => b !== undefined && (b.flags & SuperFlag.SEEDING) !== 0n;
  const firstBest = supers[0].supers.best;
  const sprout = isSeed(firstBest) ? supers.find((s) => s.supers.best && !isSeed(s.supers.best) && s.supers.best.fsid !== firstBest!.fsid) : undefined;
  const first = sprout ?? supers[0];
  if (!first.supers.best) throw new NotBtrfsError(first.name, first.supers);
  const sb = first.supers.best;
  const devices = new Map<bigint, Device>();
  const seedCandidates: Device[] = [];
  for (const s of [first, ...supers.filter((x) => x !== first)]) {
    for (const m of s.supers.mirrors) {
      if (m.state === 'unreadable') {
        findings.push({
          ...rule('super-unreadable'),
          message: `${s.name}: superblock copy ${m.index + 1} at ${m.offset} cannot be read: ${m.readError}`,
          location: { device: s.name, physical: m.offset, copy: m.index },
        });
        continue;
      }
      if (m.state === 'bad-csum' || m.state === 'invalid' || m.state === 'older' || m.state === 'newer' || (m.state === 'bad-magic' && m.index === 0)) {
        findings.push({
          ...rule(`super-${m.state}`),
          message: `${s.name}: superblock copy ${m.index + 1} at ${m.offset} is ${mirrorState(m, s.supers.bestIndex)}${otherProblems(m)}`,
          location: { device: s.name, physical: m.offset, copy: m.index },
        });
      }
    }
    const best = s.supers.best;
    if (best) {
      for (const problem of superblockFieldProblems(best)) {
        findings.push({ ...rule('super-field'), message: `${s.name}: superblock copy ${s.supers.bestIndex! + 1}: ${problem}`, location: { device: s.name, physical: best.bytenr } });
      }
    }
    if (!best) {
      findings.push({ ...rule('device-not-btrfs'), message: `${s.name}: no valid superblock; device left out`, location: { device: s.name } });
      continue;
    }
    // With METADATA_UUID (or an interrupted fsid change) devices agree on the uuid blocks carry, not on fsid.
    if (best.fsid !== sb.fsid && best.treeFsid !== sb.treeFsid) {
      if (isSeed(best)) {
        seedCandidates.push({ devid: best.devItem.devid, uuid: best.devItem.uuid, name: s.name, source: s.source, superblock: best, seed: true });
        continue;
      }
      findings.push({ ...rule('device-other-fs'), message: `${s.name}: belongs to filesystem ${best.fsid}, not ${sb.fsid}; left out`, location: { device: s.name } });
      continue;
    }
    const devid = best.devItem.devid;
    const prev = devices.get(devid);
    if (prev) {
      findings.push({ ...rule('device-duplicate'), message: `${s.name}: devid ${devid} already given as ${prev.name}; left out`, location: { device: s.name, devid } });
      continue;
    }
    devices.set(devid, { devid, uuid: best.devItem.uuid, name: s.name, source: s.source, superblock: best });
    if (best.generation !== sb.generation) {
      findings.push({
        ...rule('device-generation'),
        message: `${s.name}: superblock generation ${best.generation} differs from ${sb.generation} of ${first.name}`,
        location: { device: s.name, devid },
      });
    }
  }
  return {
    superblock: sb,
    devices,
    findings,
    seedCandidates,
    supers: supers.map((s) => ({ name: s.name, ...(s.supers.best ? { devid: s.supers.best.devItem.devid } : {}), supers: s.supers })),
  };
}

/** What a copy's state means, for a message. */
function mirrorState(m: SuperMirror, used: number | undefined): string {
  const than = used === undefined ? '' : ` than copy ${used + 1}, which is used`;
  if (m.state === 'older') return `older (generation ${m.generation})`;
  // The kernel never reads a backup copy while the primary is valid: a newer one is stale or forged.
  if (m.state === 'newer') return `newer (generation ${m.generation})${than}; the kernel and btrfs-progs use the primary copy (--superblock ${m.index + 1} reads this one)`;
  return m.state;
}

/** Problems of a superblock copy beyond the one its state already names, as " (a, b)". */
function otherProblems(m: SuperMirror): string {
  const rest = m.problems.filter((p) => p !== m.state);
  return rest.length ? ` (${rest.join(', ')})` : '';
}
