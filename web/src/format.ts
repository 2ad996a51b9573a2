/** Small helpers for showing the library's JSON. */

/** A name as `ls --json` gives it: its text, bytes that are not UTF-8 as \xNN escapes (which paths resolve, too). */
export function entryName(e: Record<string, unknown>, field = 'name'): string {
  const plain = e[field];
  if (typeof plain === 'string') return plain;
  const hex = e[`${field}Hex`];
  if (typeof hex === 'string') return hex.replace(/../g, (h) => `\\x${h}`);
  return '';
}

/** 12967936 → "12.4 MiB (12967936)". */
export function bytes(v: unknown): string {
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let x = n;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) {
    x /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${x.toFixed(1)} ${units[u]} (${String(v)})`;
}

/** Classic hex dump: offset, 16 bytes, printable ASCII. */
export function hexDump(b: Uint8Array, base = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 16) {
    const row = b.subarray(i, i + 16);
    const hex = [...row]
      .map((x) => x.toString(16).padStart(2, '0'))
      .join(' ')
      .padEnd(47);
    const text = [...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${(base + i).toString(16).padStart(8, '0')}  ${hex}  ${text}`);
  }
  return lines.join('\n');
}

/** Text when the bytes are UTF-8 without NULs, else null (shown as hex). */
export function asText(b: Uint8Array): string | null {
  if (b.includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    return null;
  }
}

/** Images the browser draws, by their first bytes: PNG, JPEG, GIF, WebP, BMP. */
export function imageType(b: Uint8Array): string | null {
  const starts = (...sig: number[]) => sig.every((x, i) => b[i] === x);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return 'image/webp';
  if (starts(0x42, 0x4d) && b.length >= 26) return 'image/bmp';
  return null;
}
