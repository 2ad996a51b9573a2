import { rule } from '../../findingRules.js';
import { SuperFlag } from '../../format/constants.js';
import { superblockCopyDifference } from '../../format/superblock.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import type { CheckFinding } from './types.js';

/**
 * Superblock checks beyond what assembly already reports (bad magic or
 * checksum of any copy, older copies, insane fields, missing devices): the
 * valid copies of a device agree with each other (except log_root, which
 * log syncs write to the primary copy only), and each device is as
 * large as its dev item says (a shorter one is a truncated image).
 */
export function checkSuperblocks(fs: Filesystem, add: (f: CheckFinding) => void): { copies: number; used: number } {
  let copies = 0;
  for (const s of fs.assembly.supers) {
    const best = s.supers.best;
    for (const m of s.supers.mirrors) {
      if (m.state === 'missing') continue;
      copies++;
      const sb = m.superblock;
      if (!best || !sb || m.state !== 'ok' || m.index === s.supers.bestIndex) continue;
      const differs = (['root', 'chunkRoot', 'fsid', 'totalBytes', 'bytesUsed'] as const).filter((f) => sb[f] !== best[f]);
      if (differs.length) {
        add({
          ...rule('super-mirror-mismatch'),
          message: `${s.name}: superblock copy ${m.index + 1} at ${m.offset} has the same generation but differs in ${differs.join(', ')}`,
          location: { device: s.name, physical: m.offset, copy: m.index },
        });
        continue;
      }
      // Any other difference: the copies of one generation are written from one buffer.
      const bestRaw = s.supers.mirrors[s.supers.bestIndex ?? -1]?.raw;
      const at = bestRaw && m.raw && m.generation === best.generation ? superblockCopyDifference(bestRaw, m.raw) : -1;
      if (at >= 0) {
        add({
          ...rule('super-copies-differ'),
          message: `${s.name}: superblock copies ${(s.supers.bestIndex ?? 0) + 1} and ${m.index + 1} (at ${m.offset}) are both valid, of generation ${best.generation}, but differ at byte ${at} (beyond bytenr, checksum and log root)`,
          location: { device: s.name, physical: m.offset, copy: m.index },
        });
      }
    }
  }
  for (const d of fs.volume.devices.values()) {
    const item = fs.devItems.get(d.devid);
    if (d.source && item && d.source.size < item.totalBytes) {
      add({
        ...rule('device-truncated'),
        message: `${d.name}: device is ${d.source.size} bytes, its dev item says ${item.totalBytes} (truncated image?)`,
        location: { device: d.name, devid: d.devid, physical: d.source.size },
      });
    }
  }
  const sb = fs.superblock;
  const dump = fs.assembly.metadump;
  if (dump) {
    add({
      ...rule('metadump'),
      message: dump.data
        ? `${dump.name} is a btrfs-image dump made with -d (format ${dump.version}${dump.compressed ? ', zlib' : ''}), read in place: it holds the tree blocks, the primary superblock and the data extents, but its csum items and inline file data are zeroed; file data is not checked`
        : `${dump.name} is a btrfs-image dump (format ${dump.version}${dump.compressed ? ', zlib' : ''}), read in place: it holds the tree blocks and the primary superblock only; file data is not checked`,
      location: {},
    });
  } else if (sb.flags & (SuperFlag.METADUMP | SuperFlag.METADUMP_V2)) {
    add({ ...rule('metadump'), message: 'image made by btrfs-image (METADUMP flag): it holds metadata only; file data is not checked', location: {} });
  }
  if (sb.logRoot !== 0n) {
    add({
      ...rule('log-tree'),
      message: `a log tree at ${sb.logRoot} holds fsync'd changes not yet replayed (normal after a crash; the kernel replays it at mount)`,
      location: { logical: sb.logRoot, tree: 0xfffffffffffffffan },
    });
  }
  return { copies, used: fs.assembly.supers[0]?.supers.bestIndex ?? 0 };
}
