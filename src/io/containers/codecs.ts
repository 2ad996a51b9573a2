import { inflateSync } from 'fflate';
import { Decompress } from 'fzstd';

/**
 * Decompressors of container formats (qcow2 clusters, EWF chunks), bounded:
 * each returns exactly `size` bytes or throws a CodecError saying why (the
 * data ends early, or inflates beyond the size its container allows). The
 * core uses fflate and fzstd; src/io/node injects Node's zlib, which is
 * faster, through the same interface.
 */
export interface ContainerCodecs {
  /** Raw deflate (RFC 1951, no header): exactly `size` bytes. */
  inflateRaw(input: Uint8Array, size: number): Uint8Array;
  /** zlib (RFC 1950: header, deflate, Adler-32): exactly `size` bytes. */
  inflateZlib(input: Uint8Array, size: number): Uint8Array;
  /** One zstd frame (trailing bytes after it ignored): exactly `size` bytes. */
  zstd(input: Uint8Array, size: number): Uint8Array;
  /**
   * Optional: the same inflations off the calling thread (Node's zlib on libuv's thread pool),
   * giving the same bytes or rejecting with the same CodecError. Container sources use them to
   * decode several blocks at once ahead of the reads (ByteSource.decodeAhead); the browser core
   * has none and reads as before.
   */
  readonly async?: AsyncContainerCodecs;
}

/** ContainerCodecs' inflations, asynchronous. */
export interface AsyncContainerCodecs {
  inflateRaw(input: Uint8Array, size: number): Promise<Uint8Array>;
  inflateZlib(input: Uint8Array, size: number): Promise<Uint8Array>;
}

/** Compressed data that does not decompress to the size its container says. */
export class CodecError extends Error {}

/** Largest stored deflate block: how far fflate may write past a bound before it notices. */
const MAX_STORED_BLOCK = 65535;

function exact(out: Uint8Array, size: number, what: string): Uint8Array {
  if (out.length > size) throw new CodecError(`${what} data inflates beyond ${size} bytes`);
  if (out.length < size) throw new CodecError(`${what} data inflates to ${out.length} bytes, not ${size}`);
  return out;
}

function fflateInflate(input: Uint8Array, size: number, what: string): Uint8Array {
  // With a caller's buffer fflate drops output past its end (a stored block crossing it
  // throws a RangeError): one spare byte, plus room for one stored block, shows an overflow.
  const room = new Uint8Array(size + 1 + MAX_STORED_BLOCK);
  let out: Uint8Array;
  try {
    out = inflateSync(input, { out: room });
  } catch (e) {
    if (e instanceof RangeError) throw new CodecError(`${what} data inflates beyond ${size} bytes`);
    throw new CodecError(`${what} data is not valid deflate data (${(e as Error).message})`);
  }
  return exact(out, size, what);
}

const ZSTD_MAGIC = 0xfd2fb528;

/**
 * Where the zstd frame at the start of `input` ends (frame header, blocks,
 * optional checksum), read from the block headers alone: the bytes after it
 * are sector padding, which fzstd would take for a second frame.
 */
export function zstdFrameEnd(input: Uint8Array, size: number): number {
  const bad = (why: string): never => {
    throw new CodecError(`zstd data ${why}`);
  };
  if (input.length < 6) bad('is too short for a frame');
  const magic = (input[0]! | (input[1]! << 8) | (input[2]! << 16) | (input[3]! << 24)) >>> 0;
  if (magic !== ZSTD_MAGIC) bad(`starts with 0x${magic.toString(16)}, not the frame magic`);
  const fhd = input[4]!;
  const single = (fhd >>> 5) & 1;
  const fcsBytes = [single, 2, 4, 8][fhd >>> 6]!;
  let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (fcsBytes && p + fcsBytes <= input.length) {
    let fcs = 0;
    for (let i = 0; i < fcsBytes; i++) fcs += input[p + i]! * 2 ** (8 * i);
    if (fcsBytes === 2) fcs += 256;
    if (fcs > size) bad(`frame declares ${fcs} bytes of content, beyond ${size}`);
  }
  p += fcsBytes;
  // Every block yields at least one byte, so more blocks than `size` allows is damage.
  for (let blocks = 0; ; blocks++) {
    if (p + 3 > input.length) bad('ends inside a block header');
    if (blocks > size) bad(`has more blocks than ${size} bytes of content can need`);
    const h = input[p]! | (input[p + 1]! << 8) | (input[p + 2]! << 16);
    const type = (h >>> 1) & 3;
    if (type === 3) bad(`has a block of the reserved type at byte ${p}`);
    p += 3 + (type === 1 ? 1 : h >>> 3);
    if (p > input.length) bad('ends inside a block');
    if (h & 1) break;
  }
  if (fhd & 4) p += 4;
  if (p > input.length) bad('ends inside its checksum');
  return p;
}

const FULL: unique symbol = Symbol('output full');

function fzstdFrame(input: Uint8Array, size: number): Uint8Array {
  const end = zstdFrameEnd(input, size);
  const out = new Uint8Array(size);
  let pos = 0;
  let beyond = false;
  const d = new Decompress((chunk) => {
    if (pos + chunk.length > size) {
      beyond = true;
      throw FULL;
    }
    out.set(chunk, pos);
    pos += chunk.length;
  });
  try {
    d.push(input.subarray(0, end), true);
  } catch (e) {
    if (e !== FULL) throw new CodecError(`zstd data is not valid (${(e as Error).message})`);
  }
  if (beyond) throw new CodecError(`zstd data inflates beyond ${size} bytes`);
  if (pos < size) throw new CodecError(`zstd data inflates to ${pos} bytes, not ${size}`);
  return out;
}

/** The browser-safe codecs (fflate, fzstd). */
export const defaultCodecs: ContainerCodecs = {
  inflateRaw: (input, size) => fflateInflate(input, size, 'deflate'),
  inflateZlib(input, size) {
    if (input.length < 2 || (input[0]! & 0x0f) !== 8 || ((input[0]! << 8) | input[1]!) % 31 !== 0) {
      throw new CodecError('zlib data has no valid zlib header');
    }
    if (input[1]! & 0x20) throw new CodecError('zlib data asks for a preset dictionary');
    return fflateInflate(input.subarray(2), size, 'zlib');
  },
  zstd: fzstdFrame,
};
