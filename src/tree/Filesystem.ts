import { rule } from '../findingRules.js';
import { FindingLog, type FindingSink } from '../findings.js';
import { asDevId } from '../format/addresses.js';
import { IncompatFlag, ItemType, ObjectId } from '../format/constants.js';
import { decodeChunkItem } from '../format/items/chunk.js';
import { type DevItem, decodeDevItem } from '../format/items/dev.js';
import { rootItemPointer } from '../format/items/root.js';
import { compareKeys, type Key, MAX_KEY } from '../format/key.js';
import type { Superblock } from '../format/superblock.js';
import type { ByteSource } from '../io/ByteSource.js';
import { type Assembly, assemble, NotBtrfsError } from '../volume/assemble.js';
import { chunkFieldProblems, chunkFromItem, chunkProblem, sysChunkArrayEntries } from '../volume/ChunkMap.js';
import { MetadumpDeviceSource, MetadumpImage } from '../volume/metadump.js';
import type { RaidStripeIndex } from '../volume/raidStripes.js';
import { type RebuildResult, rebuildChunkMap } from '../volume/rebuild.js';
import { synthesizeSuperblock } from '../volume/rebuildSuperblock.js';
import type { SuperChoice } from '../volume/superblocks.js';
import { readSuperblocks } from '../volume/superblocks.js';
import { type Device, Volume } from '../volume/Volume.js';
import { loadRaidStripes } from './raidStripes.js';
import { TreeReader } from './readTreeBlock.js';
import { findItem, type ItemRef, iterateItems, type TreeRoot, type WalkOptions, type WalkVisitor, walkTree } from './walk.js';

export interface OpenOptions {
  /** Bytes of verified tree blocks to keep cached. */
  cacheBytes?: number;
  /** Bound on collected findings. */
  findingLimit?: number;
  /** Force a superblock copy (0-based) instead of the primary (or newest valid) one. */
  superblock?: SuperChoice;
  /**
   * Rebuild the chunk map by scanning every device for tree blocks, chunk, block-group and
   * device-extent items (volume/rebuild.ts) instead of reading it from the sys_chunk_array and
   * the chunk tree; with no valid superblock on any device, one is made from what the scan found.
   */
  rebuild?: boolean;
}

/** --rebuild found no tree block of any btrfs filesystem on the devices. */
export class NotRebuiltError extends Error {
  constructor(source: string, scanned: bigint) {
    super(`${source}: no valid btrfs tree block found in ${scanned} bytes scanned; nothing to rebuild a filesystem from`);
    this.name = 'NotRebuiltError';
  }
}

/**
 * Items that replace or add to some trees' items (e.g. a log replay seen in
 * memory): `items` gets the tree's own items through `base` and yields the
 * merged sequence in key order. Nothing is written anywhere.
 */
export interface ItemOverlay {
  covers(tree: bigint): boolean;
  items(base: (root: TreeRoot, min: Key, max: Key) => Generator<ItemRef>, root: TreeRoot, min: Key, max: Key): Generator<ItemRef>;
  /** The root whose blocks `items` reads for `root`, when it reads another one (an older root of the tree). */
  readsRoot?(root: TreeRoot): TreeRoot;
  /** A root for a covered tree the root tree no longer names (a deleted subvolume, read from an older root or from orphan leaves). */
  rootOf?(tree: bigint): TreeRoot | undefined;
}

/** A root item's pointer to its tree (see rootItemPointer). */
export interface RootRef extends TreeRoot {
  key: Key;
}

/**
 * What every view of one opened filesystem shares: the assembled devices,
 * the superblock, the chunk map (in `volume`), the verified-block reader
 * with its cache, the devices the chunk tree names, and the log of damage
 * met while opening.
 */
export interface FilesystemShared {
  readonly assembly: Assembly;
  readonly superblock: Superblock;
  readonly volume: Volume;
  readonly reader: TreeReader;
  /** Devices the chunk tree names (DEV_ITEM), by devid. */
  readonly devItems: Map<bigint, DevItem>;
  /** Damage met while opening (assembly, chunk map), and by reads of views given no sink of their own. */
  readonly findings: FindingLog;
  /** Opened with `rebuild`: what the device scan found and the mappings it made. */
  readonly rebuilt?: RebuildResult;
}

