import { describe, expect, it } from 'vitest';
import { readSuperblocks } from '../src/volume/superblocks.js';
import { superblockRows } from '../src/report/superblock.js';
import { hasTruth, sampleNames, sampleSources, truthText, manifest } from './helpers/samples.js';
import { SliceSource } from '../src/io/SliceSource.js';

/** Sections of `btrfs inspect-internal dump-super -f -a`: one per copy, "field<TAB>value" lines. */
function parseDumpSuper(text: string): { bytenr: bigint; fields: Map<string, string>; backups: Map<string, string>[] }[] {
  const out: { bytenr: bigint; fields: Map<string, string>; backups: Map<string, string>[] }[] = [];
  let cur: (typeof out)[number] | undefined;
  let inBackups = false;
  for (const line of text.split('\n')) {
    const m = /^superblock: bytenr=(\d+), device=/.exec(line);
    if (m) {
      cur = { bytenr: BigInt(m[1]!), fields: new Map(), backups: [] };
      out.push(cur);
      inBackups = false;
      continue;
    }
    if (!cur) continue;
    if (line.startsWith('backup_roots[')) { inBackups = true; continue; }
    if (inBackups) {
      const b = /^\tbackup (\d+):/.exec(line);
      if (b) { cur.backups.push(new Map()); continue; }
      const f = /^\t\t(\w+):\s+(\d+)(?:\s+gen:\s+(\d+)\s+level:\s+(\d+))?/.exec(line);
      if (f && cur.backups.length) {
        const bm = cur.backups[cur.backups.length - 1]!;
        bm.set(f[1]!, f[2]!);
        if (f[3]) { bm.set(`${f[1]}.gen`, f[3]); bm.set(`${f[1]}.level`, f[4]!); }
      }
      continue;
    }
    const f = /^([a-z_.]+(?: \(deprecated\))?)\t+(.*)$/.exec(line);
    if (f) cur.fields.set(f[1]!, f[2]!.trim());
  }
  return out;
}

const names = sampleNames();

describe.each(names)('superblock of sample %s', (name) => {
  it('every copy decodes to the fields dump-super shows', () => {
    const m = manifest(name);
    const sources = sampleSources(name);
    expect(sources.length).toBe(m.devices.length);
    sources.forEach((raw, i) => {
      const file = hasTruth(name, `dump-super-dev${i + 1}.txt`) ? `dump-super-dev${i + 1}.txt` : 'dump-super.txt';
      if (i > 0 && file === 'dump-super.txt') return;
      const src = m.partition && i === 0 ? new SliceSource(raw, BigInt(m.partition.btrfs_offset_bytes), BigInt(m.partition.btrfs_size_bytes), 'part') : raw;
      const truth = parseDumpSuper(truthText(name, file));
      expect(truth.length).toBeGreaterThan(0);
      const supers = readSuperblocks(src);
      for (const t of truth) {
        const mirror = supers.mirrors.find((x) => x.offset === t.bytenr)!;
        expect(mirror.state, `copy at ${t.bytenr}`).toBe('ok');
        const rows = new Map(superblockRows(mirror.superblock!));
        let compared = 0;
        for (const [k, v] of t.fields) {
          if (k === 'magic' || k === 'dev_item.fsid') continue;
          const ours = rows.get(k);
          if (ours === undefined) continue;
          const want = v.split(/\s+/)[0] ?? '';
          expect(ours.split(/\s+/)[0] ?? '', `${name} copy ${t.bytenr} field ${k}`).toBe(want);
          compared++;
        }
        expect(compared).toBeGreaterThan(40);
        // Backup roots.
        const sb = mirror.superblock!;
        t.backups.forEach((b, j) => {
          const ours = sb.backupRoots[j]!;
          expect(String(ours.treeRoot)).toBe(b.get('backup_tree_root'));
          expect(String(ours.treeRootGen)).toBe(b.get('backup_tree_root.gen'));
          expect(String(ours.chunkRoot)).toBe(b.get('backup_chunk_root'));
          expect(String(ours.extentRoot)).toBe(b.get('backup_extent_root'));
          expect(String(ours.fsRoot)).toBe(b.get('backup_fs_root'));
          expect(String(ours.fsRootLevel)).toBe(b.get('backup_fs_root.level'));
          expect(String(ours.devRoot)).toBe(b.get('backup_dev_root'));
          expect(String(ours.csumRoot)).toBe(b.get('csum_root'));
          expect(String(ours.totalBytes)).toBe(b.get('backup_total_bytes'));
          expect(String(ours.bytesUsed)).toBe(b.get('backup_bytes_used'));
          expect(String(ours.numDevices)).toBe(b.get('backup_num_devices'));
        });
      }
      // Copies dump-super does not show are those past the end of the device.
      for (const mirror of supers.mirrors) {
        if (!truth.some((t) => t.bytenr === mirror.offset)) expect(mirror.state).toBe('missing');
      }
      expect(supers.bestIndex).toBe(0);
    });
  });
});
