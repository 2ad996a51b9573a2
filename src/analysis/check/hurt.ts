import { compareKeys, type Key } from '../../format/key.js';
import { resolveLogical } from '../../fs/backrefs.js';
import type { FsView } from '../../fs/FsView.js';
import { displayPath } from '../../fs/names.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding, Hurt } from './types.js';

const MAX_FILES_PER_FINDING = 1000;

/**
 * Names what unrepairable damage hurts: for a lost fs tree block, the files
 * whose inode numbers fall in the key range it held (found by their names in
 * directories elsewhere); for another tree, its key range; for a bad data
 * sector, every file using it, through the extent tree's back references.
 */
export function attachHurt(view: FsView, facts: MetaFacts, findings: CheckFinding[], limit: number): void {
  let budget = limit;
  const lostBy = new Map(facts.lost.map((l) => [l.logical, l]));
  const hurtOfLost = new Map<bigint, Hurt[]>();
  for (const f of findings) {
    // Mirrors that differ are a warning, but name their files: the kernel may serve either copy.
    const differ = f.code === 'data-copies-differ';
    if ((!differ && (f.repairable || f.severity !== 'error')) || budget <= 0) continue;
    const logical = f.location.logical;
    if (logical === undefined) continue;
    if (f.code === 'data-csum' || differ) {
      budget--;
      f.hurt = dataHurt(view, logical, f);
      continue;
    }
    const lost = lostBy.get(logical);
    if (!lost) continue;
    let h = hurtOfLost.get(logical);
    if (!h) {
      budget--;
      h = [];
      const links = lost.fs ? (facts.links.get(lost.tree) ?? []) : [];
      const a = lost.min.objectid;
      // The block ends just below max: inode max.objectid has items in it only if max is past its INODE_ITEM.
      const b = lost.max.type > 1 || (lost.max.type === 1 && lost.max.offset > 0n) ? lost.max.objectid : lost.max.objectid - 1n;
      const seenName = new Set<string>();
      for (const l of links) {
        // The inode's items were in the block, or its name was: (dir, DIR_INDEX, index) inside the block's key range.
        const inRange = l.target >= a && l.target <= b;
        const nameLost = l.index !== undefined && keyIn({ objectid: l.dir, type: 96, offset: l.index }, lost.min, lost.max);
        if (!inRange && !nameLost) continue;
        const id = `${l.dir}/${l.target}/${String.fromCharCode(...l.name)}`;
        if (seenName.has(id)) continue;
        seenName.add(id);
        if (h.length >= MAX_FILES_PER_FINDING) break;
        const dir = view.dirPath({ subvol: lost.tree, ino: l.dir });
        h.push({ tree: lost.tree, ino: l.target, ...(dir ? { paths: [displayPath([...dir, l.name])] } : {}) });
      }
      if (h.length === 0) h.push({ tree: lost.tree, minKey: lost.min, maxKey: lost.max });
      hurtOfLost.set(logical, h);
    }
    f.hurt = h;
  }
}

function keyIn(k: Key, min: Key, max: Key): boolean {
  return compareKeys(k, min) >= 0 && compareKeys(k, max) < 0;
}

function dataHurt(view: FsView, logical: bigint, f: CheckFinding): Hurt[] {
  const m = /\+(\d+)/.exec(f.message);
  const len = m ? BigInt(m[1]!) : BigInt(view.sectorsize);
  const r = resolveLogical(view, logical);
  const out: Hurt[] = r.files.slice(0, MAX_FILES_PER_FINDING).map((u) => ({
    tree: u.subvol,
    ino: u.ino,
    paths: u.paths.map((p) => displayPath(p)),
    fileOffset: u.fileOffset,
    length: u.compressed ? u.extentLength : len,
  }));
  return out;
}
