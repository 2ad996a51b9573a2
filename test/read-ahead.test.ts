/**
 * check reads the leaves under each node ahead, in disk order, adjacent blocks in one read
 * (Volume.readCopiesAhead, TreeReader.readAhead). The bytes must be those a block-by-block read
 * gives, each copy's own checksum (written by the kernel) must hold over them, fewer reads must
 * reach the device, and check must answer the same with and without it, on a clean image and on
 * one whose second copy of a leaf is damaged.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { csumMatches } from '../src/format/checksum.js';
import { CSUM_SIZE } from '../src/format/constants.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { TreeReader } from '../src/tree/readTreeBlock.js';
import { DamageKit } from './helpers/damage.js';
import { sampleNames, sampleSources, truthText } from './helpers/samples.js';

/** A source over another that counts the reads reaching it (and reads into buffers, as image files do). */
class Counting implements ByteSource {
  reads = 0;
  readonly name: string;
  readonly size: bigint;
  constructor(private readonly inner: ByteSource) {
    this.name = inner.name;
    this.size = inner.size;
  }
  read(offset: bigint, length: number): Uint8Array {
    this.reads++;
    return this.inner.read(offset, length);
  }
  readInto(offset: bigint, into: Uint8Array): number {
    this.reads++;
    const b = this.inner.read(offset, into.length);
    into.set(b);
    return b.length;
  }
}

/** The leaves btrfs-progs' dump-tree printed for a sample. */
const dumpLeaves = (name: string) => [...truthText(name, 'dump-tree.txt').matchAll(/^leaf (\d+) items/gm)].map((m) => BigInt(m[1]!));

const summaryOf = (r: ReturnType<typeof runCheck>) => ({ ...r.summary, elapsedMs: 0 });

describe.runIf(sampleNames().includes('default'))('read-ahead of tree blocks', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('default sample (DUP): every copy of every dump-tree leaf, the bytes a block read gives, each checksum holding, in fewer reads', () => {
    const sources = sampleSources('default').map((s) => new Counting(s));
    const fs = Filesystem.open(sources);
    const ns = fs.superblock.nodesize;
    const leaves = dumpLeaves('default');
    expect(leaves.length).toBeGreaterThan(20);
    const before = sources[0]!.reads;
    const ahead = fs.volume.readCopiesAhead(leaves, ns, new Uint8Array(leaves.length * 2 * ns));
    const reads = sources[0]!.reads - before;
    expect(ahead).toHaveLength(leaves.length);
    leaves.forEach((logical, i) => {
      expect(ahead[i]).toHaveLength(2);
      for (let copy = 0; copy < 2; copy++) {
        const a = ahead[i]![copy]!;
        const r = fs.volume.readCopy(logical, ns, copy);
        expect(a.place).toEqual(r.places[0]);
        expect(Buffer.from(a.bytes).equals(Buffer.from(r.bytes!)), `leaf ${logical} copy ${copy}`).toBe(true);
        expect(csumMatches(fs.superblock.csumType, a.bytes.subarray(CSUM_SIZE), a.bytes, 0)).toBe(true);
      }
    });
    expect(reads).toBeLessThan(leaves.length * 2);
  });

  it('takes only what the buffer holds, from the start of the list', () => {
    const fs = Filesystem.open(sampleSources('default'));
    const ns = fs.superblock.nodesize;
    const leaves = dumpLeaves('default');
    // Five blocks' room: two leaves of two copies each, the third does not fit.
    expect(fs.volume.readCopiesAhead(leaves, ns, new Uint8Array(5 * ns))).toHaveLength(2);
  });

  it.runIf(sampleNames().includes('raid5'))('RAID5: every copy left to the block-by-block read', () => {
    const fs = Filesystem.open(sampleSources('raid5'));
    const leaves = dumpLeaves('raid5');
    const ahead = fs.volume.readCopiesAhead(leaves, fs.superblock.nodesize, new Uint8Array(1 << 20));
    const metaRaid5 = leaves.filter((l) => fs.volume.map(l)?.row !== undefined);
    expect(metaRaid5.length).toBeGreaterThan(0);
    for (const l of metaRaid5) expect(ahead[leaves.indexOf(l)]!.filter((c) => c !== undefined)).toEqual([]);
  });

  it('check answers the same without it, clean and with a leaf’s second copy damaged', () => {
    const clean = Filesystem.open(sampleSources('default'));
    // A leaf under the level-1 node (the only leaves check reads ahead).
    const leaf = dumpLeaves('default').find((l) => {
      const node = clean.reader.read({ logical: l }).block;
      return node?.isLeaf === true && node.owner === 5n;
    });
    expect(leaf).toBeDefined();
    const kit = new DamageKit(clean, sampleSources('default'));
    kit.editBlock(
      leaf!,
      (b) => {
        b[200]! ^= 0xff;
      },
      { copies: [1] },
    );
    for (const [sources, damaged] of [
      [sampleSources('default'), false],
      [kit.overlays, true],
    ] as const) {
      const counting = () => sources.map((s) => new Counting(s));
      const withAhead = counting();
      const a = runCheck(Filesystem.open(withAhead));
      vi.spyOn(TreeReader.prototype, 'readAhead').mockReturnValue(0);
      const without = counting();
      const b = runCheck(Filesystem.open(without));
      vi.restoreAllMocks();
      expect(a.findings.some((f) => f.code === 'tree-block-csum' && f.location.logical === leaf && f.location.copy === 1)).toBe(damaged);
      expect(a.findings).toEqual(b.findings);
      expect(summaryOf(a)).toEqual(summaryOf(b));
      expect(withAhead[0]!.reads).toBeLessThan(without[0]!.reads);
    }
  });
});
