import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Qcow2Source } from '../src/io/containers/qcow2.js';
import { MAX_EXTENTS, parseVmdkDescriptor } from '../src/io/containers/vmdkText.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli } from './helpers/cli.js';
import { CONTAINERS, expectKernelFilesystem, filesTruth, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

// The descriptors qemu-img wrote (build.sh); their flat extents are the raw image byte for byte
// (cmp in build.sh), written here from zlib.qcow2 once its bytes match raw.sha256.
let dir: string;
const copyDescriptor = (name: string) => fs.copyFileSync(path.join(CONTAINERS, name), path.join(dir, name));
const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-vmdkd-'));
  const q = new Qcow2Source(new MemorySource(fixtureBytes('zlib.qcow2'), 'zlib.qcow2'));
  expect(sha256Of(q)).toBe(truthLine('raw.sha256'));
  fs.writeFileSync(path.join(dir, 'flat-flat.vmdk'), q.read(0n, Number(q.size)));
  fs.symlinkSync('flat-flat.vmdk', path.join(dir, 'split-flat-f001.vmdk'));
  fs.writeFileSync(path.join(dir, 'split-sparse-s001.vmdk'), fixtureBytes('split-sparse-s001.vmdk'));
  for (const d of ['flat.vmdk', 'split-flat.vmdk', 'split-sparse.vmdk']) copyDescriptor(d);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VMDK descriptors with separate extent files (qemu-img subformats)', () => {
  test.each(['flat.vmdk', 'split-flat.vmdk', 'split-sparse.vmdk'])('%s reads back as the raw image qemu-img converted', (name) => {
    const src = openByteSource(path.join(dir, name));
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    src.close?.();
  });

  test('--input-format vmdk names the descriptor form too', () => {
    const src = openByteSource(path.join(dir, 'split-flat.vmdk'), { format: 'vmdk' });
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    src.close?.();
  });

  test('the filesystem through a twoGbMaxExtentSparse descriptor is the one the kernel wrote', () => {
    const src = openByteSource(path.join(dir, 'split-sparse.vmdk'));
    expectKernelFilesystem(src);
    src.close?.();
  });

  test('ls -R through a monolithicFlat descriptor, run from another directory', async () => {
    const r = await cli('ls', '-R', path.join(dir, 'flat.vmdk'));
    expect(r.code).toBe(0);
    for (const p of filesTruth().keys()) expect(r.stdout).toContain(p.slice(1));
  });
});

describe('hostile descriptors: a clear error, exit 2, no hang', () => {
  const refused = async (text: string, message: RegExp) => {
    const p = write(`bad-${Math.random().toString(36).slice(2)}.vmdk`, text);
    const r = await cli('super', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  };
  const head = '# Disk DescriptorFile\nversion=1\nparentCID=ffffffff\ncreateType="monolithicFlat"\n';

  test('a missing extent file is named with where it was looked for', () =>
    refused(`${head}RW 2048 FLAT "gone-flat.vmdk" 0\n`, /its extent file "gone-flat\.vmdk" \(.*gone-flat\.vmdk\) does not exist/));

  test('an extent shorter than its line says (a truncated flat file)', () => {
    fs.writeFileSync(path.join(dir, 'short-flat.vmdk'), new Uint8Array(4096));
    return refused(`${head}RW 2048 FLAT "short-flat.vmdk" 0\n`, /extent "short-flat\.vmdk" holds 4096 bytes, fewer than the 1048576 its line says/);
  });

  test('a descriptor naming itself as its sparse extent is no sparse extent', async () => {
    const p = path.join(dir, 'selfref.vmdk');
    fs.writeFileSync(p, `${head}RW 2048 SPARSE "selfref.vmdk"\n`);
    const r = await cli('super', p);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no sparse extent header ("KDMV")');
  });

  test('an extent type not read (VMFS) is named', () => refused(`${head}RW 2048 VMFS "x.vmdk"\n`, /line 5: extent type VMFS is not read/));

  test('a delta disk that names no parent file is refused with the next step', () =>
    refused(head.replace('parentCID=ffffffff', 'parentCID=12345678') + 'RW 2048 ZERO\n', /delta disk \(parentCID 12345678\) names no parent file \(parentFileNameHint\); convert the chain/));

  test('more extents than any disk has: refused while parsing, before any file is opened', () => {
    const lines = `${head}${'RW 1 ZERO\n'.repeat(MAX_EXTENTS + 1)}`;
    expect(() => parseVmdkDescriptor('huge.vmdk', lines)).toThrow(`more than ${MAX_EXTENTS} extents`);
  });

  test('a file over 1 MiB that starts like a descriptor is not read whole', () => refused(`${head}${'#'.repeat(2 << 20)}\n`, /VMDK descriptor: \d+ bytes, more than a descriptor's 1048576/));

  test('a descriptor with no extent line', () => refused(head, /VMDK descriptor: no extent lines/));
});
