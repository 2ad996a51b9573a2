import { u32, u64, utf8At, uuidAt } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { tooShort, type InvalidItem } from './common.js';

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
  if (data.length < 8) return tooShort(key.type, 'dir log item', 8, data);
  const r: DirLogDecoded = {
    kind: key.type === ItemType.DIR_LOG_ITEM ? 'dir_log_item' : 'dir_log_index', start: key.offset, end: u64(data, 0),
  };
  if (data.length !== 8) r.errors = [`dir log item has ${data.length} bytes, expected 8`];
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
  let a = key.objectid, o = key.offset;
  for (let i = 0; i < 8; i++) { b[i] = Number(a & 0xffn); a >>= 8n; b[8 + i] = Number(o & 0xffn); o >>= 8n; }
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
    kind: 'dev_stats', devid: key.offset, values,
    writeErrs: values[0] ?? 0n, readErrs: values[1] ?? 0n, flushErrs: values[2] ?? 0n,
    corruptionErrs: values[3] ?? 0n, generationErrs: values[4] ?? 0n,
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
export const BALANCE_ARGS_SIZE = 136;
export const BALANCE_ITEM_SIZE = 448;

export function readBalanceArgs(b: Uint8Array, off: number): BalanceArgs {
  return {
    profiles: u64(b, off),
    usage: u64(b, off + 8), usageMin: u32(b, off + 8), usageMax: u32(b, off + 12),
    devid: u64(b, off + 16),
    pstart: u64(b, off + 24), pend: u64(b, off + 32),
    vstart: u64(b, off + 40), vend: u64(b, off + 48),
    target: u64(b, off + 56),
    flags: u64(b, off + 64),
    limit: u64(b, off + 72), limitMin: u32(b, off + 72), limitMax: u32(b, off + 76),
    stripesMin: u32(b, off + 80), stripesMax: u32(b, off + 84),
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
    flags: u64(data, 0),
    data: readBalanceArgs(data, 8),
    meta: readBalanceArgs(data, 8 + BALANCE_ARGS_SIZE),
    sys: readBalanceArgs(data, 8 + 2 * BALANCE_ARGS_SIZE),
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
export const DEV_REPLACE_ITEM_SIZE = 72;

export function decodeDevReplace(data: Uint8Array): DevReplaceDecoded | InvalidItem {
  if (data.length < DEV_REPLACE_ITEM_SIZE) return tooShort(ItemType.DEV_REPLACE, 'dev replace item', DEV_REPLACE_ITEM_SIZE, data);
  const r: DevReplaceDecoded = {
    kind: 'dev_replace',
    srcDevid: u64(data, 0), cursorLeft: u64(data, 8), cursorRight: u64(data, 16),
    contReadingFromSrcdevMode: u64(data, 24), replaceState: u64(data, 32),
    timeStarted: u64(data, 40), timeStopped: u64(data, 48),
    numWriteErrors: u64(data, 56), numUncorrectableReadErrors: u64(data, 64),
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
    if (data.length >= 33) {
      r.descriptorSize = u64(data, 0);
      r.encryption = data[32]!;
      if (data.length !== 33) r.errors = [`verity descriptor item has ${data.length} bytes, expected 33`];
    } else {
      r.errors = [`verity descriptor item needs 33 bytes, item has ${data.length}`];
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
  const n = Math.floor(data.length / 16);
  const strides: RaidStride[] = [];
  for (let i = 0; i < n; i++) strides.push({ devid: u64(data, i * 16), physical: u64(data, i * 16 + 8) });
  const r: RaidStripeDecoded = { kind: 'raid_stripe', logical: key.objectid, length: key.offset, strides };
  if (data.length % 16 !== 0) r.errors = [`raid stripe item size ${data.length} is not a multiple of 16`];
  return r;
}
