/**
 * RAID5/RAID6 parity over equal-length stripes, as btrfs (and Linux md)
 * compute it: P is the XOR of the data stripes; Q is the Reed-Solomon
 * syndrome over GF(2^8) with the polynomial x^8+x^4+x^3+x^2+1 (0x11d) and
 * generator g = 2, Q = sum over data index i of g^i * D_i, where i counts the
 * data stripes of a full-stripe row in logical order (0 = first).
 *
 * All functions are pure: inputs are never modified; rebuilt stripes are new
 * arrays, present ones are returned as given. The work is table lookups and
 * 32-bit word operations, without per-byte allocation.
 */

/** A set of stripes that cannot be combined (bad lengths, too many missing). */
export class ParityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParityError';
  }
}

// GF(2^8) tables: EXP[i] = g^i (doubled so EXP[a + b] needs no modulo), LOG[EXP[i]] = i.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

/** Product of two field elements. */
export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

/** g^e for any integer e (negative exponents are inverses). */
function gfPow2(e: number): number {
  return EXP[((e % 255) + 255) % 255]!;
}

/** Quotient a / b of field elements, b nonzero. */
function gfDiv(a: number, b: number): number {
  if (a === 0) return 0;
  return EXP[LOG[a]! + 255 - LOG[b]!]!;
}

/** The 256-entry table of x -> c * x. */
function mulTable(c: number): Uint8Array {
  const t = new Uint8Array(256);
  if (c === 0) return t;
  const lc = LOG[c]!;
  for (let x = 1; x < 256; x++) t[x] = EXP[LOG[x]! + lc]!;
  return t;
}

const aligned = (b: Uint8Array) => (b.byteOffset & 3) === 0;
const words = (b: Uint8Array) => new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);

/** dst ^= src. */
function xorInto(dst: Uint8Array, src: Uint8Array): void {
  const n = dst.length;
  let i = 0;
  if (aligned(dst) && aligned(src) && n >= 16) {
    const d = words(dst);
    const s = words(src);
    for (let w = 0; w < d.length; w++) d[w]! ^= s[w]!;
    i = d.length << 2;
  }
  for (; i < n; i++) dst[i]! ^= src[i]!;
}

/** q = g * q, then q ^= src when src is given (one Horner step). */
function mul2XorInto(q: Uint8Array, src: Uint8Array | null): void {
  const n = q.length;
  let i = 0;
  if (aligned(q) && (!src || aligned(src)) && n >= 16) {
    const d = words(q);
    if (src) {
      const s = words(src);
      for (let w = 0; w < d.length; w++) {
        const v = d[w]!;
        d[w] = ((v & 0x7f7f7f7f) << 1) ^ (((v >>> 7) & 0x01010101) * 0x1d) ^ s[w]!;
      }
    } else {
      for (let w = 0; w < d.length; w++) {
        const v = d[w]!;
        d[w] = ((v & 0x7f7f7f7f) << 1) ^ (((v >>> 7) & 0x01010101) * 0x1d);
      }
    }
    i = d.length << 2;
  }
  for (; i < n; i++) {
    const v = q[i]!;
    q[i] = (v << 1) ^ (v & 0x80 ? 0x1d : 0) ^ (src ? src[i]! : 0);
  }
}

/** The common stripe length; every present stripe must have it. */
function stripeLength(what: string, stripes: readonly (Uint8Array | null)[]): number {
  let len = -1;
  for (const s of stripes) {
    if (!s) continue;
    if (len < 0) len = s.length;
    else if (s.length !== len) throw new ParityError(`${what}: stripes differ in length (${len} and ${s.length} bytes)`);
  }
  if (len < 0) throw new ParityError(`${what}: no stripes present`);
  return len;
}

/** XOR of the present stripes (missing ones count as zero). */
function pSyndrome(data: readonly (Uint8Array | null)[], len: number): Uint8Array {
  const p = new Uint8Array(len);
  let first = true;
  for (const d of data) {
    if (!d) continue;
    if (first) {
      p.set(d);
      first = false;
    } else xorInto(p, d);
  }
  return p;
}

/** Sum of g^i * D_i over the present stripes (missing ones count as zero). */
function qSyndrome(data: readonly (Uint8Array | null)[], len: number): Uint8Array {
  const q = new Uint8Array(len);
  let started = false;
  for (let i = data.length - 1; i >= 0; i--) {
    const d = data[i] ?? null;
    if (!started) {
      if (d) {
        q.set(d);
        started = true;
      }
      continue;
    }
    mul2XorInto(q, d);
  }
  return q;
}

