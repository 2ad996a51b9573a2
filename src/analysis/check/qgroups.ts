import { rule } from '../../findingRules.js';
import { IncompatFlag, ItemType, ObjectId, QgroupStatusFlag } from '../../format/constants.js';
import { decodeQgroupInfo, decodeQgroupStatus, formatQgroupId, qgroupLevel } from '../../format/items/qgroup.js';
import { MAX_KEY } from '../../format/key.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { iterateItems } from '../../tree/walk.js';
import type { MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/** One qgroup: the numbers its QGROUP_INFO item records and the ones its extents make. */
export interface QgroupCount {
  id: bigint;
  /** Recorded in the QGROUP_INFO item. */
  rfer: bigint;
  excl: bigint;
  /** Computed from the extents its subvolume(s) reach (or own, with simple quotas). */
  ourRfer: bigint;
  ourExcl: bigint;
  at: { block: bigint; slot: number };
}

/**
 * The qgroups' numbers recomputed, and whether they are meant to be exact:
 * `exact` — quotas on, consistent, no rescan running; `stale` — the status
 * item's INCONSISTENT flag is set (the kernel's numbers wait for a rescan,
 * a difference is expected: progs "Rescan hasn't been initialized").
 */
export interface QgroupAccount {
  state: 'exact' | 'stale';
  simple: boolean;
  counts: QgroupCount[];
}

interface QuotaItems {
  flags: bigint;
  enableGen: bigint;
  infos: { id: bigint; rfer: bigint; excl: bigint; at: { block: bigint; slot: number } }[];
  /** QGROUP_RELATION items, member -> its parents. */
  parents: Map<bigint, bigint[]>;
}

function readQuota(fs: Filesystem, quota: NonNullable<ReturnType<Filesystem['treeRoot']>>): QuotaItems | undefined {
  const q: QuotaItems = { flags: 0n, enableGen: 0n, infos: [], parents: new Map() };
  let status = false;
  for (const { block, slot } of iterateItems(fs.reader, quota, { objectid: 0n, type: 0, offset: 0n }, MAX_KEY)) {
    const type = block.keyType(slot);
    if (type === ItemType.QGROUP_STATUS) {
      const st = decodeQgroupStatus(block.itemData(slot));
      if (st.kind === 'invalid') return undefined;
      status = true;
      q.flags = st.flags;
      q.enableGen = st.enableGen ?? 0n;
    } else if (type === ItemType.QGROUP_INFO) {
      const key = block.key(slot);
      const d = decodeQgroupInfo(key, block.itemData(slot));
      if (d.kind !== 'invalid') q.infos.push({ id: key.offset, rfer: d.rfer, excl: d.excl, at: { block: block.logical, slot } });
    } else if (type === ItemType.QGROUP_RELATION) {
      // Each relation is stored both ways; the item keyed by the member (the lower id) is the one read, as progs does.
      const key = block.key(slot);
      if (key.objectid < key.offset) q.parents.set(key.objectid, [...(q.parents.get(key.objectid) ?? []), key.offset]);
    }
  }
  return status ? q : undefined;
}

/**
 * Each qgroup's level-0 members: the subvolume ids under it through the
 * QGROUP_RELATION items (itself, for a level-0 qgroup). Only subvolumes that
 * have a level-0 qgroup count, as progs' account_one_extent finds a root's
 * groups from its level-0 qgroup.
 */
function memberSets(q: QuotaItems): Map<bigint, Set<bigint>> {
  const ids = new Set(q.infos.map((i) => i.id));
  const out = new Map<bigint, Set<bigint>>();
  for (const i of q.infos) out.set(i.id, new Set());
  for (const i of q.infos) {
    if (qgroupLevel(i.id) !== 0) continue;
    // Every ancestor (a relation graph need not be a tree; a loop is stopped by `seen`).
    const seen = new Set<bigint>([i.id]);
    const stack = [i.id];
    while (stack.length) {
      const g = stack.pop()!;
      out.get(g)?.add(i.id);
      for (const p of q.parents.get(g) ?? [])
        if (ids.has(p) && !seen.has(p)) {
          seen.add(p);
          stack.push(p);
        }
    }
  }
  return out;
}

/**
 * Qgroup accounting against the real extent ownership, as btrfs check
 * --qgroup-report does it (qgroup-verify.c). Full quotas: a subvolume
 * refers to every tree block reachable from its root (nodesize each) and
 * every data extent its file extent items name (disk_num_bytes each, once
 * however many items name it); a qgroup of any level refers to an extent
 * when one of its level-0 members does, and holds it exclusively when every
 * subvolume reaching it is a member (account_one_extent). Simple quotas
 * (incompat SIMPLE_QUOTA, status SIMPLE_MODE): each extent counts for its
 * owner alone — a data extent's EXTENT_OWNER_REF root, a tree block's
 * header owner — from enable_gen on (simple_quota_account_extent), so
 * referenced equals exclusive. Judged only where the numbers are meant to
 * be: quotas on, no rescan running, no relocation in progress, and every fs
 * tree block read. A deleted subvolume counts what its drop has not reached
 * (whole before the drop begins; part-way, the subtrees after its
 * drop_progress), as progs counts the extents its back references still
 * name. Undefined when not judged.
 */
export function accountQgroups(fs: Filesystem, facts: MetaFacts): QgroupAccount | undefined {
  const g = facts.fsGraph;
  const quota = fs.treeRoot(ObjectId.QUOTA_TREE);
  if (!g || !quota) return undefined;
  // A deleted subvolume not in the graph (its root block unreadable) cannot be counted: not judged.
  if ([...facts.deadRoots.keys()].some((id) => !g.roots.has(id))) return undefined;
  if (facts.lost.some((l) => l.fs || l.tree === ObjectId.QUOTA_TREE || g.roots.has(l.tree))) return undefined;
  if (fs.roots().some((r) => r.tree === ObjectId.TREE_RELOC)) return undefined;
  const q = readQuota(fs, quota);
  if (!q || (q.flags & QgroupStatusFlag.ON) === 0n || (q.flags & QgroupStatusFlag.RESCAN) !== 0n) return undefined;
  const simple = (fs.superblock.incompatFlags & IncompatFlag.SIMPLE_QUOTA) !== 0n;
  const state = (q.flags & QgroupStatusFlag.INCONSISTENT) !== 0n ? 'stale' : 'exact';
  const members = memberSets(q);
  const sums = simple ? simpleSums(facts, q.enableGen, BigInt(fs.superblock.nodesize)) : fullSums(facts, BigInt(fs.superblock.nodesize));
  if (!sums) return undefined;
  const counts: QgroupCount[] = [];
  for (const info of q.infos) {
    const m = members.get(info.id)!;
    // A level-0 qgroup of no live subvolume (deleted and dropped) is not judged.
    if (qgroupLevel(info.id) === 0 && !g.roots.has(info.id)) continue;
    let ourRfer = 0n,
      ourExcl = 0n;
    for (const { roots, bytes } of sums) {
      let inside = 0;
      for (const r of roots) if (m.has(r)) inside++;
      if (inside > 0) ourRfer += bytes;
      if (inside > 0 && inside === roots.length) ourExcl += bytes;
    }
    counts.push({ id: info.id, rfer: info.rfer, excl: info.excl, ourRfer, ourExcl, at: info.at });
  }
  return { state, simple, counts };
}

/** Bytes of extents per set of subvolumes reaching them. */
type Sums = { roots: bigint[]; bytes: bigint }[];

/**
 * Full quotas: which subvolumes reach each tree block and data extent. The
 * set of subvolumes of each extent is interned (snapshots make few distinct
 * sets), so an extent costs one map entry.
 */
function fullSums(facts: MetaFacts, nodesize: bigint): Sums {
  const g = facts.fsGraph!;
  const sets: { roots: bigint[]; bytes: bigint; next: Map<bigint, number> }[] = [];
  const singles = new Map<bigint, number>();
  // A set is only ever made by adding the subvolume being walked to another set: each set remembers its successors.
  const newSet = (roots: bigint[]) => sets.push({ roots, bytes: 0n, next: new Map() }) - 1;
  const extents = new Map<bigint, { set: number; size: bigint }>();
  const reach = (bytenr: bigint, size: bigint, sv: bigint) => {
    const e = extents.get(bytenr);
    if (!e) {
      let id = singles.get(sv);
      if (id === undefined) singles.set(sv, (id = newSet([sv])));
      extents.set(bytenr, { set: id, size });
      return;
    }
    const from = sets[e.set]!;
    let id = from.next.get(sv);
    if (id === undefined) from.next.set(sv, (id = newSet([...from.roots, sv])));
    e.set = id;
  };
  for (const [sv, root] of g.roots) {
    const data = new Set<bigint>();
    const seen = new Set<bigint>([root]);
    const stack = [root];
    while (stack.length) {
      const b = stack.pop()!;
      reach(b, nodesize, sv);
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
        reach(bytenr, size, sv);
      }
    }
  }
  for (const e of extents.values()) sets[e.set]!.bytes += e.size;
  return sets.map(({ roots, bytes }) => ({ roots, bytes }));
}

