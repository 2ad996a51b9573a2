import { toHex } from '../format/bytes.js';

/**
 * JSON text for decoded values. bigints are written as exact integer
 * numerals (not strings, not rounded): a u64 like 18446744073709551608
 * stays exact for any parser that keeps big integers. Byte arrays become
 * hex strings.
 */
export function toJson(value: unknown, indent?: number): string {
  const marks: string[] = [];
  const text = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') {
      marks.push(v.toString());
      return `\u0000big${marks.length - 1}\u0000`;
    }
    if (v instanceof Uint8Array) return toHex(v);
    if (v instanceof Map) return Object.fromEntries(v);
    return v;
  }, indent);
  if (marks.length === 0) return text;
  return text.replace(/"\\u0000big(\d+)\\u0000"/g, (_m, i: string) => marks[Number(i)]!);
}
