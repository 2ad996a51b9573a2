import { createHash } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractFiles } from '../src/cli/commands/extract.js';
import { runCli } from '../src/cli/main.js';
import { computeCsum } from '../src/format/checksum.js';
import { SuperFlag } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, newReadStats, readFile } from '../src/fs/fileData.js';
import { OverlaySource } from '../src/io/OverlaySource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { captureIO, filesTruth, hashFile, writeSparse } from './helpers/fsTruth.js';
import { openSample, sampleNames, sampleSources } from './helpers/samples.js';

const has = (n: string) => sampleNames().includes(n);
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-data-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));

/** The first regular extent of a file, and the physical places of its first sector. */
function firstExtent(name: string, path: string) {
  const fs = openSample(name);
  const view = new FsView(fs);
  const r = view.resolve(path);
  if (!r.ok) throw new Error(r.error);
  const e = [...fileExtents(view, r.ref)].find((x) => x.kind === 'regular' && x.compression === 0)!;
  const logical = e.diskBytenr + e.offset + 8192n; // the third sector of the file
  const m = fs.volume.chunks.map(logical)!;
  return { fs, view, inode: r.inode, logical, fileOffset: e.fileOffset + 8192n, copies: m.copies.map((c) => ({ devid: c.devid, physical: c.physical })) };
}

function corrupt(name: string, places: { devid: bigint; physical: bigint }[]): OverlaySource[] {
  const overlays = sampleSources(name).map((s) => new OverlaySource(s));
  for (const p of places) {
    const dev = overlays[Number(p.devid) - 1]!;
    const b = dev.read(p.physical, 16).slice();
    for (let i = 0; i < b.length; i++) b[i]! ^= 0x5a;
    dev.patch(p.physical, b);
  }
  return overlays;
}

describe.runIf(has('dup-data'))('data checksums (sample dup-data: data DUP)', () => {
  const PATH = '/small/random.bin';
  const want = filesTruth('dup-data').find((t) => t.path === 'small/random.bin')!.sha256;

  it('a bad first copy is detected and read from the second copy', () => {
    const x = firstExtent('dup-data', PATH);
    expect(x.copies).toHaveLength(2);
    const fs = Filesystem.open(corrupt('dup-data', [x.copies[0]!]));
    const view = new FsView(fs);
    const inode = view.resolve(PATH);
    if (!inode.ok) throw new Error(inode.error);
    const stats = newReadStats();
    const h = hashFile(view, inode.inode);
    for (const _ of readFile(view, inode.inode, { stats })) void _;
    expect(h.errors).toEqual([]);
    expect(h.sha256).toBe(want);
    expect(stats.repairedSectors).toBe(1);
    const f = fs.findings.items.find((i) => i.code === 'data-csum')!;
    expect(f).toMatchObject({ severity: 'warning', repairable: true, location: { logical: x.logical, copy: 0 } });
  });

  it('no good copy: the read fails naming file, offset and logical address; --no-verify reads anyway and says so', async () => {
    const x = firstExtent('dup-data', PATH);
    const overlays = corrupt('dup-data', x.copies);
    const fs = Filesystem.open(overlays);
    const view = new FsView(fs);
    const r = view.resolve(PATH);
    if (!r.ok) throw new Error(r.error);
    const errs = [...readFile(view, r.inode)].filter((s) => s.kind === 'error');
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatchObject({ offset: x.fileOffset, length: 4096n, logical: x.logical });
    const img = join(tmpRoot, 'dup-bad.img');
    writeSparse(overlays[0]!, img);
    let c = captureIO();
    expect(await runCli(['cat', img, PATH], c.io)).toBe(1);
    expect(c.stderr()).toContain(`${PATH}: cannot read file offset ${x.fileOffset} (+4096) at logical ${x.logical}: `);
    expect(c.stderr()).toMatch(/checksum mismatch on every copy/);
    expect(c.stdout().length).toBe(Number(x.fileOffset)); // what came before the bad sector, nothing after
    c = captureIO();
    expect(await runCli(['cat', img, PATH, '--no-verify'], c.io)).toBe(0);
    expect(c.stderr()).toContain('not verified (--no-verify)');
    expect(c.stdout().length).toBe(filesTruth('dup-data').find((t) => t.path === 'small/random.bin')!.size);
    // extract writes the rest of the file and reports the bad range.
    const s = await extractFiles(view, { ref: r.ref, inode: r.inode, into: new TextEncoder().encode('random.bin') }, join(tmpRoot, 'x1'), { isRoot: false });
    expect(s.failed).toHaveLength(1);
    expect(s.failed[0]!.reason).toContain(`logical ${x.logical}`);
    nodeFs.rmSync(img);
  }, 60_000);
});

