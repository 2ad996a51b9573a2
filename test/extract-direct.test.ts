import { randomBytes } from 'node:crypto';
import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { extractFiles } from '../src/cli/commands/extract.js';
import { HEADER_SIZE, ITEM_SIZE } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, readFile } from '../src/fs/fileData.js';
import { walkFiles } from '../src/fs/walk.js';
import { FileSource } from '../src/io/node/FileSource.js';
import { DirectWriter } from '../src/node/extract/directWrite.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { writeSparse } from './helpers/fsTruth.js';
import { expectSameTree } from './helpers/sameTree.js';
import { sampleNames, sampleSources } from './helpers/samples.js';

const O = nodeFs.constants;

/**
 * The output's file system as extract sees it: `refuse` makes it refuse
 * O_DIRECT the way Linux does for a file system without it (the file is
 * created, then open fails with EINVAL), `refuseWrites` takes O_DIRECT at
 * open and refuses the writes (an alignment larger than 4 KiB); `directOpens`
 * counts the opens that asked for O_DIRECT.
 */
const out = vi.hoisted(() => ({ refuse: false, refuseWrites: false, directOpens: 0, directFds: new Set<number>() }));
vi.mock('../src/node/extract/asyncFs.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../src/node/extract/asyncFs.js')>();
  const direct = nodeFs.constants.O_DIRECT;
  return {
    ...m,
    open: async (p: Buffer, flags: number, mode: number) => {
      if (flags & direct) {
        out.directOpens++;
        if (out.refuse) {
          await m.close(await m.open(p, flags & ~direct, mode));
          throw Object.assign(new Error(`EINVAL: invalid argument, open '${p.toString()}'`), { code: 'EINVAL' });
        }
      }
      const fd = await m.open(p, flags, mode);
      if (flags & direct) out.directFds.add(fd);
      else out.directFds.delete(fd);
      return fd;
    },
    write: async (fd: number, b: Uint8Array, off: number, len: number, pos: number) => {
      if (out.refuseWrites && out.directFds.has(fd)) throw Object.assign(new Error('EINVAL: invalid argument, write'), { code: 'EINVAL' });
      return m.write(fd, b, off, len, pos);
    },
  };
});

const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-direct-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));

/** Whether this machine's temporary directory takes O_DIRECT at all (the in-place tests need it). */
const tmpTakesDirect = (() => {
  try {
    nodeFs.closeSync(nodeFs.openSync(join(tmpRoot, 'probe'), O.O_WRONLY | O.O_CREAT | O.O_DIRECT, 0o600));
    return true;
  } catch {
    return false;
  } finally {
    nodeFs.rmSync(join(tmpRoot, 'probe'), { force: true });
  }
})();

describe.runIf(tmpTakesDirect)('DirectWriter', () => {
  it("pads with zeros in the middle of a file, with the aligned buffer's own bytes at its end, and splits what is longer than a piece", async () => {
    const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number }) => { buffer: ArrayBuffer } } }).WebAssembly.Memory;
    const mem = new WasmMemory({ initial: 2 });
    const writer = new DirectWriter([mem.buffer]);
    const open = (name: string) => nodeFs.openSync(join(tmpRoot, name), O.O_WRONLY | O.O_CREAT | O.O_EXCL | O.O_DIRECT, 0o600);
    // More than a piece (1 MiB) from an ordinary array, ending a file: copied to scratch and written in pieces.
    const long = new Uint8Array(randomBytes((3 << 19) + 100));
    let fd = open('dw-long');
    expect(await writer.write(fd, long, 0, true)).toBe(Math.ceil(long.length / 4096) * 4096);
    nodeFs.ftruncateSync(fd, long.length);
    nodeFs.closeSync(fd);
    expect(nodeFs.readFileSync(join(tmpRoot, 'dw-long')).equals(long)).toBe(true);
    fd = open('dw');
    // 5,000 bytes of an ordinary array, in the middle of the file: copied to scratch (which the
    // write above left full of other bytes) and padded with zeros to 8,192.
    const first = new Uint8Array(randomBytes(5000));
    expect(await writer.write(fd, first, 0, false)).toBe(8192);
    // 6,000 bytes lying aligned in the page-aligned memory, ending the file: written from where they lie, 8,192 with what follows.
    const aligned = new Uint8Array(mem.buffer, 4096, 8192);
    aligned.set(randomBytes(8192));
    expect(await writer.write(fd, aligned.subarray(0, 6000), 12288, true)).toBe(20480);
    expect(nodeFs.fstatSync(fd).size).toBe(20480);
    expect(nodeFs.readFileSync(join(tmpRoot, 'dw')).subarray(12288).equals(aligned)).toBe(true);
    nodeFs.ftruncateSync(fd, 18288);
    nodeFs.closeSync(fd);
    const got = nodeFs.readFileSync(join(tmpRoot, 'dw'));
    const want = Buffer.alloc(18288);
    want.set(first, 0);
    want.set(aligned.subarray(0, 6000), 12288);
    expect(got.length).toBe(want.length);
    expect(got.equals(want)).toBe(true);
  });
});

