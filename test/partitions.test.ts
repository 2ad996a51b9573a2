import * as fs from 'node:fs';
import * as path from 'node:path';
import CRC32 from 'crc-32';
import { describe, expect, test } from 'vitest';
import type { ByteSource } from '../src/io/ByteSource.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import {
  findBtrfsPartitions,
  formatGuid,
  hasBtrfsMagic,
  MAX_LOGICAL_PARTITIONS,
  openPartition,
  type Partition,
  type PartitionTable,
  PartitionTableError,
  partitionTypeName,
  readPartitionTable,
} from '../src/io/partitions.js';
import { SliceSource } from '../src/io/SliceSource.js';
import { SparseSource } from '../src/io/SparseSource.js';

// ---------------------------------------------------------------- fixtures
//
// test/fixtures/partitions/*.runs.gz are 64 MiB disks partitioned by sfdisk /
// sgdisk (see make-fixtures.sh there), stored as their non-zero 4 KiB blocks
// only. Next to each is what the tools themselves printed: the truth.

const FIX = path.join(import.meta.dirname, 'fixtures', 'partitions');
const loadDisk = (name: string): SparseSource => loadRunsImage(path.join(FIX, `${name}.runs.gz`), { name });

interface SfdiskPart {
  node: string;
  start: number;
  size: number;
  type: string;
  uuid?: string;
  name?: string;
  attrs?: string;
  bootable?: boolean;
}
interface SfdiskTable {
  label: 'gpt' | 'dos';
  id: string;
  sectorsize: number;
  firstlba?: number;
  lastlba?: number;
  partitions: SfdiskPart[];
}
const sfdisk = (name: string): SfdiskTable => (JSON.parse(fs.readFileSync(path.join(FIX, `${name}.sfdisk.json`), 'utf8')) as { partitiontable: SfdiskTable }).partitiontable;
const nodeIndex = (node: string): number => Number(/(\d+)$/.exec(node)![1]);

/** sfdisk's GPT attribute words as bits. */
function sfdiskAttrs(s: string | undefined): bigint {
  let bits = 0n;
  for (const word of (s ?? '').split(/\s+/).filter(Boolean)) {
    if (word === 'RequiredPartition') bits |= 1n;
    else if (word === 'NoBlockIOProtocol') bits |= 2n;
    else if (word === 'LegacyBIOSBootable') bits |= 4n;
    else if (word.startsWith('GUID:')) for (const n of word.slice(5).split(',')) bits |= 1n << BigInt(n);
    else throw new Error(`unknown sfdisk attribute ${word}`);
  }
  return bits;
}

/** `sgdisk -p`: disk GUID, usable range and the partition lines (names may be cut with "..."). */
function sgdiskPrint(name: string) {
  const text = fs.readFileSync(path.join(FIX, `${name}.sgdisk.txt`), 'utf8');
  const guid = /Disk identifier \(GUID\): (\S+)/.exec(text)![1]!;
  const usable = /First usable sector is (\d+), last usable sector is (\d+)/.exec(text)!;
  const ss = Number(/Sector size \(logical(?:\/physical)?\): (\d+)/.exec(text)![1]);
  const parts = [...text.matchAll(/^\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+ \S+\s+([0-9A-F]{4})\s+(.*)$/gm)].map((m) => ({
    index: Number(m[1]),
    first: BigInt(m[2]!),
    last: BigInt(m[3]!),
    code: m[4]!,
    name: m[5]!,
  }));
  return { guid, ss, firstUsable: BigInt(usable[1]!), lastUsable: BigInt(usable[2]!), parts };
}

/** `sgdisk -i N` for each partition: full names and attribute flags. */
function sgdiskInfo(name: string) {
  const text = fs.readFileSync(path.join(FIX, `${name}.sgdisk-info.txt`), 'utf8');
  return text
    .split(/^== /m)
    .filter(Boolean)
    .map((block) => ({
      index: Number(/^(\d+)/.exec(block)![1]),
      type: /Partition GUID code: (\S+)/.exec(block)![1]!,
      uuid: /Partition unique GUID: (\S+)/.exec(block)![1]!,
      first: BigInt(/First sector: (\d+)/.exec(block)![1]!),
      last: BigInt(/Last sector: (\d+)/.exec(block)![1]!),
      attributes: BigInt(`0x${/Attribute flags: ([0-9a-fA-F]+)/.exec(block)![1]}`),
      name: /Partition name: '(.*)'$/m.exec(block)![1]!,
    }));
}

