import { toHex } from '../format/bytes.js';

/**
 * Version of the JSON vocabulary (docs/json.md): every single-object
 * document carries it as "version", every NDJSON stream in its first
 * record ({"record":"header",...}). Fields are only added within a version.
 * 2: the vocabulary of docs/json.md (1 was check's document before it).
 */
export const JSON_VERSION = 3;

/** A single-object document: version and command first, then the command's fields. */
export function jsonDocument(command: string, body: object): Record<string, unknown> {
  return { version: JSON_VERSION, command, ...body };
}

/** The first record of an NDJSON stream (with its line break). */
export function ndjsonHeader(command: string, extra: object = {}): string {
  return toJson({ record: 'header', version: JSON_VERSION, command, ...extra }) + '\n';
}

/**
 * How bigints (u64 values: addresses, ids, generations, byte counts, times
 * in ns) are written: 'number' as exact integer numerals (the default), or
 * 'string' as decimal strings, for parsers (jq, JSON.parse) that round
 * numbers past 2^53. Every bigint field is written the same way whatever its
 * value, so a field's JSON type never depends on its value (docs/json.md).
 */
export type JsonBigint = 'number' | 'string';

let bigintAsString = false;

/** The process-wide bigint form (the CLI's --json-bigint; render threads are told it too). */
export function setJsonBigint(mode: JsonBigint): void {
  bigintAsString = mode === 'string';
}

export function jsonBigint(): JsonBigint {
  return bigintAsString ? 'string' : 'number';
}

/** A u64 as JSON text in the current form: for JSON written by hand (the tree dump's hot path). */
export function u64Json(v: bigint | number): string {
  return bigintAsString && typeof v === 'bigint' ? `"${v}"` : String(v);
}

/**
 * JSON text for decoded values. bigints are written as exact integer
 * numerals (not rounded): a u64 like 18446744073709551608 stays exact for
 * any parser that keeps big integers; or as strings (setJsonBigint). Byte
 * arrays become hex strings, Maps objects; undefined members are left out.
 *
 * Written by hand rather than through JSON.stringify's replacer: a tree dump
 * serialises millions of records and this is its hot path.
 */
export function toJson(value: unknown, indent?: number): string {
  return indent ? (writePretty(value, ' '.repeat(indent), '') ?? 'null') : (write(value) ?? 'null');
}

/** Quoted object keys with their colon: few distinct keys, written millions of times. */
const quotedKeys = new Map<string, string>();
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k) + ':';
    if (quotedKeys.size < 10_000) quotedKeys.set(k, q);
  }
  return q;
}

function write(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'bigint':
      return bigintAsString ? `"${v}"` : v.toString();
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return `"${toHex(v)}"`;
      if (Array.isArray(v)) {
        let s = '[';
        for (let i = 0; i < v.length; i++) s += (i ? ',' : '') + (write(v[i]) ?? 'null');
        return s + ']';
      }
      if (v instanceof Map) return write(Object.fromEntries(v));
      let s = '{';
      let first = true;
      for (const k in v) {
        const w = write((v as Record<string, unknown>)[k]);
        if (w === undefined) continue;
        s += (first ? '' : ',') + quotedKey(k) + w;
        first = false;
      }
      return s + '}';
    }
    default:
      return undefined;
  }
}

function writePretty(v: unknown, step: string, pad: string): string | undefined {
  if (typeof v !== 'object' || v === null || v instanceof Uint8Array) return write(v);
  const inner = pad + step;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return '[\n' + v.map((x) => inner + (writePretty(x, step, inner) ?? 'null')).join(',\n') + '\n' + pad + ']';
  }
  const obj = v instanceof Map ? Object.fromEntries(v) : (v as Record<string, unknown>);
  const parts: string[] = [];
  for (const k in obj) {
    const w = writePretty(obj[k], step, inner);
    if (w !== undefined) parts.push(`${inner}${JSON.stringify(k)}: ${w}`);
  }
  return parts.length ? '{\n' + parts.join(',\n') + '\n' + pad + '}' : '{}';
}

/** An array member written element by element by `writeJsonStream` (its elements are never all in memory). */
export class JsonStreamArray {
  constructor(readonly each: (emit: (v: unknown) => void) => void) {}
}

/** A member whose value is known only once the members before it are written (a count of what they streamed). */
export class JsonLater {
  constructor(readonly get: () => unknown) {}
}

/**
 * Writes what `toJson(value, indent)` would, piece by piece through `out`: JsonStreamArray members
 * are streamed element by element (also inside streamed elements), JsonLater members evaluated
 * when reached. For documents whose arrays can hold millions of entries (a file's extents).
 */
export function writeJsonStream(value: unknown, out: (s: string) => void, indent = 2): void {
  // indent 0: compact, on one line (an NDJSON record whose arrays are streamed).
  const step = ' '.repeat(indent);
  const nl = indent ? '\n' : '';
  const colon = indent ? ': ' : ':';
  const plain = (v: unknown, pad: string) => (indent ? writePretty(v, step, pad) : write(v));
  const streamed = (v: unknown): boolean =>
    v instanceof JsonStreamArray ||
    v instanceof JsonLater ||
    (typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Map) && Object.values(v).some(streamed));
  const emit = (v: unknown, pad: string): boolean => {
    if (v instanceof JsonLater) return emit(v.get(), pad);
    const inner = pad + step;
    if (v instanceof JsonStreamArray) {
      let first = true;
      out('[');
      v.each((x) => {
        out(`${first ? nl : `,${nl}`}${inner}`);
        first = false;
        if (!emit(x, inner)) out('null');
      });
      out(first ? ']' : `${nl}${pad}]`);
      return true;
    }
    if (!streamed(v)) {
      const w = plain(v, pad);
      if (w === undefined) return false;
      out(w);
      return true;
    }
    let first = true;
    out('{');
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined || (!streamed(x) && plain(x, inner) === undefined)) continue;
      out(`${first ? nl : `,${nl}`}${inner}${JSON.stringify(k)}${colon}`);
      first = false;
      emit(x, inner);
    }
    out(first ? '}' : `${nl}${pad}}`);
    return true;
  };
  emit(value, '');
}
