import { rule } from '../../findingRules.js';
import { BlockGroupFlag, CompatRoFlag, ItemType } from '../../format/constants.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { stripeSize } from '../../volume/ChunkMap.js';
import type { ExtentRec, MetaFacts } from './metadata.js';
import type { CheckFinding } from './types.js';

/**
 * The extent tree against what really references it: every tree block
 * reached and every file extent item must have an extent item whose refs
 * equal the referrers found and the back references stored; extents must
 * not overlap and must lie in a block group whose used bytes they add up to.
 */
export function checkExtentRefs(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const EXT = 2n;
  const nodesize = BigInt(fs.superblock.nodesize);
  const extents = [...facts.extents].sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
  const byBytenr = new Map<bigint, (typeof extents)[number]>();
  const lostExtentTree = facts.lost.some((l) => l.tree === EXT);
  let prevEnd = 0n;
  for (const e of extents) {
    const loc = { tree: EXT, block: e.at.block, logical: e.bytenr, slot: e.at.slot, key: e.at.key };
    if (e.bytenr < prevEnd) add({ ...rule('extent-overlap'), message: `extent ${e.bytenr} +${e.length} overlaps the previous extent (ends at ${prevEnd})`, location: loc });
    if (e.bytenr + e.length > prevEnd) prevEnd = e.bytenr + e.length;
    byBytenr.set(e.bytenr, e);
    const stored = e.backrefs + (facts.keyedBackrefs.get(e.bytenr) ?? 0n);
    if (stored !== e.refs) add({ ...rule('extent-backref-count'), message: `extent ${e.bytenr} +${e.length}: refs ${e.refs}, but its back references count ${stored}`, location: loc });
    const found = e.isTree ? BigInt(facts.blockRefs.get(e.bytenr) ?? 0) : BigInt(facts.dataRefs.get(e.bytenr)?.count ?? 0);
    // Referrers under a lost block cannot be counted: a shortfall there is a consequence, not news.
    if (found !== e.refs && !(found < e.refs && facts.lost.length > 0)) {
      add({
        code: found === 0n ? 'extent-unreferenced' : 'extent-ref-count',
        severity: 'error',
        message: `${e.isTree ? 'tree block' : 'data'} extent ${e.bytenr} +${e.length}: extent item says refs ${e.refs}, found ${found} referrer(s)`,
        location: loc,
      });
    }
  }
  if (!lostExtentTree) {
    for (const [bytenr, n] of facts.blockRefs) {
      // The remap tree's blocks have no extent items (check/main.c: "The remap tree doesn't have backrefs").
      if (!byBytenr.has(bytenr) && !facts.remapBlocks.has(bytenr))
        add({ ...rule('extent-missing'), message: `tree block ${bytenr} (referenced ${n} time(s)) has no extent item`, location: { logical: bytenr, block: bytenr } });
    }
    for (const [bytenr, r] of facts.dataRefs) {
      const e = byBytenr.get(bytenr);
      const loc = { tree: r.at.tree, block: r.at.block, logical: bytenr, slot: r.at.slot, key: r.at.key };
      if (!e) add({ ...rule('extent-missing'), message: `data extent ${bytenr} +${r.diskNumBytes} (referenced by ${r.count} file extent item(s)) has no extent item`, location: loc });
      else if (e.length !== r.diskNumBytes)
        add({ ...rule('file-extent-range'), message: `file extent item says disk extent ${bytenr} is ${r.diskNumBytes} bytes, the extent item says ${e.length}`, location: loc });
    }
  }
  checkOwnerRefs(fs, facts, byBytenr, add);
  // Block group used bytes: the extents inside each block group, and the remap tree's blocks.
  const spans = withRemapBlocks(fs, facts, extents);
  const bgs = [...facts.blockGroups].sort((a, b) => (a.logical < b.logical ? -1 : 1));
  const stripe = 65536n;
  let j = 0;
  for (const bg of bgs) {
    let used = 0n;
    while (j < spans.length && spans[j]!.bytenr < bg.logical) {
      const e = spans[j]!;
      add({
        ...rule('extent-outside-block-group'),
        message: `extent ${e.bytenr} +${e.length} lies in no block group`,
        location: { tree: EXT, block: e.at.block, logical: e.bytenr, slot: e.at.slot, key: e.at.key },
      });
      j++;
    }
    // progs check's "chunk type mismatch" (CHUNK_TYPE_MISMATCH): data lives in DATA block groups, tree blocks in METADATA or SYSTEM ones.
    const holdsData = (bg.flags & BlockGroupFlag.DATA) !== 0n,
      holdsTrees = (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM | BlockGroupFlag.METADATA_REMAP)) !== 0n;
    while (j < spans.length && spans[j]!.bytenr < bg.logical + bg.length) {
      const e = spans[j++]!;
      used += e.length;
      // check_crossing_stripes: a tree block lies within one 64 KiB stripe counted from its block group's start.
      const off = e.bytenr - bg.logical;
      if (e.isTree && !e.v0 && off / stripe !== (off + nodesize - 1n) / stripe)
        add({
          ...rule('tree-block-stripe-crossing'),
          message: `tree block ${e.bytenr} +${nodesize} crosses a 64 KiB stripe boundary of block group ${bg.logical} (at offset ${(off / stripe + 1n) * stripe})`,
          location: { tree: EXT, block: e.at.block, logical: e.bytenr, slot: e.at.slot, key: e.at.key },
        });
      if (!e.v0 && (e.isTree ? !holdsTrees : !holdsData))
        add({
          ...rule('extent-block-group-type'),
          message: `${e.isTree ? 'tree block' : 'data'} extent ${e.bytenr} +${e.length} lies in block group ${bg.logical} of flags 0x${bg.flags.toString(16)}`,
          location: { tree: EXT, block: e.at.block, logical: e.bytenr, slot: e.at.slot, key: e.at.key },
        });
    }
    if (used !== bg.used && !lostExtentTree) {
      add({
        ...rule('block-group-used'),
        message: `block group ${bg.logical} +${bg.length}: used ${bg.used}, its extents add up to ${used}`,
        location: { tree: bg.at.tree, block: bg.at.block, slot: bg.at.slot, logical: bg.logical, key: { objectid: bg.logical, type: 192, offset: bg.length } },
      });
    }
    const chunk = fs.volume.chunks.all.find((c) => c.logical === bg.logical);
    if (!chunk || chunk.length !== bg.length)
      add({
        ...rule('block-group-chunk'),
        message: `block group ${bg.logical} +${bg.length} has no chunk of that address and length`,
        location: { tree: bg.at.tree, block: bg.at.block, slot: bg.at.slot, logical: bg.logical },
      });
    else if ((chunk.type & (BlockGroupFlag.DATA | BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) !== (bg.flags & (BlockGroupFlag.DATA | BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM))) {
      add({
        ...rule('block-group-chunk'),
        message: `block group ${bg.logical} flags 0x${bg.flags.toString(16)} differ from its chunk's type 0x${chunk.type.toString(16)}`,
        location: { tree: bg.at.tree, block: bg.at.block, slot: bg.at.slot, logical: bg.logical },
      });
    }
  }
  for (; j < spans.length; j++) {
    const e = spans[j]!;
    if (bgs.length)
      add({
        ...rule('extent-outside-block-group'),
        message: `extent ${e.bytenr} +${e.length} lies in no block group`,
        location: { tree: EXT, block: e.at.block, logical: e.bytenr, slot: e.at.slot, key: e.at.key },
      });
  }
  if (!facts.lost.some((l) => l.tree === 2n || l.tree === 11n)) {
    const bgAt = new Set(bgs.map((b) => b.logical));
    for (const c of fs.volume.chunks.all) {
      if (!bgAt.has(c.logical)) add({ ...rule('block-group-missing'), message: `chunk ${c.logical} +${c.length} has no block group item`, location: { logical: c.logical } });
    }
  }
}

