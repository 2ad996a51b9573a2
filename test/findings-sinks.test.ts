import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { type Finding, FindingLog } from '../src/findings.js';
import { HEADER_SIZE } from '../src/format/treeBlock.js';
import { FsView } from '../src/fs/FsView.js';
import { walkFiles } from '../src/fs/walk.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { DamageKit } from './helpers/damage.js';
import { sampleSources } from './helpers/samples.js';

const SAMPLE = 'default';
const at = (log: { items: Finding[] }, logical: bigint) => log.items.filter((f) => f.location.logical === logical);

describe('findings per operation: each view reports to the sink it was given', () => {
  const clean = Filesystem.open(sampleSources(SAMPLE));
  const fsTree = clean.treeRoot(5n)!;
  const csumTree = clean.treeRoot(7n)!;
  // The first leaf of subvolume 5 and the csum tree's root, bad on every copy (no copy repairs them, none is cached).
  const fsLeaf = clean.reader.read({ logical: fsTree.bytenr }).block!.blockPtr(0);
  const kit = new DamageKit(clean, sampleSources(SAMPLE));
  kit.editBlock(fsLeaf, (b) => {
    b[HEADER_SIZE + 40]! ^= 0xff;
  });
  kit.editBlock(csumTree.bytenr, (b) => {
    b[HEADER_SIZE + 40]! ^= 0xff;
  });

  it('two operations on one filesystem, two sinks: each holds only its own findings', () => {
    expect(fsTree.level).toBeGreaterThan(0);
    const fs = Filesystem.open(kit.overlays);
    const opened = fs.findings.items.length;

    const files = new FindingLog();
    const walked = [...walkFiles(new FsView(fs.withFindings(files)), { subvol: 5n, ino: 256n })];
    expect(walked.length).toBeGreaterThan(0);

    const csums = new FindingLog();
    let leaves = 0;
    fs.withFindings(csums).walk(fs.treeRoot(7n)!, {
      block(b) {
        if (b.isLeaf) leaves++;
      },
    });
    expect(leaves).toBe(0);

    // Every copy of each damaged block is reported, to the operation that read it and to no other.
    expect(at(files, fsLeaf).map((f) => [f.code, f.location.copy])).toEqual([
      ['tree-block-csum', 0],
      ['tree-block-csum', 1],
    ]);
    expect(at(files, csumTree.bytenr)).toEqual([]);
    expect(at(csums, csumTree.bytenr).map((f) => [f.code, f.location.copy])).toEqual([
      ['tree-block-csum', 0],
      ['tree-block-csum', 1],
    ]);
    expect(at(csums, fsLeaf)).toEqual([]);
    expect(csums.items.every((f) => f.location.tree === 7n)).toBe(true);
    // The filesystem's own log keeps what opening met, nothing of the two operations.
    expect(fs.findings.items.length).toBe(opened);
    expect(at(fs.findings, fsLeaf)).toEqual([]);
    expect(at(fs.findings, csumTree.bytenr)).toEqual([]);
  });

  it("a check's findings are in its report, not in another operation's sink nor the filesystem's log", () => {
    const fs = Filesystem.open(kit.overlays);
    const other = new FindingLog();
    const opened = fs.findings.items.length;
    const report = runCheck(fs.withFindings(other));
    expect(report.findings.filter((f) => f.code === 'tree-block-csum').map((f) => f.location.logical)).toEqual(expect.arrayContaining([fsLeaf, csumTree.bytenr]));
    expect(other.items).toEqual([]);
    expect(fs.findings.items.length).toBe(opened);
  });

  it('a view that drops block findings still reports what it finds in items', () => {
    const fs = Filesystem.open(kit.overlays);
    const items = new FindingLog();
    const blocks = new FindingLog();
    const v = fs.view({ findings: items, blockFindings: blocks });
    expect(v.sink).toBe(items);
    expect(v.blockSink).toBe(blocks);
    [...walkFiles(new FsView(v), { subvol: 5n, ino: 256n })];
    expect(at(blocks, fsLeaf)).toHaveLength(2);
    expect(at(items, fsLeaf)).toEqual([]);
    // Views made from it keep its sinks unless told otherwise.
    const older = v.atRoot(fs.rootTree);
    expect(older.sink).toBe(items);
    expect(older.blockSink).toBe(blocks);
  });
});
