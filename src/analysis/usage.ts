import { BLOCK_GROUP_TYPE_MASK, BlockGroupFlag, profileOf } from '../format/constants.js';
import { readBlockGroupsAt, readDevExtents } from '../tree/blockGroups.js';
import type { Filesystem } from '../tree/Filesystem.js';

/**
 * Space usage as `btrfs filesystem usage` / `df` / `device usage` report it,
 * from the device items (chunk tree), device extents (device tree) and block
 * group items (extent or block-group tree). The global reserve is the
 * kernel's in-memory figure and is not on disk, so it is not shown.
 */

export interface DeviceUsage {
  devid: bigint;
  uuid: string;
  size: bigint;
  /** Σ device extents on it. */
  allocated: bigint;
  unallocated: bigint;
  /** Raw bytes on this device per "Type,profile". */
  byGroup: Map<string, bigint>;
  /** bytes_used of the DEV_ITEM (what the kernel keeps; should equal allocated). */
  bytesUsedItem: bigint;
}

export interface GroupUsage {
  /** "Data", "Metadata", "System", "Data+Metadata". */
  type: string;
  profile: string;
  /** Logical size (Σ chunk lengths) and used (Σ block group used). */
  size: bigint;
  used: bigint;
  /** Raw bytes on devices. */
  raw: bigint;
  chunks: number;
}

export interface UsageReport {
  devices: DeviceUsage[];
  groups: GroupUsage[];
  deviceSize: bigint;
  allocated: bigint;
  unallocated: bigint;
  /** Σ used × ratio (raw bytes used). */
  used: bigint;
  dataRatio: number;
  metadataRatio: number;
  /** Free space in data chunks plus unallocated space at the data ratio (the max ratio for `min`). */
  freeEstimated: bigint;
  freeMin: bigint;
  multipleProfiles: boolean;
  mixed: boolean;
}

export function typeName(flags: bigint): string {
  const t = flags & BLOCK_GROUP_TYPE_MASK;
  if (t & BlockGroupFlag.DATA && t & BlockGroupFlag.METADATA) return 'Data+Metadata';
  if (t & BlockGroupFlag.DATA) return 'Data';
  if (t & BlockGroupFlag.METADATA) return 'Metadata';
  if (t & BlockGroupFlag.SYSTEM) return 'System';
  // mkfs.btrfs 6.19 names the remap tree's block groups "Remap".
  if (t & BlockGroupFlag.METADATA_REMAP) return 'Remap';
  return 'unknown';
}

export function profileName(flags: bigint): string {
  const p = profileOf(flags);
  return p === 'SINGLE' ? 'single' : p;
}

function ratio(raw: bigint, size: bigint): number {
  return size === 0n ? 0 : Number((raw * 100n) / size) / 100;
}

export function computeUsage(fs: Filesystem): UsageReport {
  // Only the chunks' own block groups count, so they are looked up by key (a few blocks), not walked (every extent-tree leaf).
  const used = new Map<bigint, bigint>();
  for (const [logical, bg] of readBlockGroupsAt(
    fs,
    fs.volume.chunks.all.map((c) => c.logical),
  ))
    used.set(logical, bg.used);
  const devExt = readDevExtents(fs);
  const groups = new Map<string, GroupUsage>();
  const chunkGroup = new Map<bigint, GroupUsage>();
  for (const c of fs.volume.chunks.all) {
    const type = typeName(c.type),
      profile = profileName(c.type);
    const k = `${type},${profile}`;
    let g = groups.get(k);
    if (!g) {
      g = { type, profile, size: 0n, used: 0n, raw: 0n, chunks: 0 };
      groups.set(k, g);
    }
    g.size += c.length;
    g.used += used.get(c.logical) ?? 0n;
    g.chunks++;
    chunkGroup.set(c.logical, g);
  }
  const devices = new Map<bigint, DeviceUsage>();
  for (const [devid, d] of fs.devItems) {
    // A seed device is read-only and not the filesystem's to allocate from; btrfs filesystem usage leaves it out too.
    if (fs.volume.devices.get(devid)?.seed) continue;
    devices.set(devid, { devid, uuid: d.uuid, size: d.totalBytes, allocated: 0n, unallocated: 0n, byGroup: new Map(), bytesUsedItem: d.bytesUsed });
  }
  for (const x of devExt) {
    const d = devices.get(x.devid);
    const g = chunkGroup.get(x.chunkOffset);
    if (g) g.raw += x.length;
    if (!d) continue;
    d.allocated += x.length;
    const k = g ? `${g.type},${g.profile}` : 'unknown';
    d.byGroup.set(k, (d.byGroup.get(k) ?? 0n) + x.length);
  }
  let deviceSize = 0n,
    allocated = 0n;
  for (const d of devices.values()) {
    d.unallocated = d.size > d.allocated ? d.size - d.allocated : 0n;
    deviceSize += d.size;
    allocated += d.allocated;
  }
  const list = [...groups.values()];
  const order = ['Data', 'Data+Metadata', 'Metadata', 'System'];
  list.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  let usedRaw = 0n,
    dataSize = 0n,
    dataUsed = 0n,
    dataRaw = 0n,
    metaSize = 0n,
    metaRaw = 0n;
  let maxRatio = 0;
  for (const g of list) {
    usedRaw += g.size === 0n ? 0n : (g.used * g.raw) / g.size;
    if (g.type === 'Data' || g.type === 'Data+Metadata') {
      dataSize += g.size;
      dataUsed += g.used;
      dataRaw += g.raw;
    }
    if (g.type === 'Metadata' || g.type === 'Data+Metadata') {
      metaSize += g.size;
      metaRaw += g.raw;
    }
    maxRatio = Math.max(maxRatio, ratio(g.raw, g.size));
  }
  const dataRatio = ratio(dataRaw, dataSize);
  const metadataRatio = ratio(metaRaw, metaSize);
  const unallocated = deviceSize > allocated ? deviceSize - allocated : 0n;
  const at = (r: number) => (r > 0 ? (unallocated * 100n) / BigInt(Math.round(r * 100)) : 0n);
  const dataFree = dataSize - dataUsed;
  const types = new Map<string, Set<string>>();
  for (const g of list) (types.get(g.type) ?? types.set(g.type, new Set()).get(g.type)!).add(g.profile);
  return {
    devices: [...devices.values()].sort((a, b) => (a.devid < b.devid ? -1 : 1)),
    groups: list,
    deviceSize,
    allocated,
    unallocated,
    used: usedRaw,
    dataRatio,
    metadataRatio,
    freeEstimated: dataFree + at(dataRatio),
    freeMin: dataFree + at(maxRatio),
    multipleProfiles: [...types.values()].some((s) => s.size > 1),
    mixed: list.some((g) => g.type === 'Data+Metadata'),
  };
}
