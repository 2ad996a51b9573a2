import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { FsView } from '../src/fs/FsView.js';
import { readAll } from '../src/fs/fileData.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { readSuperblocks } from '../src/volume/superblocks.js';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { SAMPLES } from './helpers/samples.js';

// sample-images/vm-made/zoned-nullblk (vm/make-in-vm.sh): a host-managed zoned null_blk device of
// 8 MiB zones under Debian's 6.1 kernel, mkfs.btrfs 6.19, files written over several commits; the
// copy keeps each zone up to its write pointer. Truth recorded in the VM on the zoned device:
// dump-super, dump-tree, check, sha256sum, blkzone report.
const DIR = join(SAMPLES, 'vm-made', 'zoned-nullblk');
const truth = (f: string) => {
  const b = readFileSync(join(DIR, 'truth', f));
  return (f.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
};
const image = () => loadRunsImage(join(DIR, 'dev1.runs.gz'));

describe('a zoned filesystem made on a host-managed null_blk device', () => {
  it("the newest copy of the superblock log in zone 0 is used: dump-super's generation and csum; 64 KiB holds none", () => {
    const img = image();
    // 64 KiB is slot 16 of zone 0, past the write pointer: no magic there.
    expect(new TextDecoder().decode(img.read(0x10040n, 8))).not.toBe('_BHRfS_M');
    const supers = readSuperblocks(img);
    const dump = truth('dump-super-dev1.txt');
    expect(supers.best?.generation).toBe(BigInt(/^generation\s+(\d+)/m.exec(dump)![1]!));
    const wptr = Number.parseInt(/start: 0x000000000, len 0x[0-9a-f]+, cap 0x[0-9a-f]+, wptr 0x([0-9a-f]+)/.exec(truth('blkzone.txt'))![1]!, 16) * 512;
    expect(supers.mirrors[0]!.offset).toBe(BigInt(wptr - 4096));
    const raw = supers.mirrors[0]!.raw!;
    expect(new DataView(raw.buffer, raw.byteOffset).getUint32(0, false).toString(16)).toBe(/^csum\s+0x([0-9a-f]+)/m.exec(dump)![1]);
  });

  it('every tree block equals dump-tree, and check finds nothing as btrfs check did', () => {
    const fs = Filesystem.open([image()]);
    const want = parseDumpTree(truth('dump-tree.txt.gz'));
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [bytenr, t] of want) expect(seen.get(bytenr), `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation, entries: t.entries });
    expect(truth('check.txt')).toMatch(/no error found/);
    expect(truth('check.txt')).toMatch(/^exit 0$/m);
    expect(runCheck(fs, { data: true }).findings.filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it("every file reads as the VM's sha256", () => {
    const view = new FsView(Filesystem.open([image()]));
    const lines = truth('files.sha256').trim().split('\n');
    expect(lines.length).toBe(4);
    for (const line of lines) {
      const [sha, rel] = line.split(/ {2}/);
      const r = view.resolve(rel!.slice(2));
      if (!r.ok) throw new Error(`${rel} not found`);
      const { bytes, errors } = readAll(view, r.inode, {});
      expect(errors, rel).toEqual([]);
      expect(createHash('sha256').update(bytes).digest('hex'), rel).toBe(sha);
    }
  });
});