/** The table must say exactly what sfdisk --json said. */
function expectMatchesSfdisk(table: PartitionTable | null, truth: SfdiskTable): void {
  expect(table).not.toBeNull();
  const t = table!;
  const ss = BigInt(truth.sectorsize);
  expect(t.type).toBe(truth.label === 'dos' ? 'mbr' : 'gpt');
  expect(t.sectorSize).toBe(truth.sectorsize);
  expect(t.diskId.toLowerCase()).toBe(truth.id.toLowerCase());
  if (truth.label === 'gpt') {
    expect(t.gpt!.firstUsableLba).toBe(BigInt(truth.firstlba!));
    expect(t.gpt!.lastUsableLba).toBe(BigInt(truth.lastlba!));
  }
  const got = t.partitions.map((p) => ({ index: p.index, start: p.start, size: p.size, type: p.type, name: p.name, uuid: p.uuid, attributes: p.attributes, bootable: p.bootable }));
  const want = truth.partitions.map((p) =>
    truth.label === 'gpt'
      ? {
          index: nodeIndex(p.node),
          start: BigInt(p.start) * ss,
          size: BigInt(p.size) * ss,
          type: p.type,
          name: p.name ?? '',
          uuid: p.uuid,
          attributes: sfdiskAttrs(p.attrs),
          bootable: undefined,
        }
      : {
          index: nodeIndex(p.node),
          start: BigInt(p.start) * ss,
          size: BigInt(p.size) * ss,
          type: `0x${p.type.padStart(2, '0')}`,
          name: '',
          uuid: undefined,
          attributes: undefined,
          bootable: p.bootable === true,
        },
  );
  expect(got).toEqual(want);
}

/** A source with some bytes replaced (the original is not touched). */
class PatchedSource implements ByteSource {
  readonly size: bigint;
  readonly name: string;
  constructor(
    private readonly inner: ByteSource,
    private readonly patches: { at: bigint; bytes: Uint8Array }[],
  ) {
    this.size = inner.size;
    this.name = inner.name;
  }
  read(offset: bigint, length: number): Uint8Array {
    const out = this.inner.read(offset, length).slice();
    const end = offset + BigInt(out.length);
    for (const { at, bytes } of this.patches) {
      for (let i = 0; i < bytes.length; i++) {
        const o = at + BigInt(i);
        if (o >= offset && o < end) out[Number(o - offset)] = bytes[i]!;
      }
    }
    return out;
  }
}
const flip = (src: ByteSource, at: bigint): PatchedSource => new PatchedSource(src, [{ at, bytes: new Uint8Array([src.read(at, 1)[0]! ^ 0x5a]) }]);

// ---------------------------------------------------------------- builders for hostile tables

function mbrSector(entries: { status?: number; type: number; start: number; sectors: number }[], signature = true): Uint8Array {
  const b = new Uint8Array(512);
  const v = new DataView(b.buffer);
  entries.forEach((e, i) => {
    const o = 446 + 16 * i;
    b[o] = e.status ?? 0;
    b[o + 4] = e.type;
    v.setUint32(o + 8, e.start, true);
    v.setUint32(o + 12, e.sectors, true);
  });
  if (signature) {
    b[510] = 0x55;
    b[511] = 0xaa;
  }
  return b;
}

/** A sparse disk of `sectors` sectors with the given sectors' contents. */
function disk(sectors: bigint, content: Map<bigint, Uint8Array>, ss = 512): SparseSource {
  const runs = [...content.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([lba, bytes]) => ({ offset: Number(lba) * ss, bytes }));
  return new SparseSource(sectors * BigInt(ss), runs, 'hostile');
}

function guidBytes(s: string): Uint8Array {
  const h = s.replace(/-/g, '');
  const raw = Uint8Array.from({ length: 16 }, (_, i) => parseInt(h.slice(2 * i, 2 * i + 2), 16));
  const b = raw.slice();
  b.set([raw[3]!, raw[2]!, raw[1]!, raw[0]!, raw[5]!, raw[4]!, raw[7]!, raw[6]!], 0);
  return b;
}

interface GptPart {
  slot: number; // 0-based
  type: string;
  uuid: string;
  first: bigint;
  last: bigint;
  name: string;
  attributes?: bigint;
}
interface HeaderFields {
  headerSize: number;
  myLba: bigint;
  altLba: bigint;
  firstUsable: bigint;
  lastUsable: bigint;
  entriesLba: bigint;
  count: number;
  entrySize: number;
  revision: number;
}

const LINUX = '0FC63DAF-8483-4772-8E79-3D69D8477DE4';
const DISK_GUID = '11111111-2222-4333-8444-555555555555';

/**
 * A GPT disk built by hand (to make tables no tool would write). `tweak`
 * edits a header's fields before its CRCs are computed; `after` damages the
 * finished header sector.
 */