/**
 * The extents that take space in block groups: the extent items, and the remap tree's blocks,
 * which have none but count in their block group's used bytes (btrfs-progs 6.19), in bytenr order.
 */
function withRemapBlocks(fs: Filesystem, facts: MetaFacts, sorted: ExtentRec[]): ExtentRec[] {
  if (facts.remapBlocks.size === 0) return sorted;
  const nodesize = BigInt(fs.superblock.nodesize);
  const remap: ExtentRec[] = [...facts.remapBlocks].map((bytenr) => ({
    bytenr,
    length: nodesize,
    refs: 1n,
    isTree: true,
    backrefs: 1n,
    at: { block: bytenr, slot: 0, key: { objectid: bytenr, type: ItemType.METADATA_ITEM, offset: 0n } },
  }));
  return [...sorted, ...remap].sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
}

/**
 * progs check's owner check (check/main.c check_owner_ref): a tree block whose extent has
 * no FULL_BACKREF flag must be referenced by its header's owner, either through a tree
 * block back reference naming that root or, failing that, by a pointer found when the
 * owner's tree is searched for the block's first key; a tree's root block only through
 * its back references. The search is made only for blocks whose back references do not
 * name their owner (none in a valid filesystem).
 */
function checkOwnerRefs(fs: Filesystem, facts: MetaFacts, byBytenr: Map<bigint, ExtentRec>, add: (f: CheckFinding) => void): void {
  let roots: Set<bigint> | undefined;
  for (const [bytenr, owner] of facts.blockOwners) {
    const e = byBytenr.get(bytenr);
    if (!e?.treeRoots || e.treeRoots.includes(owner) || facts.treeBlockRefRoots.get(bytenr)?.includes(owner)) continue;
    roots ??= new Set([fs.rootTree.bytenr, fs.chunkTree.bytenr, ...fs.roots().map((r) => r.bytenr)]);
    if (!roots.has(bytenr) && ownerReaches(fs, owner, bytenr)) continue;
    const named = [...e.treeRoots, ...(facts.treeBlockRefRoots.get(bytenr) ?? [])];
    add({
      ...rule('tree-block-owner-ref'),
      message: `tree block ${bytenr}: owner ${owner} is not among the roots of its back references (${named.join(', ') || 'none'})${roots.has(bytenr) ? ', and it is a tree root' : `, and tree ${owner} does not reach it`}`,
      location: { tree: 2n, block: e.at.block, slot: e.at.slot, key: e.at.key, logical: bytenr },
    });
  }
}