describe.runIf(has('raid5'))('RAID5 data', () => {
  it('a bad data stripe is rebuilt from parity', () => {
    const x = firstExtent('raid5', '/small/random.bin');
    const fs = Filesystem.open(corrupt('raid5', [x.copies[0]!]));
    const view = new FsView(fs);
    const r = view.resolve('/small/random.bin');
    if (!r.ok) throw new Error(r.error);
    const stats = newReadStats();
    for (const _ of readFile(view, r.inode, { stats })) void _;
    expect(stats.repairedSectors).toBe(1);
    expect(hashFile(view, r.inode).sha256).toBe(filesTruth('raid5').find((t) => t.path === 'small/random.bin')!.sha256);
    expect(fs.findings.items.find((i) => i.code === 'data-csum')!.message).toMatch(/rebuilt from parity/);
  });
});

describe.runIf(has('default'))('images made by btrfs-image (METADUMP)', () => {
  it('say that they hold no file data, in the library, cat and extract', async () => {
    const clean = openSample('default');
    const overlays = sampleSources('default').map((s) => new OverlaySource(s));
    for (const off of [0x10000n, 0x4000000n]) {
      const sb = overlays[0]!.read(off, 4096).slice();
      if (sb.length < 4096) continue;
      const v = new DataView(sb.buffer);
      v.setBigUint64(0x38, v.getBigUint64(0x38, true) | SuperFlag.METADUMP_V2, true);
      sb.fill(0, 0, 32);
      sb.set(computeCsum(clean.superblock.csumType, sb.subarray(32)), 0);
      overlays[0]!.patch(off, sb);
    }
    const fs = Filesystem.open(overlays);
    const view = new FsView(fs);
    expect(view.isMetadump).toBe(true);
    const r = view.resolve('/rich/random-2m.bin');
    if (!r.ok) throw new Error(r.error);
    const segs = [...readFile(view, r.inode)];
    expect(segs.some((s) => s.kind === 'error' && /btrfs-image/.test(s.message))).toBe(true);
    const img = join(tmpRoot, 'metadump.img');
    writeSparse(overlays[0]!, img);
    const c = captureIO();
    expect(await runCli(['cat', img, '/rich/tiny.txt'], c.io)).toBe(1);
    expect(c.stderr()).toMatch(/btrfs-image/);
    const e = captureIO();
    expect(await runCli(['extract', img, '/rich', '-o', join(tmpRoot, 'md')], e.io)).toBe(1);
    expect(e.text()).toMatch(/note: the image was made by btrfs-image/);
    expect(e.text()).toContain('/rich/random-2m.bin: no file data in a btrfs-image metadump');
    expect(nodeFs.statSync(join(tmpRoot, 'md', 'rich', 'deep')).isDirectory()).toBe(true);
    nodeFs.rmSync(img);
  }, 60_000);
});

