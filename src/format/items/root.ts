import { u16, u32, u64, uuidAt } from '../bytes.js';
import { ItemType } from '../constants.js';
import { readKey, type Key } from '../key.js';
import { nameText, readTimespec, tooShort, type InvalidItem, type Timespec } from './common.js';
import { readInodeItem, type InodeItem } from './inode.js';

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

export const ROOT_ITEM_SIZE = 439;
/** Size of a root item written before the v2 fields existed (up to and including `level`). */
export const ROOT_ITEM_LEGACY_SIZE = 239;

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
  return { generation: u64(b, 160), bytenr: u64(b, 176), level: b[238]! };
}

/** Decodes a root item from at least ROOT_ITEM_SIZE bytes at buf[off]. */
function readRootItem(b: Uint8Array, legacy: boolean): RootItem {
  const generation = u64(b, 160);
  const generationV2 = u64(b, 239);
  return {
    inode: readInodeItem(b, 0),
    generation,
    rootDirid: u64(b, 168),
    bytenr: u64(b, 176),
    byteLimit: u64(b, 184),
    bytesUsed: u64(b, 192),
    lastSnapshot: u64(b, 200),
    flags: u64(b, 208),
    refs: u32(b, 216),
    dropProgress: readKey(b, 220),
    dropLevel: b[237]!,
    level: b[238]!,
    generationV2,
    uuid: uuidAt(b, 247),
    parentUuid: uuidAt(b, 263),
    receivedUuid: uuidAt(b, 279),
    ctransid: u64(b, 295),
    otransid: u64(b, 303),
    stransid: u64(b, 311),
    rtransid: u64(b, 319),
    ctime: readTimespec(b, 327),
    otime: readTimespec(b, 339),
    stime: readTimespec(b, 351),
    rtime: readTimespec(b, 363),
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
  const r: RootItemDecoded = { kind: 'root_item', rootId: key.objectid, ...readRootItem(b, legacy) };
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

const ROOT_REF_SIZE = 18;

export function decodeRootRef(key: Key, data: Uint8Array): RootRefDecoded | InvalidItem {
  if (data.length < ROOT_REF_SIZE) return tooShort(key.type, 'root ref', ROOT_REF_SIZE, data);
  const isRef = key.type === ItemType.ROOT_REF;
  const nameLen = u16(data, 16);
  const end = Math.min(ROOT_REF_SIZE + nameLen, data.length);
  const r: RootRefDecoded = {
    kind: isRef ? 'root_ref' : 'root_backref',
    parentTree: isRef ? key.objectid : key.offset,
    childTree: isRef ? key.offset : key.objectid,
    dirid: u64(data, 0),
    sequence: u64(data, 8),
    nameLen,
    name: data.subarray(ROOT_REF_SIZE, end),
    nameStr: nameText(data, ROOT_REF_SIZE, end - ROOT_REF_SIZE),
  };
  if (ROOT_REF_SIZE + nameLen !== data.length) {
    r.errors = [`root ref name_len ${nameLen} does not match item size ${data.length}`];
  }
  return r;
}
