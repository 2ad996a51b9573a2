import * as fs from 'node:fs';
import * as path from 'node:path';
import { decompress } from 'fzstd';
import { describe, expect, test } from 'vitest';
import { parseLvmText } from '../src/format/lvm/metadata.js';
import { SourceError } from '../src/io/ByteSource.js';
import { assembleVolumeGroups, openLv, readLvmPv, SnapshotSource, visibleLvs } from '../src/io/lvm/index.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { expectKernelFilesystem, sha256Of } from './helpers/containers.js';
import { rng } from './helpers/rng.js';

/**
 * test/fixtures/lvm (build.sh there): PVs made by pvcreate/vgcreate, LVs loaded by vgcfgrestore,
 * the btrfs written where the segments say by lvlayout.py. Truth: vgcfgbackup's metadata text
 * (*.vg), the LVs' sha256 as lvlayout.py assembles them from it, and the files' sha256 through
 * the kernel's mount (../containers/files.sha256).
 */
const LVM = path.join(import.meta.dirname, 'fixtures', 'lvm');
const bytes = (name: string) => decompress(new Uint8Array(fs.readFileSync(path.join(LVM, `${name}.zst`))));
const truth = (name: string) => fs.readFileSync(path.join(LVM, name), 'utf8').trim();
const pvSource = (name: string) => new MemorySource(bytes(name), name);

/** The VG as vgcfgbackup wrote it, read by an independent walk of its text (lvlayout.py's grammar). */
function backupLvs(vgFile: string): Map<string, { start: number; count: number; stripes: string }[]> {
  const text = truth(vgFile);
  const out = new Map<string, { start: number; count: number; stripes: string }[]>();
  const lvPart = text.slice(text.indexOf('logical_volumes'));
  for (const m of lvPart.matchAll(/\n\t\t(\w+) \{([\s\S]*?)\n\t\t\}/g)) {
    const segs = [...m[2]!.matchAll(/segment\d+ \{([\s\S]*?)\n\t\t\t\}/g)].map((b) => ({
      start: Number(/start_extent = (\d+)/.exec(b[1]!)![1]),
      count: Number(/extent_count = (\d+)/.exec(b[1]!)![1]),
      stripes: (/stripes = \[([^\]]*)\]/.exec(b[1]!)?.[1] ?? '').replace(/\s+/g, ' ').trim(),
    }));
    out.set(m[1]!, segs);
  }
  return out;
}