/** What one view of a filesystem has of its own; everything else is in FilesystemShared. */
export interface ViewOptions {
  /** Where reads through the view record damage found in items and file data. */
  findings?: FindingSink;
  /**
   * Where the view's tree walks record damaged or unreadable tree blocks;
   * `findings` when not given. Forensic reads of old trees, which expect
   * lost blocks and count them themselves, pass `discardFindings`.
   */
  blockFindings?: FindingSink;
  /** The root tree block every tree is found through (an older generation's); the superblock's when not given. */
  rootTree?: TreeRoot;
  /** Items over some trees' own (read-only, in memory). */
  overlay?: ItemOverlay;
}

/**
 * An opened filesystem: devices assembled, chunk map bootstrapped from the
 * superblock's sys_chunk_array and completed from the chunk tree, and tree
 * blocks readable and verified. Problems found while opening are in
 * `findings`. Views (`view`, `withFindings`, `atRoot`, `withOverlay`) share
 * the FilesystemShared state and differ only in their ViewOptions.
 */
export class Filesystem {
  readonly shared: FilesystemShared;
  readonly assembly: Assembly;
  readonly superblock: Superblock;
  readonly volume: Volume;
  readonly reader: TreeReader;
  readonly devItems: Map<bigint, DevItem>;
  /** The opening's log (see FilesystemShared.findings); a view's reads go to `sink` and `blockSink`. */
  readonly findings: FindingLog;
  /** Where this view's reads record damage found in items and file data. */
  readonly sink: FindingSink;
  /** Where this view's tree walks record damaged or unreadable blocks. */
  readonly blockSink: FindingSink;
  private readonly rootOverride: TreeRoot | undefined;
  private readonly overlay: ItemOverlay | undefined;
  /** The view this one was made from when both find trees through the same root tree: its root list serves here too. */
  private sameRoots: Filesystem | undefined;
  private rootsCache: RootRef[] | undefined;

  /** A view of `shared` (see ViewOptions); `Filesystem.open` makes the first. */
  constructor(shared: FilesystemShared, view: ViewOptions = {}) {
    this.shared = shared;
    this.assembly = shared.assembly;
    this.superblock = shared.superblock;
    this.volume = shared.volume;
    this.reader = shared.reader;
    this.devItems = shared.devItems;
    this.findings = shared.findings;
    this.sink = view.findings ?? shared.findings;
    this.blockSink = view.blockFindings ?? this.sink;
    this.rootOverride = view.rootTree;
    this.overlay = view.overlay;
  }

  /** Opens the filesystem on `sources` (the first names it). Throws only when nothing can be read. */
  static open(sources: ByteSource[], opts: OpenOptions = {}): Filesystem {
    // A btrfs-image dump is one file for every device: its superblock names the filesystem, its ranges hold the tree blocks.
    const dump = sources[0] ? MetadumpImage.open(sources[0]) : null;
    if (opts.rebuild && !dump) return Filesystem.openRebuilt(sources, opts);
    const assembly = assemble(dump ? [new MetadumpDeviceSource(dump)] : sources, opts.superblock ?? {});
    const findings = new FindingLog(opts.findingLimit);
    if (dump) {
      assembly.metadump = dump.info;
      for (const f of dump.findings) findings.add(f);
      for (const s of sources.slice(1))
        findings.add({ ...rule('device-ignored'), message: `${s.name}: not read; ${dump.info.name} is a btrfs-image dump, which holds the metadata of every device`, location: { device: s.name } });
    }
    for (const f of assembly.findings) findings.add(f);
    const volume = new Volume(assembly.devices);
    if (dump) volume.logicalStore = dump;
    const sb = assembly.superblock;
    const reader = new TreeReader(volume, {
      nodesize: sb.nodesize,
      csumType: sb.csumType,
      fsid: sb.treeFsid,
      // Blocks the sprout still shares with a seed carry the seed's fsid (narrowed to the seeds the chunk tree names).
      seedFsids: assembly.seedCandidates.map((d) => d.superblock!.treeFsid),
      ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
    });
    const fs = new Filesystem({ assembly, superblock: sb, volume, reader, devItems: new Map(), findings });
    fs.bootstrapChunks();
    const stripeRoot = sb.incompatFlags & IncompatFlag.RAID_STRIPE_TREE && !dump ? fs.treeRoot(ObjectId.RAID_STRIPE_TREE) : undefined;
    if (stripeRoot) {
      // Data of the DUP/RAID1*/RAID0/RAID10 data block groups is where the raid stripe tree says: read it on the first data read.
      let index: RaidStripeIndex | undefined;
      volume.raidStripes = () => (index ??= loadRaidStripes(reader, stripeRoot, volume.chunks, sb.sectorsize, (f) => findings.add(f)));
    }
    return fs;
  }

