import { describe, expect, it } from 'vitest';
import { computeCsum } from '../src/format/checksum.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { SliceSource } from '../src/io/SliceSource.js';
import { superblockRows } from '../src/report/superblock.js';
import { assemble } from '../src/volume/assemble.js';
import { readSuperblocks } from '../src/volume/superblocks.js';
import { hasTruth, manifest, sampleNames, sampleSources, truthText } from './helpers/samples.js';

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
    if (line.startsWith('backup_roots[')) {
      inBackups = true;
      continue;
    }
    if (inBackups) {
      const b = /^\tbackup (\d+):/.exec(line);
      if (b) {
        cur.backups.push(new Map());
        continue;
      }
      const f = /^\t\t(\w+):\s+(\d+)(?:\s+gen:\s+(\d+)\s+level:\s+(\d+))?/.exec(line);
      if (f && cur.backups.length) {
        const bm = cur.backups[cur.backups.length - 1]!;
        bm.set(f[1]!, f[2]!);
        if (f[3]) {
          bm.set(`${f[1]}.gen`, f[3]);
          bm.set(`${f[1]}.level`, f[4]!);
        }
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

describe('which superblock copy is used (the primary, as the kernel and btrfs-progs do)', () => {
  // btrfs_super_block: generation at 0x48, bytenr at 0x30, checksum over bytes 0x20.. stored at 0.
  const GEN = 0x48;
  const BYTENR = 0x30;
  const copyAt = (src: ByteSource, offset: bigint, gen: bigint) => {
    const sb = src.read(0x10000n, 4096).slice();
    const v = new DataView(sb.buffer);
    v.setBigUint64(BYTENR, offset, true);
    v.setBigUint64(GEN, gen, true);
    sb.fill(0, 0, 32);
    sb.set(computeCsum(v.getUint16(0xc4, true), sb.subarray(32)), 0);
    return sb;
  };
  const src = () => sampleSources('default')[0]!;

  it('a valid backup copy of a higher generation does not take over: it is reported as newer', () => {
    const raw = src();
    const primary = readSuperblocks(raw);
    const gen = primary.best!.generation;
    const forged = new OverlaySource(raw).patch(0x4000000n, copyAt(raw, 0x4000000n, gen + 5n));
    const s = readSuperblocks(forged);
    expect(s.bestIndex).toBe(0);
    expect(s.best!.generation).toBe(gen);
    expect(s.mirrors[1]!.state).toBe('newer');
    expect(s.mirrors[1]!.generation).toBe(gen + 5n);
    const a = assemble([forged]);
    const f = a.findings.find((x) => x.code === 'super-newer')!;
    expect(f.severity).toBe('warning');
    expect(f.location.physical).toBe(0x4000000n);
    expect(f.message).toContain(`newer (generation ${gen + 5n}) than copy 1, which is used`);
  });

  it('an invalid primary falls back to the newest valid backup, and a forced copy is used only when valid', () => {
    const raw = src();
    const gen = readSuperblocks(raw).best!.generation;
    const broken = new OverlaySource(raw).patch(0x10000n + BigInt(GEN), new Uint8Array([0x77]));
    const s = readSuperblocks(broken);
    expect(s.mirrors[0]!.state).toBe('bad-csum');
    expect(s.bestIndex).toBe(1);
    expect(s.best!.generation).toBe(gen);
    const older = new OverlaySource(raw).patch(0x4000000n, copyAt(raw, 0x4000000n, gen - 1n));
    const forced = readSuperblocks(older, { copy: 1 });
    expect(forced.bestIndex).toBe(1);
    expect(forced.best!.generation).toBe(gen - 1n);
    expect(forced.mirrors[0]!.state).toBe('newer');
    expect(readSuperblocks(broken, { copy: 0 }).best).toBeUndefined();
  });
});