/** Whether tree `owner`, searched for the first key of block `bytenr`, has a pointer to it one level up. */
function ownerReaches(fs: Filesystem, owner: bigint, bytenr: bigint): boolean {
  const root = fs.treeRoot(owner);
  const target = fs.reader.read({ logical: bytenr }, { tree: owner }).block;
  if (!root || !target || target.nritems === 0) return false;
  const key = target.key(0);
  let node = fs.reader.read({ logical: root.bytenr }, { tree: owner }).block;
  // At most one step per level (< 8): a hostile image's pointers may loop or not descend.
  for (let steps = 0; node && !node.isLeaf && node.level > target.level && steps < 8; steps++) {
    let lo = 0,
      hi = node.nritems - 1;
    // The last slot whose key is not above the searched key (slot 0 when all are).
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (node.compareKey(mid, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    if (node.level === target.level + 1) return node.blockPtr(lo) === bytenr;
    node = fs.reader.read({ logical: node.blockPtr(lo) }, { tree: owner }).block;
  }
  return false;
}

/** Device extents against chunk stripes, against each other, the device size and the device's bytes_used. */
export function checkDevExtents(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  if (facts.lost.some((l) => l.tree === 4n)) return;
  const DEV = 4n;
  const byPlace = new Map(facts.devExtents.map((d) => [`${d.devid}:${d.physical}`, d]));
  const matched = new Set<string>();
  for (const c of fs.volume.chunks.all) {
    const size = stripeSize(c);
    for (const s of c.stripes) {
      const k = `${s.devid}:${s.offset}`;
      const d = byPlace.get(k);
      if (!d)
        add({
          ...rule('dev-extent-missing'),
          message: `chunk ${c.logical} stripe on devid ${s.devid} at ${s.offset} has no device extent`,
          location: { devid: s.devid, physical: s.offset, logical: c.logical },
        });
      else if (d.chunkOffset !== c.logical || d.length !== size)
        add({
          ...rule('dev-extent-mismatch'),
          message: `device extent devid ${s.devid} at ${s.offset}: chunk ${d.chunkOffset} length ${d.length}, the chunk says ${c.logical} length ${size}`,
          location: { tree: DEV, block: d.at.block, slot: d.at.slot, devid: s.devid, physical: s.offset },
        });
      matched.add(k);
    }
  }
  const perDev = new Map<bigint, bigint>();
  const sorted = [...facts.devExtents].sort((a, b) => (a.devid !== b.devid ? (a.devid < b.devid ? -1 : 1) : a.physical < b.physical ? -1 : a.physical > b.physical ? 1 : 0));
  let prev: (typeof sorted)[number] | undefined;
  for (const d of sorted) {
    const loc = { tree: DEV, block: d.at.block, slot: d.at.slot, devid: d.devid, physical: d.physical };
    if (!matched.has(`${d.devid}:${d.physical}`))
      add({ ...rule('dev-extent-orphan'), message: `device extent devid ${d.devid} at ${d.physical} +${d.length} belongs to no chunk stripe`, location: loc });
    if (prev && prev.devid === d.devid && prev.physical + prev.length > d.physical)
      add({ ...rule('dev-extent-overlap'), message: `device extent devid ${d.devid} at ${d.physical} overlaps the one at ${prev.physical} +${prev.length}`, location: loc });
    const item = fs.devItems.get(d.devid);
    if (item && d.physical + d.length > item.totalBytes)
      add({ ...rule('dev-extent-beyond-device'), message: `device extent devid ${d.devid} at ${d.physical} +${d.length} ends past the device's ${item.totalBytes} bytes`, location: loc });
    perDev.set(d.devid, (perDev.get(d.devid) ?? 0n) + d.length);
    prev = d;
  }
  for (const [devid, item] of fs.devItems) {
    const sum = perDev.get(devid) ?? 0n;
    if (sum !== item.bytesUsed)
      add({ ...rule('dev-bytes-used'), message: `devid ${devid}: dev item bytes_used ${item.bytesUsed}, its device extents add up to ${sum}`, location: { devid, tree: 3n } });
  }
}

/**
 * The free space tree against the block groups and the extent tree: every
 * block group has a FREE_SPACE_INFO, every free range lies inside one block
 * group and overlaps no allocated extent.
 */
export function checkFreeSpaceTree(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const FST = 10n;
  if (!fs.treeRoot(FST) || facts.lost.some((l) => l.tree === FST || l.tree === 2n || l.tree === 11n)) return;
  const bgs = [...facts.blockGroups].sort((a, b) => (a.logical < b.logical ? -1 : 1));
  const bgAt = new Map(bgs.map((b) => [b.logical, b]));
  // Entries for space no chunk holds are leftovers of mkfs's temporary chunks (mkfs.btrfs before 6.3 leaves them in
  // every filesystem; the kernel never reads them; btrfs check 6.2 passes them, newer ones flag them): a note.
  // Entries that reach into real chunks are damage.
  const stale = (start: bigint, end: bigint) => (fs.volume.chunks.all.some((c) => c.logical < end && c.logical + c.length > start) ? ('error' as const) : ('info' as const));
  const infoAt = new Set<bigint>();
  for (const i of facts.fstInfos) {
    infoAt.add(i.start);
    const bg = bgAt.get(i.start);
    if (!bg || bg.length !== i.length)
      add({
        ...rule('free-space-orphan', stale(i.start, i.start + i.length)),
        message: `free space info for [${i.start}, +${i.length}) has no block group of that address and length`,
        location: { tree: FST, block: i.at.block, slot: i.at.slot, logical: i.start },
      });
  }
  for (const bg of bgs)
    if (!infoAt.has(bg.logical)) add({ ...rule('free-space-missing'), message: `block group ${bg.logical} +${bg.length} has no free space info`, location: { tree: FST, logical: bg.logical } });
  const extents = facts.extents.slice().sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0));
  const free = facts.fstFree.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  let g = 0,
    e = 0,
    reported = 0;
  for (const r of free) {
    if (reported > 1000) break;
    const loc = { tree: FST, block: r.at.block, slot: r.at.slot, logical: r.start };
    while (g < bgs.length && bgs[g]!.logical + bgs[g]!.length <= r.start) g++;
    const bg = bgs[g];
    if (!bg || bg.logical > r.start || r.end > bg.logical + bg.length) {
      reported++;
      add({ ...rule('free-space-orphan', stale(r.start, r.end)), message: `free space [${r.start}, ${r.end}) is not inside one block group`, location: loc });
      continue;
    }
    while (e > 0 && extents[e - 1]!.bytenr + extents[e - 1]!.length > r.start) e--;
    while (e < extents.length && extents[e]!.bytenr + extents[e]!.length <= r.start) e++;
    const x = extents[e];
    if (x && x.bytenr < r.end) {
      reported++;
      add({ ...rule('free-space-overlap'), message: `free space [${r.start}, ${r.end}) overlaps allocated extent ${x.bytenr} +${x.length}`, location: loc });
    }
  }
}

