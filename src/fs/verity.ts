import { u64 } from '../format/bytes.js';
import { ItemType } from '../format/constants.js';
import { decodeFsverityDescriptor, type FsverityDescriptor, type MerkleShape, merkleBlockHasher, merkleShape } from '../format/fsverity.js';
import type { FsView } from './FsView.js';
import type { InodeRef } from './types.js';

/** An inode's fs-verity metadata as its VERITY_DESC and VERITY_MERKLE items hold it. */
export interface InodeVerity {
  /** The descriptor; only `errors` when it cannot be decoded. */
  descriptor: FsverityDescriptor | { errors: string[] };
  /** The stored Merkle tree bytes, each item placed at its key offset. */
  tree: Uint8Array;
}

/** Most a descriptor can be: 256 bytes plus a signature (the kernel caps sig_size at 16 KiB). */
const MAX_DESCRIPTOR = 256 + 16384;

/** Concatenates the items of `type` of one inode, each at its key offset minus `base`, up to `max` bytes. */
function itemBytes(view: FsView, ref: InodeRef, type: number, base: bigint, max: number): Uint8Array {
  const parts: [number, Uint8Array][] = [];
  let end = 0;
  for (const { block, slot } of view.objectItems(ref.subvol, ref.ino, type, base, base + BigInt(max) - 1n)) {
    const at = Number(block.key(slot).offset - base);
    const data = block.itemData(slot);
    parts.push([at, data]);
    end = Math.max(end, Math.min(max, at + data.length));
  }
  const out = new Uint8Array(end);
  for (const [at, d] of parts) out.set(d.subarray(0, Math.max(0, end - at)), at);
  return out;
}

/** The inode's fs-verity metadata, or null when it has no VERITY_DESC items. */
export function readInodeVerity(view: FsView, ref: InodeRef): InodeVerity | null {
  // Offset 0 is btrfs_verity_descriptor_item, whose first field is the descriptor's size.
  const head = itemBytes(view, ref, ItemType.VERITY_DESC_ITEM, 0n, 8);
  const body = itemBytes(view, ref, ItemType.VERITY_DESC_ITEM, 1n, MAX_DESCRIPTOR);
  if (head.length === 0 && body.length === 0) return null;
  const size = head.length >= 8 ? u64(head, 0) : BigInt(body.length);
  const descriptor = decodeFsverityDescriptor(body.subarray(0, Number(size < BigInt(body.length) ? size : BigInt(body.length))));
  if (!('digest' in descriptor) || descriptor.digest === undefined || descriptor.errors.length) return { descriptor, tree: new Uint8Array(0) };
  const shape = merkleShape(descriptor);
  const tree = itemBytes(view, ref, ItemType.VERITY_MERKLE_ITEM, 0n, Math.max(1, shape.treeSize));
  return { descriptor, tree };
}

/**
 * Checks a file's content against its fs-verity Merkle tree, fed in file order. The stored tree is
 * checked first (each tree block against its parent's hash, the top against root_hash); then each
 * data block's hash against level 0. The first mismatch is kept and feeding stops counting.
 */
export class VerityVerifier {
  readonly shape: MerkleShape;
  /** The first mismatch, or undefined. */
  mismatch?: { fileOffset?: bigint; treeOffset?: number; message: string };
  private readonly hash: (block: Uint8Array) => Uint8Array;
  private readonly partial: Uint8Array;
  private partialLen = 0;
  private block = 0;

  constructor(
    private readonly desc: FsverityDescriptor,
    private readonly tree: Uint8Array,
  ) {
    this.shape = merkleShape(desc);
    this.hash = merkleBlockHasher(desc);
    this.partial = new Uint8Array(desc.blockSize);
    this.checkTree();
  }

  /** The expected hash of data block `i` (level 0 of the tree, or the root hash for a one-block file). */
  private expected(i: number): Uint8Array {
    const { levelBlocks, levelStart, digestSize } = this.shape;
    if (levelBlocks.length === 0) return this.desc.rootHash;
    const at = levelStart[0]! + i * digestSize;
    return this.tree.subarray(at, at + digestSize);
  }

  private checkTree(): void {
    const { levelBlocks, levelStart, blockSize, digestSize, treeSize } = this.shape;
    if (this.shape.dataBlocks === 0) {
      if (!this.desc.rootHash.every((b) => b === 0)) this.mismatch = { message: 'fs-verity root hash of an empty file is not zero' };
      return;
    }
    if (this.tree.length < treeSize) {
      this.mismatch = { treeOffset: this.tree.length, message: `fs-verity Merkle tree has ${this.tree.length} bytes, needs ${treeSize}` };
      return;
    }
    for (let l = levelBlocks.length - 1; l >= 0; l--) {
      for (let j = 0; j < levelBlocks[l]!; j++) {
        const at = levelStart[l]! + j * blockSize;
        const want = l === levelBlocks.length - 1 ? this.desc.rootHash : this.tree.subarray(levelStart[l + 1]! + j * digestSize, levelStart[l + 1]! + (j + 1) * digestSize);
        if (!same(this.hash(this.tree.subarray(at, at + blockSize)), want)) {
          this.mismatch = { treeOffset: at, message: `fs-verity Merkle tree block at tree offset ${at} does not match ${l === levelBlocks.length - 1 ? 'the root hash' : 'its parent'}` };
          return;
        }
      }
    }
  }

  /** Feeds the next bytes of the file; false once a mismatch is known. */
  update(bytes: Uint8Array): boolean {
    const bs = this.desc.blockSize;
    let i = 0;
    while (i < bytes.length && !this.mismatch) {
      if (this.partialLen === 0 && bytes.length - i >= bs) {
        this.check(bytes.subarray(i, i + bs));
        i += bs;
        continue;
      }
      const n = Math.min(bs - this.partialLen, bytes.length - i);
      this.partial.set(bytes.subarray(i, i + n), this.partialLen);
      this.partialLen += n;
      i += n;
      if (this.partialLen === bs) {
        this.check(this.partial);
        this.partialLen = 0;
      }
    }
    return !this.mismatch;
  }

  /** Checks the last, short block and that the file had data_size bytes; false on a mismatch. */
  finish(): boolean {
    if (this.mismatch) return false;
    if (this.partialLen > 0) this.check(this.partial.subarray(0, this.partialLen));
    if (!this.mismatch && this.block !== this.shape.dataBlocks) {
      this.mismatch = {
        fileOffset: BigInt(this.block) * BigInt(this.desc.blockSize),
        message: `file has ${this.block} fs-verity blocks, the descriptor's data_size ${this.desc.dataSize} needs ${this.shape.dataBlocks}`,
      };
    }
    return !this.mismatch;
  }

  private check(block: Uint8Array): void {
    const i = this.block++;
    if (i >= this.shape.dataBlocks) {
      this.mismatch = { fileOffset: BigInt(i) * BigInt(this.desc.blockSize), message: `file is longer than the fs-verity data_size ${this.desc.dataSize}` };
      return;
    }
    if (!same(this.hash(block), this.expected(i))) {
      this.mismatch = {
        fileOffset: BigInt(i) * BigInt(this.desc.blockSize),
        message: `fs-verity: data block at file offset ${BigInt(i) * BigInt(this.desc.blockSize)} does not match the Merkle tree`,
      };
    }
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
