import { ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/** btrfs_qgroup_status_item (enable_gen only with simple quotas: 32 bytes without it). */
export const qgroupStatusItem = defineStruct('btrfs_qgroup_status_item', 40, [
  ['version', 'u64'],
  ['generation', 'u64'],
  ['flags', 'u64'],
  ['rescan', 'u64'],
  ['enableGen', 'u64'],
]);
const QS = qgroupStatusItem.get;
/** The status item before simple quotas added enable_gen. */
const QGROUP_STATUS_V1_SIZE = qgroupStatusItem.off.enableGen;

/** btrfs_qgroup_info_item: key (0, QGROUP_INFO, qgroupid). */
export const qgroupInfoItem = defineStruct('btrfs_qgroup_info_item', 40, [
  ['generation', 'u64'],
  ['rfer', 'u64'],
  ['rferCmpr', 'u64'],
  ['excl', 'u64'],
  ['exclCmpr', 'u64'],
]);
const QI = qgroupInfoItem.get;

/** btrfs_qgroup_limit_item: key (0, QGROUP_LIMIT, qgroupid). */
export const qgroupLimitItem = defineStruct('btrfs_qgroup_limit_item', 40, [
  ['flags', 'u64'],
  ['maxRfer', 'u64'],
  ['maxExcl', 'u64'],
  ['rsvRfer', 'u64'],
  ['rsvExcl', 'u64'],
]);
const QL = qgroupLimitItem.get;

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
  const v1 = QGROUP_STATUS_V1_SIZE,
    v2 = qgroupStatusItem.size;
  if (data.length < v1) return tooShort(ItemType.QGROUP_STATUS, 'qgroup status', v1, data);
  const r: QgroupStatusDecoded = {
    kind: 'qgroup_status',
    version: QS.version(data, 0),
    generation: QS.generation(data, 0),
    flags: QS.flags(data, 0),
    rescan: QS.rescan(data, 0),
  };
  if (data.length >= v2) r.enableGen = QS.enableGen(data, 0);
  if (data.length !== v1 && data.length !== v2) r.errors = [`qgroup status has ${data.length} bytes, expected ${v1} or ${v2}`];
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
  const size = qgroupInfoItem.size;
  if (data.length < size) return tooShort(ItemType.QGROUP_INFO, 'qgroup info', size, data);
  const r: QgroupInfoDecoded = {
    kind: 'qgroup_info',
    qgroupid: key.offset,
    generation: QI.generation(data, 0),
    rfer: QI.rfer(data, 0),
    rferCmpr: QI.rferCmpr(data, 0),
    excl: QI.excl(data, 0),
    exclCmpr: QI.exclCmpr(data, 0),
  };
  if (data.length !== size) r.errors = [`qgroup info has ${data.length} bytes, expected ${size}`];
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
  const size = qgroupLimitItem.size;
  if (data.length < size) return tooShort(ItemType.QGROUP_LIMIT, 'qgroup limit', size, data);
  const r: QgroupLimitDecoded = {
    kind: 'qgroup_limit',
    qgroupid: key.offset,
    flags: QL.flags(data, 0),
    maxRfer: QL.maxRfer(data, 0),
    maxExcl: QL.maxExcl(data, 0),
    rsvRfer: QL.rsvRfer(data, 0),
    rsvExcl: QL.rsvExcl(data, 0),
  };
  if (data.length !== size) r.errors = [`qgroup limit has ${data.length} bytes, expected ${size}`];
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
