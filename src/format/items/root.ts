import { ItemType } from '../constants.js';
import { decodeKey, KEY_SIZE, type Key } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { decodeTimespec, type InvalidItem, nameText, TIMESPEC, type Timespec, tooShort } from './common.js';
import { decodeInodeItemAt, INODE_ITEM_SIZE, type InodeItem } from './inode.js';

/** btrfs_root_item, field by field (btrfs_tree.h); old kernels wrote only up to `level` (239 bytes). */
export const rootItem = defineStruct('btrfs_root_item', 439, [
  ['inode', bytes(INODE_ITEM_SIZE, 'btrfs_inode_item')],
  ['generation', 'u64'],
  ['rootDirid', 'u64'],
  ['bytenr', 'u64'],
  ['byteLimit', 'u64'],
  ['bytesUsed', 'u64'],
  ['lastSnapshot', 'u64'],
  ['flags', 'u64'],
  ['refs', 'u32'],
  ['dropProgress', bytes(KEY_SIZE, 'btrfs_disk_key')],
  ['dropLevel', 'u8'],
  ['level', 'u8'],
  ['generationV2', 'u64'],
  ['uuid', 'uuid'],
  ['parentUuid', 'uuid'],
  ['receivedUuid', 'uuid'],
  ['ctransid', 'u64'],
  ['otransid', 'u64'],
  ['stransid', 'u64'],
  ['rtransid', 'u64'],
  ['ctime', TIMESPEC],
  ['otime', TIMESPEC],
  ['stime', TIMESPEC],
  ['rtime', TIMESPEC],
  ['reserved', bytes(64, '__le64[8]')],
]);
export const {
  generation: rootItemGeneration,
  rootDirid: rootItemRootDirid,
  bytenr: rootItemBytenr,
  byteLimit: rootItemByteLimit,
  bytesUsed: rootItemBytesUsed,
  lastSnapshot: rootItemLastSnapshot,
  flags: rootItemFlags,
  refs: rootItemRefs,
  dropLevel: rootItemDropLevel,
  level: rootItemLevel,
  generationV2: rootItemGenerationV2,
  uuid: rootItemUuid,
  parentUuid: rootItemParentUuid,
  receivedUuid: rootItemReceivedUuid,
  ctransid: rootItemCtransid,
  otransid: rootItemOtransid,
  stransid: rootItemStransid,
  rtransid: rootItemRtransid,
} = rootItem.get;
const R = rootItem.off;

/** btrfs_root_item: where a tree's root block is, and subvolume metadata. */
export interface RootItem {
  /** The embedded inode item (mostly unused; flags carry ROOT_ITEM_INIT). */
  inode: InodeItem;
  generation: bigint;
  rootDirid: bigint;
  /** Logical address of the tree's root block. */
  bytenr: bigint;
  byteLimit: bigint;
  bytesUsed: bigint;
  lastSnapshot: bigint;
  /** RootFlag: SUBVOL_RDONLY, SUBVOL_DEAD. */
  flags: bigint;
  refs: number;
  dropProgress: Key;
  dropLevel: number;
  /** Level of the root block. */
  level: number;
  /** Fields below are zero when `legacy` (the item predates them). */
  generationV2: bigint;
  uuid: string;
  parentUuid: string;
  receivedUuid: string;
  ctransid: bigint;
  otransid: bigint;
  stransid: bigint;
  rtransid: bigint;
  ctime: Timespec;
  otime: Timespec;
  stime: Timespec;
  rtime: Timespec;
  /**
   * True when the item is shorter than the full 439 bytes (old kernels
   * wrote 239-byte items ending at `level`); missing fields read as zero,
   * as the kernel and btrfs-progs do.
   */
  legacy: boolean;
  /** generation_v2 == generation: the v2 fields (uuids, transids, times) are valid. */
  v2Valid: boolean;
}

export const ROOT_ITEM_SIZE = rootItem.size;
/** Size of a root item written before the v2 fields existed (up to and including `level`). */
export const ROOT_ITEM_LEGACY_SIZE = R.level + rootItem.sizeOf.level;

export interface RootItemDecoded extends RootItem {
  kind: 'root_item';
  /** Tree id (key objectid). */
  rootId: bigint;
  errors?: string[];
}

/**
 * Where a root item's tree starts, without decoding the rest: generation
 * @160, bytenr @176, level @238 (present in the legacy 239-byte item too).
 * Null when the item is shorter than that.
 */
export function rootItemPointer(b: Uint8Array): { generation: bigint; bytenr: bigint; level: number } | null {
  if (b.length < ROOT_ITEM_LEGACY_SIZE) return null;
  return { generation: rootItemGeneration(b, 0), bytenr: rootItemBytenr(b, 0), level: rootItemLevel(b, 0) };
}

