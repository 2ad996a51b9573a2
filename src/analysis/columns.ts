/**
 * Growable typed-array columns: analyses of large filesystems keep rows of
 * typed arrays instead of one object per row (an object with a few bigint
 * fields costs ~250 bytes of heap and the garbage collector's time).
 */
export type Column = Uint8Array | Uint32Array | BigUint64Array;

/** `a`, or a copy with room for at least `need` entries (capacity doubles). */
export function grown<T extends Column>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 1024));
  (b as Column).set(a as never);
  return b;
}

/** Shrinks a column to its used length (no copy when full). */
export function trimmed<T extends Column>(a: T, n: number): T {
  return (n === a.length ? a : a.slice(0, n)) as T;
}
