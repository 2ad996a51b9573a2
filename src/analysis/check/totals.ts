import { rule } from '../../findingRules.js';
import type { Location } from '../../findings.js';
import { ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/**
 * The superblock's totals against the trees, as the kernel checks them when
 * it reads the chunk tree at mount (volumes.c btrfs_read_chunk_tree) and
 * btrfs check does: num_devices is the number of DEV_ITEMs, total_bytes is
 * at least the sum of the filesystem's own devices' total_bytes (seed
 * devices, whose dev items carry the seed's fsid, are not counted), each
 * device size is a whole number of sectors, and bytes_used is the sum of
 * the block groups' used bytes. A total is compared only when every block
 * it is summed from was read.
 */
export function checkSuperTotals(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const sb = fs.superblock;
  const first = fs.assembly.supers[0];
  const at: Location = { ...(first ? { device: first.name } : {}), physical: first?.supers.mirrors[first.supers.bestIndex ?? 0]?.offset ?? 0x10000n };
  const lostIn = (...trees: bigint[]) => facts.lost.some((l) => trees.includes(l.tree));
  if (!lostIn(ObjectId.CHUNK_TREE)) {
    const items = [...fs.devItems.values()];
    if (BigInt(items.length) !== sb.numDevices) {
      add({ ...rule('super-num-devices'), message: `superblock num_devices is ${sb.numDevices}, the chunk tree has ${items.length} dev item(s)`, location: at });
    }
    const own = items.filter((d) => d.fsid === sb.fsid);
    const sum = own.reduce((s, d) => s + d.totalBytes, 0n);
    if (sb.totalBytes < sum) {
      add({
        ...rule('super-total-bytes'),
        message: `superblock total_bytes ${sb.totalBytes} is less than its devices' total_bytes ${sum} (devids ${own.map((d) => d.devid).join(', ')})`,
        location: at,
      });
    }
    const ss = BigInt(sb.sectorsize);
    for (const d of items) {
      if (d.totalBytes % ss !== 0n) {
        add({
          ...rule('device-size-alignment'),
          message: `devid ${d.devid}: dev item total_bytes ${d.totalBytes} is not a multiple of sectorsize ${ss} (btrfs rescue fix-device-size rounds it down)`,
          location: { devid: d.devid },
        });
      }
    }
    if (sb.totalBytes % ss !== 0n) {
      add({ ...rule('device-size-alignment'), message: `superblock total_bytes ${sb.totalBytes} is not a multiple of sectorsize ${ss} (btrfs rescue fix-device-size rounds it down)`, location: at });
    }
  }
  if (!lostIn(ObjectId.EXTENT_TREE, ObjectId.BLOCK_GROUP_TREE) && facts.blockGroups.length > 0) {
    const used = facts.blockGroups.reduce((s, b) => s + b.used, 0n);
    if (used !== sb.bytesUsed) {
      add({ ...rule('super-bytes-used'), message: `superblock bytes_used is ${sb.bytesUsed}, the block groups' used bytes add up to ${used}`, location: at });
    }
  }
}