/** Decodes a root item from at least ROOT_ITEM_SIZE bytes at b[0]. */
function decodeRootItemFields(b: Uint8Array, legacy: boolean): RootItem {
  const generation = rootItemGeneration(b, 0);
  const generationV2 = rootItemGenerationV2(b, 0);
  return {
    inode: decodeInodeItemAt(b, R.inode),
    generation,
    rootDirid: rootItemRootDirid(b, 0),
    bytenr: rootItemBytenr(b, 0),
    byteLimit: rootItemByteLimit(b, 0),
    bytesUsed: rootItemBytesUsed(b, 0),
    lastSnapshot: rootItemLastSnapshot(b, 0),
    flags: rootItemFlags(b, 0),
    refs: rootItemRefs(b, 0),
    dropProgress: decodeKey(b, R.dropProgress),
    dropLevel: rootItemDropLevel(b, 0),
    level: rootItemLevel(b, 0),
    generationV2,
    uuid: rootItemUuid(b, 0),
    parentUuid: rootItemParentUuid(b, 0),
    receivedUuid: rootItemReceivedUuid(b, 0),
    ctransid: rootItemCtransid(b, 0),
    otransid: rootItemOtransid(b, 0),
    stransid: rootItemStransid(b, 0),
    rtransid: rootItemRtransid(b, 0),
    ctime: decodeTimespec(b, R.ctime),
    otime: decodeTimespec(b, R.otime),
    stime: decodeTimespec(b, R.stime),
    rtime: decodeTimespec(b, R.rtime),
    legacy,
    v2Valid: generation === generationV2,
  };
}

export function decodeRootItem(key: Key, data: Uint8Array): RootItemDecoded | InvalidItem {
  if (data.length < ROOT_ITEM_LEGACY_SIZE) return tooShort(ItemType.ROOT_ITEM, 'root item', ROOT_ITEM_LEGACY_SIZE, data);
  let b = data;
  const legacy = data.length < ROOT_ITEM_SIZE;
  if (legacy) {
    b = new Uint8Array(ROOT_ITEM_SIZE);
    b.set(data);
  }
  const r: RootItemDecoded = { kind: 'root_item', rootId: key.objectid, ...decodeRootItemFields(b, legacy) };
  if (data.length > ROOT_ITEM_SIZE) r.errors = [`root item has ${data.length} bytes, expected ${ROOT_ITEM_SIZE}`];
  else if (legacy && data.length !== ROOT_ITEM_LEGACY_SIZE) r.errors = [`root item has ${data.length} bytes, neither legacy ${ROOT_ITEM_LEGACY_SIZE} nor ${ROOT_ITEM_SIZE}`];
  return r;
}

/**
 * ROOT_REF (key: parent tree, ROOT_REF, child tree) and ROOT_BACKREF (key:
 * child tree, ROOT_BACKREF, parent tree): where a subvolume is linked.
 */
export interface RootRefDecoded {
  kind: 'root_ref' | 'root_backref';
  /** The subvolume that contains the link (ROOT_REF objectid / ROOT_BACKREF offset). */
  parentTree: bigint;
  /** The linked subvolume. */
  childTree: bigint;
  /** Directory inode (in parentTree) holding the name. */
  dirid: bigint;
  /** DIR_INDEX of the name. */
  sequence: bigint;
  nameLen: number;
  name: Uint8Array;
  nameStr: string;
  errors?: string[];
}

/** btrfs_root_ref: the 18-byte header of ROOT_REF / ROOT_BACKREF; the name follows. */
export const rootRef = defineStruct('btrfs_root_ref', 18, [
  ['dirid', 'u64'],
  ['sequence', 'u64'],
  ['nameLen', 'u16'],
]);
export const { dirid: rootRefDirid, sequence: rootRefSequence, nameLen: rootRefNameLen } = rootRef.get;
export const ROOT_REF_SIZE = rootRef.size;

export function decodeRootRef(key: Key, data: Uint8Array): RootRefDecoded | InvalidItem {
  if (data.length < ROOT_REF_SIZE) return tooShort(key.type, 'root ref', ROOT_REF_SIZE, data);
  const isRef = key.type === ItemType.ROOT_REF;
  const nameLen = rootRefNameLen(data, 0);
  const end = Math.min(ROOT_REF_SIZE + nameLen, data.length);
  const r: RootRefDecoded = {
    kind: isRef ? 'root_ref' : 'root_backref',
    parentTree: isRef ? key.objectid : key.offset,
    childTree: isRef ? key.offset : key.objectid,
    dirid: rootRefDirid(data, 0),
    sequence: rootRefSequence(data, 0),
    nameLen,
    name: data.subarray(ROOT_REF_SIZE, end),
    nameStr: nameText(data, ROOT_REF_SIZE, end - ROOT_REF_SIZE),
  };
  if (ROOT_REF_SIZE + nameLen !== data.length) {
    r.errors = [`root ref name_len ${nameLen} does not match item size ${data.length}`];
  }
  return r;
}
