import { u64 } from '../bytes.js';
import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { tooShort, type InvalidItem } from './common.js';

/** A qgroup id is level << 48 | subvolume id; printed "level/id". */
export function qgroupLevel(qgroupid: bigint): number {
  return Number(qgroupid >> 48n);
}
export function qgroupSubvolid(qgroupid: bigint): bigint {
  return qgroupid & 0xffffffffffffn;
}
export function formatQgroupId(qgroupid: bigint): string {
  return `${qgroupLevel(qgroupid)}/${qgroupSubvolid(qgroupid)}`;
}

/** QGROUP_STATUS: key (0, QGROUP_STATUS, 0); btrfs_qgroup_status_item (32 bytes, 40 with simple quotas). */
export interface QgroupStatusDecoded {
  kind: 'qgroup_status';
  version: bigint;
  generation: bigint;
  /** QgroupStatusFlag: ON, RESCAN, INCONSISTENT, SIMPLE_MODE. */
  flags: bigint;
  /** Rescan progress (a logical address). */
  rescan: bigint;
  /** Generation simple quotas were enabled at; present when the item is 40 bytes or longer. */
  enableGen?: bigint;
  errors?: string[];
}

export function decodeQgroupStatus(data: Uint8Array): QgroupStatusDecoded | InvalidItem {
  if (data.length < 32) return tooShort(ItemType.QGROUP_STATUS, 'qgroup status', 32, data);
  const r: QgroupStatusDecoded = {
    kind: 'qgroup_status', version: u64(data, 0), generation: u64(data, 8), flags: u64(data, 16), rescan: u64(data, 24),
  };
  if (data.length >= 40) r.enableGen = u64(data, 32);
  if (data.length !== 32 && data.length !== 40) r.errors = [`qgroup status has ${data.length} bytes, expected 32 or 40`];
  return r;
}

/** QGROUP_INFO: key (0, QGROUP_INFO, qgroupid); btrfs_qgroup_info_item (40 bytes). */
export interface QgroupInfoDecoded {
  kind: 'qgroup_info';
  qgroupid: bigint;
  generation: bigint;
  rfer: bigint;
  rferCmpr: bigint;
  excl: bigint;
  exclCmpr: bigint;
  errors?: string[];
}

export function decodeQgroupInfo(key: Key, data: Uint8Array): QgroupInfoDecoded | InvalidItem {
  if (data.length < 40) return tooShort(ItemType.QGROUP_INFO, 'qgroup info', 40, data);
  const r: QgroupInfoDecoded = {
    kind: 'qgroup_info', qgroupid: key.offset,
    generation: u64(data, 0), rfer: u64(data, 8), rferCmpr: u64(data, 16), excl: u64(data, 24), exclCmpr: u64(data, 32),
  };
  if (data.length !== 40) r.errors = [`qgroup info has ${data.length} bytes, expected 40`];
  return r;
}

/** QGROUP_LIMIT: key (0, QGROUP_LIMIT, qgroupid); btrfs_qgroup_limit_item (40 bytes). */
export interface QgroupLimitDecoded {
  kind: 'qgroup_limit';
  qgroupid: bigint;
  /** Which limits are set (BTRFS_QGROUP_LIMIT_MAX_RFER = 1, MAX_EXCL = 2, RSV_RFER = 4, RSV_EXCL = 8). */
  flags: bigint;
  maxRfer: bigint;
  maxExcl: bigint;
  rsvRfer: bigint;
  rsvExcl: bigint;
  errors?: string[];
}

export function decodeQgroupLimit(key: Key, data: Uint8Array): QgroupLimitDecoded | InvalidItem {
  if (data.length < 40) return tooShort(ItemType.QGROUP_LIMIT, 'qgroup limit', 40, data);
  const r: QgroupLimitDecoded = {
    kind: 'qgroup_limit', qgroupid: key.offset,
    flags: u64(data, 0), maxRfer: u64(data, 8), maxExcl: u64(data, 16), rsvRfer: u64(data, 24), rsvExcl: u64(data, 32),
  };
  if (data.length !== 40) r.errors = [`qgroup limit has ${data.length} bytes, expected 40`];
  return r;
}

/** QGROUP_RELATION: key (src qgroupid, QGROUP_RELATION, dst qgroupid), stored both ways; no body. */
export interface QgroupRelationDecoded {
  kind: 'qgroup_relation';
  src: bigint;
  dst: bigint;
  errors?: string[];
}

export function decodeQgroupRelation(key: Key, data: Uint8Array): QgroupRelationDecoded {
  const r: QgroupRelationDecoded = { kind: 'qgroup_relation', src: key.objectid, dst: key.offset };
  if (data.length !== 0) r.errors = [`qgroup relation has ${data.length} bytes, expected 0`];
  return r;
}
