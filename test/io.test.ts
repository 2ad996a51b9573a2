import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SourceError } from '../src/io/ByteSource.js';
import { describeSystemError, deviceNumbers, FileOpenError, FileSource, sizeByProbing, sysfsBlockDeviceSize } from '../src/io/node/FileSource.js';
import { isRunsImagePath, openByteSource } from '../src/io/node/openSource.js';
import { DEFAULT_MAX_RUNS_BYTES, loadRunsImage } from '../src/io/node/runs.js';
import { SparseSource } from '../src/io/SparseSource.js';

const GiB = 1n << 30n;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** Byte-for-byte equality (expect().toEqual is slow on megabytes). */
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-io-'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` at a byte position of a file (positions up to 2^53 as numbers). */
function writeAt(file: string, position: bigint, text: string): void {
  const fd = fs.openSync(file, 'r+');
  try {
    fs.writeSync(fd, enc(text), 0, text.length, Number(position));
  } finally {
    fs.closeSync(fd);
  }
}

/** The access mode (O_ACCMODE bits) of an open descriptor, from /proc; null off Linux. */
function accessMode(fd: number): number | null {
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const m = /^flags:\s*([0-7]+)$/m.exec(info);
    return m ? parseInt(m[1]!, 8) & 3 : null;
  } catch {
    return null;
  }
}