function gptDisk(opts: {
  sectors?: bigint;
  ss?: number;
  parts?: GptPart[];
  protective?: boolean;
  tweak?: (h: HeaderFields, which: 'primary' | 'backup') => void;
  after?: (sector: Uint8Array, which: 'primary' | 'backup') => void;
  primary?: boolean;
  backup?: boolean;
}): SparseSource {
  const ss = opts.ss ?? 512;
  const sectors = opts.sectors ?? 4096n;
  const last = sectors - 1n;
  const count = 128;
  const entrySize = 128;
  const arraySectors = BigInt(Math.ceil((count * entrySize) / ss));
  const entries = new Uint8Array(count * entrySize);
  const ev = new DataView(entries.buffer);
  for (const p of opts.parts ?? []) {
    const o = p.slot * entrySize;
    entries.set(guidBytes(p.type), o);
    entries.set(guidBytes(p.uuid), o + 16);
    ev.setBigUint64(o + 32, p.first, true);
    ev.setBigUint64(o + 40, p.last, true);
    ev.setBigUint64(o + 48, p.attributes ?? 0n, true);
    for (let i = 0; i < p.name.length && i < 36; i++) ev.setUint16(o + 56 + 2 * i, p.name.charCodeAt(i), true);
  }
  const content = new Map<bigint, Uint8Array>();
  const padded = new Uint8Array(Number(arraySectors) * ss);
  padded.set(entries);
  const header = (which: 'primary' | 'backup'): Uint8Array => {
    const f: HeaderFields = {
      headerSize: 92,
      myLba: which === 'primary' ? 1n : last,
      altLba: which === 'primary' ? last : 1n,
      firstUsable: 2n + arraySectors,
      lastUsable: last - 1n - arraySectors,
      entriesLba: which === 'primary' ? 2n : last - arraySectors,
      count,
      entrySize,
      revision: 0x00010000,
    };
    opts.tweak?.(f, which);
    const b = new Uint8Array(ss);
    const v = new DataView(b.buffer);
    b.set(new TextEncoder().encode('EFI PART'), 0);
    v.setUint32(8, f.revision, true);
    v.setUint32(12, f.headerSize, true);
    v.setBigUint64(24, f.myLba, true);
    v.setBigUint64(32, f.altLba, true);
    v.setBigUint64(40, f.firstUsable, true);
    v.setBigUint64(48, f.lastUsable, true);
    b.set(guidBytes(DISK_GUID), 56);
    v.setBigUint64(72, f.entriesLba, true);
    v.setUint32(80, f.count, true);
    v.setUint32(84, f.entrySize, true);
    const arrayLen = Math.min(f.count * f.entrySize, entries.length);
    v.setUint32(88, CRC32.buf(entries.subarray(0, arrayLen)) >>> 0, true);
    const hs = Math.min(f.headerSize, ss);
    v.setUint32(16, CRC32.buf(b.subarray(0, hs)) >>> 0, true);
    opts.after?.(b, which);
    return b;
  };
  if (opts.protective !== false) content.set(0n, mbrSector([{ type: 0xee, start: 1, sectors: Number(last > 0xffffffffn ? 0xffffffffn : last) }]));
  if (opts.primary !== false) {
    content.set(1n, header('primary'));
    content.set(2n, padded);
  }
  if (opts.backup !== false) {
    content.set(last - arraySectors, padded);
    content.set(last, header('backup'));
  }
  return disk(sectors, content, ss);
}

const somePart = (slot: number, first: bigint, last: bigint, name = `part${slot + 1}`): GptPart => ({
  slot,
  type: LINUX,
  uuid: `AAAAAAAA-BBBB-4CCC-8DDD-${(slot + 1).toString(16).padStart(12, '0')}`.toUpperCase(),
  first,
  last,
  name,
});

function expectTableError(f: () => unknown, re: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(PartitionTableError);
  expect((err as Error).message).toMatch(re);
}

// ---------------------------------------------------------------- tests

