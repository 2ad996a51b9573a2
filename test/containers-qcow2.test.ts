import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SourceError } from '../src/io/ByteSource.js';
import { defaultCodecs } from '../src/io/containers/codecs.js';
import { Qcow2Source, readQcow2Header, readQcow2Snapshots } from '../src/io/containers/qcow2.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { nodeCodecs } from '../src/io/node/codecs.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { CONTAINERS, expectKernelFilesystem, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

interface QemuSnapshot {
  id: string;
  name: string;
  'date-sec': number;
  'date-nsec': number;
  'vm-state-size': number;
}
interface QemuInfo {
  snapshots?: QemuSnapshot[];
  'virtual-size': number;
  'cluster-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific': { data: { compat: string; 'compression-type': string; 'extended-l2'?: boolean } };
}
const qemuInfo = JSON.parse(fs.readFileSync(path.join(CONTAINERS, 'qemu-img-info.json'), 'utf8')) as Record<string, QemuInfo>;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-qcow2-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const mem = (name: string, bytes = fixtureBytes(`${name}.qcow2`)) => new MemorySource(bytes, `${name}.qcow2`);
const be = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** The header fields qemu-img info reports, as our header decodes them. */
function expectHeaderAsQemuSays(src: Qcow2Source, name: string): void {
  const q = qemuInfo[name]!;
  const h = src.header;
  expect(h.size).toBe(BigInt(q['virtual-size']));
  expect(h.clusterSize).toBe(q['cluster-size']);
  expect(h.version).toBe(q['format-specific'].data.compat === '0.10' ? 2 : 3);
  expect(h.compressionType).toBe(q['format-specific'].data['compression-type']);
  expect(h.extendedL2).toBe(q['format-specific'].data['extended-l2'] ?? false);
  expect(h.backingFile).toBe(q['backing-filename'] ?? null);
  expect(h.backingFormat).toBe(q['backing-filename-format'] ?? null);
}

describe('qcow2 made by qemu-img', () => {
  test('version 2, 4 KiB clusters, uncompressed: the raw image and the kernel filesystem', () => {
    const src = new Qcow2Source(mem('v2'));
    expectHeaderAsQemuSays(src, 'v2');
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(src);
  });

  test('version 3, zlib-compressed clusters (fflate and Node zlib alike)', () => {
    const bytes = fixtureBytes('zlib.qcow2');
    const a = new Qcow2Source(mem('zlib', bytes), { codecs: defaultCodecs });
    expectHeaderAsQemuSays(a, 'zlib');
    expect(sha256Of(a)).toBe(truthLine('raw.sha256'));
    expect(sha256Of(new Qcow2Source(mem('zlib', bytes), { codecs: nodeCodecs }))).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(a);
  });

  test('version 3, zstd-compressed clusters (compression_type 1)', () => {
    const src = new Qcow2Source(mem('zstd'));
    expectHeaderAsQemuSays(src, 'zstd');
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
  });

  test('a bounded cache still reads every byte right', () => {
    const src = new Qcow2Source(mem('zlib'), { cacheBytes: 70_000 });
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
  });
});

describe('qcow2 internal snapshots (qemu-img snapshot -c)', () => {
  const bytes = fixtureBytes('snap.qcow2');
  const truth = new Map(
    truthLine('snap.sha256')
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );

  test('listed as qemu-img info lists them', () => {
    const got = readQcow2Snapshots(new MemorySource(bytes));
    const want = qemuInfo['snap']!.snapshots!;
    expect(got.map((s) => [s.id, s.name, s.vmStateSize])).toEqual(want.map((s) => [s.id, s.name, BigInt(s['vm-state-size'])]));
    expect(got.map((s) => s.date)).toEqual(want.map((s) => `${new Date(s['date-sec'] * 1000).toISOString().slice(0, 19)}.${String(s['date-nsec']).padStart(9, '0')}Z`));
    expect(new Qcow2Source(new MemorySource(bytes)).snapshots()).toEqual(got);
  });

  test('each snapshot, by id or name, reads as qemu-img convert -l snapshot.name= wrote it', () => {
    expect(sha256Of(new Qcow2Source(new MemorySource(bytes)))).toBe(truth.get('current'));
    expect(sha256Of(new Qcow2Source(new MemorySource(bytes), { snapshot: 'before' }))).toBe(truth.get('before'));
    const after = new Qcow2Source(new MemorySource(bytes), { snapshot: '2' });
    expect(after.snapshot?.name).toBe('after');
    expect(sha256Of(after)).toBe(truth.get('after'));
    // The first snapshot was taken before any write: it is the filesystem.
    expect(truth.get('before')).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(new Qcow2Source(new MemorySource(bytes), { snapshot: 'before' }));
  });

  test('an unknown snapshot is refused, listing those there are; a hostile count is bounded', () => {
    expect(() => new Qcow2Source(new MemorySource(bytes, 's.qcow2'), { snapshot: 'nope' })).toThrow(/s\.qcow2: qcow2: no internal snapshot "nope" \(the image has 1 "before", 2 "after"\)/);
    const b = bytes.slice();
    be(b).setUint32(60, 0xffffffff);
    expect(() => readQcow2Snapshots(new MemorySource(b))).toThrow(/4294967295 snapshots, more than 65536/);
  });
});

describe('qcow2 files through openByteSource', () => {
  const put = (name: string, bytes: Uint8Array, sub: string) => {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
    fs.writeFileSync(path.join(dir, sub, name), bytes);
    return path.join(dir, sub, name);
  };

  test('detected by content under any name; a backing chain reads as qemu-img convert wrote it', () => {
    const img = put('disk.img', fixtureBytes('zlib.qcow2'), 'plain');
    const plain = openByteSource(img);
    expect(plain).toBeInstanceOf(Qcow2Source);
    expect(sha256Of(plain)).toBe(truthLine('raw.sha256'));
    plain.close?.();

    put('zlib.qcow2', fixtureBytes('zlib.qcow2'), 'chain');
    const overlayPath = put('overlay.qcow2', fixtureBytes('overlay.qcow2'), 'chain');
    // Opened from elsewhere: the backing name is relative to the overlay's directory.
    const cwd = process.cwd();
    try {
      process.chdir(os.tmpdir());
      const overlay = openByteSource(path.relative(os.tmpdir(), overlayPath)) as Qcow2Source;
      expectHeaderAsQemuSays(overlay, 'overlay');
      expect(overlay.backing).toBeInstanceOf(Qcow2Source);
      expect(sha256Of(overlay)).toBe(truthLine('overlay.sha256'));
      // The overlay changed only the last MiB, which btrfs does not use.
      expectKernelFilesystem(overlay);
      overlay.close?.();
    } finally {
      process.chdir(cwd);
    }
  });

  test('extended L2: subclusters allocated, zeroed, or read from the backing file', () => {
    put('zlib.qcow2', fixtureBytes('zlib.qcow2'), 'ext');
    const src = openByteSource(put('extl2.qcow2', fixtureBytes('extl2.qcow2'), 'ext')) as Qcow2Source;
    expectHeaderAsQemuSays(src, 'extl2');
    expect(sha256Of(src)).toBe(truthLine('extl2.sha256'));
    src.close?.();
  });

  test('the overlay holds a cluster that reads as zeros by its L2 flag (version 3)', () => {
    const bytes = fixtureBytes('overlay.qcow2');
    const h = readQcow2Header(new MemorySource(bytes));
    const zeroAt = 118554624n;
    const cluster = zeroAt / BigInt(h.clusterSize);
    const l2 = be(bytes).getBigUint64(Number(h.l1TableOffset) + Number(cluster >> 13n) * 8) & 0x00fffffffffffe00n;
    const entry = be(bytes).getBigUint64(Number(l2) + Number(cluster & 8191n) * 8);
    expect(entry & 1n).toBe(1n);
  });

  test('a missing backing file is refused, naming it', () => {
    const p = put('overlay.qcow2', fixtureBytes('overlay.qcow2'), 'missing');
    expect(() => openByteSource(p)).toThrow(/backing file "zlib\.qcow2" \(.*missing\/zlib\.qcow2\) does not exist/);
  });

  test('a backing chain that loops is refused', () => {
    const overlay = fixtureBytes('overlay.qcow2');
    const name = new TextEncoder().encode('zlib.qcow2');
    const at = Buffer.from(overlay).indexOf(Buffer.from(name));
    expect(at).toBeGreaterThan(0);
    // ylib.qcow2 names zlib.qcow2, which names ylib.qcow2.
    const other = overlay.slice();
    other[at] = 'y'.charCodeAt(0);
    put('ylib.qcow2', overlay, 'loop');
    put('zlib.qcow2', other, 'loop');
    expect(() => openByteSource(path.join(dir, 'loop', 'ylib.qcow2'))).toThrow(/backing file chain loops: .*ylib\.qcow2 -> .*zlib\.qcow2 -> .*ylib\.qcow2/);
    // A file that names itself.
    put('zlib.qcow2', overlay, 'self');
    expect(() => openByteSource(path.join(dir, 'self', 'zlib.qcow2'))).toThrow(/backing file chain loops/);
  });
});

describe('hostile qcow2', () => {
  const base = fixtureBytes('zlib.qcow2');
  const header = readQcow2Header(new MemorySource(base));
  const cs = header.clusterSize;
  const l1At = Number(header.l1TableOffset);
  /** The first L1 entry with an L2 table, and the first compressed entry of that table. */
  function firstCompressed(bytes: Uint8Array): { l1Index: number; l2At: number; entryAt: number; entry: bigint } {
    for (let i = 0; i < header.l1Size; i++) {
      const l2 = be(bytes).getBigUint64(l1At + i * 8) & 0x00fffffffffffe00n;
      if (!l2) continue;
      for (let j = 0; j < cs / 8; j++) {
        const e = be(bytes).getBigUint64(Number(l2) + j * 8);
        if (e & (1n << 62n)) return { l1Index: i, l2At: Number(l2), entryAt: Number(l2) + j * 8, entry: e };
      }
    }
    throw new Error('no compressed cluster');
  }
  const readAllOf = (src: Qcow2Source) => {
    for (let o = 0n; o < src.size; o += 1n << 20n) src.read(o, 1 << 20);
  };

  test('a truncated file: a clear error naming the file, no hang', () => {
    const cut = base.slice(0, base.length >> 1);
    expect(() => readAllOf(new Qcow2Source(new MemorySource(cut, 'cut.qcow2')))).toThrow(/cut\.qcow2: qcow2: .*(past the end|outside the file)/);
    expect(() => new Qcow2Source(new MemorySource(base.slice(0, 50), 'tiny.qcow2'))).toThrow(/too short for a header/);
  });

  test('an L2 table past the end of the file', () => {
    const b = base.slice();
    const { l1Index } = firstCompressed(b);
    be(b).setBigUint64(l1At + l1Index * 8, BigInt((Math.ceil(b.length / cs) + 10) * cs));
    const src = new Qcow2Source(new MemorySource(b, 'far.qcow2'));
    expect(() => readAllOf(src)).toThrow(SourceError);
    expect(() => readAllOf(src)).toThrow(/L2 table of L1 entry \d+ at \d+ lies past the end of the file/);
  });

  test('tables pointing at themselves read as their own bytes, without looping', () => {
    const b = base.slice();
    const { l1Index, l2At, entryAt } = firstCompressed(b);
    // The L2 entry points at its own table as an uncompressed data cluster.
    be(b).setBigUint64(entryAt, BigInt(l2At));
    const guest = BigInt((entryAt - l2At) / 8 + l1Index * (cs / 8)) * BigInt(cs);
    const src = new Qcow2Source(new MemorySource(b));
    expect(Buffer.compare(src.read(guest, cs), b.subarray(l2At, l2At + cs))).toBe(0);
    // The L1 entry points at the L1 table itself: its entries are read as L2 entries.
    const c = base.slice();
    be(c).setBigUint64(l1At, BigInt(l1At));
    const s2 = new Qcow2Source(new MemorySource(c));
    expect(s2.read(0n, 4096).length).toBe(4096);
  });

  test('a compressed cluster inflating beyond the cluster size', () => {
    const b = base.slice();
    const { entry } = firstCompressed(b);
    const x = 62n - BigInt(header.clusterBits - 8);
    const host = Number(entry & ((1n << x) - 1n));
    const sectors = Number((entry >> x) & ((1n << BigInt(header.clusterBits - 8)) - 1n)) + 1;
    const bomb = deflateRawSync(new Uint8Array(cs * 4));
    expect(bomb.length).toBeLessThan(sectors * 512 - (host & 511));
    b.set(bomb, host);
    for (const codecs of [defaultCodecs, nodeCodecs]) {
      const src = new Qcow2Source(new MemorySource(b, 'bomb.qcow2'), { codecs });
      expect(() => readAllOf(src)).toThrow(/bomb\.qcow2: qcow2: compressed guest cluster \d+: deflate data inflates beyond 65536 bytes/);
    }
  });

  test('a hostile L1 size or virtual size is refused before anything is allocated', () => {
    const b = base.slice(0, 4096);
    be(b).setBigUint64(24, 1n << 55n); // size: 32 PiB needs an L1 table of 256 MiB
    be(b).setUint32(36, 0xffffffff);
    expect(() => readQcow2Header(new MemorySource(b, 'huge.qcow2'))).toThrow(/L1 table of \d+ bytes is over the 33554432-byte limit/);
    const c = base.slice(0, 4096);
    // One L1 entry covers 512 MiB of 64 KiB clusters: not a 1 TiB disk.
    be(c).setUint32(36, 1);
    be(c).setBigUint64(24, 1n << 40n);
    expect(() => readQcow2Header(new MemorySource(c))).toThrow(/L1 table of 1 entries is too small/);
    const d = base.slice(0, 4096);
    be(d).setUint32(20, 40);
    expect(() => readQcow2Header(new MemorySource(d))).toThrow(/cluster_bits 40 outside 9\.\.21/);
    const e = base.slice(0, 4096);
    be(e).setUint32(32, 2);
    expect(() => readQcow2Header(new MemorySource(e))).toThrow(/encrypted/);
  });
});