describe('FileSource', () => {
  test('reads a sparse 5 GiB file beyond 4 GiB, exactly', () => {
    const file = path.join(dir, 'big.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, Number(5n * GiB));
    const at45 = (9n * GiB) / 2n; // 4.5 GiB
    writeAt(file, at45, 'MARKER@4.5GiB');
    writeAt(file, 4n * GiB - 3n, 'straddle'); // across the 2^32 boundary
    writeAt(file, 5n * GiB - 4n, 'TAIL');

    const src = FileSource.open(file);
    try {
      expect(src.kind).toBe('file');
      expect(src.size).toBe(5n * GiB);
      expect(src.name).toBe(file);
      expect(dec(src.read(at45, 13))).toBe('MARKER@4.5GiB');
      expect(dec(src.read(at45 + 7n, 6))).toBe('4.5GiB');
      expect(dec(src.read(4n * GiB - 3n, 8))).toBe('straddle');
      expect(dec(src.read(4n * GiB, 6))).toBe('addle\0');
      // A hole reads as zeros.
      expect(src.read(3n * GiB, 16)).toEqual(new Uint8Array(16));
      // Short reads at the end of the file, and nothing past it.
      expect(dec(src.read(5n * GiB - 4n, 100))).toBe('TAIL');
      expect(dec(src.read(5n * GiB - 2n, 2))).toBe('IL');
      expect(src.read(5n * GiB, 10).length).toBe(0);
      expect(src.read(5n * GiB + 12345n, 10).length).toBe(0);
      expect(src.read(-1n, 10).length).toBe(0);
      expect(src.read(0n, 0).length).toBe(0);
      // readInto fills a caller's buffer with the same bytes, short only at the end of the file.
      const into = new Uint8Array(13);
      expect(src.readInto(at45, into)).toBe(13);
      expect(dec(into)).toBe('MARKER@4.5GiB');
      expect(src.readInto(4n * GiB - 3n, into.subarray(0, 8))).toBe(8);
      expect(dec(into.subarray(0, 8))).toBe('straddle');
      expect(src.readInto(5n * GiB - 4n, into)).toBe(4);
      expect(dec(into.subarray(0, 4))).toBe('TAIL');
      expect(src.readInto(5n * GiB, into)).toBe(0);
    } finally {
      src.close();
    }
  });

  test('offsets past 2^53 are exact (tmpfs sparse file)', (ctx) => {
    // ext4 stops at 16 TiB; tmpfs allows files up to 2^63 - 1 bytes.
    const base = fs.existsSync('/dev/shm') ? '/dev/shm' : dir;
    const file = path.join(base, `btrfs-inspect-huge-${process.pid}.img`);
    try {
      fs.writeFileSync(file, '');
      try {
        fs.truncateSync(file, 2 ** 53 - 1);
      } catch {
        ctx.skip();
        return;
      }
      // Appending puts the bytes at exactly 2^53 - 1, 2^53, 2^53 + 1, ...
      fs.appendFileSync(file, '0123456789');
      const src = FileSource.open(file);
      try {
        const two53 = 1n << 53n;
        expect(src.size).toBe(two53 - 1n + 10n);
        expect(dec(src.read(two53 + 1n, 4))).toBe('2345'); // 2^53 + 1 is not a double
        expect(dec(src.read(two53 - 1n, 3))).toBe('012');
        expect(dec(src.read(two53 + 7n, 50))).toBe('89');
      } finally {
        src.close();
      }
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  test('opens read-only and never modifies the file', () => {
    const file = path.join(dir, 'ro.img');
    const content = new Uint8Array(70000).map((_, i) => (i * 7) & 0xff);
    fs.writeFileSync(file, content);
    const past = new Date('2020-01-02T03:04:05Z');
    fs.utimesSync(file, past, past);
    const before = fs.statSync(file, { bigint: true });

    const src = FileSource.open(file);
    const fd = src.descriptor!;
    const mode = accessMode(fd);
    if (mode !== null) expect(mode).toBe(fs.constants.O_RDONLY);
    // Writing through the descriptor must fail: it has no write access.
    expect(() => fs.writeSync(fd, new Uint8Array([1]), 0, 1, 0)).toThrow(/EBADF/);
    expect(same(src.read(0n, 70000), content)).toBe(true);
    expect(same(src.read(65536n, 10000), content.subarray(65536))).toBe(true);
    src.close();
    src.close(); // idempotent
    expect(src.descriptor).toBeNull();
    expect(() => src.read(0n, 1)).toThrow(SourceError);

    const after = fs.statSync(file, { bigint: true });
    expect(after.mtimeNs).toBe(before.mtimeNs);
    expect(after.ctimeNs).toBe(before.ctimeNs);
    expect(same(fs.readFileSync(file), content)).toBe(true);
  });

  test('large reads return every byte', () => {
    const file = path.join(dir, 'loop.img');
    const content = new Uint8Array(3 * 1024 * 1024 + 17).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
    fs.writeFileSync(file, content);
    const src = FileSource.open(file);
    try {
      expect(same(src.read(0n, content.length), content)).toBe(true);
      expect(same(src.read(5n, content.length), content.subarray(5))).toBe(true);
    } finally {
      src.close();
    }
  });

  test('a missing path is a clear error naming the path', () => {
    const missing = path.join(dir, 'no-such.img');
    let err: unknown;
    try {
      FileSource.open(missing);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileOpenError);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as Error).message).toBe(`${missing}: cannot open: no such file or device (ENOENT)`);
    expect((err as FileOpenError).code).toBe('ENOENT');
  });

  test('a directory is refused with a clear error', () => {
    expect(() => FileSource.open(dir)).toThrow(`${dir}: is a directory, not an image or device`);
    expect(() => openByteSource(dir)).toThrow(FileOpenError);
  });

  test('other file types are refused', (ctx) => {
    if (!fs.existsSync('/dev/null')) return ctx.skip();
    expect(() => FileSource.open('/dev/null')).toThrow('/dev/null: is a character device; need an image file or a block device');
  });

  test('permission denied names the path', (ctx) => {
    if (process.getuid?.() === 0) return ctx.skip(); // root reads everything
    const file = path.join(dir, 'secret.img');
    fs.writeFileSync(file, 'x');
    fs.chmodSync(file, 0o000);
    expect(() => FileSource.open(file)).toThrow(`${file}: cannot open: permission denied (EACCES)`);
  });

  test('system errors are described in words with their code', () => {
    const sys = (code: string) => Object.assign(new Error(`${code}: something, open 'x'`), { code });
    expect(describeSystemError(sys('EACCES'))).toBe('permission denied (EACCES)');
    expect(describeSystemError(sys('EIO'))).toBe('input/output error (EIO)');
    expect(describeSystemError(sys('EISDIR'))).toBe('is a directory, not an image or device (EISDIR)');
    expect(describeSystemError(sys('EWEIRD'))).toBe("EWEIRD: something, open 'x'");
    expect(describeSystemError(new Error('plain'))).toBe('plain');
  });

  test('a block device gets its size from sysfs (loop device; root only)', (ctx) => {
    if (process.getuid?.() !== 0 || process.platform !== 'linux') return ctx.skip();
    const file = path.join(dir, 'loopback.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 3 * 1024 * 1024 + 512);
    writeAt(file, 3n * 1024n * 1024n, 'END-OF-DEVICE');
    let loop: string;
    try {
      loop = execFileSync('losetup', ['-f', '--show', '-r', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return ctx.skip();
    }
    try {
      const st = fs.statSync(loop, { bigint: true });
      const { major, minor } = deviceNumbers(st.rdev);
      expect(fs.readFileSync(`/sys/dev/block/${major}:${minor}/dev`, 'utf8').trim()).toBe(`${major}:${minor}`);
      expect(sysfsBlockDeviceSize(st.rdev)).toBe(3n * 1024n * 1024n + 512n);
      const src = FileSource.open(loop);
      try {
        expect(src.kind).toBe('block-device');
        expect(src.size).toBe(3n * 1024n * 1024n + 512n);
        expect(dec(src.read(3n * 1024n * 1024n, 100)).replace(/\0+$/, '')).toBe('END-OF-DEVICE');
        expect(src.read(src.size - 1n, 10).length).toBe(1);
        // The binary-search fallback agrees with sysfs on the real device.
        const fd = src.descriptor!;
        const probe = (o: bigint) => fs.readSync(fd, new Uint8Array(1), 0, 1, o) === 1;
        expect(sizeByProbing(probe)).toBe(src.size);
      } finally {
        src.close();
      }
    } finally {
      execFileSync('losetup', ['-d', loop]);
    }
  });
});

describe('a FIFO named as an image', () => {
  // open() of a FIFO for reading blocks until a writer appears: a hang, unless refused without blocking.
  test.each([
    ['fifo.img', (f: string) => openByteSource(f)],
    ['fifo.runs.gz', (f: string) => loadRunsImage(f)],
  ])('%s is refused at once, naming the path', (name, open) => {
    const fifo = path.join(dir, name);
    execFileSync('mkfifo', [fifo]);
    let err: unknown;
    try {
      open(fifo);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FileOpenError);
    expect((err as Error).message).toContain(fifo);
    expect((err as Error).message).toMatch(/pipe|regular file/);
  });
});

describe('block device helpers', () => {
  const makedev = (major: bigint, minor: bigint) => ((major & 0xfffn) << 8n) | ((major & 0xfffff000n) << 32n) | (minor & 0xffn) | ((minor & 0xffffff00n) << 12n);

  test('deviceNumbers decodes Linux dev_t', () => {
    expect(deviceNumbers(0x801n)).toEqual({ major: 8n, minor: 1n });
    expect(deviceNumbers(makedev(259n, 0n))).toEqual({ major: 259n, minor: 0n });
    expect(deviceNumbers(makedev(7n, 300n))).toEqual({ major: 7n, minor: 300n });
    expect(deviceNumbers(makedev(4100n, 1048575n))).toEqual({ major: 4100n, minor: 1048575n });
  });

  test('sysfsBlockDeviceSize is null for an unknown device', () => {
    expect(sysfsBlockDeviceSize(makedev(4095n, 1048000n))).toBeNull();
  });

  test('sizeByProbing finds the exact size with few probes', () => {
    for (const size of [0n, 1n, 2n, 511n, 4096n, 4097n, 1234567n, (1n << 40n) + 3n, (1n << 53n) + 1n, (1n << 62n) - 5n]) {
      let probes = 0;
      const got = sizeByProbing((o) => {
        probes++;
        return o < size;
      });
      expect(got).toBe(size);
      expect(probes).toBeLessThan(140);
    }
    expect(sizeByProbing(() => true, 1n << 20n)).toBe(1n << 20n);
  });
});

describe('runs images', () => {
  function writeRuns(file: string, size: number, runs: [number, Uint8Array][], gzip = true): void {
    const head = enc(`btrfs-corpus-runs 1\n${JSON.stringify({ size, runs: runs.map(([o, b]) => [o, b.length]) })}\n`);
    const body = Buffer.concat([head, ...runs.map(([, b]) => b)]);
    fs.writeFileSync(file, gzip ? zlib.gzipSync(body) : body);
  }

  test('loads a .runs.gz (and a plain .runs) into a SparseSource', () => {
    const gz = path.join(dir, 'small.runs.gz');
    writeRuns(gz, 1 << 20, [
      [4096, enc('hello')],
      [65536 + 64, enc('_BHRfS_M')],
    ]);
    const src = loadRunsImage(gz);
    expect(src).toBeInstanceOf(SparseSource);
    expect(src.size).toBe(1n << 20n);
    expect(src.name).toBe(gz);
    expect(dec(src.read(4096n, 5))).toBe('hello');
    expect(dec(src.read(65536n + 64n, 8))).toBe('_BHRfS_M');
    expect(src.read(0n, 8)).toEqual(new Uint8Array(8));

    const plain = path.join(dir, 'small.runs');
    writeRuns(plain, 8192, [[10, enc('abc')]], false);
    const p = openByteSource(plain);
    expect(dec(p.read(10n, 3))).toBe('abc');
    expect(p.size).toBe(8192n);

    const viaOpen = openByteSource(gz);
    expect(viaOpen).toBeInstanceOf(SparseSource);
    expect(dec(viaOpen.read(4096n, 5))).toBe('hello');

    // readInto into a dirty reused buffer: the runs' bytes, zeros between them, short at the end.
    const into = new Uint8Array(16).fill(0xee);
    expect(src.readInto!(4090n, into)).toBe(16);
    expect(into).toEqual(src.read(4090n, 16));
    expect(dec(into.subarray(6, 11))).toBe('hello');
    into.fill(0xee);
    expect(src.readInto!((1n << 20n) - 4n, into)).toBe(4);
    expect(into.subarray(0, 4)).toEqual(new Uint8Array(4));
    expect(src.readInto!(1n << 20n, into)).toBe(0);
  });

  test('the runs index is read as JSON in any layout, and a six-figure index as cheaply as a small one', () => {
    const f = path.join(dir, 'layout.runs');
    // Whitespace, key order, an unknown member of each JSON kind, and a number in exponent form.
    const index = ' { "note" : ["a]", {"b": [1, "}"]}], "runs" :\t[ [ 16 , 2 ] ,[4e1,3] ] , "x": null, "size" : 64 }';
    fs.writeFileSync(f, Buffer.concat([enc(`btrfs-corpus-runs 1\n${index}\n`), enc('abXYZ')]));
    expect(JSON.parse(index).size).toBe(64);
    const src = loadRunsImage(f);
    expect(src.size).toBe(64n);
    expect(new TextDecoder().decode(src.read(16n, 2))).toBe('ab');
    expect(new TextDecoder().decode(src.read(40n, 3))).toBe('XYZ');
    expect(src.read(18n, 22)).toEqual(new Uint8Array(22));
    for (const bad of ['{"size":64,"runs":[[16,2]]', '{"size":64,"runs":[[16,2]]} x', '{"size":64 "runs":[]}', '{"size":"64","runs":[]}']) {
      fs.writeFileSync(f, Buffer.concat([enc(`btrfs-corpus-runs 1\n${bad}\n`), enc('ab')]));
      expect(() => loadRunsImage(f), bad).toThrow(new RegExp(`^${f}: malformed runs image`));
    }
    // 200,000 one-byte runs at every other byte: each byte reads back where its run put it.
    const n = 200_000;
    const runs: [number, Uint8Array][] = [];
    for (let i = 0; i < n; i++) runs.push([2 * i + 1, new Uint8Array([i % 251])]);
    const big = path.join(dir, 'many.runs.gz');
    writeRuns(big, 2 * n + 2, runs);
    const many = loadRunsImage(big);
    for (const i of [0, 1, 777, 123_456, n - 1]) expect(many.read(BigInt(2 * i), 3)).toEqual(new Uint8Array([0, i % 251, 0]));
  });

  test('the bundled partition fixtures load', () => {
    const src = loadRunsImage(path.join(import.meta.dirname, 'fixtures', 'partitions', 'mbr.runs.gz'));
    expect(src.size).toBe(64n << 20n);
    expect(src.read(510n, 2)).toEqual(new Uint8Array([0x55, 0xaa]));
  });

  test('refuses a gzip bomb beyond the size limit', () => {
    expect(DEFAULT_MAX_RUNS_BYTES).toBe(2 ** 28);
    const bomb = path.join(dir, 'bomb.runs.gz');
    const head = enc(`btrfs-corpus-runs 1\n${JSON.stringify({ size: 1 << 30, runs: [[0, 4 << 20]] })}\n`);
    fs.writeFileSync(bomb, zlib.gzipSync(Buffer.concat([head, Buffer.alloc(4 << 20)])));
    expect(fs.statSync(bomb).size).toBeLessThan(10000);
    expect(() => loadRunsImage(bomb, { maxBytes: 1 << 20 })).toThrow(`${bomb}: runs image decompresses to more than 1048576 bytes; refused`);
    // Under a big enough limit it is a valid image.
    expect(loadRunsImage(bomb, { maxBytes: 8 << 20 }).size).toBe(1n << 30n);
  });

  test('damaged runs images are clear errors naming the path', () => {
    const bad = path.join(dir, 'bad.runs.gz');
    const good = zlib.gzipSync(enc('btrfs-corpus-runs 1\n{"size":100,"runs":[[0,4]]}\nabcd'));
    fs.writeFileSync(bad, good.subarray(0, good.length - 12)); // truncated gzip
    expect(() => loadRunsImage(bad)).toThrow(new RegExp(`^${bad}: not a valid gzip file`));

    fs.writeFileSync(bad, zlib.gzipSync(enc('something else\n')));
    expect(() => loadRunsImage(bad)).toThrow(`${bad}: not a runs image (header "something else")`);

    fs.writeFileSync(bad, zlib.gzipSync(enc('btrfs-corpus-runs 1\n{"size":100,"runs":[[0,400]]}\nabcd')));
    expect(() => loadRunsImage(bad)).toThrow(`${bad}: runs image index is inconsistent at run offset 0`);

    fs.writeFileSync(bad, zlib.gzipSync(enc('btrfs-corpus-runs 1\n{"size":1.5,"runs":[]}\n')));
    expect(() => loadRunsImage(bad)).toThrow(new RegExp(`^${bad}: malformed runs image`));

    // Index entries that are not whole, non-negative numbers inside the image, or an index longer than its runs can need.
    for (const index of ['[[0,-4]]', '[[0,"4"]]', '[[98,4]]', '[[0,1.5]]', '[0]', `[${'[0,1],'.repeat(2000)}[0,1]]`]) {
      fs.writeFileSync(bad, zlib.gzipSync(enc(`btrfs-corpus-runs 1\n{"size":100,"runs":${index}}\nabcd`)));
      expect(() => loadRunsImage(bad), index.slice(0, 20)).toThrow(new RegExp(`^${bad}: (malformed runs image|runs image index)`));
    }

    fs.writeFileSync(bad, zlib.gzipSync(enc('btrfs-corpus-runs 1\n{not json\n')));
    expect(() => loadRunsImage(bad)).toThrow(new RegExp(`^${bad}: malformed runs image`));

    const missing = path.join(dir, 'missing.runs.gz');
    expect(() => openByteSource(missing)).toThrow(`${missing}: cannot open: no such file or device (ENOENT)`);
    const d = path.join(dir, 'adir.runs.gz');
    fs.mkdirSync(d);
    expect(() => loadRunsImage(d)).toThrow(`${d}: is a directory, not an image or device`);
  });

  test('openByteSource picks the reader by extension', () => {
    expect(isRunsImagePath('x/dev1.runs.gz')).toBe(true);
    expect(isRunsImagePath('dev1.RUNS.GZ')).toBe(true);
    expect(isRunsImagePath('dev1.runs')).toBe(true);
    expect(isRunsImagePath('disk.img')).toBe(false);
    expect(isRunsImagePath('/dev/sda')).toBe(false);
    expect(isRunsImagePath('disk.img.gz')).toBe(false);
    const raw = path.join(dir, 'plain.img');
    fs.writeFileSync(raw, 'raw bytes');
    const src = openByteSource(raw);
    expect(src).toBeInstanceOf(FileSource);
    expect(dec(src.read(0n, 100))).toBe('raw bytes');
    src.close?.();
  });
});
