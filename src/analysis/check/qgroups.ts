import { rule } from '../../findingRules.js';
import { ItemType, ObjectId, QgroupStatusFlag } from '../../format/constants.js';
import { decodeQgroupInfo, decodeQgroupStatus, formatQgroupId, qgroupLevel } from '../../format/items/qgroup.js';
import { MAX_KEY } from '../../format/key.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { iterateItems } from '../../tree/walk.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/**
 * Level-0 qgroup accounting against the real extent ownership, as btrfs
 * check --qgroup-report does it (qgroup-verify.c): a subvolume's qgroup
 * refers to every tree block reachable from its root (nodesize each) and
 * every data extent its file extent items name (disk_num_bytes each, once
 * however many items name it); the exclusive part is what no other
 * subvolume reaches. Judged only where the numbers are meant to be exact:
 * quotas on, not inconsistent, no rescan running, not simple quotas (which
 * count by the extent's owner, from enable_gen on), no deleted subvolume
 * waiting to be dropped (its extents are uncounted as it is dropped), no
 * relocation in progress, and every fs tree block read.
 */
export function checkQgroups(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const g = facts.fsGraph;
  const quota = fs.treeRoot(ObjectId.QUOTA_TREE);
  if (!g || !quota || facts.deadRoots.size > 0 || facts.lost.some((l) => l.fs || l.tree === ObjectId.QUOTA_TREE)) return;
  if (fs.roots().some((r) => r.tree === ObjectId.TREE_RELOC)) return;
  const infos: { id: bigint; rfer: bigint; excl: bigint; at: { block: bigint; slot: number } }[] = [];
  let consistent = false;
  for (const { block, slot } of iterateItems(fs.reader, quota, { objectid: 0n, type: 0, offset: 0n }, MAX_KEY)) {
    const type = block.keyType(slot);
    if (type === ItemType.QGROUP_STATUS) {
      const st = decodeQgroupStatus(block.itemData(slot));
      if (st.kind === 'invalid') return;
      const off = QgroupStatusFlag.RESCAN | QgroupStatusFlag.INCONSISTENT | QgroupStatusFlag.SIMPLE_MODE;
      consistent = (st.flags & QgroupStatusFlag.ON) !== 0n && (st.flags & off) === 0n;
    } else if (type === ItemType.QGROUP_INFO) {
      const key = block.key(slot);
      if (qgroupLevel(key.offset) !== 0) continue;
      const d = decodeQgroupInfo(key, block.itemData(slot));
      if (d.kind !== 'invalid') infos.push({ id: key.offset, rfer: d.rfer, excl: d.excl, at: { block: block.logical, slot } });
    }
  }
  if (!consistent) return;
  const nodesize = BigInt(fs.superblock.nodesize);
  // Who reaches each tree block and data extent: the one subvolume, or MANY.
  const MANY = -1n;
  const blockOwner = new Map<bigint, bigint>();
  const dataOwner = new Map<bigint, { size: bigint; owner: bigint }>();
  const reached = new Map<bigint, { blocks: bigint[]; data: Set<bigint> }>();
  for (const [sv, root] of g.roots) {
    const blocks: bigint[] = [],
      data = new Set<bigint>();
    const seen = new Set<bigint>([root]);
    const stack = [root];
    while (stack.length) {
      const b = stack.pop()!;
      blocks.push(b);
      const o = blockOwner.get(b);
      blockOwner.set(b, o === undefined || o === sv ? sv : MANY);
      const kids = g.children.get(b);
      if (kids) {
        for (const c of kids)
          if (!seen.has(c)) {
            seen.add(c);
            stack.push(c);
          }
        continue;
      }
      for (const [bytenr, size] of g.data.get(b) ?? []) {
        // Counted once per subvolume however many items name it; a second subvolume makes it shared.
        if (data.has(bytenr)) continue;
        data.add(bytenr);
        const d = dataOwner.get(bytenr);
        if (!d) dataOwner.set(bytenr, { size, owner: sv });
        else d.owner = MANY;
      }
    }
    reached.set(sv, { blocks, data });
  }
  for (const q of infos) {
    const r = reached.get(q.id);
    if (!r) continue;
    let rfer = 0n,
      excl = 0n;
    for (const b of r.blocks) {
      rfer += nodesize;
      if (blockOwner.get(b) === q.id) excl += nodesize;
    }
    for (const x of r.data) {
      const d = dataOwner.get(x)!;
      rfer += d.size;
      if (d.owner === q.id) excl += d.size;
    }
    if (rfer !== q.rfer || excl !== q.excl) {
      add({
        ...rule('qgroup-count'),
        message: `qgroup ${formatQgroupId(q.id)}: referenced ${q.rfer}, exclusive ${q.excl} recorded; its tree blocks and data extents make referenced ${rfer}, exclusive ${excl}`,
        location: { tree: ObjectId.QUOTA_TREE, block: q.at.block, slot: q.at.slot, key: { objectid: 0n, type: ItemType.QGROUP_INFO, offset: q.id } },
      });
    }
  }
}
