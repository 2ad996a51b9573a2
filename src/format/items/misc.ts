import { u64, utf8At, uuidAt } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { bytes, defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/** btrfs_dir_log_item: key (dir, DIR_LOG_ITEM or DIR_LOG_INDEX, range start). */
export const dirLogItem = defineStruct('btrfs_dir_log_item', 8, [['end', 'u64']]);
export const { end: dirLogEnd } = dirLogItem.get;

/** btrfs_disk_balance_args; usage and limit are unions with a u32 min/max pair. */
export const balanceArgs = defineStruct('btrfs_disk_balance_args', 136, [
  ['profiles', 'u64'],
  ['usage', 'u64'],
  ['usageMin', 'u32', 8],
  ['usageMax', 'u32', 12],
  ['devid', 'u64'],
  ['pstart', 'u64'],
  ['pend', 'u64'],
  ['vstart', 'u64'],
  ['vend', 'u64'],
  ['target', 'u64'],
  ['flags', 'u64'],
  ['limit', 'u64'],
  ['limitMin', 'u32', 72],
  ['limitMax', 'u32', 76],
  ['stripesMin', 'u32'],
  ['stripesMax', 'u32'],
  ['unused', bytes(48, '__le64[6]')],
]);
const BA = balanceArgs.get;

/** btrfs_balance_item: key (BALANCE, TEMPORARY_ITEM, 0). */
export const balanceItem = defineStruct('btrfs_balance_item', 448, [
  ['flags', 'u64'],
  ['data', bytes(136, 'btrfs_disk_balance_args')],
  ['meta', bytes(136, 'btrfs_disk_balance_args')],
  ['sys', bytes(136, 'btrfs_disk_balance_args')],
  ['unused', bytes(32, '__le64[4]')],
]);

/** btrfs_dev_replace_item: key (0, DEV_REPLACE, 0) in the dev tree. */
export const devReplaceItem = defineStruct('btrfs_dev_replace_item', 72, [
  ['srcDevid', 'u64'],
  ['cursorLeft', 'u64'],
  ['cursorRight', 'u64'],
  ['contReadingFromSrcdevMode', 'u64'],
  ['replaceState', 'u64'],
  ['timeStarted', 'u64'],
  ['timeStopped', 'u64'],
  ['numWriteErrors', 'u64'],
  ['numUncorrectableReadErrors', 'u64'],
]);
const DR = devReplaceItem.get;

/**
 * btrfs_verity_descriptor_item at key offset 0, as this decoder has always
 * read it: size u64 @0, encryption u8 @32, 33 bytes in all.
 */
export const verityDescriptorItem = defineStruct('btrfs_verity_descriptor_item', 33, [
  ['size', 'u64'],
  ['reserved', bytes(24, 'reserved')],
  ['encryption', 'u8'],
]);

/** The body of a REMAP / REMAP_BACKREF item (key types 235, 236; btrfs-progs 6.19): one address. */
export const remapItem = defineStruct('btrfs_remap_item', 8, [['address', 'u64']]);

/** btrfs_raid_stride: one device range of a RAID_STRIPE item. */
export const raidStride = defineStruct('btrfs_raid_stride', 16, [
  ['devid', 'u64'],
  ['physical', 'u64'],
]);

/** ORPHAN_ITEM: key (ORPHAN, ORPHAN_ITEM, inode or tree id to clean up); no body. */
export interface OrphanItemDecoded {
  kind: 'orphan_item';
  /** The inode (in an fs tree) or tree id (in the root tree) awaiting cleanup. */
  target: bigint;
  errors?: string[];
}

export function decodeOrphanItem(key: Key, data: Uint8Array): OrphanItemDecoded {
  const r: OrphanItemDecoded = { kind: 'orphan_item', target: key.offset };
  if (data.length !== 0) r.errors = [`orphan item has ${data.length} bytes, expected 0`];
  return r;
}

/** DIR_LOG_ITEM / DIR_LOG_INDEX (log trees): key (dir, type, range start); btrfs_dir_log_item. */
export interface DirLogDecoded {
  kind: 'dir_log_item' | 'dir_log_index';
  start: bigint;
  /** Inclusive end of the logged range of dir offsets. */
  end: bigint;
  errors?: string[];
}

export function decodeDirLog(key: Key, data: Uint8Array): DirLogDecoded | InvalidItem {
  const size = dirLogItem.size;
  if (data.length < size) return tooShort(key.type, 'dir log item', size, data);
  const r: DirLogDecoded = {
    kind: key.type === ItemType.DIR_LOG_ITEM ? 'dir_log_item' : 'dir_log_index',
    start: key.offset,
    end: dirLogEnd(data, 0),
  };
  if (data.length !== size) r.errors = [`dir log item has ${data.length} bytes, expected ${size}`];
  return r;
}

/**
 * UUID_KEY_SUBVOL / UUID_KEY_RECEIVED_SUBVOL (uuid tree): key (uuid bytes
 * 0-7 as le64, type, uuid bytes 8-15 as le64); an array of subvolume ids.
 */
export interface UuidItemDecoded {
  kind: 'uuid_subvol' | 'uuid_received_subvol';
  /** The UUID the key encodes. */
  uuid: string;
  subvolIds: bigint[];
  /** The item's bytes. */
  raw: Uint8Array;
  errors?: string[];
}

export function uuidFromKey(key: Key): string {
  const b = new Uint8Array(16);
  let a = key.objectid,
    o = key.offset;
  for (let i = 0; i < 8; i++) {
    b[i] = Number(a & 0xffn);
    a >>= 8n;
    b[8 + i] = Number(o & 0xffn);
    o >>= 8n;
  }
  return uuidAt(b, 0);
}

export function decodeUuidItem(key: Key, data: Uint8Array): UuidItemDecoded {
  const n = Math.floor(data.length / 8);
  const subvolIds: bigint[] = [];
  for (let i = 0; i < n; i++) subvolIds.push(u64(data, i * 8));
  const r: UuidItemDecoded = {
    kind: key.type === ItemType.UUID_KEY_SUBVOL ? 'uuid_subvol' : 'uuid_received_subvol',
    uuid: uuidFromKey(key),
    subvolIds,
    raw: data,
  };
  if (data.length % 8 !== 0) r.errors = [`uuid item size ${data.length} is not a multiple of 8`];
  return r;
}

/** Names of btrfs_dev_stats_item.values[0..4]. */
export const DEV_STAT_NAMES = ['write_errs', 'read_errs', 'flush_errs', 'corruption_errs', 'generation_errs'] as const;
export const DEV_STAT_VALUES_MAX = 5;

/** DEV_STATS: key (DEV_STATS = 0, PERSISTENT_ITEM, devid); an array of u64 counters (5 known). */
export interface DevStatsDecoded {
  kind: 'dev_stats';
  devid: bigint;
  /** All whole u64 values in the item (index as DEV_STAT_NAMES; extra ones are unknown stats). */
  values: bigint[];
  writeErrs: bigint;
  readErrs: bigint;
  flushErrs: bigint;
  corruptionErrs: bigint;
  generationErrs: bigint;
  errors?: string[];
}

export function decodeDevStats(key: Key, data: Uint8Array): DevStatsDecoded {
  const n = Math.floor(data.length / 8);
  const values: bigint[] = [];
  for (let i = 0; i < n; i++) values.push(u64(data, i * 8));
  const r: DevStatsDecoded = {
    kind: 'dev_stats',
    devid: key.offset,
    values,
    writeErrs: values[0] ?? 0n,
    readErrs: values[1] ?? 0n,
    flushErrs: values[2] ?? 0n,
    corruptionErrs: values[3] ?? 0n,
    generationErrs: values[4] ?? 0n,
  };
  if (data.length < DEV_STAT_VALUES_MAX * 8) (r.errors ??= []).push(`dev stats item has ${data.length} bytes, fewer than the ${DEV_STAT_VALUES_MAX * 8} known`);
  if (data.length % 8 !== 0) (r.errors ??= []).push(`dev stats item size ${data.length} is not a multiple of 8`);
  return r;
}

/** PERSISTENT_ITEM with an objectid other than DEV_STATS: unknown, kept raw. */
export interface PersistentItemDecoded {
  kind: 'persistent_item';
  objectid: bigint;
  offset: bigint;
  raw: Uint8Array;
}

/** TEMPORARY_ITEM with an objectid other than BALANCE: unknown, kept raw. */
export interface TemporaryItemDecoded {
  kind: 'temporary_item';
  objectid: bigint;
  offset: bigint;
  raw: Uint8Array;
}

/** btrfs_disk_balance_args (136 bytes): filters of one chunk type in a balance. */
export interface BalanceArgs {
  profiles: bigint;
  /** `usage` as u64, and the same 8 bytes as the usage_min/usage_max u32 pair. */
  usage: bigint;
  usageMin: number;
  usageMax: number;
  devid: bigint;
  pstart: bigint;
  pend: bigint;
  vstart: bigint;
  vend: bigint;
  target: bigint;
  flags: bigint;
  /** `limit` as u64, and the same 8 bytes as the limit_min/limit_max u32 pair. */
  limit: bigint;
  limitMin: number;
  limitMax: number;
  stripesMin: number;
  stripesMax: number;
}
export const BALANCE_ARGS_SIZE = balanceArgs.size;
export const BALANCE_ITEM_SIZE = balanceItem.size;

export function decodeBalanceArgs(b: Uint8Array, off: number): BalanceArgs {
  return {
    profiles: BA.profiles(b, off),
    usage: BA.usage(b, off),
    usageMin: BA.usageMin(b, off),
    usageMax: BA.usageMax(b, off),
    devid: BA.devid(b, off),
    pstart: BA.pstart(b, off),
    pend: BA.pend(b, off),
    vstart: BA.vstart(b, off),
    vend: BA.vend(b, off),
    target: BA.target(b, off),
    flags: BA.flags(b, off),
    limit: BA.limit(b, off),
    limitMin: BA.limitMin(b, off),
    limitMax: BA.limitMax(b, off),
    stripesMin: BA.stripesMin(b, off),
    stripesMax: BA.stripesMax(b, off),
  };
}

/** BALANCE_ITEM: key (BALANCE, TEMPORARY_ITEM, 0); btrfs_balance_item (448 bytes), a paused/running balance. */
export interface BalanceItemDecoded {
  kind: 'balance_item';
  flags: bigint;
  data: BalanceArgs;
  meta: BalanceArgs;
  sys: BalanceArgs;
  errors?: string[];
}

export function decodeBalanceItem(data: Uint8Array): BalanceItemDecoded | InvalidItem {
  if (data.length < BALANCE_ITEM_SIZE) return tooShort(ItemType.TEMPORARY_ITEM, 'balance item', BALANCE_ITEM_SIZE, data);
  const r: BalanceItemDecoded = {
    kind: 'balance_item',
    flags: balanceItem.get.flags(data, 0),
    data: decodeBalanceArgs(data, balanceItem.off.data),
    meta: decodeBalanceArgs(data, balanceItem.off.meta),
    sys: decodeBalanceArgs(data, balanceItem.off.sys),
  };
  if (data.length !== BALANCE_ITEM_SIZE) r.errors = [`balance item has ${data.length} bytes, expected ${BALANCE_ITEM_SIZE}`];
  return r;
}

/** DEV_REPLACE: key (0, DEV_REPLACE, 0) in the dev tree; btrfs_dev_replace_item (72 bytes). */
export interface DevReplaceDecoded {
  kind: 'dev_replace';
  srcDevid: bigint;
  cursorLeft: bigint;
  cursorRight: bigint;
  /** 0 ALWAYS, 1 AVOID. */
  contReadingFromSrcdevMode: bigint;
  /** 0 NEVER_STARTED, 1 STARTED, 2 FINISHED, 3 CANCELED, 4 SUSPENDED. */
  replaceState: bigint;
  timeStarted: bigint;
  timeStopped: bigint;
  numWriteErrors: bigint;
  numUncorrectableReadErrors: bigint;
  errors?: string[];
}
export const DEV_REPLACE_ITEM_SIZE = devReplaceItem.size;

export function decodeDevReplace(data: Uint8Array): DevReplaceDecoded | InvalidItem {
  if (data.length < DEV_REPLACE_ITEM_SIZE) return tooShort(ItemType.DEV_REPLACE, 'dev replace item', DEV_REPLACE_ITEM_SIZE, data);
  const r: DevReplaceDecoded = {
    kind: 'dev_replace',
    srcDevid: DR.srcDevid(data, 0),
    cursorLeft: DR.cursorLeft(data, 0),
    cursorRight: DR.cursorRight(data, 0),
    contReadingFromSrcdevMode: DR.contReadingFromSrcdevMode(data, 0),
    replaceState: DR.replaceState(data, 0),
    timeStarted: DR.timeStarted(data, 0),
    timeStopped: DR.timeStopped(data, 0),
    numWriteErrors: DR.numWriteErrors(data, 0),
    numUncorrectableReadErrors: DR.numUncorrectableReadErrors(data, 0),
  };
  if (data.length !== DEV_REPLACE_ITEM_SIZE) r.errors = [`dev replace item has ${data.length} bytes, expected ${DEV_REPLACE_ITEM_SIZE}`];
  return r;
}

/** STRING_ITEM: a debugging string. */
export interface StringItemDecoded {
  kind: 'string_item';
  bytes: Uint8Array;
  text: string;
}

export function decodeStringItem(data: Uint8Array): StringItemDecoded {
  return { kind: 'string_item', bytes: data, text: utf8At(data, 0, data.length) };
}

/**
 * VERITY_DESC_ITEM: key (inode, VERITY_DESC_ITEM, offset). Offset 0 holds
 * btrfs_verity_descriptor_item (size of the descriptor, reserved, encryption);
 * offsets >= 1 hold the opaque fs-verity descriptor bytes starting at offset-1.
 */
export interface VerityDescDecoded {
  kind: 'verity_desc';
  offset: bigint;
  /** Offset 0 only: total descriptor size in bytes. */
  descriptorSize?: bigint;
  /** Offset 0 only. */
  encryption?: number;
  raw: Uint8Array;
  errors?: string[];
}

export function decodeVerityDesc(key: Key, data: Uint8Array): VerityDescDecoded {
  const r: VerityDescDecoded = { kind: 'verity_desc', offset: key.offset, raw: data };
  if (key.offset === 0n) {
    const size = verityDescriptorItem.size;
    if (data.length >= size) {
      r.descriptorSize = verityDescriptorItem.get.size(data, 0);
      r.encryption = verityDescriptorItem.get.encryption(data, 0);
      if (data.length !== size) r.errors = [`verity descriptor item has ${data.length} bytes, expected ${size}`];
    } else {
      r.errors = [`verity descriptor item needs ${size} bytes, item has ${data.length}`];
    }
  }
  return r;
}

/** VERITY_MERKLE_ITEM: key (inode, VERITY_MERKLE_ITEM, byte offset in the Merkle tree); opaque bytes. */
export interface VerityMerkleDecoded {
  kind: 'verity_merkle';
  offset: bigint;
  raw: Uint8Array;
}

/** One device range of a RAID stripe extent (btrfs_raid_stride, 16 bytes). */
export interface RaidStride {
  devid: bigint;
  physical: bigint;
}

/** RAID_STRIPE: key (logical, RAID_STRIPE, length) in the raid stripe tree; an array of strides. */
export interface RaidStripeDecoded {
  kind: 'raid_stripe';
  logical: bigint;
  length: bigint;
  strides: RaidStride[];
  errors?: string[];
}

export function decodeRaidStripe(key: Key, data: Uint8Array): RaidStripeDecoded {
  const size = raidStride.size;
  const n = Math.floor(data.length / size);
  const strides: RaidStride[] = [];
  for (let i = 0; i < n; i++) strides.push({ devid: raidStride.get.devid(data, i * size), physical: raidStride.get.physical(data, i * size) });
  const r: RaidStripeDecoded = { kind: 'raid_stripe', logical: key.objectid, length: key.offset, strides };
  if (data.length % size !== 0) r.errors = [`raid stripe item size ${data.length} is not a multiple of ${size}`];
  return r;
}
