import type { Filesystem } from '../tree/Filesystem.js';

/** A seed device of a sprouted filesystem, for reports. */
export interface SeedDeviceReport {
  devid: bigint;
  device: string;
  uuid: string;
  /** The seed's own filesystem (the fsid its superblock and the sprout's DEV_ITEM carry). */
  fsid: string;
}

/** The seed devices the chunk tree names (empty unless the filesystem was sprouted from a seed). */
export function seedDevices(fs: Filesystem): SeedDeviceReport[] {
  const out: SeedDeviceReport[] = [];
  for (const d of fs.volume.devices.values()) {
    if (!d.seed) continue;
    out.push({ devid: d.devid, device: d.name, uuid: d.uuid, fsid: fs.devItems.get(d.devid)?.fsid ?? d.superblock?.fsid ?? '' });
  }
  return out.sort((a, b) => (a.devid < b.devid ? -1 : 1));
}

/** One line per seed device: which it is and what that means for what is on it. */
export function seedDeviceLines(fs: Filesystem): string[] {
  return seedDevices(fs).map((s) => `seed device: devid ${s.devid} (${s.device}), filesystem ${s.fsid}: read-only; what it holds was written before ${fs.superblock.fsid} sprouted from it`);
}
