/**
 * Text for XML 1.0 content and attribute values: the five markup characters
 * as entities, and the characters XML 1.0 cannot hold at all, even escaped
 * (most C0 controls, U+FFFE, U+FFFF), as \xNN text.
 */
export const xmlText = (s: string): string =>
  s
    .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