describe('LVM2 physical volumes and logical volumes', () => {
  const pv0 = readLvmPv(pvSource('pv0.img'))!;
  const pv1 = readLvmPv(pvSource('pv1.img'))!;

  test('the PV label and the newest metadata (seqno 2: after vgcfgrestore) as vgcfgbackup wrote it', () => {
    expect(pv0.label.pvUuid).toBe('gBUY5c-4IL0-GME9-NHXp-Reo8-V15e-MHISrq');
    expect(pv1.label.pvUuid).toBe('V9MoVw-DcFm-bZLW-cxgy-99pa-miuF-ajH3c7');
    expect(pv0.problems).toEqual([]);
    const backup = truth('vgtest.vg');
    const m = pv0.metadata!;
    expect(m.name).toBe('vgtest');
    expect(m.seqno).toBe(BigInt(/seqno = (\d+)/.exec(backup)![1]!));
    expect(m.id).toBe(/\tid = "([^"]+)"/.exec(backup)![1]);
    expect(m.extentBytes).toBe(BigInt(/extent_size = (\d+)/.exec(backup)![1]!) * 512n);
    const lvs = backupLvs('vgtest.vg');
    expect(m.lvs.map((l) => l.name).sort()).toEqual([...lvs.keys()].sort());
    for (const lv of m.lvs) {
      expect(lv.segments.map((s) => ({ start: Number(s.startExtent), count: Number(s.extentCount), stripes: s.areas.map((a) => `"${a.pv}", ${a.pe}`).join(', ') }))).toEqual(lvs.get(lv.name));
    }
  });

  test('a snapshot (vgcfgbackup: snapshot0 of type snapshot, origin data, cow_store snap) is two LVs, neither visible, the store marked', () => {
    const m = pv0.metadata!;
    const backup = truth('vgtest.vg');
    expect(m.lvs.find((l) => l.name === 'snapshot0')!.origin).toBe(/origin = "(\w+)"/.exec(backup)![1]);
    expect(m.lvs.find((l) => l.name === /cow_store = "(\w+)"/.exec(backup)![1])!.snapshotOf).toBe('data');
    expect(visibleLvs(m).map((l) => l.name)).not.toContain('snap');
  });

  test('the snapshot reads as cowstore.py says: the origin through the 300 exceptions of its store (two areas)', () => {
    const [vg] = assembleVolumeGroups([pv0, pv1]);
    const snap = openLv(vg!, vg!.metadata.lvs.find((l) => l.name === 'snap')!);
    expect(snap).toBeInstanceOf(SnapshotSource);
    expect((snap as SnapshotSource).exceptions).toBe(300);
    expect(snap.size).toBe(openLv(vg!, vg!.metadata.lvs.find((l) => l.name === 'data')!).size);
    expect(sha256Of(snap)).toBe(truth('snap.sha256'));
  });

  describe('a damaged exception store: opens, then its first read is a SourceError naming the store', () => {
    const STORE = 156237824; // pv0's extent 37 (vgtest.vg: snap at "pv0", 37; pe_start 2048 sectors): where the store lies on pv0
    const withStore = (patch: (b: Uint8Array, dv: DataView) => void) => {
      const b = bytes('pv0.img');
      patch(b, new DataView(b.buffer, b.byteOffset + STORE));
      const [vg] = assembleVolumeGroups([readLvmPv(new MemorySource(b, 'pv0.img'))!, pv1]);
      const snap = openLv(vg!, vg!.metadata.lvs.find((l) => l.name === 'snap')!);
      return () => snap.read(0n, 4096);
    };
    test.each([
      ['no header (a store never used)', (b: Uint8Array) => b.fill(0, STORE, STORE + 16), /no snapshot exception store header/],
      ['marked invalid (overflowed)', (_b: Uint8Array, dv: DataView) => dv.setUint32(4, 0, true), /marked invalid/],
      ['a chunk size that is no power of two', (_b: Uint8Array, dv: DataView) => dv.setUint32(12, 12, true), /chunk size of 12 sectors/],
      ['an exception past the origin', (_b: Uint8Array, dv: DataView) => dv.setBigUint64(4096, 1n << 40n, true), /names origin chunk 1099511627776, past the origin's 29696 chunks/],
      ['an exception past the store', (_b: Uint8Array, dv: DataView) => dv.setBigUint64(4096 + 8, 5000n, true), /at store chunk 5000, past the store's 1024 chunks/],
    ])('%s', (_what, patch, message) => {
      const open = withStore(patch);
      expect(open).toThrow(SourceError);
      expect(open).toThrow(message);
    });
  });

  test('a striped and linear LV over two PVs reads as lvlayout.py assembled it, and holds the kernel-written btrfs', () => {
    const [vg] = assembleVolumeGroups([pv0, pv1]);
    expect(vg!.missing).toEqual([]);
    expect(
      visibleLvs(vg!.metadata)
        .map((l) => l.name)
        .sort(),
    ).toEqual(['data', 'scratch']);
    const lv = openLv(vg!, vg!.metadata.lvs.find((l) => l.name === 'data')!);
    expect(lv.size).toBe(29n * 4n * 1024n * 1024n);
    expect(sha256Of(lv)).toBe(truth('data.sha256'));
    expectKernelFilesystem(lv);
  });

  test('a PV left out: reads that reach it fail naming the PV, the others still read', () => {
    const [vg] = assembleVolumeGroups([pv0]);
    expect(vg!.missing).toEqual(['pv1']);
    const lv = openLv(vg!, vg!.metadata.lvs.find((l) => l.name === 'data')!);
    expect(lv.read(0n, 4096).length).toBe(4096);
    // extents 18.. are linear on pv1
    expect(() => lv.read(18n * 4n * 1024n * 1024n, 512)).toThrow(SourceError);
    expect(() => lv.read(18n * 4n * 1024n * 1024n, 512)).toThrow(/PV pv1 \(uuid V9MoVw-DcFm-bZLW-cxgy-99pa-miuF-ajH3c7\), which was not given/);
  });

  test('a source with no label is no PV; a damaged label CRC is a problem with its offset, not a throw', () => {
    expect(readLvmPv(new MemorySource(new Uint8Array(8192), 'zeros'))).toBeNull();
    const b = bytes('pv1.img');
    b[512 + 100] = b[512 + 100]! ^ 0xff; // inside the PV header, covered by the label CRC
    const pv = readLvmPv(new MemorySource(b, 'bad'))!;
    expect(pv.problems.join('\n')).toMatch(/bad at offset 512: PV label checksum does not match/);
  });

  test('hostile metadata text: deep nesting and unterminated strings are refused, never a hang', () => {
    expect(() => parseLvmText('a '.concat('{ b '.repeat(100)))).toThrow(/nested too deep/);
    expect(() => parseLvmText('vg { id = "abc')).toThrow(/unterminated string/);
  });

  test('mutated PVs (label, metadata area header, metadata text): read with problems or not a PV, LVs read or fail with a SourceError, never another error', () => {
    const original = bytes('pv1.img').subarray(0, 1 << 20);
    const other = readLvmPv(pvSource('pv0.img'))!;
    const next = rng(0x1f);
    const outcomes = { pv: 0, none: 0, refusedReads: 0 };
    for (let c = 0; c < 200; c++) {
      const b = original.slice();
      const n = 1 + Math.floor(next() * 6);
      for (let i = 0; i < n; i++) {
        // The label sector, the metadata area header, or the text (4096 + 512 on: the ring).
        const region = next();
        const at = region < 0.3 ? 512 + Math.floor(next() * 512) : region < 0.5 ? 4096 + Math.floor(next() * 512) : 4608 + Math.floor(next() * 3000);
        const v = next() < 0.5 ? [0, 0xff, 0x22, 0x7b, 0x7d, 0x5b, 0x30][Math.floor(next() * 7)]! : Math.floor(next() * 256);
        b[at] = v;
      }
      const pv = readLvmPv(new MemorySource(b, 'f'));
      if (!pv) {
        outcomes.none++;
        continue;
      }
      outcomes.pv++;
      for (const vg of assembleVolumeGroups([other, pv])) {
        for (const lv of vg.metadata.lvs) {
          const src = openLv(vg, lv);
          for (let r = 0; r < 4; r++) {
            const off = src.size > 0n ? BigInt(Math.floor(next() * Number(src.size))) : 0n;
            try {
              expect(src.read(off, 4096).length).toBeLessThanOrEqual(4096);
            } catch (e) {
              if (!(e instanceof SourceError)) throw new Error(`case ${c}: ${(e as Error).stack}`);
              outcomes.refusedReads++;
            }
          }
        }
      }
    }
    expect(outcomes.pv).toBeGreaterThan(0);
  });
});