describe('tables written by sfdisk / sgdisk', () => {
  test('GPT (512-byte sectors) equals sfdisk --json', () => {
    const src = loadDisk('gpt512');
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, sfdisk('gpt512'));
    expect(t!.problems).toEqual([]);
    expect(t!.gpt).toMatchObject({ headerLba: 1n, alternateLba: 131071n, usedBackup: false, entriesLba: 2n, entryCount: 128, entrySize: 128 });
    expect(t!.partitions.map((p) => p.index)).toEqual([1, 2, 3, 6, 9]); // slot numbers, gaps kept
    expect(t!.partitions.every((p) => p.kind === 'gpt')).toBe(true);
    expect(t!.partitions.map((p) => p.typeName)).toEqual(['EFI System', 'Linux filesystem', 'Linux swap', 'Linux LVM', 'Linux home']);
  });

  test('GPT (512-byte sectors) equals sgdisk -p and sgdisk -i', () => {
    const t = readPartitionTable(loadDisk('gpt512'))!;
    const print = sgdiskPrint('gpt512');
    expect(t.diskId).toBe(print.guid);
    expect(t.sectorSize).toBe(print.ss);
    expect(t.gpt!.firstUsableLba).toBe(print.firstUsable);
    expect(t.gpt!.lastUsableLba).toBe(print.lastUsable);
    expect(t.partitions.length).toBe(print.parts.length);
    t.partitions.forEach((p, i) => {
      const s = print.parts[i]!;
      expect([p.index, p.firstLba, p.lastLba]).toEqual([s.index, s.first, s.last]);
      expect(p.start).toBe(s.first * 512n);
      expect(p.size).toBe((s.last - s.first + 1n) * 512n);
      if (s.name.endsWith('...')) expect(p.name.startsWith(s.name.slice(0, -3))).toBe(true);
      else expect(p.name).toBe(s.name);
    });
    const info = sgdiskInfo('gpt512');
    expect(t.partitions.map((p) => ({ index: p.index, type: p.type, uuid: p.uuid, first: p.firstLba, last: p.lastLba, attributes: p.attributes, name: p.name }))).toEqual(info);
    // The odd ones: a 36-character name without terminator, non-ASCII, high attribute bits.
    expect(info.find((p) => p.index === 6)!.name).toBe('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789');
    expect(t.partitions.find((p) => p.index === 9)!.name).toBe('données ☃ home');
    expect(t.partitions.find((p) => p.index === 9)!.attributes).toBe((1n << 60n) | (1n << 63n));
  });

  test('GPT on a 4096-byte-sector disk equals sfdisk --json / sgdisk -p', () => {
    const src = loadDisk('gpt4k');
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, sfdisk('gpt4k'));
    const print = sgdiskPrint('gpt4k');
    expect(print.ss).toBe(4096);
    expect(t!.partitions.map((p) => [p.index, p.firstLba, p.lastLba])).toEqual(print.parts.map((p) => [p.index, p.first, p.last]));
    expect(t!.gpt!.alternateLba).toBe(src.size / 4096n - 1n);
    expect(t!.problems).toEqual([]);
    // Told the sector size, it agrees; told the wrong one, the protective MBR promises a GPT that is not there.
    expect(readPartitionTable(src, { sectorSize: 4096 })).toEqual(t);
    expectTableError(() => readPartitionTable(src, { sectorSize: 512 }), /protective MBR present but no usable GPT/);
  });

  test('MBR with an extended partition and two logical ones equals sfdisk --json', () => {
    const src = loadDisk('mbr');
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, sfdisk('mbr'));
    expect(t!.problems).toEqual([]);
    expect(t!.partitions.map((p) => [p.index, p.kind])).toEqual([
      [1, 'primary'],
      [2, 'primary'],
      [3, 'extended'],
      [5, 'logical'],
      [6, 'logical'],
    ]);
    expect(t!.partitions.map((p) => p.typeName)).toEqual(['Linux', 'Linux swap / Solaris', 'Extended', 'Linux', 'Linux LVM']);
    expect(t!.partitions.map((p) => p.name)).toEqual(['', '', '', '', '']);
    // sfdisk --dump agrees too.
    const dump = fs.readFileSync(path.join(FIX, 'mbr.sfdisk.dump'), 'utf8');
    const lines = [...dump.matchAll(/img(\d+) : start=\s*(\d+), size=\s*(\d+), type=(\w+)/g)];
    expect(t!.partitions.map((p) => [p.index, p.firstLba, p.size / 512n, p.mbrType])).toEqual(lines.map((m) => [Number(m[1]), BigInt(m[2]!), BigInt(m[3]!), parseInt(m[4]!, 16)]));
  });

  test('findBtrfsPartitions finds the partitions mkfs.btrfs wrote to', () => {
    const gpt = loadDisk('gpt512');
    expect(findBtrfsPartitions(gpt).map((p) => p.index)).toEqual([2]);
    const mbr = loadDisk('mbr');
    expect(findBtrfsPartitions(mbr).map((p) => p.index)).toEqual([5]);
    expect(findBtrfsPartitions(loadDisk('gpt4k'))).toEqual([]);
    // A disk without a table, and a whole-disk filesystem.
    expect(findBtrfsPartitions(new MemorySource(new Uint8Array(1 << 20)))).toEqual([]);
    expect(hasBtrfsMagic(gpt)).toBe(false);
  });

  test('openPartition gives a window on the partition: a real btrfs superblock at 64 KiB', () => {
    for (const [name, index] of [
      ['gpt512', 2],
      ['mbr', 5],
    ] as const) {
      const src = loadDisk(name);
      const table = readPartitionTable(src)!;
      const p = table.partitions.find((q) => q.index === index)!;
      const part = openPartition(src, index, table);
      expect(part).toBeInstanceOf(SliceSource);
      expect(part.size).toBe(p.size);
      expect(part.start).toBe(p.start);
      expect(part.name).toBe(`${name} partition ${index}`);
      expect(hasBtrfsMagic(part)).toBe(true);
      const sb = part.read(0x10000n, 4096);
      const v = new DataView(sb.buffer, sb.byteOffset, sb.byteLength);
      expect(new TextDecoder().decode(sb.subarray(0x40, 0x48))).toBe('_BHRfS_M');
      expect(v.getBigUint64(0x30, true)).toBe(0x10000n); // bytenr of the primary superblock
      expect(v.getBigUint64(0xc9 + 8, true)).toBe(p.size); // dev_item.total_bytes: the partition's size
      expect(new TextDecoder().decode(sb.subarray(0x12b, 0x12b + 7))).toBe('fixture');
      // Reading past the partition's end stops there.
      expect(part.read(p.size - 10n, 100).length).toBe(10);
      // Without a table given, it is read.
      expect(openPartition(src, index).start).toBe(p.start);
    }
    const mbr = loadDisk('mbr');
    expectTableError(() => openPartition(mbr, 4), /no partition 4 \(partitions: 1, 2, 3, 5, 6\)/);
    expectTableError(() => openPartition(mbr, 3), /extended partition/);
    expectTableError(() => openPartition(new MemorySource(new Uint8Array(4096), 'blank'), 1), /^blank: no partition table$/);
  });
});

