import { i64, u8, u16, u32, u64, u64n, uuidAt } from './bytes.js';

/**
 * One definition per on-disk struct, from which its field offsets and
 * zero-allocation accessors are generated (as btrfs-fuse generates one
 * accessor per field from BTRFS_SETGET_FUNCS).
 *
 * Btrfs structs are packed (__attribute__((packed)), little-endian), so a
 * struct is its fields in order: each offset is the sum of the sizes before
 * it. A field may name an explicit offset instead (a C union: two views of
 * the same bytes). `defineStruct` checks at load time that the fields add
 * up to the struct's size, so a wrong size or a missing field cannot load.
 *
 * Accessors are plain `(buf, off) => value` functions made once per field
 * at module load; a call reads `buf` at `off` plus a constant and allocates
 * nothing (u64 fields return a bigint, as bytes.ts does). Composite fields
 * (keys, uuids, timespecs, nested structs, reserved bytes) have an offset
 * and size only: callers decode them with their own decoder.
 */

/** Field types with a scalar accessor. */
export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 'i64' | 'uuid';

/** A field: a scalar, or `n` bytes of something decoded elsewhere (key, timespec, nested struct, reserved). */
export type FieldType = ScalarType | { bytes: number; what: string };

/** `[name, type]` at the running offset, or `[name, type, offset]` at an explicit one (a union member). */
export type FieldDef = readonly [string, FieldType] | readonly [string, FieldType, number];

type ValueOf<T> = T extends 'u64' | 'i64' ? bigint : T extends 'uuid' ? string : T extends 'u8' | 'u16' | 'u32' ? number : never;
type ScalarFields<F extends readonly FieldDef[]> = { [D in F[number] as D[1] extends ScalarType ? D[0] : never]: D[1] };
type U64Fields<F extends readonly FieldDef[]> = { [D in F[number] as D[1] extends 'u64' ? D[0] : never]: D[1] };

export type Accessor<V> = (buf: Uint8Array, off: number) => V;

export interface Struct<F extends readonly FieldDef[]> {
  /** The C name (btrfs_inode_item, ...). */
  readonly name: string;
  /** Size in bytes (sizeof). */
  readonly size: number;
  /** Offset of every field from the start of the struct. */
  readonly off: { readonly [K in F[number][0]]: number };
  /** Size of every field in bytes. */
  readonly sizeOf: { readonly [K in F[number][0]]: number };
  /** Accessor of every scalar field: `get.mode(buf, structStart)`. */
  readonly get: { readonly [K in keyof ScalarFields<F>]: Accessor<ValueOf<ScalarFields<F>[K]>> };
  /**
   * Accessor of every u64 field as a number, for hot paths (bytes.ts u64n):
   * exact below 2^53, Infinity from there on (then read it with `get`).
   */
  readonly num: { readonly [K in keyof U64Fields<F>]: Accessor<number> };
  /** The table the rest was made from (for docs and tests). */
  readonly fields: readonly { name: string; offset: number; size: number; type: string }[];
}

const SCALAR_SIZE: Record<ScalarType, number> = { u8: 1, u16: 2, u32: 4, u64: 8, i64: 8, uuid: 16 };

// One factory per type, each returning a closure over a constant offset (made at load, never per call).
function accessor(type: ScalarType, at: number): Accessor<number | bigint | string> {
  switch (type) {
    case 'u8':
      return (buf, off) => u8(buf, off + at);
    case 'u16':
      return (buf, off) => u16(buf, off + at);
    case 'u32':
      return (buf, off) => u32(buf, off + at);
    case 'u64':
      return (buf, off) => u64(buf, off + at);
    case 'i64':
      return (buf, off) => i64(buf, off + at);
    case 'uuid':
      return (buf, off) => uuidAt(buf, off + at);
  }
}

/** Bytes of a composite field: `bytes(17, 'btrfs_disk_key')`. */
export function bytes(n: number, what: string): FieldType {
  return { bytes: n, what };
}

export function defineStruct<const F extends readonly FieldDef[]>(name: string, size: number, fields: F): Struct<F> {
  const off: Record<string, number> = {};
  const sizeOf: Record<string, number> = {};
  const get: Record<string, Accessor<unknown>> = {};
  const num: Record<string, Accessor<number>> = {};
  const table: { name: string; offset: number; size: number; type: string }[] = [];
  let cursor = 0;
  let end = 0;
  for (const f of fields) {
    const [fname, type] = f;
    const at = f.length === 3 ? f[2] : cursor;
    const n = typeof type === 'string' ? SCALAR_SIZE[type] : type.bytes;
    if (fname in off) throw new Error(`${name}: field ${fname} defined twice`);
    off[fname] = at;
    sizeOf[fname] = n;
    if (typeof type === 'string') get[fname] = accessor(type, at);
    if (type === 'u64') num[fname] = (buf, off) => u64n(buf, off + at);
    table.push({ name: fname, offset: at, size: n, type: typeof type === 'string' ? type : type.what });
    if (f.length !== 3) cursor = at + n;
    end = Math.max(end, at + n);
  }
  if (end !== size) throw new Error(`${name}: fields end at ${end}, struct size is ${size}`);
  return { name, size, off, sizeOf, get, num, fields: table } as unknown as Struct<F>;
}