/**
 * Each block group's free space tree entries against its FREE_SPACE_INFO
 * and its length, as the kernel reads them when it caches the block group
 * (free-space-tree.c load_free_space_extents / load_free_space_bitmaps):
 * the items are all bitmaps when the info's USING_BITMAPS flag is set and
 * all extents when not, and the free extents they hold (runs of set bits
 * continue from one bitmap into the next) number extent_count. Then, as
 * btrfs check's verify_space_cache does, the free space and the allocated
 * extents together cover the block group exactly: bytes neither free nor
 * allocated are lost to the allocator. A free space tree the superblock
 * does not call valid (compat_ro FREE_SPACE_TREE_VALID clear) is rebuilt by
 * the kernel at mount and not judged.
 */
export function checkFreeSpaceTotals(fs: Filesystem, facts: MetaFacts, add: (f: CheckFinding) => void): void {
  const FST = 10n;
  if (!fs.treeRoot(FST) || !(fs.superblock.compatRoFlags & CompatRoFlag.FREE_SPACE_TREE_VALID)) return;
  if (facts.lost.some((l) => l.tree === FST || l.tree === 2n || l.tree === 11n)) return;
  const infos = new Map(facts.fstInfos.map((i) => [i.start, i]));
  const bgs = [...facts.blockGroups].filter((b) => infos.get(b.logical)?.length === b.length).sort((a, b) => (a.logical < b.logical ? -1 : 1));
  const byStart = <T extends { start: bigint }>(xs: T[]) => xs.slice().sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const kinds = byStart(facts.fstKinds),
    free = byStart(facts.fstFree);
  const extents = withRemapBlocks(
    fs,
    facts,
    facts.extents.slice().sort((a, b) => (a.bytenr < b.bytenr ? -1 : a.bytenr > b.bytenr ? 1 : 0)),
  );
  let k = 0,
    f = 0,
    e = 0;
  for (const bg of bgs) {
    const info = infos.get(bg.logical)!;
    const end = bg.logical + bg.length;
    const loc = { tree: FST, block: info.at.block, slot: info.at.slot, logical: bg.logical };
    while (k < kinds.length && kinds[k]!.start < bg.logical) k++;
    for (; k < kinds.length && kinds[k]!.start < end; k++) {
      const item = kinds[k]!;
      if (item.bitmap === info.bitmaps) continue;
      add({
        ...rule('free-space-count'),
        message: `block group ${bg.logical}: its free space info says ${info.bitmaps ? 'bitmaps' : 'extents'}, but a free space ${item.bitmap ? 'bitmap' : 'extent'} item at ${item.start} is in it`,
        location: { tree: FST, block: item.at.block, slot: item.at.slot, logical: item.start },
      });
      break;
    }
    while (k < kinds.length && kinds[k]!.start < end) k++;
    // Free extents: adjacent ranges are one extent (bitmap runs meeting at an item's edge).
    let count = 0,
      freeBytes = 0n,
      prevEnd = -1n;
    while (f < free.length && free[f]!.start < bg.logical) f++;
    for (; f < free.length && free[f]!.start < end; f++) {
      const r = free[f]!;
      if (r.start !== prevEnd) count++;
      prevEnd = r.end;
      freeBytes += (r.end < end ? r.end : end) - r.start;
    }
    if (count !== info.extentCount) {
      add({
        ...rule('free-space-count'),
        message: `block group ${bg.logical}: free space info extent_count is ${info.extentCount}, its ${info.bitmaps ? 'bitmaps hold' : 'items are'} ${count} free extent(s) (the kernel refuses to cache it: "incorrect extent count")`,
        location: loc,
      });
    }
    let allocated = 0n;
    while (e < extents.length && extents[e]!.bytenr + extents[e]!.length <= bg.logical) e++;
    for (let i = e; i < extents.length && extents[i]!.bytenr < end; i++) {
      const x = extents[i]!;
      const a = x.bytenr > bg.logical ? x.bytenr : bg.logical,
        b = x.bytenr + x.length < end ? x.bytenr + x.length : end;
      allocated += b - a;
    }
    // More than the length means free space over allocated extents: free-space-overlap says where.
    if (freeBytes + allocated < bg.length) {
      add({
        ...rule('free-space-total'),
        message: `block group ${bg.logical} +${bg.length}: ${freeBytes} bytes free and ${allocated} allocated leave ${bg.length - freeBytes - allocated} bytes neither free nor allocated`,
        location: loc,
      });
    }
  }
}