/** P parity: the XOR of the data stripes. */
export function xorParity(data: Uint8Array[]): Uint8Array {
  if (data.length === 0) throw new ParityError('xorParity: no data stripes');
  return pSyndrome(data, stripeLength('xorParity', data));
}

/** RAID6 Q syndrome: sum over i of g^i * D_i in GF(2^8)/0x11d. */
export function raid6Q(data: Uint8Array[]): Uint8Array {
  if (data.length === 0) throw new ParityError('raid6Q: no data stripes');
  if (data.length > 255) throw new ParityError(`raid6Q: ${data.length} data stripes (at most 255)`);
  return qSyndrome(data, stripeLength('raid6Q', data));
}

/**
 * Rebuilds the one missing (null) data stripe of a RAID5 row from the
 * others and P. Returns all data stripes; with none missing, the input's.
 */
export function recoverRaid5(stripes: (Uint8Array | null)[], parity: Uint8Array): Uint8Array[] {
  const len = stripeLength('recoverRaid5', [parity, ...stripes]);
  const missing: number[] = [];
  stripes.forEach((s, i) => {
    if (!s) missing.push(i);
  });
  if (missing.length > 1) throw new ParityError(`recoverRaid5: ${missing.length} data stripes missing (RAID5 rebuilds one)`);
  const out = stripes.slice() as (Uint8Array | null)[];
  if (missing.length === 1) {
    const d = pSyndrome(stripes, len);
    xorInto(d, parity);
    out[missing[0]!] = d;
  }
  return out as Uint8Array[];
}

/**
 * Rebuilds up to two missing (null) stripes among the data, P and Q of a
 * RAID6 row. Returns all data stripes (present ones as given, rebuilt ones
 * new). Cases: one data stripe with P; one data stripe with Q (P missing or
 * ignored); two data stripes with P and Q; only P and/or Q missing (nothing
 * to rebuild). Throws ParityError when more than two are missing.
 */
export function recoverRaid6(data: (Uint8Array | null)[], p: Uint8Array | null, q: Uint8Array | null): Uint8Array[] {
  const n = data.length;
  if (n === 0) throw new ParityError('recoverRaid6: no data stripes');
  if (n > 255) throw new ParityError(`recoverRaid6: ${n} data stripes (at most 255)`);
  const len = stripeLength('recoverRaid6', [p, q, ...data]);
  const missing: number[] = [];
  data.forEach((s, i) => {
    if (!s) missing.push(i);
  });
  const lost = missing.length + (p ? 0 : 1) + (q ? 0 : 1);
  if (lost > 2) {
    throw new ParityError(`recoverRaid6: ${missing.length} data stripes${p ? '' : ', P'}${q ? '' : ', Q'} missing (RAID6 rebuilds two)`);
  }
  const out = data.slice() as (Uint8Array | null)[];
  if (missing.length === 0) return out as Uint8Array[];

  if (missing.length === 1) {
    const x = missing[0]!;
    if (p) {
      // D_x = P ^ sum of the other data stripes.
      const d = pSyndrome(data, len);
      xorInto(d, p);
      out[x] = d;
    } else {
      // Q ^ (Q of the others) = g^x * D_x, so D_x = that * g^-x.
      const qx = qSyndrome(data, len);
      xorInto(qx, q!);
      const t = mulTable(gfPow2(-x));
      for (let i = 0; i < len; i++) qx[i] = t[qx[i]!]!;
      out[x] = qx;
    }
    return out as Uint8Array[];
  }

  // Two data stripes x < y with P and Q:
  //   Pxy = D_x ^ D_y,  Qxy = g^x D_x ^ g^y D_y
  //   D_x = (g^(y-x) Pxy ^ g^-x Qxy) / (g^(y-x) ^ 1),  D_y = Pxy ^ D_x.
  const [x, y] = missing as [number, number];
  const pxy = pSyndrome(data, len);
  xorInto(pxy, p!);
  const qxy = qSyndrome(data, len);
  xorInto(qxy, q!);
  const gyx = gfPow2(y - x);
  const denom = gyx ^ 1;
  const ta = mulTable(gfDiv(gyx, denom));
  const tb = mulTable(gfDiv(gfPow2(-x), denom));
  const dx = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    const a = pxy[i]!;
    const b = ta[a]! ^ tb[qxy[i]!]!;
    dx[i] = b;
    pxy[i] = a ^ b;
  }
  out[x] = dx;
  out[y] = pxy;
  return out as Uint8Array[];
}