describe('damaged GPTs fall back to the backup', () => {
  const truth = sfdisk('gpt512');

  test('primary header CRC mismatch', () => {
    const src = flip(loadDisk('gpt512'), 512n + 60n); // a byte of the disk GUID in the primary header
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, truth);
    expect(t!.gpt!.usedBackup).toBe(true);
    expect(t!.gpt!.headerLba).toBe(131071n);
    expect(t!.gpt!.entriesLba).toBe(131071n - 32n);
    expect(t!.problems[0]).toMatch(/^GPT header at LBA 1: header CRC32 mismatch \(stored 0x[0-9A-F]{8}, computed 0x[0-9A-F]{8}\); using the backup GPT header at LBA 131071$/);
  });

  test('primary entry array CRC mismatch', () => {
    const src = flip(loadDisk('gpt512'), 1024n + 56n); // first letter of partition 1's name
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, truth);
    expect(t!.gpt!.usedBackup).toBe(true);
    expect(t!.problems[0]).toMatch(/partition entry array CRC32 mismatch.*using the backup/);
  });

  test('primary signature wiped', () => {
    const src = new PatchedSource(loadDisk('gpt512'), [{ at: 512n, bytes: new Uint8Array(512) }]);
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, truth);
    expect(t!.problems[0]).toBe('no primary GPT header at LBA 1; using the backup GPT header at LBA 131071');
  });

  test('a bad backup is reported, the good primary used', () => {
    const src = flip(loadDisk('gpt512'), 131071n * 512n + 60n);
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, truth);
    expect(t!.gpt!.usedBackup).toBe(false);
    expect(t!.problems).toEqual([expect.stringMatching(/^backup GPT header at LBA 131071: header CRC32 mismatch/)]);
  });

  test('both headers bad: an error, not a guess', () => {
    const src = flip(flip(loadDisk('gpt512'), 512n + 60n), 131071n * 512n + 60n);
    expectTableError(() => readPartitionTable(src), /^gpt512: protective MBR present but no usable GPT: GPT header at LBA 1: header CRC32 mismatch.*GPT header at LBA 131071: header CRC32 mismatch/);
    expectTableError(() => findBtrfsPartitions(src), /no usable GPT/);
  });

  test('4 KiB sectors: backup at the last 4 KiB LBA', () => {
    const src = flip(loadDisk('gpt4k'), 4096n + 60n);
    const t = readPartitionTable(src);
    expectMatchesSfdisk(t, sfdisk('gpt4k'));
    expect(t!.gpt!.headerLba).toBe(16383n);
  });

  test('a missing protective MBR, and a hybrid MBR, are noted', () => {
    const noMbr = new PatchedSource(loadDisk('gpt512'), [{ at: 0n, bytes: new Uint8Array(512) }]);
    const t = readPartitionTable(noMbr);
    expectMatchesSfdisk(t, truth);
    expect(t!.problems).toEqual(['no valid protective MBR in sector 0']);

    const hybridEntry = mbrSector([
      { type: 0xee, start: 1, sectors: 2047 },
      { type: 0x0c, start: 2048, sectors: 16384 },
    ]).subarray(446, 510);
    const hybrid = new PatchedSource(loadDisk('gpt512'), [{ at: 446n, bytes: hybridEntry }]);
    const h = readPartitionTable(hybrid);
    expectMatchesSfdisk(h, truth);
    expect(h!.problems[0]).toMatch(/^hybrid MBR/);
  });

  test('a truncated image still reads from the primary', () => {
    const full = loadDisk('gpt512');
    const cut = new SliceSource(full, 0n, 60n << 20n, 'cut');
    const t = readPartitionTable(cut)!;
    expect(t.partitions.map((p) => p.index)).toEqual([1, 2, 3, 6, 9]);
    expect(t.problems.join('\n')).toMatch(/expected at LBA 131071, not at the last LBA 122879/);
    expect(t.problems.join('\n')).toMatch(/last usable LBA 131038 is past the end of the disk/);
    expect(t.problems.join('\n')).toMatch(/GPT entry 9: extends past the end of the disk/);
  });
});