/** Deleted subvolumes (root item refs 0) must have an orphan item in the root tree, or nothing will clean them up. */
export function checkDeadRoots(facts: MetaFacts, add: (f: CheckFinding) => void): void {
  for (const [id, key] of facts.deadRoots) {
    if (!facts.rootOrphans.has(id))
      add({ ...rule('root-orphan-missing'), message: `subvolume ${id} is deleted (root item refs 0) but the root tree has no orphan item for it`, location: { tree: 1n, key } });
  }
}

/** Every subvolume's ROOT_REF (in its parent) and ROOT_BACKREF (its own) agree. */
export function checkRootRefs(facts: MetaFacts, add: (f: CheckFinding) => void): void {
  if (facts.lost.some((l) => l.tree === 1n)) return;
  for (const r of facts.rootRefs) if (!facts.rootBackrefs.has(r)) add({ ...rule('root-ref'), message: `ROOT_REF ${fmt(r)} has no matching ROOT_BACKREF`, location: { tree: 1n } });
  for (const r of facts.rootBackrefs) if (!facts.rootRefs.has(r)) add({ ...rule('root-ref'), message: `ROOT_BACKREF ${fmt(r)} has no matching ROOT_REF`, location: { tree: 1n } });
}

function fmt(s: string): string {
  const [parent, child] = s.split('/', 2);
  return `parent ${parent} -> subvolume ${child}`;
}
