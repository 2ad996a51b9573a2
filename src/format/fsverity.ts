import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { bytes, defineStruct } from './struct.js';

/**
 * fs-verity (the kernel's fs/verity, include/uapi/linux/fsverity.h). Btrfs stores the
 * descriptor in VERITY_DESC items and the Merkle tree in VERITY_MERKLE items; the format
 * of both is fs-verity's own, the same on every filesystem that supports it.
 */

/** struct fsverity_descriptor: 256 bytes, then sig_size bytes of built-in signature. */
export const fsverityDescriptor = defineStruct('fsverity_descriptor', 256, [
  ['version', 'u8'],
  ['hashAlgorithm', 'u8'],
  ['logBlocksize', 'u8'],
  ['saltSize', 'u8'],
  ['sigSize', 'u32'],
  ['dataSize', 'u64'],
  ['rootHash', bytes(64, 'root hash, digest size used, rest zero')],
  ['salt', bytes(32, 'salt, salt_size used')],
  ['reserved', bytes(144, 'reserved')],
]);

/** An incremental hash state, as @noble/hashes makes them. */
interface HashState {
  update(b: Uint8Array): HashState;
  clone(): HashState;
  digest(): Uint8Array;
}

/** A hash one-shot and incremental, as @noble/hashes' sha256/sha512 are. */
interface NobleHash {
  (msg: Uint8Array): Uint8Array;
  create(): HashState;
}

/** FS_VERITY_HASH_ALG_*: the hash, its digest size and the block size the salt is padded to. */
export const FSVERITY_HASH_ALGS: Readonly<Record<number, { name: string; digestSize: number; blockSize: number; hash: NobleHash }>> = {
  1: { name: 'sha256', digestSize: 32, blockSize: 64, hash: sha256 },
  2: { name: 'sha512', digestSize: 64, blockSize: 128, hash: sha512 },
};

export interface FsverityDescriptor {
  version: number;
  hashAlgorithm: number;
  /** 'sha256', 'sha512', or undefined for an algorithm number fs-verity does not define. */
  algorithmName?: string;
  logBlocksize: number;
  blockSize: number;
  saltSize: number;
  sigSize: number;
  dataSize: bigint;
  /** The digest-size prefix of root_hash (all 64 bytes when the algorithm is unknown). */
  rootHash: Uint8Array;
  salt: Uint8Array;
  /** The digest `fsverity measure` prints: hash of the 256 bytes with sig_size zeroed; undefined for an unknown algorithm. */
  digest?: Uint8Array;
  errors: string[];
}

/** Decodes the descriptor bytes (VERITY_DESC items from offset 1 on, concatenated). */
export function decodeFsverityDescriptor(buf: Uint8Array): FsverityDescriptor | { errors: string[] } {
  const D = fsverityDescriptor;
  if (buf.length < D.size) return { errors: [`fs-verity descriptor has ${buf.length} bytes, needs ${D.size}`] };
  const alg = FSVERITY_HASH_ALGS[D.get.hashAlgorithm(buf, 0)];
  const saltSize = D.get.saltSize(buf, 0);
  const logBlocksize = D.get.logBlocksize(buf, 0);
  const d: FsverityDescriptor = {
    version: D.get.version(buf, 0),
    hashAlgorithm: D.get.hashAlgorithm(buf, 0),
    logBlocksize,
    blockSize: 2 ** logBlocksize,
    saltSize,
    sigSize: D.get.sigSize(buf, 0),
    dataSize: D.get.dataSize(buf, 0),
    rootHash: buf.slice(D.off.rootHash, D.off.rootHash + (alg?.digestSize ?? D.sizeOf.rootHash)),
    salt: buf.slice(D.off.salt, D.off.salt + Math.min(saltSize, D.sizeOf.salt)),
    errors: [],
  };
  if (d.version !== 1) d.errors.push(`fs-verity descriptor version ${d.version}, only 1 is defined`);
  if (!alg) d.errors.push(`fs-verity hash algorithm ${d.hashAlgorithm} is not defined (1 sha256, 2 sha512)`);
  // The kernel accepts blocks from 1 KiB up to the page size; 64 KiB is the largest page size.
  if (logBlocksize < 10 || logBlocksize > 16) d.errors.push(`fs-verity log_blocksize ${logBlocksize} is outside 10..16`);
  if (saltSize > D.sizeOf.salt) d.errors.push(`fs-verity salt_size ${saltSize} exceeds ${D.sizeOf.salt}`);
  if (alg) {
    d.algorithmName = alg.name;
    // fs/verity/measure.c: the file digest covers the fixed part with sig_size zeroed.
    const fixed = buf.slice(0, D.size);
    fixed.fill(0, D.off.sigSize, D.off.sigSize + D.sizeOf.sigSize);
    d.digest = alg.hash(fixed);
  }
  return d;
}

/** The Merkle tree's shape for one descriptor (fs/verity/open.c fsverity_init_merkle_tree_params). */
export interface MerkleShape {
  blockSize: number;
  digestSize: number;
  hashesPerBlock: number;
  dataBlocks: number;
  /** Blocks in each level, level 0 (hashes of data blocks) first. Empty when the file has at most one block. */
  levelBlocks: number[];
  /** Byte offset of each level in the stored tree, which keeps the top level first. */
  levelStart: number[];
  /** Bytes of the stored tree. */
  treeSize: number;
}

export function merkleShape(desc: FsverityDescriptor): MerkleShape {
  const alg = FSVERITY_HASH_ALGS[desc.hashAlgorithm]!;
  const blockSize = desc.blockSize;
  const hashesPerBlock = Math.floor(blockSize / alg.digestSize);
  const dataBlocks = Math.ceil(Number(desc.dataSize) / blockSize);
  const levelBlocks: number[] = [];
  for (let n = dataBlocks; n > 1; ) {
    n = Math.ceil(n / hashesPerBlock);
    levelBlocks.push(n);
  }
  const levelStart = new Array<number>(levelBlocks.length);
  let at = 0;
  for (let l = levelBlocks.length - 1; l >= 0; l--) {
    levelStart[l] = at * blockSize;
    at += levelBlocks[l]!;
  }
  return { blockSize, digestSize: alg.digestSize, hashesPerBlock, dataBlocks, levelBlocks, levelStart, treeSize: at * blockSize };
}

/**
 * Hashes one block as fs-verity does: hash(salt padded with zeros to the hash's block size ||
 * block padded with zeros to blockSize). The salted state is made once and cloned per block.
 */
export function merkleBlockHasher(desc: FsverityDescriptor): (block: Uint8Array) => Uint8Array {
  const alg = FSVERITY_HASH_ALGS[desc.hashAlgorithm]!;
  const salted = alg.hash.create();
  if (desc.saltSize > 0) {
    const padded = new Uint8Array(Math.ceil(desc.salt.length / alg.blockSize) * alg.blockSize);
    padded.set(desc.salt);
    salted.update(padded);
  }
  const pad = new Uint8Array(desc.blockSize);
  return (block) => {
    const h = salted.clone();
    h.update(block);
    if (block.length < desc.blockSize) h.update(pad.subarray(block.length));
    return h.digest();
  };
}