describe('hostile GPTs', () => {
  const parts = [somePart(0, 34n, 1000n), somePart(3, 1001n, 2000n, 'fourth')];

  test('the hand-built GPT reads back', () => {
    const t = readPartitionTable(gptDisk({ parts }))!;
    expect(t.problems).toEqual([]);
    expect(t.diskId).toBe(DISK_GUID);
    expect(t.partitions.map((p) => [p.index, p.firstLba, p.lastLba, p.name, p.uuid])).toEqual([
      [1, 34n, 1000n, 'part1', 'AAAAAAAA-BBBB-4CCC-8DDD-000000000001'],
      [4, 1001n, 2000n, 'fourth', 'AAAAAAAA-BBBB-4CCC-8DDD-000000000004'],
    ]);
  });

  test('a huge entry count is refused without reading it', () => {
    const huge = (h: HeaderFields) => {
      h.count = 0xffffffff;
    };
    const t0 = Date.now();
    expectTableError(() => readPartitionTable(gptDisk({ parts, tweak: huge })), /entry array of 4294967295 x 128 bytes exceeds the 1048576-byte limit/);
    expect(Date.now() - t0).toBeLessThan(1000);
    // Only the primary hostile: the backup is used.
    const t = readPartitionTable(gptDisk({ parts, tweak: (h, w) => w === 'primary' && huge(h) }))!;
    expect(t.gpt!.usedBackup).toBe(true);
    expect(t.partitions.map((p) => p.index)).toEqual([1, 4]);
    // Large but allowed count whose array runs off the disk.
    expectTableError(() => readPartitionTable(gptDisk({ parts, tweak: (h) => void (h.count = 8192) })), /lies outside the disk|CRC32 mismatch/);
  });

  test.each([
    ['entry size 0', (h: HeaderFields) => void (h.entrySize = 0), /entry size 0 is not 128 x 2\^n/],
    ['entry size 100', (h: HeaderFields) => void (h.entrySize = 100), /entry size 100/],
    ['entry size 384', (h: HeaderFields) => void (h.entrySize = 384), /entry size 384/],
    ['entry size 2^31', (h: HeaderFields) => void (h.entrySize = 0x80000000), /entry size 2147483648/],
    ['header size 2^32-1', (h: HeaderFields) => void (h.headerSize = 0xffffffff), /header size 4294967295 out of range/],
    ['header size 20', (h: HeaderFields) => void (h.headerSize = 20), /header size 20 out of range/],
    ['wrong own LBA', (h: HeaderFields) => void (h.myLba += 7n), /header says it is at LBA/],
    ['usable range inverted', (h: HeaderFields) => void (h.firstUsable = h.lastUsable + 1n), /first usable LBA .* is after last usable LBA/],
    ['entries past the end', (h: HeaderFields) => void (h.entriesLba = 1n << 62n), /lies outside the disk/],
    ['entries at LBA 0', (h: HeaderFields) => void (h.entriesLba = 0n), /lies outside the disk/],
  ])('%s in both headers is an error', (_, tweak, re) => {
    expectTableError(() => readPartitionTable(gptDisk({ parts, tweak })), re);
    // ...and in the primary only, the backup is used.
    const t = readPartitionTable(gptDisk({ parts, tweak: (h, w) => w === 'primary' && tweak(h) }))!;
    expect(t.gpt!.usedBackup).toBe(true);
    expect(t.partitions.length).toBe(2);
  });

  test('odd entries: inverted, outside the usable range, past the end', () => {
    const t = readPartitionTable(
      gptDisk({
        parts: [somePart(0, 500n, 400n), somePart(1, 10n, 100n), somePart(2, 3000n, 9999n), somePart(127, 100n, 200n, 'last slot')],
      }),
    )!;
    expect(t.partitions.map((p) => p.index)).toEqual([2, 3, 128]);
    expect(t.problems).toEqual([
      'GPT entry 1: last LBA 400 is before first LBA 500; ignored',
      'GPT entry 2: sectors 10-100 lie outside the usable range 34-4062',
      'GPT entry 3: sectors 3000-9999 lie outside the usable range 34-4062',
      'GPT entry 3: extends past the end of the disk (4096 sectors)',
    ]);
  });

  test('zero entries, an unusual revision', () => {
    const t = readPartitionTable(
      gptDisk({
        tweak: (h) => {
          h.count = 0;
          h.revision = 0x20000;
        },
      }),
    )!;
    expect(t.partitions).toEqual([]);
    expect(t.problems.some((p) => /unusual revision 0x00020000/.test(p))).toBe(true);
  });

  test('GPT found without a protective MBR; absent GPT and blank disks are null', () => {
    const t = readPartitionTable(gptDisk({ parts, protective: false }))!;
    expect(t.type).toBe('gpt');
    expect(t.problems).toEqual(['no valid protective MBR in sector 0']);
    expect(readPartitionTable(new MemorySource(new Uint8Array(1 << 20)))).toBeNull();
    expect(readPartitionTable(new MemorySource(new Uint8Array(100)))).toBeNull();
    expect(readPartitionTable(new MemorySource(new Uint8Array(0)))).toBeNull();
    // A whole-device btrfs: superblock at 64 KiB, nothing in sector 0.
    const whole = new Uint8Array(1 << 20);
    whole.set(new TextEncoder().encode('_BHRfS_M'), 0x10040);
    expect(readPartitionTable(new MemorySource(whole))).toBeNull();
    expect(hasBtrfsMagic(new MemorySource(whole))).toBe(true);
    // Only a protective MBR: an error.
    const pmbrOnly = disk(4096n, new Map([[0n, mbrSector([{ type: 0xee, start: 1, sectors: 4095 }])]]));
    expectTableError(() => readPartitionTable(pmbrOnly), /protective MBR present but no usable GPT: no GPT header found/);
  });

  test('a bad sector size option is refused', () => {
    expectTableError(() => readPartitionTable(gptDisk({ parts }), { sectorSize: 1000 }), /invalid sector size 1000/);
  });

  test('fuzzed header fields (with valid CRCs) never throw anything but PartitionTableError', () => {
    let seed = 0x12345678;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    const pick = () => {
      const r = rnd() % 6;
      return r === 0 ? 0 : r === 1 ? 0xffffffff : r === 2 ? rnd() % 256 : r === 3 ? 128 << (rnd() % 6) : rnd();
    };
    const big = () => (BigInt(pick()) << BigInt(rnd() % 2 ? 32 : 0)) | BigInt(pick());
    const t0 = Date.now();
    for (let i = 0; i < 300; i++) {
      const tweak = (h: HeaderFields) => {
        const which = rnd() % 9;
        if (which === 0) h.headerSize = pick();
        if (which === 1) h.myLba = big();
        if (which === 2) h.altLba = big();
        if (which === 3) h.firstUsable = big();
        if (which === 4) h.lastUsable = big();
        if (which === 5) h.entriesLba = big();
        if (which === 6) h.count = pick();
        if (which === 7) h.entrySize = pick();
        if (which === 8) h.revision = pick();
      };
      const src = gptDisk({ parts, tweak: rnd() % 2 ? tweak : (h, w) => w === 'primary' && tweak(h) });
      try {
        const t = readPartitionTable(src);
        for (const p of t?.partitions ?? []) expect(p.size > 0n && p.start >= 0n).toBe(true);
      } catch (e) {
        expect(e).toBeInstanceOf(PartitionTableError);
      }
    }
    expect(Date.now() - t0).toBeLessThan(20000);
  });
});

