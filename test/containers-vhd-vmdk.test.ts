import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ConcatSource } from '../src/io/ConcatSource.js';
import { detectContainer } from '../src/io/containers/detect.js';
import { openVhd, VhdDynamicSource } from '../src/io/containers/vhd.js';
import { crc32c, VhdxSource } from '../src/io/containers/vhdx.js';
import { VmdkSource } from '../src/io/containers/vmdk.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { SliceSource } from '../src/io/SliceSource.js';
import { CONTAINERS, expectKernelFilesystem, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-vhd-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const raw = () => loadRunsImage(path.join(CONTAINERS, 'fs.runs.gz'));
const dvLE = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const readAllOf = (src: { size: bigint; read(o: bigint, n: number): Uint8Array }) => {
  for (let o = 0n; o < src.size; o += 1n << 20n) src.read(o, 1 << 20);
};

describe('VHD made by qemu-img', () => {
  test('fixed: the raw image with the footer qemu-img wrote, detected by that footer', () => {
    const footer = new Uint8Array(fs.readFileSync(path.join(CONTAINERS, 'fixed.vhd.footer')));
    const file = new ConcatSource([raw(), new MemorySource(footer)], 'fixed.vhd');
    expect(detectContainer(file)).toBe('vhd');
    const src = openVhd(file);
    expect(src).toBeInstanceOf(SliceSource);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    // A raw image whose last sector only starts like a footer stays raw.
    const fake = footer.slice();
    fake[100]! ^= 1;
    expect(detectContainer(new ConcatSource([raw(), new MemorySource(fake)], 'raw.img'))).toBeNull();
  });

  test('dynamic: through its BAT; the kernel filesystem', () => {
    const file = new MemorySource(fixtureBytes('dynamic.vhd'), 'dynamic.vhd');
    expect(detectContainer(file)).toBe('vhd');
    const src = openVhd(file);
    expect(src).toBeInstanceOf(VhdDynamicSource);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(src);
  });

  test('a wrong footer checksum and a BAT entry past the end are refused, naming the file', () => {
    const b = fixtureBytes('dynamic.vhd');
    const end = b.slice();
    end[end.length - 512 + 40]! ^= 1; // original size: covered by the checksum
    expect(() => openVhd(new MemorySource(end, 'bad.vhd'))).toThrow(/bad\.vhd: VHD: footer checksum is wrong/);
    const far = b.slice();
    const dv = new DataView(far.buffer);
    const table = Number(dv.getBigUint64(512 + 16));
    // The first allocated block's BAT entry, moved far past the end.
    let i = 0;
    while (dv.getUint32(table + i * 4) === 0xffffffff) i++;
    dv.setUint32(table + i * 4, 0x7fffffff);
    const src = openVhd(new MemorySource(far, 'far.vhd'));
    expect(() => readAllOf(src)).toThrow(new RegExp(`far\\.vhd: VHD: block ${i} \\(BAT sector 2147483647\\) lies past the end of the file`));
  });
});

describe('VMDK made by qemu-img', () => {
  test('monolithic sparse: grain directory and tables; the kernel filesystem', () => {
    const src = new VmdkSource(new MemorySource(fixtureBytes('sparse.vmdk'), 'sparse.vmdk'));
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(src);
  });

  test('stream-optimized: compressed grains', () => {
    const file = new MemorySource(fixtureBytes('stream.vmdk'), 'stream.vmdk');
    expect(detectContainer(file)).toBe('vmdk');
    expect(sha256Of(new VmdkSource(file))).toBe(truthLine('raw.sha256'));
  });

  test('a compressed grain inflating beyond its grain, and a grain table past the end', () => {
    const b = fixtureBytes('stream.vmdk');
    const dv = dvLE(b);
    const gd = Number(dv.getBigUint64(56, true)) * 512;
    const gt = dv.getUint32(gd, true) * 512;
    // The first allocated grain: replace its data with a stream of 4 grains of zeros.
    let g = 0;
    while (dv.getUint32(gt + g * 4, true) <= 1) g++;
    const at = dv.getUint32(gt + g * 4, true) * 512;
    const bomb = deflateSync(new Uint8Array(4 * 65536), { level: 9 });
    expect(bomb.length).toBeLessThan(dv.getUint32(at + 8, true) + 400);
    b.set(bomb, at + 12);
    dv.setUint32(at + 8, bomb.length, true);
    expect(() => readAllOf(new VmdkSource(new MemorySource(b, 'bomb.vmdk')))).toThrow(new RegExp(`bomb\\.vmdk: VMDK: compressed grain ${g}: zlib data inflates beyond 65536 bytes`));
    const c = fixtureBytes('sparse.vmdk');
    const cv = dvLE(c);
    cv.setUint32(Number(cv.getBigUint64(56, true)) * 512, 0x7fffffff, true);
    expect(() => readAllOf(new VmdkSource(new MemorySource(c, 'far.vmdk')))).toThrow(/far\.vmdk: VMDK: grain table 0 at sector 2147483647 lies past the end of the file/);
  });

  test('hostile header sizes are refused before anything is allocated', () => {
    const b = fixtureBytes('sparse.vmdk').slice(0, 4096);
    dvLE(b).setBigUint64(12, 1n << 46n, true); // 32 PiB of 64 KiB grains: a directory of 2 GiB
    expect(() => new VmdkSource(new MemorySource(b, 'huge.vmdk'))).toThrow(/grain directory of \d+ bytes is over the 33554432-byte limit/);
    const c = fixtureBytes('sparse.vmdk').slice(0, 4096);
    dvLE(c).setBigUint64(20, 3n, true);
    expect(() => new VmdkSource(new MemorySource(c))).toThrow(/grain of 3 sectors is not a power of two/);
  });
});

describe('VHDX made by qemu-img', () => {
  test('dynamic, 1 MiB blocks: headers, region table, metadata, BAT; the kernel filesystem', () => {
    const file = new MemorySource(fixtureBytes('dynamic.vhdx'), 'dynamic.vhdx');
    expect(detectContainer(file)).toBe('vhdx');
    const src = new VhdxSource(file);
    expect(src.size).toBe(raw().size);
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    expectKernelFilesystem(src);
  });

  test('CRC-32C is the Castagnoli CRC (RFC 3720 test vector)', () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
  });

  test('damaged headers and tables are refused; the other header copy is used', () => {
    const b = fixtureBytes('dynamic.vhdx');
    const one = b.slice();
    one[64 * 1024 + 100]! ^= 1;
    // One header damaged: the other (same sequence or older) still opens the disk.
    expect(sha256Of(new VhdxSource(new MemorySource(one)))).toBe(truthLine('raw.sha256'));
    const both = one.slice();
    both[128 * 1024 + 100]! ^= 1;
    expect(() => new VhdxSource(new MemorySource(both, 'h.vhdx'))).toThrow(/h\.vhdx: VHDX: neither header is valid/);
    const regions = b.slice();
    regions[192 * 1024 + 40]! ^= 1;
    regions[256 * 1024 + 40]! ^= 1;
    expect(() => new VhdxSource(new MemorySource(regions, 'r.vhdx'))).toThrow(/neither region table is valid/);
  });
});

describe('through openByteSource', () => {
  test('VHD, VHDX and VMDK files under any name; a VMDK descriptor whose extent is missing is refused with the next step', () => {
    for (const name of ['dynamic.vhd', 'dynamic.vhdx', 'sparse.vmdk', 'stream.vmdk']) {
      const p = path.join(dir, `${name}.img`);
      fs.writeFileSync(p, fixtureBytes(name));
      const src = openByteSource(p);
      expect(src.size).toBe(raw().size);
      expect(src.read(65536n + 64n, 8)).toEqual(new TextEncoder().encode('_BHRfS_M'));
      src.close?.();
    }
    const d = path.join(dir, 'desc.vmdk');
    fs.writeFileSync(d, '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 233472 FLAT "desc-flat.vmdk" 0\n');
    expect(() => openByteSource(d)).toThrow(/desc\.vmdk: its extent file "desc-flat\.vmdk" \(.*\) does not exist; put it next to the descriptor/);
  });
});
