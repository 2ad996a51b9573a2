/**
 * The one byte range of an HTTP Range header (RFC 9110 §14.1.2) over a
 * resource of `size` bytes: "bytes=A-B", "bytes=A-" or "bytes=-N". Null when
 * there is no header (the whole resource); 'unsatisfiable' for a range past
 * the end, several ranges, or another unit. Offsets are bigints: a device
 * can be larger than 2^53 bytes.
 */
export function parseRange(header: string | undefined, size: bigint): { start: bigint; end: bigint } | 'unsatisfiable' | null {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  if (m[1] === '') {
    const n = BigInt(m[2]!);
    if (n === 0n || size === 0n) return 'unsatisfiable';
    return { start: n >= size ? 0n : size - n, end: size - 1n };
  }
  const start = BigInt(m[1]!);
  if (start >= size) return 'unsatisfiable';
  const last = m[2] === '' ? size - 1n : BigInt(m[2]!);
  if (last < start) return 'unsatisfiable';
  return { start, end: last < size ? last : size - 1n };
}