describe('hostile MBRs', () => {
  const EXT = 4096;
  const primaries = (extSectors = 1_000_000) =>
    mbrSector([
      { type: 0x83, start: 2048, sectors: 2048, status: 0x80 },
      { type: 0x05, start: EXT, sectors: extSectors },
    ]);
  const ebr = (data: { start: number; sectors: number } | null, link: number | null, linkType = 0x05) =>
    mbrSector([...(data ? [{ type: 0x83, ...data }] : [{ type: 0, start: 0, sectors: 0 }]), ...(link !== null ? [{ type: linkType, start: link, sectors: 64 }] : [])]);
  const indices = (t: PartitionTable | null) => t!.partitions.map((p: Partition) => p.index);

  test('an EBR linking to itself stops with a problem', () => {
    const src = disk(
      2_000_000n,
      new Map([
        [0n, primaries()],
        [BigInt(EXT), ebr({ start: 2048, sectors: 100 }, 0)],
      ]),
    );
    const t = readPartitionTable(src)!;
    expect(indices(t)).toEqual([1, 2, 5]);
    expect(t.partitions[2]!.firstLba).toBe(BigInt(EXT + 2048));
    expect(t.problems).toEqual([`extended partition 2: EBR chain loops back to sector ${EXT}; stopped`]);
  });

  test('a two-EBR cycle stops with a problem', () => {
    const src = disk(
      2_000_000n,
      new Map([
        [0n, primaries()],
        [BigInt(EXT), ebr({ start: 63, sectors: 100 }, 10_000)],
        [BigInt(EXT + 10_000), ebr({ start: 63, sectors: 100 }, 0)],
      ]),
    );
    const t = readPartitionTable(src)!;
    expect(indices(t)).toEqual([1, 2, 5, 6]);
    expect(t.problems).toEqual([`extended partition 2: EBR chain loops back to sector ${EXT}; stopped`]);
  });

  test(`more than ${MAX_LOGICAL_PARTITIONS} logical partitions stop at the limit`, () => {
    const content = new Map<bigint, Uint8Array>([[0n, primaries()]]);
    for (let k = 0; k < 300; k++) content.set(BigInt(EXT + 16 * k), ebr({ start: 8, sectors: 8 }, 16 * (k + 1)));
    const t = readPartitionTable(disk(2_000_000n, content))!;
    expect(indices(t).length).toBe(2 + MAX_LOGICAL_PARTITIONS);
    expect(indices(t).at(-1)).toBe(4 + MAX_LOGICAL_PARTITIONS);
    expect(t.problems).toEqual([`extended partition 2: more than ${MAX_LOGICAL_PARTITIONS} logical partitions; stopped`]);
  });

  test('a long chain of empty EBRs stops at the hop limit', () => {
    const content = new Map<bigint, Uint8Array>([[0n, primaries()]]);
    for (let k = 0; k < 1000; k++) content.set(BigInt(EXT + k), ebr(null, k + 1));
    const t = readPartitionTable(disk(2_000_000n, content))!;
    expect(indices(t)).toEqual([1, 2]);
    expect(t.problems).toEqual(['extended partition 2: EBR chain longer than 256 links; stopped']);
  });

  test('links outside the extended partition, missing EBRs, partitions past the end', () => {
    const out = disk(
      2_000_000n,
      new Map([
        [0n, primaries(5000)],
        [BigInt(EXT), ebr({ start: 63, sectors: 100 }, 6000)],
      ]),
    );
    const a = readPartitionTable(out)!;
    expect(indices(a)).toEqual([1, 2, 5]);
    expect(a.problems).toEqual([`extended partition 2: EBR link to sector ${EXT + 6000} points outside the extended partition; stopped`]);

    const noSig = disk(2_000_000n, new Map([[0n, primaries()]]));
    expect(readPartitionTable(noSig)!.problems).toEqual([`extended partition 2: no valid EBR signature at sector ${EXT}; stopped`]);

    const small = disk(3000n, new Map([[0n, primaries()]]));
    const c = readPartitionTable(small)!;
    expect(c.problems).toContain('partition 2 (sectors 4096-1004095) extends past the end of the disk (3000 sectors)');
    expect(c.problems).toContain(`extended partition 2: EBR at sector ${EXT} is past the end of the disk; stopped`);
  });

  test('0x0F and 0x85 are extended too; logical numbering follows the chain', () => {
    const src = disk(
      2_000_000n,
      new Map([
        [
          0n,
          mbrSector([
            { type: 0, start: 0, sectors: 0 },
            { type: 0, start: 0, sectors: 0 },
            { type: 0x0f, start: EXT, sectors: 100_000 },
            { type: 0x07, start: 200_000, sectors: 1000 },
          ]),
        ],
        [BigInt(EXT), ebr(null, 100, 0x85)], // an empty EBR takes no number
        [BigInt(EXT + 100), ebr({ start: 2, sectors: 10 }, null)],
      ]),
    );
    const t = readPartitionTable(src)!;
    expect(t.partitions.map((p) => [p.index, p.kind, p.type])).toEqual([
      [3, 'extended', '0x0f'],
      [4, 'primary', '0x07'],
      [5, 'logical', '0x83'],
    ]);
    expect(t.partitions[2]!.start).toBe(BigInt(EXT + 102) * 512n);
  });

  test('not an MBR: bad boot indicator, no signature, no entries', () => {
    const bad = mbrSector([{ type: 0x83, start: 2048, sectors: 100, status: 0x12 }]);
    expect(readPartitionTable(disk(10_000n, new Map([[0n, bad]])))).toBeNull();
    expect(readPartitionTable(disk(10_000n, new Map([[0n, mbrSector([{ type: 0x83, start: 2048, sectors: 100 }], false)]])))).toBeNull();
    expect(readPartitionTable(disk(10_000n, new Map([[0n, mbrSector([])]])))).toBeNull();
  });

  test('MBR in 4096-byte sectors when told so', () => {
    const src = disk(100_000n, new Map([[0n, mbrSector([{ type: 0x83, start: 256, sectors: 1000 }])]]));
    expect(readPartitionTable(src)!.partitions[0]!.start).toBe(256n * 512n);
    const t = readPartitionTable(src, { sectorSize: 4096 })!;
    expect([t.sectorSize, t.partitions[0]!.start, t.partitions[0]!.size]).toEqual([4096, 256n * 4096n, 1000n * 4096n]);
  });

  test('fuzzed MBR and EBRs never hang or throw', () => {
    const base = loadDisk('mbr');
    const ebrs = [0n, 51200n * 512n, 94208n * 512n];
    let seed = 0x9e3779b9;
    const rnd = () => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return seed >>> 0;
    };
    for (let i = 0; i < 500; i++) {
      const patches = Array.from({ length: 1 + (rnd() % 8) }, () => ({
        at: ebrs[rnd() % ebrs.length]! + 446n + BigInt(rnd() % 64),
        bytes: new Uint8Array([rnd() % 4 === 0 ? 0x05 : rnd() & 0xff]),
      }));
      const t = readPartitionTable(new PatchedSource(base, patches));
      if (t) expect(t.partitions.filter((p) => p.kind === 'logical').length).toBeLessThanOrEqual(MAX_LOGICAL_PARTITIONS);
    }
  });
});

describe('helpers', () => {
  test('formatGuid reads the mixed-endian layout', () => {
    expect(formatGuid(guidBytes(LINUX))).toBe(LINUX);
    const b = new Uint8Array([0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b]);
    expect(formatGuid(b)).toBe('C12A7328-F81F-11D2-BA4B-00A0C93EC93B');
  });

  test('partitionTypeName', () => {
    expect(partitionTypeName(0x83)).toBe('Linux');
    expect(partitionTypeName('0x8e')).toBe('Linux LVM');
    expect(partitionTypeName('0fc63daf-8483-4772-8e79-3d69d8477de4')).toBe('Linux filesystem');
    expect(partitionTypeName('00000000-0000-0000-0000-000000000001')).toBeUndefined();
  });
});
