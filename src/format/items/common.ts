import { bytes, defineStruct } from '../struct.js';

/**
 * Conventions shared by every item decoder in this folder.
 *
 * - A decoder never reads past `data.length`, never loops more than the
 *   item's bytes allow, and never allocates from an unchecked count.
 * - When an item is too short for its fixed part (or otherwise cannot be
 *   decoded at all) the result is `{ kind: 'invalid', itemType, reason, raw }`.
 * - When the fixed part decodes but the rest is inconsistent (a truncated
 *   last entry in a list, trailing bytes, a count that does not fit), the
 *   result is the normal kind with what could be decoded, plus
 *   `errors: string[]` describing each problem. `errors` is absent when the
 *   item is consistent, so `item.errors === undefined` means "clean".
 * - u64 fields are bigint; u32/u16/u8 fields are number.
 */

/** An item that could not be decoded at all. */
export interface InvalidItem {
  kind: 'invalid';
  /** The key type of the item. */
  itemType: number;
  reason: string;
  raw: Uint8Array;
}

export function invalid(itemType: number, reason: string, raw: Uint8Array): InvalidItem {
  return { kind: 'invalid', itemType, reason, raw };
}

/** "needs N bytes, item has M" */
export function tooShort(itemType: number, what: string, need: number, raw: Uint8Array): InvalidItem {
  return invalid(itemType, `${what} needs ${need} bytes, item has ${raw.length}`, raw);
}

/** Adds a problem to an optional errors list (allocating the list only when needed). */
export function addError(errors: string[] | undefined, msg: string): string[] {
  if (errors) {
    errors.push(msg);
    return errors;
  }
  return [msg];
}

/** btrfs_timespec: sec i64, nsec u32 (12 bytes). */
export interface Timespec {
  sec: bigint;
  nsec: number;
}
export const timespecStruct = defineStruct('btrfs_timespec', 12, [
  ['sec', 'i64'],
  ['nsec', 'u32'],
]);
export const TIMESPEC_SIZE = timespecStruct.size;
/** A btrfs_timespec embedded in another struct. */
export const TIMESPEC = bytes(TIMESPEC_SIZE, 'btrfs_timespec');
export const { sec: timespecSec, nsec: timespecNsec } = timespecStruct.get;

export function decodeTimespec(buf: Uint8Array, off: number): Timespec {
  return { sec: timespecSec(buf, off), nsec: timespecNsec(buf, off) };
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * Display text of a name: bytes as UTF-8 (invalid sequences become U+FFFD).
 * Short ASCII names, nearly all of them, skip the TextDecoder call.
 */
export function nameText(buf: Uint8Array, off: number, len: number): string {
  if (len <= 64) {
    let ascii = true;
    for (let i = 0; i < len; i++)
      if (buf[off + i]! >= 0x80) {
        ascii = false;
        break;
      }
    if (ascii) return String.fromCharCode.apply(null, buf.subarray(off, off + len) as unknown as number[]);
  }
  return utf8.decode(buf.subarray(off, off + len));
}
