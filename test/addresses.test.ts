import { describe, expect, it } from 'vitest';
import { asLogical, type Logical } from '../src/format/addresses.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents } from '../src/fs/fileData.js';
import { filesTruth } from './helpers/fsTruth.js';
import { openSample } from './helpers/samples.js';

/**
 * Logical addresses, physical offsets and device ids have distinct types. The
 * `@ts-expect-error` lines are the test: `npm test` type-checks this file, so
 * if a mix-up compiled, the unused directive would fail the build.
 */
describe('address types', () => {
  const fs = openSample('raid1');

  it('a device place is refused where a logical address is expected, and the reverse', () => {
    const root = fs.superblock.root;
    const mapping = fs.volume.chunks.map(root)!;
    const place = mapping.copies[0]!;
    // @ts-expect-error a physical offset is not a logical address
    fs.volume.chunks.map(place.physical);
    // @ts-expect-error a device id is not a logical address
    fs.volume.read(place.devid, 16);
    // @ts-expect-error a logical address is not a physical offset
    fs.volume.readPhysical({ devid: place.devid, physical: asLogical(root) }, 16);
    // @ts-expect-error nor is a device id a physical offset, or the reverse
    fs.volume.chunks.reverse(place.physical, place.devid);
    // Where each is right, they agree: the device place reads the block the logical address names,
    // and maps back to it.
    const viaLogical = fs.volume.read(root, fs.superblock.nodesize).bytes!;
    const viaPlace = fs.volume.readPhysical(place, fs.superblock.nodesize).bytes!;
    expect(Buffer.from(viaPlace).equals(Buffer.from(viaLogical))).toBe(true);
    const back = fs.volume.chunks.reverse(place.devid, place.physical).map((r) => r.logical);
    expect(back).toContain(root);
    const asNumber: Logical | null | undefined = back[0];
    expect(asNumber).toBe(root);
  });

  it('decoded fields carry their kind: stripe offsets and device ids, file extent disk addresses', () => {
    for (const c of fs.volume.chunks.all) {
      for (const s of c.stripes) {
        // @ts-expect-error a stripe offset is on a device
        fs.volume.chunks.find(s.offset);
        // Plain bigint arithmetic still works on them.
        expect(typeof (s.offset + 1n)).toBe('bigint');
      }
    }
    const view = new FsView(fs);
    // A file whose first FIEMAP extent is a plain one at file offset 0 (not inline, not compressed).
    const plain = (f: { logical: number; flags: string[] }) => f.logical === 0 && !f.flags.some((x) => x === 'inline' || x === 'encoded' || x === 'unknown');
    const file = filesTruth('raid1').find((t) => t.type === 'file' && t.filefrag?.extents[0] !== undefined && plain(t.filefrag.extents[0]))!;
    const r = view.resolve(`/${file.path}`);
    if (!r.ok) throw new Error(r.error);
    const e = [...fileExtents(view, r.ref)].find((x) => x.fileOffset === 0n)!;
    expect(e.kind).toBe('regular');
    // FIEMAP's first extent of the file (the kernel's truth) starts at the same logical address.
    expect(e.diskBytenr + e.offset).toBe(BigInt(file.filefrag!.extents[0]!.physical));
    // @ts-expect-error a file extent's disk address is logical, not a device place
    fs.volume.readPhysical({ devid: 1n, physical: e.diskBytenr }, 1);
  });
});
