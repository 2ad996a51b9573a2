/**
 * Names of the segments of a split raw image, as `split` and imaging tools
 * write them: numeric suffixes (`disk.001`, `disk.002`, ... as `split -d` and
 * FTK write; any width, starting at 0 or 1) or alphabetic ones (`disk.aa`,
 * `disk.ab`, ... `split`'s default). A split image has no header to detect
 * it by: its name is all there is, and it must be the first segment.
 */

/** The first segment's suffix if `path` names one ("001", "000", "aa"), else null. */
export function firstSegmentSuffix(path: string): string | null {
  const m = /\.(0+1|0{2,}|a{2,})$/.exec(path);
  return m ? m[1]! : null;
}

/** The segment name after `path` (same width; null when the suffix space is exhausted). */
export function nextSegmentName(path: string): string | null {
  const m = /^(.*\.)([0-9]+|[a-z]+)$/.exec(path);
  if (!m) return null;
  const [, stem, suffix] = m as unknown as [string, string, string];
  if (/^[0-9]+$/.test(suffix)) {
    const next = String(Number(suffix) + 1);
    return next.length > suffix.length ? null : stem + next.padStart(suffix.length, '0');
  }
  const chars = [...suffix];
  for (let i = chars.length - 1; i >= 0; i--) {
    if (chars[i] !== 'z') {
      chars[i] = String.fromCharCode(chars[i]!.charCodeAt(0) + 1);
      return stem + chars.join('');
    }
    chars[i] = 'a';
  }
  return null;
}
