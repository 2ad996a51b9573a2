import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli } from './helpers/cli.js';
import { CONTAINERS, expectKernelFilesystem, fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

// VMDK delta disks qemu-img made over sparse.vmdk (build-vmdk-delta.sh); vmdk-delta.sha256 is
// what `qemu-img convert -O raw` read through each chain.
let dir: string;
const truth = (name: string) => {
  const line = truthLine('vmdk-delta.sha256')
    .split('\n')
    .find((l) => l.startsWith(`${name} `));
  return line!.split(' ')[1]!;
};
const inDir = (sub: string, files: Record<string, Uint8Array | string>) => {
  const d = path.join(dir, sub);
  fs.mkdirSync(d);
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(d, n), b);
  return d;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-vmdk-delta-'));
  inDir('chain', {
    'sparse.vmdk': fixtureBytes('sparse.vmdk'),
    'delta.vmdk': fixtureBytes('delta.vmdk'),
    'delta2.vmdk': fixtureBytes('delta2.vmdk'),
    'sdelta.vmdk': fs.readFileSync(path.join(CONTAINERS, 'sdelta.vmdk')),
    'sdelta-s001.vmdk': fixtureBytes('sdelta-s001.vmdk'),
  });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('VMDK delta disks (parentFileNameHint)', () => {
  test.each(['delta', 'delta2', 'sdelta'])('%s.vmdk through its chain reads as qemu-img converted it', (name) => {
    const src = openByteSource(path.join(dir, 'chain', `${name}.vmdk`));
    expect(sha256Of(src)).toBe(truth(name));
    src.close?.();
  });

  test('the filesystem through a twoGbMaxExtentSparse delta (written only past its end) is the one the kernel wrote', () => {
    const src = openByteSource(path.join(dir, 'chain', 'sdelta.vmdk'));
    expectKernelFilesystem(src);
    src.close?.();
  });

  test('a missing parent: exit 2, where it was looked for named', async () => {
    const d = inDir('alone', { 'delta.vmdk': fixtureBytes('delta.vmdk') });
    const r = await cli('super', path.join(d, 'delta.vmdk'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/delta\.vmdk: its parent VMDK "sparse\.vmdk" \(.*alone\/sparse\.vmdk\) does not exist/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a parent whose CID is not the parentCID the delta names is refused', async () => {
    // delta2's parent hint is delta.vmdk: here that name holds the base, whose CID differs.
    const d = inDir('wrong', { 'delta2.vmdk': fixtureBytes('delta2.vmdk'), 'delta.vmdk': fixtureBytes('sparse.vmdk') });
    const r = await cli('super', path.join(d, 'delta2.vmdk'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/its parent .*wrong\/delta\.vmdk has CID [0-9a-f]{1,8}, not the [0-9a-f]{1,8} the delta was made against/);
  });

  test('a delta that is its own parent (a loop) is refused, no hang', async () => {
    const d = inDir('loop', { 'sparse.vmdk': fixtureBytes('delta.vmdk') });
    const r = await cli('super', path.join(d, 'sparse.vmdk'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('parent chain loops');
  });
});
