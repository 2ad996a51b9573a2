/** Values as dump-tree writes them: names (escaped per release), times, u64s. */
import { u64, u64n } from '../../format/bytes.js';
import { decodeTimespec, nameText, type Timespec, timespecNsec, timespecStruct } from '../../format/items/common.js';
import type { ProgsStyle } from './context.js';

// ---------------------------------------------------------------------------
// Strings and times

export const utf8 = new TextDecoder('utf-8', { fatal: false });

/**
 * A name as progs prints it. 6.2: printf("%.*s"), so output stops at the
 * first NUL and other bytes are written raw (decoded here as UTF-8).
 * 6.19: every byte printed, with C-style escapes for \a\b\e\f\n\r\t\v,
 * space and backslash, and \ooo for other unprintable bytes (any >= 0x7f).
 */
export function printableName(b: Uint8Array, progs: ProgsStyle): string {
  if (progs === '6.19') {
    let s = '';
    for (let i = 0; i < b.length; i++) {
      const c = b[i]!;
      switch (c) {
        case 7:
          s += '\\a';
          break;
        case 8:
          s += '\\b';
          break;
        case 27:
          s += '\\e';
          break;
        case 12:
          s += '\\f';
          break;
        case 10:
          s += '\\n';
          break;
        case 13:
          s += '\\r';
          break;
        case 9:
          s += '\\t';
          break;
        case 11:
          s += '\\v';
          break;
        case 32:
          s += '\\ ';
          break;
        case 92:
          s += '\\\\';
          break;
        default:
          if (c < 32 || c >= 127) s += '\\' + (c >> 6).toString() + ((c >> 3) & 7).toString() + (c & 7).toString();
          else s += String.fromCharCode(c);
      }
    }
    return s;
  }
  let end = b.indexOf(0);
  if (end < 0) end = b.length;
  return utf8.decode(b.subarray(0, end));
}

/** btrfs-progs prints at most BTRFS_NAME_LEN (255) bytes of a dir/ref name or xattr value. */
export function capped(b: Uint8Array): Uint8Array {
  return b.length > 255 ? b.subarray(0, 255) : b;
}

/** A decoded name as progs prints it, reusing the decoder's text when nothing is cut or escaped. */
export function shownName(b: Uint8Array, text: string, progs: ProgsStyle): string {
  if (progs === '6.2' && b.length <= 255 && b.indexOf(0) < 0) return text;
  return printableName(capped(b), progs);
}

export function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

export let lastDay = -1;
export let lastDate = '';

/**
 * "YYYY-MM-DD HH:MM:SS" of a signed time_t as strftime("%Y-%m-%d %H:%M:%S")
 * prints it, in UTC (proleptic Gregorian, any range) or local time.
 */
export function formatTime(sec: bigint, timeZone: 'utc' | 'local' = 'utc'): string {
  // Common case (1970..9999 UTC): number arithmetic and the last day's date reused,
  // since a leaf's timestamps cluster. The bigint path below covers every other value.
  if (timeZone === 'utc' && sec >= 0n && sec < 253402300800n) return formatUtcSeconds(Number(sec));
  if (timeZone === 'local' && sec > -8_640_000_000_000n && sec < 8_640_000_000_000n) {
    const d = new Date(Number(sec) * 1000);
    return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  }
  let days = sec / 86400n;
  let rem = sec % 86400n;
  if (rem < 0n) {
    rem += 86400n;
    days -= 1n;
  }
  const secs = Number(rem);
  // Civil date from days since 1970-01-01 (H. Hinnant's algorithm), bigint-safe.
  const z = days + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = Number(z - era * 146097n);
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = BigInt(yoe) + era * 400n + (m <= 2 ? 1n : 0n);
  const hms = `${pad2(Math.floor(secs / 3600))}:${pad2(Math.floor(secs / 60) % 60)}:${pad2(secs % 60)}`;
  const tmYear = y - 1900n;
  if (tmYear !== BigInt.asIntN(32, tmYear)) {
    // glibc's localtime_r fails with EOVERFLOW after storing the time of day and the
    // int-truncated tm_year; month and day keep what the (zeroed) struct had.
    return `${BigInt.asIntN(32, tmYear) + 1900n}-01-01 ${hms}`;
  }
  return `${y}-${pad2(m)}-${pad2(d)} ${hms}`;
}

/** formatTime's common case, 0 <= n < 253402300800 (1970..9999) in UTC, with number arithmetic. */
export function formatUtcSeconds(n: number): string {
  const day = Math.floor(n / 86400);
  const t = n - day * 86400;
  if (day !== lastDay) {
    lastDay = day;
    lastDate = new Date(day * 86400000).toISOString().slice(0, 10);
  }
  return `${lastDate} ${pad2(Math.floor(t / 3600))}:${pad2(Math.floor(t / 60) % 60)}:${pad2(t % 60)}`;
}

/** print_timespec of the btrfs_timespec at d[off] (sec i64, nsec u32). */
export function timespecAt(d: Uint8Array, off: number, tz: 'utc' | 'local'): string {
  if (tz === 'utc') {
    // The i64 seconds read as a u64: negative ones come out past 2^53 (Infinity) and take the exact path.
    const sec = u64n(d, off + timespecStruct.off.sec);
    if (sec < 253402300800) return `${sec}.${timespecNsec(d, off)} (${formatUtcSeconds(sec)})`;
  }
  return timespec(decodeTimespec(d, off), tz);
}

/** A u64 field in decimal, exact over the whole range: a number below 2^53, a bigint above. */
export function u64Text(d: Uint8Array, off: number): string {
  const n = u64n(d, off);
  if (n !== Infinity) return String(n);
  return u64(d, off).toString();
}

/** print_timespec: "%llu.%u (%s)" — seconds printed unsigned, date from the signed value. */
export function timespec(t: Timespec, tz: 'utc' | 'local'): string {
  return `${BigInt.asUintN(64, t.sec)}.${t.nsec} (${formatTime(t.sec, tz)})`;
}

/** A name or xattr value as 6.2 prints it (printf "%.*s": up to the first NUL, at most 255 bytes). */
export function name62(d: Uint8Array, start: number, len: number): string {
  const b = d.subarray(start, start + len);
  return len <= 255 && b.indexOf(0) < 0 ? nameText(d, start, len) : printableName(capped(b), '6.2');
}

/** 6.2 "%.*s" of a byte string: stops at NUL (also what 6.19 does for these fields). */
export function printableName62(b: Uint8Array): string {
  return printableName(b, '6.2');
}