describe.runIf(sampleNames().includes('default'))('extract with direct writes', () => {
  /** The sample as a plain image file: only then is file data read ahead into the aligned slots (written from there). */
  const plainImage = (name: string, sources = sampleSources('default')): string => {
    const img = join(tmpRoot, name);
    writeSparse(sources[0]!, img);
    return img;
  };
  const extract = async (img: string, dir: string, directWrite: boolean) => {
    const view = new FsView(Filesystem.open([FileSource.open(img)]));
    const root = view.rootOf(5n);
    return extractFiles(view, { ref: root, inode: view.inode(root)!, into: null }, join(tmpRoot, dir), { isRoot: false, xattr: 'not in this test', directWrite });
  };

  /** Runs `f` with the output refusing O_DIRECT (at open or at write). */
  const refusing = async <T>(what: 'refuse' | 'refuseWrites', f: () => Promise<T>): Promise<T> => {
    out[what] = true;
    try {
      return await f();
    } finally {
      out[what] = false;
    }
  };

  it.runIf(tmpTakesDirect)(
    'writes the same tree with O_DIRECT, without it, and when the output refuses it at open (then no longer asked for) or at write',
    async () => {
      const img = plainImage('default.img');
      out.directOpens = 0;
      const plain = await extract(img, 'plain', false);
      expect(out.directOpens).toBe(0);
      const direct = await extract(img, 'direct', true);
      // Every file past SMALL_FILE (64 KiB) was opened with O_DIRECT (smaller ones are written on the extracting thread, through the cache).
      const asked = out.directOpens;
      expect(asked).toBeGreaterThan(10);
      out.directOpens = 0;
      const refused = await refusing('refuse', () => extract(img, 'refused', true));
      // Files already being opened when the first refusal came back ask too; no file after them does.
      expect(out.directOpens).toBeGreaterThanOrEqual(1);
      expect(out.directOpens).toBeLessThan(asked);
      const seen = (s: typeof plain) => [s.written, s.read, s.refused, s.failed, s.skipped];
      expect(plain.written.files).toBeGreaterThan(50);
      expect(plain.failed).toEqual([]);
      expect(seen(direct)).toEqual(seen(plain));
      expect(seen(refused)).toEqual(seen(plain));
      const writesRefused = await refusing('refuseWrites', () => extract(img, 'writes-refused', true));
      expect(seen(writesRefused)).toEqual(seen(plain));
      expectSameTree(join(tmpRoot, 'writes-refused'), join(tmpRoot, 'plain'));
      expectSameTree(join(tmpRoot, 'direct'), join(tmpRoot, 'plain'));
      expectSameTree(join(tmpRoot, 'refused'), join(tmpRoot, 'plain'));
    },
    120_000,
  );

  it.runIf(tmpTakesDirect)(
    'writes data at a file offset that is not block-aligned (a damaged extent key) through the cache, beside the direct writes',
    async () => {
      // A file whose last extent is plain and starts past 0: its key's offset moved 1,000 bytes on
      // leaves a hole of 1,000 bytes and the extent's data from an offset O_DIRECT cannot take.
      const clean = Filesystem.open(sampleSources('default'));
      const view = new FsView(clean);
      let target: { path: Uint8Array[]; at: bigint; size: number; block: bigint; slot: number; original: Buffer } | null = null;
      for (const it of walkFiles(view, view.rootOf(5n))) {
        const ino = it.inode;
        if (ino?.kind !== 'file' || ino.size > 1n << 24n) continue;
        const ext = [...fileExtents(view, ino, 0n)];
        const last = ext[ext.length - 1];
        if (ext.length < 2 || !ext.every((e) => e.kind === 'regular' && e.compression === 0)) continue;
        if (!last || last.fileOffset === 0n || last.fileOffset + 5000n > ino.size) continue;
        // Its bytes as the clean image holds them (holes as zeros).
        const original = Buffer.concat([...readFile(view, ino)].map((g) => (g.kind === 'data' ? g.bytes : new Uint8Array(Number(g.length)))));
        target = { path: it.path, at: last.fileOffset, size: Number(ino.size), block: last.place.block, slot: last.place.slot, original };
        break;
      }
      expect(target, 'a file of several plain extents in the sample').not.toBeNull();
      const t = target!;
      expect(t.original.length).toBe(t.size);
      const kit = new DamageKit(clean, sampleSources('default'));
      kit.editBlock(
        t.block,
        (b) => {
          // The key's offset: after objectid (8) and type (1) in the item header.
          new DataView(b.buffer, b.byteOffset).setBigUint64(HEADER_SIZE + t.slot * ITEM_SIZE + 9, t.at + 1000n, true);
        },
        { fixCsum: true },
      );
      const img = plainImage('moved.img', kit.overlays);
      out.directOpens = 0;
      const s = await extract(img, 'moved', true);
      expect(out.directOpens).toBeGreaterThan(0);
      expect(s.failed).toEqual([]);
      const host = Buffer.concat([Buffer.from(join(tmpRoot, 'moved')), ...t.path.flatMap((c) => [Buffer.from('/'), c])]);
      const got = nodeFs.readFileSync(host);
      const at = Number(t.at);
      const want = Buffer.concat([t.original.subarray(0, at), Buffer.alloc(1000), t.original.subarray(at, t.size - 1000)]);
      expect(got.length).toBe(t.size);
      expect(got.equals(want)).toBe(true);
    },
    120_000,
  );
});