describe('degraded arrays: every file read in full from what is left', () => {
  for (const [name, drop] of [
    ['raid1', 1],
    ['raid1c3', 2],
    ['raid5', 0],
    ['raid6', 1],
    ['raid10', 3],
  ] as const) {
    it.runIf(has(name))(`${name} without device ${drop + 1}`, () => {
      const sources = sampleSources(name).filter((_, i) => i !== drop);
      const fs = Filesystem.open(sources);
      const view = new FsView(fs);
      let n = 0;
      for (const t of filesTruth(name)) {
        if (t.type !== 'file') continue;
        const r = view.resolve(`/${t.path}`);
        if (!r.ok) throw new Error(r.error);
        const h = hashFile(view, r.inode);
        expect(h.errors, t.path).toEqual([]);
        expect(h.sha256, t.path).toBe(t.sha256);
        n++;
      }
      expect(n).toBeGreaterThan(5);
      expect(fs.findings.items.some((f) => f.code === 'device-missing')).toBe(true);
    });
  }

  it.runIf(has('raid0'))('raid0 whose device 2 ends before its data stripes: stripes on device 1 are read, the others are errors naming their logical address', () => {
    const clean = openSample('raid0');
    const chunks = clean.volume.chunks.all;
    const dataStart = chunks.filter((c) => (c.type & 1n) !== 0n).flatMap((c) => c.stripes.filter((x) => x.devid === 2n).map((x) => x.offset));
    const metaEnd = chunks.filter((c) => (c.type & 1n) === 0n).flatMap((c) => c.stripes.filter((x) => x.devid === 2n).map((x) => x.offset + c.length / BigInt(c.stripes.length)));
    const cut = dataStart.reduce((a, b) => (b < a ? b : a));
    if (metaEnd.some((e) => e > cut)) return; // layout does not allow it
    const sources = sampleSources('raid0').map((x) => new OverlaySource(x));
    sources[1]!.truncate(cut);
    const fs = Filesystem.open(sources);
    const view = new FsView(fs);
    const r = view.resolve('/small/pattern-big.bin');
    if (!r.ok) throw new Error(r.error);
    const segs = [...readFile(view, r.inode)];
    const data = segs.reduce((a, x) => a + (x.kind === 'data' ? x.bytes.length : 0), 0);
    const errs = segs.filter((x) => x.kind === 'error');
    expect(data).toBeGreaterThan(0);
    expect(errs.length).toBeGreaterThan(1);
    for (const e of errs) expect(e.length).toBeLessThanOrEqual(65536n);
    for (const e of errs) expect(e).toHaveProperty('logical');
    const total = segs.reduce((a, x) => a + (x.kind === 'data' ? BigInt(x.bytes.length) : x.length), 0n);
    expect(total).toBe(r.inode.size);
  });
});

describe.runIf(has('dup-data'))('bytes the caller supplies (read ahead) are verified like any read', () => {
  const PATH = '/small/random.bin';
  const want = filesTruth('dup-data').find((t) => t.path === 'small/random.bin')!.sha256;
  /** Reads the file with a supply that serves every request from the image's first copy, through `alter`. */
  function readSupplied(alter: (logical: bigint, bytes: Uint8Array) => Uint8Array) {
    const fs = openSample('dup-data');
    const view = new FsView(fs);
    const r = view.resolve(PATH);
    if (!r.ok) throw new Error(r.error);
    const asked: bigint[] = [];
    const supply = (logical: bigint, length: number) => {
      asked.push(logical);
      const b = fs.volume.readCopy(logical, length, 0).bytes!.slice();
      return alter(logical, b);
    };
    const stats = newReadStats();
    const hash = createHash('sha256');
    const errors = [];
    let pos = 0n;
    for (const s of readFile(view, r.inode, { supply, stats })) {
      if (s.kind === 'error') errors.push(s);
      if (s.kind === 'data') {
        expect(s.offset).toBe(pos);
        hash.update(s.bytes);
        pos += BigInt(s.bytes.length);
      }
      if (s.kind === 'zero') {
        hash.update(new Uint8Array(Number(s.length)));
        pos += s.length;
      }
    }
    return { fs, asked, stats, errors, sha256: hash.digest('hex') };
  }

  it('good bytes are taken as the first copy (no read of their own)', () => {
    const r = readSupplied((_, b) => b);
    expect(r.asked.length).toBeGreaterThan(0);
    expect(r.sha256).toBe(want);
    expect(r.stats.repairedSectors).toBe(0);
    expect(r.stats.verifiedSectors).toBeGreaterThan(0);
  });

  it('a bad sector among them is found and read from the second copy', () => {
    const x = firstExtent('dup-data', PATH);
    const r = readSupplied((logical, b) => {
      const off = Number(x.logical - logical);
      if (off >= 0 && off < b.length) b[off]! ^= 0xff;
      return b;
    });
    expect(r.sha256).toBe(want);
    expect(r.stats.repairedSectors).toBe(1);
    expect(r.fs.findings.items.find((i) => i.code === 'data-csum')).toMatchObject({ severity: 'warning', location: { logical: x.logical, copy: 0 } });
  });

  it('bytes of the wrong length are not used', () => {
    const r = readSupplied((_, b) => b.subarray(0, b.length - 1));
    expect(r.sha256).toBe(want);
    expect(r.errors).toEqual([]);
  });
});
