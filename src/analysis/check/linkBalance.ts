/**
 * A multiset of directory links (directory, target inode, name) kept as a
 * balance: one side of a pair adds 1, the other side takes 1 away, and an
 * entry that comes back to 0 is dropped. What is left at the end is every
 * link one side of which is missing, so memory follows the links whose
 * halves have not met yet, not the size of the tree. Links are stored as
 * 52-bit hashes in typed arrays (no object per link); for each open entry
 * the directory and target ids (as doubles: exact below 2^53) and the place
 * of its first half (block, slot, offset in the item) are kept, so the
 * caller can excuse it without reading anything and read the name back for
 * a message.
 */
export class LinkBalance {
  private bits = 10;
  private keys = new Float64Array(1 << this.bits);
  private counts = new Int32Array(1 << this.bits);
  private blocks = new BigUint64Array(1 << this.bits);
  private places = new Uint32Array(1 << this.bits);
  private dirs = new Float64Array(1 << this.bits);
  private targets = new Float64Array(1 << this.bits);
  private used = 0;

  get size(): number {
    return this.used;
  }

  /**
   * Adds `delta` to the link with hash `key` (from linkHash). Returns the
   * slot of a newly opened entry, for `place`; -1 when the link already had
   * an entry or came back to 0.
   */
  add(key: number, delta: number): number {
    const mask = this.keys.length - 1;
    let i = this.home(key);
    for (;;) {
      const k = this.keys[i]!;
      if (k === 0) break;
      if (k === key) {
        const c = this.counts[i]! + delta;
        if (c === 0) this.remove(i);
        else this.counts[i] = c;
        return -1;
      }
      i = (i + 1) & mask;
    }
    this.keys[i] = key;
    this.counts[i] = delta;
    this.used++;
    if (this.used * 2 > this.keys.length) return this.grow(key);
    return i;
  }

  /** The link of the entry opened at `slot`, and where its first half is: block logical, item slot, offset of the link in the item. */
  place(slot: number, dir: number, target: number, block: bigint, item: number, offset: number): void {
    this.dirs[slot] = dir;
    this.targets[slot] = target;
    this.blocks[slot] = block;
    // Leaf items number fewer than 2^16 / 25 and lie within 64 KiB: both fit in 16 bits.
    this.places[slot] = item * 0x10000 + offset;
  }

  /** Every open entry: its count (how many more of the adding side) and the place of its first half. */
  *open(): Generator<{ count: number; dir: number; target: number; block: bigint; item: number; offset: number }> {
    for (let i = 0; i < this.keys.length; i++) {
      if (this.keys[i] === 0) continue;
      const p = this.places[i]!;
      yield { count: this.counts[i]!, dir: this.dirs[i]!, target: this.targets[i]!, block: this.blocks[i]!, item: Math.floor(p / 0x10000), offset: p & 0xffff };
    }
  }

  private home(key: number): number {
    const hi = Math.floor(key / 0x100000),
      lo = key - hi * 0x100000;
    return Math.imul(hi ^ Math.imul(lo, 0x85ebca6b), 0x9e3779b1) >>> (32 - this.bits);
  }

  /** Backward-shift deletion: later entries of the probe run move up so lookups never stop at a hole too early. */
  private remove(i: number): void {
    const mask = this.keys.length - 1;
    this.used--;
    let hole = i;
    for (let j = (i + 1) & mask; this.keys[j] !== 0; j = (j + 1) & mask) {
      const h = this.home(this.keys[j]!);
      // Entry j may fill the hole when its home is not cyclically inside (hole, j].
      if (hole <= j ? h > hole && h <= j : h > hole || h <= j) continue;
      this.keys[hole] = this.keys[j]!;
      this.counts[hole] = this.counts[j]!;
      this.blocks[hole] = this.blocks[j]!;
      this.places[hole] = this.places[j]!;
      this.dirs[hole] = this.dirs[j]!;
      this.targets[hole] = this.targets[j]!;
      hole = j;
    }
    this.keys[hole] = 0;
  }

  private grow(justAdded: number): number {
    const { keys, counts, blocks, places, dirs, targets } = this;
    this.bits++;
    const n = 1 << this.bits,
      mask = n - 1;
    this.keys = new Float64Array(n);
    this.counts = new Int32Array(n);
    this.blocks = new BigUint64Array(n);
    this.places = new Uint32Array(n);
    this.dirs = new Float64Array(n);
    this.targets = new Float64Array(n);
    let at = -1;
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j]!;
      if (k === 0) continue;
      let i = this.home(k);
      while (this.keys[i] !== 0) i = (i + 1) & mask;
      this.keys[i] = k;
      this.counts[i] = counts[j]!;
      this.blocks[i] = blocks[j]!;
      this.places[i] = places[j]!;
      this.dirs[i] = dirs[j]!;
      this.targets[i] = targets[j]!;
      if (k === justAdded) at = i;
    }
    return at;
  }
}

/**
 * A 52-bit hash of a link: directory and target object ids (read as their
 * little-endian u32 halves where they lie, so no bigint is made) and the
 * name bytes. Two independent 32-bit lanes; never 0 (0 marks an empty slot).
 */
export function linkHash(dirBytes: Uint8Array, dirAt: number, targetBytes: Uint8Array, targetAt: number, name: Uint8Array, nameAt: number, nameLen: number): number {
  let a = 0x2f0b3c1d,
    b = 0x6a09e667;
  for (let w = 0; w < 4; w++) {
    const src = w < 2 ? dirBytes : targetBytes,
      at = (w < 2 ? dirAt : targetAt) + (w & 1) * 4;
    const v = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16) | (src[at + 3]! << 24);
    a = Math.imul(a ^ v, 0x5bd1e995);
    a ^= a >>> 15;
    b = Math.imul(b ^ v, 0xcc9e2d51);
    b = (b << 13) | (b >>> 19);
  }
  for (let i = 0; i < nameLen; i++) {
    const c = name[nameAt + i]!;
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x1b873593) + 0x7f4a7c15;
  }
  a ^= nameLen;
  b ^= nameLen;
  a = fmix(a);
  b = fmix(b ^ 0x9e3779b9);
  const key = (a >>> 0) * 0x100000 + (b >>> 12);
  return key === 0 ? 1 : key;
}

/** MurmurHash3's 32-bit finalizer: every input bit reaches every output bit. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
