import { diffTrees } from '../../../src/analysis/diff.js';
import { analyzeSharing, groupExclusive, type SharingResult } from '../../../src/analysis/sharing.js';
import { BlockGroupFlag } from '../../../src/format/constants.js';
import type { FsView } from '../../../src/fs/FsView.js';
import { toJson } from '../../../src/report/json.js';
import { sharingJson } from '../../../src/report/sharingJson.js';
import { readBlockGroups } from '../../../src/tree/blockGroups.js';

type Progress = (phase: string, done: number, total: number) => void;

/** The last walk, kept for the "what would deleting these free" questions that follow it. */
let last: { view: FsView; r: SharingResult } | null = null;

/**
 * `sharing --matrix --json`, and per subvolume what deleting it alone frees
 * (`sharing --free ID`), with progress in tree blocks walked.
 */
export function sharing(view: FsView, progress: Progress): string {
  // The total is an estimate, as the CLI's progress line: used metadata bytes over the nodesize.
  let used = 0n;
  for (const bg of readBlockGroups(view.fs)) if (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) used += bg.used;
  const total = Number(used / BigInt(view.fs.superblock.nodesize));
  // Walked once per opened image: coming back to the view reuses it.
  const r = last?.view === view ? last.r : analyzeSharing(view, { progress: (blocks) => progress('walking trees', blocks, Math.max(total, blocks)) });
  last = { view, r };
  return toJson({
    ...sharingJson(r, { matrix: true }),
    freeEach: r.perSubvol.map((p) => ({ subvol: p.id, ...groupExclusive(r, [p.id]) })),
  });
}

/** What deleting this set of subvolumes frees, as `sharing --free A,B --json` says in its "free". */
export function free(view: FsView, ids: string[]): string {
  if (last?.view !== view) last = { view, r: analyzeSharing(view) };
  const subvols = ids.map((i) => BigInt(i));
  return toJson({ subvols, ...groupExclusive(last.r, subvols) });
}

/** `diff A B --json` of two subvolumes (ids): what changed, shared subtrees skipped unread. */
export function diff(view: FsView, a: string, b: string): string {
  const ta = view.tree(BigInt(a));
  const tb = view.tree(BigInt(b));
  if (!ta || !tb) throw new Error(`no subvolume ${ta ? b : a}`);
  const r = diffTrees(view.fs, ta, tb);
  const side = (spec: string, t: typeof ta) => ({ spec, subvol: t.tree, bytenr: t.bytenr, level: t.level, generation: t.generation ?? null });
  return toJson({ a: side(a, ta), b: side(b, tb), stats: r.stats, itemsCompared: r.itemsCompared, changes: r.changes });
}
