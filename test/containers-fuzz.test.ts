import { describe, expect, test } from 'vitest';
import { type ByteSource, SourceError } from '../src/io/ByteSource.js';
import { EwfSource } from '../src/io/containers/ewf.js';
import { Qcow2Source } from '../src/io/containers/qcow2.js';
import { openVhd } from '../src/io/containers/vhd.js';
import { VhdxSource } from '../src/io/containers/vhdx.js';
import { VmdkSource } from '../src/io/containers/vmdk.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { fixtureBytes } from './helpers/containers.js';
import { rng } from './helpers/rng.js';

/**
 * Mutated containers (bytes of the headers and tables, or anywhere, set to random or
 * boundary values): opening and reading either works or throws a SourceError naming the
 * file; never another exception (an engine error), never a hang.
 */
let parentBytes: Uint8Array | null = null;
const vhdxParent = () => (parentBytes ??= fixtureBytes('diff-parent.vhdx'));
const FORMATS: [string, string, (b: Uint8Array) => ByteSource][] = [
  ['qcow2 v2', 'v2.qcow2', (b) => new Qcow2Source(new MemorySource(b, 'f'))],
  ['qcow2 zlib', 'zlib.qcow2', (b) => new Qcow2Source(new MemorySource(b, 'f'))],
  ['qcow2 zstd', 'zstd.qcow2', (b) => new Qcow2Source(new MemorySource(b, 'f'))],
  ['EWF', 'fs.E01', (b) => new EwfSource([new MemorySource(b, 'f')], () => null)],
  ['VMDK sparse', 'sparse.vmdk', (b) => new VmdkSource(new MemorySource(b, 'f'))],
  ['VMDK stream', 'stream.vmdk', (b) => new VmdkSource(new MemorySource(b, 'f'))],
  ['VHD dynamic', 'dynamic.vhd', (b) => openVhd(new MemorySource(b, 'f'))],
  ['VHDX dynamic', 'dynamic.vhdx', (b) => new VhdxSource(new MemorySource(b, 'f'))],
  // The child mutated over its parent as it is (locator, BAT, sector bitmap all in the child).
  ['VHDX differencing', 'diff-child.vhdx', (b) => new VhdxSource(new MemorySource(b, 'f'), () => new VhdxSource(new MemorySource(vhdxParent(), 'p')))],
];
const CASES = Number(process.env['CONTAINER_FUZZ_CASES'] ?? 120);
const BOUNDARY = [0, 1, 0x7f, 0x80, 0xff];

for (const [label, fixture, open] of FORMATS) {
  describe(`mutated ${label}`, () => {
    const original = fixtureBytes(fixture);
    test(`${CASES} cases: opened and read, or refused with a SourceError`, () => {
      const next = rng(0x5eed ^ fixture.length);
      const outcomes = { ok: 0, refused: 0 };
      for (let c = 0; c < CASES; c++) {
        const b = original.slice();
        const n = 1 + Math.floor(next() * 8);
        for (let i = 0; i < n; i++) {
          // The header sector, the first 64 KiB (L1/L2 tables, directories), or anywhere.
          const where = next();
          const span = where < 0.3 ? 512 : where < 0.8 ? Math.min(65536, b.length) : b.length;
          const at = Math.floor(next() * span);
          const run = 1 + Math.floor(next() * 8);
          for (let k = 0; k < run && at + k < b.length; k++) b[at + k] = next() < 0.5 ? BOUNDARY[Math.floor(next() * BOUNDARY.length)]! : Math.floor(next() * 256);
        }
        if (next() < 0.1) b.fill(0, Math.floor(next() * b.length));
        try {
          const src = open(b);
          for (let r = 0; r < 12; r++) {
            const off = r === 0 ? 65536n : BigInt(Math.floor(next() * Number(src.size)));
            const got = src.read(off, 16384);
            expect(got.length).toBeLessThanOrEqual(16384);
          }
          outcomes.ok++;
        } catch (e) {
          if (!(e instanceof SourceError)) throw new Error(`case ${c}: ${(e as Error).stack}`);
          expect((e as Error).message).toMatch(/^f: /);
          outcomes.refused++;
        }
      }
      // The mutations reach both outcomes.
      expect(outcomes.ok + outcomes.refused).toBe(CASES);
      expect(outcomes.refused).toBeGreaterThan(0);
    });
  });
}