/**
 * Simple quotas: each extent item of generation enable_gen or later counts
 * for its owner: a data extent's first inline ref when it is an
 * EXTENT_OWNER_REF (the kernel writes it first; extents without one count
 * for nobody), a tree block's header owner. Only fs trees own.
 */
function simpleSums(facts: MetaFacts, enableGen: bigint, nodesize: bigint): Sums | undefined {
  const owners = facts.fsGraph?.owners;
  if (!owners) return undefined;
  const bySv = new Map<bigint, bigint>();
  for (const e of facts.extents) {
    if (e.generation === undefined || e.generation < enableGen) continue;
    const owner = e.isTree ? owners.get(e.bytenr) : e.ownerRef;
    if (owner === undefined) continue;
    bySv.set(owner, (bySv.get(owner) ?? 0n) + (e.isTree ? nodesize : e.length));
  }
  return [...bySv].map(([sv, bytes]) => ({ roots: [sv], bytes }));
}

/** Reports qgroups whose recorded numbers differ from the computed ones: damage when exact, a note when stale. */
export function checkQgroups(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const acc = accountQgroups(fs, facts);
  if (!acc) return;
  for (const c of acc.counts) {
    if (c.ourRfer === c.rfer && c.ourExcl === c.excl) continue;
    const how = acc.simple ? 'the extents it owns' : qgroupLevel(c.id) === 0 ? 'its tree blocks and data extents' : "its members' tree blocks and data extents";
    const location = { tree: ObjectId.QUOTA_TREE, block: c.at.block, slot: c.at.slot, key: { objectid: 0n, type: ItemType.QGROUP_INFO, offset: c.id } };
    const numbers = `qgroup ${formatQgroupId(c.id)}: referenced ${c.rfer}, exclusive ${c.excl} recorded; ${how} make referenced ${c.ourRfer}, exclusive ${c.ourExcl}`;
    if (acc.state === 'stale') {
      add({ ...rule('qgroup-stale'), message: `${numbers} (the quota status is INCONSISTENT: expected until \`btrfs quota rescan\` runs)`, location });
    } else {
      add({ ...rule(acc.simple ? 'squota-count' : 'qgroup-count'), message: numbers, location });
    }
  }
}