  /** What --rebuild found (Filesystem.open with `rebuild`), else undefined. */
  get rebuilt(): RebuildResult | undefined {
    return this.shared.rebuilt;
  }

  /**
   * Filesystem.open with `rebuild`: the superblock every valid copy gives (or one made from
   * the scan), the devices it names plus every given device without one (its devid learned
   * from the device extents), and the chunk map rebuilt from the scan; the superblock's
   * sys_chunk_array only where the scan left a gap.
   */
  private static openRebuilt(sources: ByteSource[], opts: OpenOptions): Filesystem {
    let assembly: Assembly | null = null;
    try {
      assembly = assemble(sources, opts.superblock ?? {});
    } catch (e) {
      if (!(e instanceof NotBtrfsError)) throw e;
    }
    const byDevice = assembly ? [...assembly.devices.values()] : [];
    const given = sources.map((source) => ({ devid: byDevice.find((d) => d.source === source)?.devid ?? null, source }));
    const sb0 = assembly?.superblock;
    const r = rebuildChunkMap(given, sb0 ? { fsid: sb0.treeFsid, nodesize: sb0.nodesize, csumType: sb0.csumType, sectorsize: sb0.sectorsize } : {});
    if (!r.nodesize || !r.fsid) throw new NotRebuiltError(sources[0]?.name ?? 'image', r.bytesScanned);
    const sb =
      sb0 ??
      synthesizeSuperblock(
        r,
        sources.reduce((a, s) => a + s.size, 0n),
      );
    const devices = new Map(assembly?.devices ?? []);
    given.forEach((g, i) => {
      const devid = r.devids[i]!;
      if (g.devid !== null || devices.has(devid)) return;
      devices.set(devid, { devid: asDevId(devid), uuid: r.devItems.find((d) => d.devid === devid)?.uuid ?? '', name: g.source.name, source: g.source });
    });
    const full: Assembly = assembly
      ? { ...assembly, devices }
      : { superblock: sb, devices, findings: [], seedCandidates: [], supers: sources.map((s) => ({ name: s.name, supers: readSuperblocks(s, opts.superblock ?? {}) })) };
    const findings = new FindingLog(opts.findingLimit);
    for (const f of full.findings) findings.add(f);
    const volume = new Volume(devices);
    const reader = new TreeReader(volume, { nodesize: sb.nodesize, csumType: sb.csumType, fsid: sb.treeFsid, ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}) });
    const fs = new Filesystem({ assembly: full, superblock: sb, volume, reader, devItems: new Map(), findings, rebuilt: r });
    for (const c of r.chunks) volume.chunks.add(c);
    for (const e of sysChunkArrayEntries(sb.sysChunkArray)) {
      if ('error' in e || e.keyType !== ItemType.CHUNK_ITEM || e.item.length < 48) break;
      const c = chunkFromItem(e.logical, decodeChunkItem(e.item, 0, e.item.length), 'sys_chunk_array');
      if (!chunkProblem(c)) volume.chunks.add(c);
    }
    for (const d of r.devItems) fs.devItems.set(d.devid, d);
    return fs;
  }

  /** This view's options, to make another view that differs in some. */
  get viewOptions(): ViewOptions {
    return {
      findings: this.sink,
      blockFindings: this.blockSink,
      ...(this.rootOverride ? { rootTree: this.rootOverride } : {}),
      ...(this.overlay ? { overlay: this.overlay } : {}),
    };
  }

  /** Another view of the same filesystem: this one's options with `opts` over them. */
  view(opts: ViewOptions): Filesystem {
    const own = this.viewOptions;
    // New item findings without a block sink of their own take the block findings too.
    if (opts.findings !== undefined && opts.blockFindings === undefined) own.blockFindings = opts.findings;
    const f = new Filesystem(this.shared, { ...own, ...opts });
    if (f.rootOverride === this.rootOverride) f.sameRoots = this;
    return f;
  }

  /** The same view with every finding of its reads going to `sink`: the caller sees what its own operations met. */
  withFindings(sink: FindingSink): Filesystem {
    return this.view({ findings: sink, blockFindings: sink });
  }

  /** Options for tree walks of this view (they record damaged blocks in `blockSink`). */
  get walkOptions(): WalkOptions {
    return { findings: this.blockSink };
  }

  get rootTree(): TreeRoot {
    if (this.rootOverride) return this.rootOverride;
    return { tree: ObjectId.ROOT_TREE, bytenr: this.superblock.root, level: this.superblock.rootLevel, generation: this.superblock.generation };
  }

  get chunkTree(): TreeRoot {
    const sb = this.superblock;
    return { tree: ObjectId.CHUNK_TREE, bytenr: sb.chunkRoot, level: sb.chunkRootLevel, generation: sb.chunkRootGeneration };
  }

  /** The log root tree (fsync'd changes not yet committed), when the superblock has one. */
  get logRootTree(): TreeRoot | undefined {
    const sb = this.superblock;
    if (sb.logRoot === 0n) return undefined;
    // The log is written in the transaction after `generation`; its root's generation is not recorded.
    return { tree: ObjectId.TREE_LOG, bytenr: sb.logRoot, level: sb.logRootLevel };
  }

  private bootstrapChunks(): void {
    const sb = this.superblock;
    for (const e of sysChunkArrayEntries(sb.sysChunkArray)) {
      if ('error' in e) {
        this.findings.add({ ...rule('sys-chunk-array'), message: `superblock sys_chunk_array at byte ${e.offset}: ${e.error}`, location: { physical: 0x10000n } });
        break;
      }
      if (e.keyType !== ItemType.CHUNK_ITEM) {
        this.findings.add({ ...rule('sys-chunk-array'), message: `superblock sys_chunk_array at byte ${e.offset}: key type ${e.keyType} is not CHUNK_ITEM`, location: {} });
        break;
      }
      this.addChunk(e.logical, e.item, 'sys_chunk_array', {});
    }
    if (!this.volume.chunks.find(sb.chunkRoot)) this.bootstrapFromBackupCopies();
    // The chunk tree's own blocks are readable now; it names every chunk and device.
    const opts = this.walkOptions;
    for (const ref of iterateItems(this.reader, this.chunkTree, { objectid: 0n, type: 0, offset: 0n }, MAX_KEY, opts)) {
      const { block, slot } = ref;
      const type = block.keyType(slot);
      const data = block.itemData(slot);
      if (type === ItemType.CHUNK_ITEM) {
        this.addChunk(block.keyOffsetField(slot), data, 'chunk_tree', { tree: ObjectId.CHUNK_TREE, block: block.logical, slot });
      } else if (type === ItemType.DEV_ITEM && data.length >= 98) {
        const d = decodeDevItem(data, 0);
        this.devItems.set(d.devid, d);
      }
    }
    const seeds = this.assembly.seedCandidates;
    const used = new Set<Device>();
    for (const d of this.devItems.values()) {
      const devid = d.devid;
      // A seed device: the chunk tree names it with its own filesystem's fsid (DEV_ITEM fsid).
      const seed = d.fsid !== this.superblock.fsid ? seeds.find((c) => c.devid === devid && c.uuid === d.uuid && c.superblock!.fsid === d.fsid) : undefined;
      if (seed && !this.volume.devices.has(devid)) {
        this.volume.devices.set(devid, seed);
        used.add(seed);
      }
    }
    this.reader.opts.seedFsids = [...used].map((c) => c.superblock!.treeFsid);
    for (const c of seeds) {
      if (!used.has(c))
        this.findings.add({
          ...rule('device-other-fs'),
          message: `${c.name}: a seed device of filesystem ${c.superblock!.fsid}, which ${this.superblock.fsid} did not sprout from; left out`,
          location: { device: c.name },
        });
    }
    for (const d of this.devItems.values()) {
      const devid = d.devid;
      if (!this.volume.devices.has(devid) && d.fsid !== this.superblock.fsid && !this.assembly.metadump) {
        this.volume.devices.set(devid, { devid, uuid: d.uuid, name: 'missing', source: null, seed: true });
        this.findings.add({ ...rule('device-missing'), message: `seed device devid ${devid} uuid ${d.uuid} (filesystem ${d.fsid}) is missing; give it with --device`, location: { devid } });
        continue;
      }
      if (!this.volume.devices.has(devid)) {
        // A dump has no device of its own for the other devids; their tree blocks are in it, by logical address.
        if (this.assembly.metadump) {
          this.volume.devices.set(devid, { devid, uuid: d.uuid, name: `${this.assembly.metadump.name} (devid ${devid})`, source: null });
          continue;
        }
        this.volume.devices.set(devid, { devid, uuid: d.uuid, name: 'missing', source: null });
        this.findings.add({ ...rule('device-missing'), message: `device devid ${devid} uuid ${d.uuid} is missing`, location: { devid } });
      }
    }
  }

  /**
   * The chunk-tree root is in no chunk of the used superblock's sys_chunk_array (an entry
   * damaged or missing while the copy's checksum holds, e.g. rewritten by a tool): the SYSTEM
   * chunks of the other valid copies of this filesystem (every device, newest generation first)
   * take its place where they map what the used one does not. The kernel refuses to mount such
   * a filesystem (btrfs_read_sys_array, then no chunk root); `btrfs rescue super-recover` would
   * write a good copy over the bad one. The chunk tree read through them is the authority as usual.
   */
  private bootstrapFromBackupCopies(): void {
    const sb = this.superblock;
    const copies = this.assembly.supers
      .flatMap((d) => d.supers.mirrors.map((m) => ({ name: d.name, m })))
      .filter(({ m }) => m.superblock && (m.state === 'ok' || m.state === 'older' || m.state === 'newer') && m.superblock.fsid === sb.fsid)
      .sort((a, b) => (a.m.generation! > b.m.generation! ? -1 : a.m.generation! < b.m.generation! ? 1 : 0));
    for (const { name, m } of copies) {
      for (const e of sysChunkArrayEntries(m.superblock!.sysChunkArray)) {
        if ('error' in e || e.keyType !== ItemType.CHUNK_ITEM || this.volume.chunks.find(e.logical)) break;
        this.addChunk(e.logical, e.item, 'backup_sys_chunk_array', {}, m.generation);
      }
      if (this.volume.chunks.find(sb.chunkRoot)) {
        this.findings.add({
          ...rule('sys-chunk-array-backup'),
          message: `chunk tree root ${sb.chunkRoot} is in no chunk of the superblock's sys_chunk_array; the SYSTEM chunk of superblock copy ${m.index + 1} (at ${m.offset}, generation ${m.generation}) on ${name} maps it and is used`,
          location: { physical: m.offset, logical: sb.chunkRoot },
        });
        return;
      }
    }
  }

  private addChunk(
    logical: bigint,
    data: Uint8Array,
    origin: 'sys_chunk_array' | 'chunk_tree' | 'backup_sys_chunk_array',
    loc: { tree?: bigint; block?: bigint; slot?: number },
    generation?: bigint,
  ): void {
    if (data.length < 48) {
      this.findings.add({ ...rule('chunk-item-size'), message: `chunk item for logical ${logical} has ${data.length} bytes`, location: { ...loc, logical } });
      return;
    }
    const c = { ...chunkFromItem(logical, decodeChunkItem(data, 0, data.length), origin), ...(generation !== undefined ? { generation } : {}) };
    const why = chunkProblem(c);
    if (why) {
      this.findings.add({ ...rule('chunk-invalid'), message: `chunk at logical ${logical} (${origin}): ${why}`, location: { ...loc, logical } });
      return;
    }
    for (const problem of chunkFieldProblems(c, this.superblock)) {
      this.findings.add({ ...rule('chunk-field'), message: `chunk at logical ${logical} (${origin}): ${problem}`, location: { ...loc, logical } });
    }
    // The chunk tree is the authority once read: a sys_chunk_array entry that disagrees with
    // its chunk-tree item (same start, other length or stripes) gives way, and is reported.
    const boot = this.volume.chunks.find(logical);
    if (
      origin === 'chunk_tree' &&
      boot &&
      (boot.origin === 'sys_chunk_array' || boot.origin === 'backup_sys_chunk_array') &&
      boot.logical === logical &&
      (boot.length !== c.length || boot.stripes.length !== c.stripes.length || boot.stripes.some((x, i) => x.devid !== c.stripes[i]!.devid || x.offset !== c.stripes[i]!.offset))
    ) {
      this.volume.chunks.remove(logical);
      this.findings.add({
        ...rule('sys-chunk-mismatch'),
        message: `superblock sys_chunk_array chunk at logical ${logical} (length ${boot.length}) differs from the chunk tree's (length ${c.length}); the chunk tree's is used`,
        location: { ...loc, logical },
      });
    }
    const clash = this.volume.chunks.add(c);
    if (clash) {
      this.findings.add({ ...rule('chunk-overlap'), message: `chunk [${logical}, +${c.length}) overlaps chunk [${clash.logical}, +${clash.length}); ignored`, location: { ...loc, logical } });
    }
  }

  /** Every ROOT_ITEM in the root tree, in key order (trees, subvolumes, snapshots, reloc trees). */
  roots(): RootRef[] {
    this.rootsCache ??= this.sameRoots?.cachedRoots() ?? this.rootItemsIn(this.rootTree);
    return this.rootsCache;
  }

  private cachedRoots(): RootRef[] | undefined {
    return this.rootsCache ?? this.sameRoots?.cachedRoots();
  }

  /** The per-subvolume log trees the log root tree names (keys (TREE_LOG, ROOT_ITEM, subvolume id)). */
  logTrees(): RootRef[] {
    const log = this.logRootTree;
    return log ? this.rootItemsIn(log) : [];
  }

  private rootItemsIn(tree: TreeRoot): RootRef[] {
    const out: RootRef[] = [];
    for (const { block, slot } of iterateItems(this.reader, tree, { objectid: 0n, type: 0, offset: 0n }, MAX_KEY, this.walkOptions)) {
      if (block.keyType(slot) !== ItemType.ROOT_ITEM) continue;
      const k = block.key(slot);
      const data = block.itemData(slot);
      const ptr = rootItemPointer(data);
      if (!ptr) {
        this.sink.add({ ...rule('root-item-size'), message: `root item ${k.objectid} is ${data.length} bytes, shorter than 239`, location: { tree: tree.tree, block: block.logical, slot, key: k } });
        continue;
      }
      out.push({ key: k, tree: k.objectid, ...ptr });
    }
    return out;
  }

  /** The current root of tree `id` (highest key offset wins, as for reloc trees). */
  treeRoot(id: bigint): TreeRoot | undefined {
    if (id === ObjectId.ROOT_TREE) return this.rootTree;
    if (id === ObjectId.CHUNK_TREE) return this.chunkTree;
    let found: RootRef | undefined;
    for (const r of this.roots()) if (r.tree === id) found = r;
    if (!found && this.overlay?.covers(id)) return this.overlay.rootOf?.(id);
    return found;
  }

  /**
   * Every root of global tree `id` (extent, csum, free space): with extent-tree-v2 a filesystem
   * has several, keyed (ID ROOT_ITEM global-root-id), and an item lives in the one its block
   * group's global id names (btrfs-progs btrfs_global_root_id); without it, the one root. A reader
   * that must find an item without the block group's id searches them all, in key order.
   */
  globalRoots(id: bigint): TreeRoot[] {
    if (!(this.superblock.incompatFlags & IncompatFlag.EXTENT_TREE_V2)) {
      const one = this.treeRoot(id);
      return one ? [one] : [];
    }
    const all = this.roots().filter((r) => r.tree === id);
    if (all.length) return all.sort((a, b) => (a.key.offset < b.key.offset ? -1 : a.key.offset > b.key.offset ? 1 : 0));
    const one = this.treeRoot(id);
    return one ? [one] : [];
  }

  /**
   * The items of every root of global tree `id` (globalRoots) between `min` and `max`, merged in key
   * order, as if they were one tree: a reader of a key range (a block group's extents) need not know
   * which global root holds each item. Without extent-tree-v2, the items of the one root.
   */
  *globalItems(id: bigint, min: Key = { objectid: 0n, type: 0, offset: 0n }, max: Key = MAX_KEY): Generator<ItemRef> {
    const roots = this.globalRoots(id);
    if (roots.length === 1) {
      yield* this.items(roots[0]!, min, max);
      return;
    }
    const heads: { it: Generator<ItemRef>; ref: ItemRef; key: Key }[] = [];
    const advance = (it: Generator<ItemRef>) => {
      const n = it.next();
      if (!n.done) heads.push({ it, ref: n.value, key: n.value.block.key(n.value.slot) });
    };
    for (const r of roots) advance(this.items(r, min, max));
    while (heads.length) {
      // A handful of roots (--num-global-roots): a linear pick of the smallest key is enough.
      let best = 0;
      for (let i = 1; i < heads.length; i++) if (compareKeys(heads[i]!.key, heads[best]!.key) < 0) best = i;
      const h = heads.splice(best, 1)[0]!;
      yield h.ref;
      advance(h.it);
    }
  }

  /**
   * The same filesystem seen from another root tree block (an older
   * generation's, from a backup root or a scan): every tree is then found
   * through that root tree.
   */
  atRoot(root: TreeRoot): Filesystem {
    return this.view({ rootTree: root });
  }

  /**
   * The same view read through `volume` (Volume.withOlderChunks: the current chunk map with older
   * chunks behind it), for forensic reads of what a removed block group held. The block cache
   * is shared; the root list is not (a root tree block could now map where it did not).
   */
  withVolume(volume: Volume): Filesystem {
    return new Filesystem({ ...this.shared, volume, reader: this.reader.withVolume(volume) }, this.viewOptions);
  }

  /** The same filesystem with `overlay`'s items over the trees it covers (read-only, in memory). */
  withOverlay(overlay: ItemOverlay): Filesystem {
    return this.view({ overlay });
  }

  items(root: TreeRoot, min: Key = { objectid: 0n, type: 0, offset: 0n }, max: Key = MAX_KEY): Generator<ItemRef> {
    if (this.overlay?.covers(root.tree)) return this.overlay.items((r, a, b) => iterateItems(this.reader, r, a, b, this.walkOptions), root, min, max);
    return iterateItems(this.reader, root, min, max, this.walkOptions);
  }

  /** Whether an overlay serves `tree`'s items (then only `items` and `find` see them, not a descent of its blocks). */
  overlaid(tree: bigint): boolean {
    return this.overlay?.covers(tree) ?? false;
  }

  /**
   * The root a key search of `root` must descend to agree with `items`: an
   * overlay that serves a tree from another root is searched there (a search
   * of the current root would start an older tree's items at an unrelated key).
   */
  searchRoot(root: TreeRoot): TreeRoot {
    return this.overlay?.covers(root.tree) && this.overlay.readsRoot ? this.overlay.readsRoot(root) : root;
  }

  find(root: TreeRoot, k: Key): ItemRef | undefined {
    if (this.overlay?.covers(root.tree)) {
      for (const ref of this.items(root, k, k)) if (ref.block.compareKey(ref.slot, k) === 0) return ref;
      return undefined;
    }
    return findItem(this.reader, root, k, this.walkOptions);
  }

  /**
   * Fetches, level by level, the blocks that searches of `root` for `keys`
   * will read, each level's blocks in one batch (ByteSource.warm): a source
   * where every read is a round trip then pays one per level instead of one
   * per block. Only a hint, and nothing at all unless a device batches: the
   * searches that follow read, verify and report as always. Damage met here
   * is left to them to report.
   */
  warmSearchPaths(root: TreeRoot, keys: readonly Key[]): void {
    if (!this.volume.warms || keys.length === 0) return;
    const start = this.searchRoot(root);
    const nodesize = this.superblock.nodesize;
    this.volume.warm([{ logical: start.bytenr, length: nodesize }]);
    let level: { logical: bigint; level: number; generation?: bigint | undefined }[] = [{ logical: start.bytenr, level: start.level, generation: start.generation }];
    // Levels strictly decrease (at most 8 in btrfs, BTRFS_MAX_LEVEL), so this ends.
    while (level.length > 0) {
      const next = new Map<bigint, { logical: bigint; level: number; generation: bigint }>();
      for (const e of level) {
        const r = this.reader.read({ logical: e.logical, level: e.level, ...(e.generation !== undefined ? { generation: e.generation } : {}) }, { tree: root.tree });
        const b = r.block;
        if (!b || b.isLeaf || b.level !== e.level) continue;
        for (const k of keys) {
          const slot = Math.min(Math.max(b.search(k).slot, 0), r.validItems - 1);
          if (slot < 0) continue;
          const child = b.blockPtr(slot);
          if (!next.has(child)) next.set(child, { logical: child, level: b.level - 1, generation: b.ptrGeneration(slot) });
        }
      }
      level = [...next.values()];
      if (level.length > 0) this.volume.warm(level.map((e) => ({ logical: e.logical, length: nodesize })));
    }
  }

  walk(root: TreeRoot, visitor: WalkVisitor, opts: Partial<WalkOptions> = {}): void {
    walkTree(this.reader, root, visitor, { ...this.walkOptions, ...opts });
  }

  close(): void {
    for (const d of this.volume.devices.values()) d.source?.close?.();
  }
}
