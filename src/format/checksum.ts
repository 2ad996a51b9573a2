import { blake2b } from '@noble/hashes/blake2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import CRC32C from 'crc-32/crc32c.js';
import { CsumType } from './constants.js';
import { XXHASH_WASM_BASE64 } from './xxhashWasm.js';

/**
 * Checksums of superblocks, tree blocks and data sectors. The on-disk csum
 * field is 32 bytes; only the first csumSize bytes are meaningful
 * (crc32c: 4, xxhash64: 8, sha256: 32, blake2b-256: 32). Integer checksums
 * are stored little-endian.
 */

/** The parts of the WebAssembly API used here (the Node type set declares no WebAssembly globals). */
interface WasmApi {
  Module: new (code: Uint8Array) => object;
  Instance: new (module: object) => { exports: object };
}

interface XxhashExports {
  mem: { buffer: ArrayBuffer; grow(pages: number): number };
  /** xxh64(offset in mem, length, seed): the hash as a signed i64. */
  xxh64(ptr: number, len: number, seed: bigint): bigint;
}

let xx: { exports: XxhashExports; bytes: Uint8Array } | undefined;

/**
 * The xxhash64 WebAssembly instance, made on first use: importing this
 * module has no side effect and no top-level await, and checksums stay
 * synchronous (the 3 KiB module compiles synchronously everywhere).
 */
function xxhash(): { exports: XxhashExports; bytes: Uint8Array } {
  if (!xx) {
    const bin = atob(XXHASH_WASM_BASE64);
    const code = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) code[i] = bin.charCodeAt(i);
    const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
    const exports = new wasm.Instance(new wasm.Module(code)).exports as XxhashExports;
    xx = { exports, bytes: new Uint8Array(exports.mem.buffer) };
  }
  return xx;
}

/** xxhash64 (seed 0) of `data`, as btrfs stores it for csum type xxhash64. */
export function xxhash64(data: Uint8Array): bigint {
  const x = xxhash();
  const mem = x.exports.mem;
  if (mem.buffer.byteLength < data.length) {
    mem.grow(Math.ceil((data.length - mem.buffer.byteLength) / 65536));
    x.bytes = new Uint8Array(mem.buffer);
  }
  x.bytes.set(data, 0);
  return BigInt.asUintN(64, x.exports.xxh64(0, data.length, 0n));
}

export const CSUM_NAMES: Record<number, string> = {
  [CsumType.CRC32]: 'crc32c',
  [CsumType.XXHASH]: 'xxhash64',
  [CsumType.SHA256]: 'sha256',
  [CsumType.BLAKE2]: 'blake2b',
};

export function csumSizeOf(type: number): number {
  switch (type) {
    case CsumType.CRC32:
      return 4;
    case CsumType.XXHASH:
      return 8;
    case CsumType.SHA256:
      return 32;
    case CsumType.BLAKE2:
      return 32;
    default:
      return 0;
  }
}

export function isKnownCsumType(type: number): boolean {
  return csumSizeOf(type) !== 0;
}

/** The crc32c in use: the portable JavaScript one unless a host supplied a faster one. */
let crc32cOf: (data: Uint8Array) => number = (data) => CRC32C.buf(data) >>> 0;

/**
 * Replaces the crc32c implementation (a host with a native, hardware-backed
 * one hands it in; this module itself stays free of host APIs). The
 * candidate must agree with the portable one on a test vector set
 * (RFC 3720's 32 zero bytes, and "123456789") or it is refused.
 */
export function useCrc32c(impl: (data: Uint8Array) => number): boolean {
  const zeros = new Uint8Array(32);
  const digits = new TextEncoder().encode('123456789');
  // Standard crc32c check values: 0x8a9136aa (32 zero bytes, RFC 3720 B.4) and 0xe3069283 ("123456789").
  if (impl(zeros) !== 0x8a9136aa || impl(digits) !== 0xe3069283) return false;
  // Agreeing on those, it returns unsigned values: taken as it is, with no wrapper on the hot path.
  crc32cOf = impl;
  return true;
}

/** Computes the checksum of `data` as stored on disk (csumSize bytes). */
export function computeCsum(type: number, data: Uint8Array): Uint8Array {
  switch (type) {
    case CsumType.CRC32: {
      const v = crc32cOf(data);
      return new Uint8Array([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
    }
    case CsumType.XXHASH: {
      let v = xxhash64(data);
      const out = new Uint8Array(8);
      for (let i = 0; i < 8; i++) {
        out[i] = Number(v & 0xffn);
        v >>= 8n;
      }
      return out;
    }
    case CsumType.SHA256:
      return sha256(data);
    case CsumType.BLAKE2:
      return blake2b(data, { dkLen: 32 });
    default:
      throw new RangeError(`unknown checksum type ${type}`);
  }
}

/** crc32c of data as a u32, for the hot path of crc32c filesystems. */
export function crc32c(data: Uint8Array): number {
  return crc32cOf(data);
}

/**
 * True when the checksum of `data` equals the csumSize bytes stored at
 * stored[storedOff]. Allocation-free for crc32c, the common case.
 */
export function csumMatches(type: number, data: Uint8Array, stored: Uint8Array, storedOff: number): boolean {
  if (type === CsumType.CRC32) {
    const v = crc32cOf(data);
    return stored[storedOff] === (v & 0xff) && stored[storedOff + 1] === ((v >>> 8) & 0xff) && stored[storedOff + 2] === ((v >>> 16) & 0xff) && stored[storedOff + 3] === v >>> 24;
  }
  const c = computeCsum(type, data);
  for (let i = 0; i < c.length; i++) if (stored[storedOff + i] !== c[i]) return false;
  return true;
}
