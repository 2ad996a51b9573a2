import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SourceError } from '../src/io/ByteSource.js';
import { defaultCodecs } from '../src/io/containers/codecs.js';
import { EwfSource, ewfSegmentName } from '../src/io/containers/ewf.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { nodeCodecs } from '../src/io/node/codecs.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { CONTAINERS, expectKernelFilesystem, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-ewf-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** "Key:\t\tvalue" lines of ewfinfo's report. */
function ewfinfo(name: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(path.join(CONTAINERS, name), 'utf8').split('\n')) {
    const m = /^\t([^:]+):\t+(.*)$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}
const dv = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
/** Adler-32 as zlib computes it: the trailer of a zlib stream of the bytes. */
const zlibAdler = (b: Uint8Array): number => {
  const z = deflateSync(b);
  return z.readUInt32BE(z.length - 4);
};
/** The section descriptors of one segment: [type, offset, next, size]. */
function sections(b: Uint8Array): { type: string; at: number; next: number; size: number }[] {
  const out = [];
  for (let at = 13; ; ) {
    const type = new TextDecoder().decode(b.subarray(at, at + 16)).replace(/\0.*$/s, '');
    const next = Number(dv(b).getBigUint64(at + 16, true));
    out.push({ type, at, next, size: Number(dv(b).getBigUint64(at + 24, true)) });
    if (next === at) return out;
    at = next;
  }
}
/** Sets a descriptor's next offset and its Adler-32 again. */
function setNext(b: Uint8Array, at: number, next: number): void {
  dv(b).setBigUint64(at + 16, BigInt(next), true);
  dv(b).setUint32(at + 72, zlibAdler(b.subarray(at, at + 72)), true);
}
/** The largest chunk of the first table of a segment: where it lies and how long it is. */
function largestChunk(b: Uint8Array): { index: number; offset: number; length: number } {
  const t = sections(b).find((s) => s.type === 'table')!;
  const count = dv(b).getUint32(t.at + 76, true);
  const base = Number(dv(b).getBigUint64(t.at + 76 + 8, true));
  const entry = (i: number) => dv(b).getUint32(t.at + 100 + i * 4, true) & 0x7fffffff;
  let best = { index: 0, offset: 0, length: 0 };
  for (let i = 0; i + 1 < count; i++) {
    if (entry(i + 1) - entry(i) > best.length) best = { index: i, offset: base + entry(i), length: entry(i + 1) - entry(i) };
  }
  return best;
}
const single = (bytes: Uint8Array, name = 'fs.E01') => new EwfSource([new MemorySource(bytes, name)], () => null);

describe('EWF made by ewfacquire', () => {
  const fsE01 = fixtureBytes('fs.E01');

  test('deflate chunks, one segment: the raw image and the kernel filesystem', () => {
    const src = single(fsE01);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(src);
  });

  test('case metadata, geometry and stored hashes as ewfinfo reports them', () => {
    const want = ewfinfo('ewfinfo.txt');
    const info = single(fsE01).info();
    expect(info.caseNumber).toBe(want.get('Case number'));
    expect(info.description).toBe(want.get('Description'));
    expect(info.examiner).toBe(want.get('Examiner name'));
    expect(info.evidenceNumber).toBe(want.get('Evidence number'));
    expect(info.notes).toBe(want.get('Notes'));
    expect(info.acquiredOn).toBe(want.get('Operating system used'));
    expect(info.software).toBe(want.get('Software version used'));
    // ewfinfo prints the header2 Unix time in local time; the fixture was built on a UTC machine.
    expect(info.acquired).toBe(new Date(`${want.get('Acquisition date')!.replace(/\s+/g, ' ')} UTC`).toISOString());
    expect(info.bytesPerSector).toBe(Number(want.get('Bytes per sector')));
    expect(info.sectorsPerChunk).toBe(Number(want.get('Sectors per chunk')));
    expect(info.mediaSize).toBe(BigInt(want.get('Number of sectors')!) * 512n);
    expect(info.md5).toBe(want.get('MD5'));
    expect(info.sha1).toBe(want.get('SHA1'));
    expect(info.compressedChunks).toBe(info.chunks);
  });

  test('verify recomputes MD5 and SHA1 over the media (Node hashes injected; noble by default)', () => {
    const src = single(fsE01);
    const want = ewfinfo('ewfinfo.txt');
    const hashers = { md5: () => createHash('md5'), sha1: () => createHash('sha1') };
    expect(src.verify({ hashers })).toEqual({ md5: want.get('MD5'), sha1: want.get('SHA1'), md5Matches: true, sha1Matches: true });
    // A changed byte in a chunk (and its cache) is found.
    const b = fsE01.slice();
    const { offset, length } = largestChunk(b);
    // That chunk replaced by a valid stream of other bytes.
    const other = deflateSync(new Uint8Array(32768).fill(1), { level: 9 });
    expect(other.length).toBeLessThanOrEqual(length);
    b.set(other, offset);
    const v = single(b).verify({ hashers });
    expect(v.md5Matches).toBe(false);
    expect(v.sha1Matches).toBe(false);
  });

  test('stored chunks in five segment files, opened from the first by name', () => {
    for (let i = 1; i <= 5; i++) fs.writeFileSync(path.join(dir, `stored.E0${i}`), fixtureBytes(`stored.E0${i}`));
    const src = openByteSource(path.join(dir, 'stored.E01')) as EwfSource;
    expect(src).toBeInstanceOf(EwfSource);
    expect(sha256Of(src)).toBe(truthLine('stored.sha256'));
    const info = src.info();
    expect(info.segments).toBe(5);
    expect(info.compressedChunks).toBe(0);
    expect(info.md5).toBe(ewfinfo('stored-ewfinfo.txt').get('MD5'));
    expect(info.mediaSize).toBe(BigInt(ewfinfo('stored-ewfinfo.txt').get('Number of sectors')!) * 512n);
    // The default hashers (@noble/hashes, browser-safe) on this 4 MiB set.
    expect(src.verify()).toMatchObject({ md5: info.md5, md5Matches: true, sha1Matches: null });
    src.close();
  });
});

describe('segment names (libewf: .E01-.E99, then .EAA-.EZZ, .FAA ... .ZZZ)', () => {
  test('follow the documented sequence and keep the case', () => {
    expect(ewfSegmentName('/x/case.E01', 2)).toBe('/x/case.E02');
    expect(ewfSegmentName('/x/case.E01', 99)).toBe('/x/case.E99');
    expect(ewfSegmentName('/x/case.E01', 100)).toBe('/x/case.EAA');
    expect(ewfSegmentName('/x/case.E01', 101)).toBe('/x/case.EAB');
    expect(ewfSegmentName('/x/case.E01', 100 + 675)).toBe('/x/case.EZZ');
    expect(ewfSegmentName('/x/case.E01', 100 + 676)).toBe('/x/case.FAA');
    expect(ewfSegmentName('/x/case.e01', 100)).toBe('/x/case.eaa');
    expect(ewfSegmentName('/x/case.E01', 100 + 676 * 22 - 1)).toBe('/x/case.ZZZ');
    expect(ewfSegmentName('/x/case.E01', 100 + 676 * 22)).toBeNull();
    expect(ewfSegmentName('/x/case.img', 2)).toBeNull();
  });
});

describe('hostile EWF', () => {
  const fsE01 = fixtureBytes('fs.E01');
  const secs = sections(fsE01);
  const table = secs.find((s) => s.type === 'table')!;
  const entriesAt = table.at + 76 + 24;
  const base = Number(dv(fsE01).getBigUint64(table.at + 76 + 8, true));
  const readAllOf = (src: EwfSource) => {
    for (let o = 0n; o < src.size; o += 1n << 20n) src.read(o, 1 << 20);
  };

  test('a truncated segment: refused at open, naming the file', () => {
    expect(() => single(fsE01.slice(0, fsE01.length >> 1), 'cut.E01')).toThrow(/cut\.E01: EWF: .*the segment is truncated/);
    expect(() => single(fsE01.slice(0, 20), 'tiny.E01')).toThrow(/cut short by the end of tiny\.E01/);
  });

  test('an EWF2 (.Ex01) file is recognized and refused with the next step', () => {
    // ewfacquire 20140813 writes no EWF2 (-f encase7-v2 gives an E01): the file header is built
    // from libewf's EWF2 documentation (signature "EVF2\r\n\x81\x00", version 2.1, method, segment).
    const p = path.join(dir, 'new.Ex01');
    fs.writeFileSync(p, Buffer.concat([Buffer.from('EVF2\r\n\x81\x00', 'latin1'), Buffer.from([2, 1, 1, 0, 1, 0, 0, 0]), Buffer.alloc(4096)]));
    expect(() => openByteSource(p)).toThrow(/new\.Ex01: an EWF2 \(EnCase 7 \.Ex01\) evidence file is not read yet; export it/);
  });

  test('a missing segment file is refused, naming the one missing', () => {
    const sub = fs.mkdtempSync(path.join(dir, 'gap-'));
    for (const i of [1, 2, 4, 5]) fs.writeFileSync(path.join(sub, `stored.E0${i}`), fixtureBytes(`stored.E0${i}`));
    expect(() => openByteSource(path.join(sub, 'stored.E01'))).toThrow(/segment 2 ends with a "next" section, but segment 3 does not exist/);
    // Given the second segment instead of the first.
    expect(() => openByteSource(path.join(sub, 'stored.E02'))).toThrow(/says it is segment 2, not 1; give the first segment/);
  });

  test('a section chain that points back is refused, not followed forever', () => {
    const b = fsE01.slice();
    const volume = secs.find((s) => s.type === 'volume')!;
    setNext(b, volume.at, secs[0]!.at);
    expect(() => single(b)).toThrow(/section chain loops: "volume" section at \d+ points back to 13/);
    const c = fsE01.slice();
    const done = secs[secs.length - 1]!;
    expect(done.type).toBe('done');
    setNext(c, done.at, 13);
    expect(() => single(c)).toThrow(/"done" section at \d+ points to 13, not to itself/);
  });

  test('a descriptor whose checksum is wrong is refused', () => {
    const b = fsE01.slice();
    b[table.at + 30]! ^= 1;
    expect(() => single(b)).toThrow(/section descriptor at \d+ of fs\.E01 has a wrong checksum/);
  });

  test('a table entry pointing at its own table is refused at open', () => {
    const b = fsE01.slice();
    dv(b).setUint32(entriesAt, (0x80000000 | (table.at - base)) >>> 0, true);
    // Chunk 0 would start at the table and end where chunk 1 starts, before it.
    expect(() => single(b)).toThrow(SourceError);
    expect(() => single(b)).toThrow(/fs\.E01: EWF: table entry 0 \(chunk 0\) spans \d+\.\.\d+, outside fs\.E01 \(\d+ bytes\) or empty/);
    // Chunk 1 pointed at chunk 0's bytes reads them (wrong data, as the table says), without looping.
    const c = fsE01.slice();
    dv(c).setUint32(entriesAt + 4, dv(c).getUint32(entriesAt, true), true);
    expect(() => single(c)).toThrow(/table entry 0 \(chunk 0\) spans \d+\.\.\d+, outside/);
  });

  test('a compressed chunk inflating beyond the chunk size', () => {
    const b = fsE01.slice();
    const { index: best, offset, length } = largestChunk(b);
    const bomb = deflateSync(new Uint8Array(4 * 32768), { level: 9 });
    expect(bomb.length).toBeLessThan(length);
    b.set(bomb, offset);
    for (const codecs of [defaultCodecs, nodeCodecs]) {
      const src = new EwfSource([new MemorySource(b, 'bomb.E01')], () => null, { codecs });
      expect(() => readAllOf(src)).toThrow(new RegExp(`bomb\\.E01: EWF: chunk ${best}: zlib data inflates beyond 32768 bytes`));
    }
  });

  test('a damaged stored chunk fails its Adler-32', () => {
    const b = fixtureBytes('stored.E01');
    const t = sections(b).find((s) => s.type === 'table')!;
    const first = Number(dv(b).getBigUint64(t.at + 76 + 8, true)) + dv(b).getUint32(t.at + 100, true);
    b[first + 100]! ^= 0xff;
    const segs = [2, 3, 4, 5].map((i) => new MemorySource(fixtureBytes(`stored.E0${i}`), `stored.E0${i}`));
    const src = new EwfSource([new MemorySource(b, 'stored.E01')], (n) => segs[n - 2] ?? null);
    expect(() => src.read(0n, 512)).toThrow(/stored chunk 0 does not match its Adler-32/);
    expect(src.read(32768n, 512).length).toBe(512);
  });

  test('a volume section announcing more chunks than the tables hold', () => {
    const b = fsE01.slice();
    const volume = secs.find((s) => s.type === 'volume')!;
    // Sector count at volume data + 16; double it (the volume section's own checksum is not needed to read it).
    const at = volume.at + 76 + 16;
    dv(b).setBigUint64(at, dv(b).getBigUint64(at, true) * 2n, true);
    expect(() => single(b)).toThrow(/holds 3648 of the 7296 chunks/);
  });
});
