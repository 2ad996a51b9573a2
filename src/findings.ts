import type { FindingCode, Severity } from './findingRules.js';
import type { Key } from './format/key.js';

export type { FindingCode, Severity } from './findingRules.js';

/**
 * Damage found in an image is data, not an exception: every layer collects
 * findings with the place they were found, and goes on.
 */
export interface Location {
  /** Device path or name, and its devid. */
  device?: string | undefined;
  devid?: bigint | undefined;
  /** Byte offset on that device. */
  physical?: bigint | undefined;
  logical?: bigint;
  /** Owning tree (object id) and the tree block, slot and key. */
  tree?: bigint;
  block?: bigint;
  slot?: number;
  key?: Key;
  /** Which copy (0-based) of a mirrored or parity-protected range. */
  copy?: number | undefined;
}

export interface Finding {
  /** Stable code from the catalogue (findingRules.ts), e.g. `tree-block-csum`, `key-order`. */
  code: FindingCode;
  severity: Severity;
  message: string;
  location: Location;
  /** True when another copy of the same data was read good. */
  repairable?: boolean;
}

/**
 * Where an operation records the damage it meets. Each operation reports to
 * the sink its caller gave it, so the caller knows which findings its own
 * call produced.
 */
export interface FindingSink {
  add(f: Finding): void;
}

/** A sink that keeps nothing: for reads whose damage is expected and counted elsewhere. */
export const discardFindings: FindingSink = { add() {} };

/** Collects findings; bounded so a pathological image cannot exhaust memory. */
export class FindingLog implements FindingSink {
  readonly items: Finding[] = [];
  dropped = 0;
  constructor(readonly limit = 100_000) {}

  add(f: Finding): void {
    if (this.items.length < this.limit) this.items.push(f);
    else this.dropped++;
  }

  get count(): number {
    return this.items.length + this.dropped;
  }
}

/**
 * A location as the CLI's JSON writes it: `copy` numbered from 1, as every
 * message and table numbers copies ("copy 1" is the first mirror, the data
 * stripe of a RAID5/6 row, or the superblock at 64 KiB).
 */
export function locationJson(l: Location): Location {
  return l.copy === undefined ? l : { ...l, copy: l.copy + 1 };
}

/** "devid 1 (/dev/sda) physical 65536, logical 30408704, tree 5, block 30408704 slot 3 key (256 1 0)". */
export function formatLocation(l: Location): string {
  const parts: string[] = [];
  if (l.device !== undefined || l.devid !== undefined) parts.push(`devid ${l.devid ?? '?'}${l.device ? ` (${l.device})` : ''}`);
  if (l.physical !== undefined) parts.push(`physical ${l.physical}`);
  if (l.logical !== undefined) parts.push(`logical ${l.logical}`);
  if (l.copy !== undefined) parts.push(`copy ${l.copy + 1}`);
  if (l.tree !== undefined) parts.push(`tree ${l.tree}`);
  if (l.block !== undefined) parts.push(`block ${l.block}`);
  if (l.slot !== undefined) parts.push(`slot ${l.slot}`);
  if (l.key !== undefined) parts.push(`key (${l.key.objectid} ${l.key.type} ${l.key.offset})`);
  return parts.join(', ');
}
