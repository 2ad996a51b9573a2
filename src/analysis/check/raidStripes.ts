import { rule } from '../../findingRules.js';
import { IncompatFlag, ObjectId } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { stripeTreeApplies } from '../../volume/raidStripes.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/** Findings per rule at most: one per unplaced range of a huge filesystem would say nothing more. */
const MAX_MISSING = 1000;

/**
 * The raid stripe tree against the feature bit and the file data: a tree
 * without incompat RAID_STRIPE_TREE (tree-checker), and written data of the
 * block groups the tree covers that no RAID_STRIPE item places (the kernel's
 * lookup fails, so the read does). Loading the tree's index reports its own
 * item problems (size, key, overlap, strides) into the filesystem's log.
 */
export function checkRaidStripes(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const hasBit = (fs.superblock.incompatFlags & IncompatFlag.RAID_STRIPE_TREE) !== 0n;
  const root = fs.roots().find((r) => r.tree === ObjectId.RAID_STRIPE_TREE);
  if (!hasBit) {
    if (root)
      add({
        ...rule('rst-feature'),
        message: `the root tree names a raid stripe tree (root item ${root.key.objectid}, block ${root.bytenr}) but the superblock lacks incompat RAID_STRIPE_TREE`,
        location: { tree: ObjectId.ROOT_TREE, key: root.key, block: root.bytenr },
      });
    return;
  }
  const index = fs.volume.raidStripes?.();
  if (!index || !facts.rstNeeds) return;
  const needs = [...facts.rstNeeds].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let coveredTo = 0n;
  let n = 0;
  for (const need of needs) {
    const start = need.start > coveredTo ? need.start : coveredTo;
    if (need.end <= start) continue;
    coveredTo = need.end;
    const chunk = fs.volume.chunks.find(start);
    if (!chunk || !stripeTreeApplies(chunk)) continue;
    for (const gap of index.gaps(start, need.end)) {
      if (n++ >= MAX_MISSING) return;
      add({
        ...rule('rst-missing'),
        message: `file data at logical ${gap.start} +${gap.end - gap.start} (${chunk.profile} data chunk ${chunk.logical}) has no raid stripe item: it cannot be read`,
        location: { ...need.at, logical: gap.start },
      });
    }
  }
}
