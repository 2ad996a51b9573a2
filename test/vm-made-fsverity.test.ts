import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ItemType } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { readAll } from '../src/fs/fileData.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { parseDumpTree, walkedBlocks } from './helpers/dumpTreeTruth.js';
import { SAMPLES } from './helpers/samples.js';

// sample-images/vm-made/fsverity (vm/make-in-vm.sh): made under Debian's 6.1 kernel in a VM, where
// `fsverity enable` ran on six files. Truth: `fsverity measure` (the kernel's digests) and sha256sum
// recorded in the VM, ls -i for the inode numbers, dump-tree of btrfs-progs 6.19 on the copy.
const DIR = join(SAMPLES, 'vm-made', 'fsverity');
const truth = (f: string) => {
  const b = readFileSync(join(DIR, 'truth', f));
  return (f.endsWith('.gz') ? gunzipSync(b) : b).toString('utf8');
};
const open = () => Filesystem.open([loadRunsImage(join(DIR, 'dev1.runs.gz'))]);
const inodes = new Map([...truth('ls.txt').matchAll(/^\s*(\d+) \S+\s+\d+ \S+\s+\S+\s+\d+ .* (\S+)$/gm)].map((m) => [m[2]!, BigInt(m[1]!)]));

/** The bytes of one inode's items of `type` in the FS tree, placed at their key offset minus `base`. */
function itemBytes(fs: Filesystem, ino: bigint, type: number, base: bigint): Uint8Array {
  const root = fs.roots().find((r) => r.tree === 5n)!;
  const parts: [number, Uint8Array][] = [];
  for (const it of fs.items(root, { objectid: ino, type, offset: base }, { objectid: ino, type, offset: 2n ** 64n - 1n })) {
    parts.push([Number(it.block.key(it.slot).offset - base), it.block.itemData(it.slot)]);
  }
  const out = new Uint8Array(Math.max(0, ...parts.map(([o, d]) => o + d.length)));
  for (const [o, d] of parts) out.set(d, o);
  return out;
}

describe('fs-verity files made by the 6.1 kernel', () => {
  it('every tree block equals dump-tree', () => {
    const fs = open();
    const want = parseDumpTree(truth('dump-tree.txt.gz'));
    const seen = walkedBlocks(fs, [fs.rootTree, fs.chunkTree, ...fs.roots()]);
    expect([...seen.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [bytenr, t] of want) expect(seen.get(bytenr), `block ${bytenr}`).toEqual({ level: t.level, nritems: t.nritems, generation: t.generation, entries: t.entries });
  });

  it("every file reads as the VM's sha256", () => {
    const view = new FsView(open());
    const lines = truth('files.sha256').trim().split('\n');
    expect(lines.length).toBe(7);
    for (const line of lines) {
      const [sha, name] = line.split(/ {2}/);
      const r = view.resolve(name!);
      if (!r.ok) throw new Error(`${name} not found`);
      const { bytes, errors } = readAll(view, r.inode, {});
      expect(errors, name).toEqual([]);
      expect(createHash('sha256').update(bytes).digest('hex'), name).toBe(sha);
    }
  });

  it("the fs-verity descriptor in the VERITY_DESC items hashes to `fsverity measure`'s digest, and the Merkle items to its root hash", () => {
    const fs = open();
    const view = new FsView(fs);
    const measured = [...truth('fsverity-measure.txt').matchAll(/^(sha256|sha512):([0-9a-f]+) (\S+)$/gm)];
    expect(measured.length).toBe(6);
    for (const [, alg, digest, name] of measured) {
      const ino = inodes.get(name!)!;
      // Offset 0 is btrfs_verity_descriptor_item (its le64 size first); the descriptor follows from offset 1.
      const head = itemBytes(fs, ino, ItemType.VERITY_DESC_ITEM, 0n).subarray(0, 8);
      const size = Number(new DataView(head.buffer, head.byteOffset).getBigUint64(0, true));
      const desc = itemBytes(fs, ino, ItemType.VERITY_DESC_ITEM, 1n).slice(0, 256);
      expect(size, name).toBeGreaterThanOrEqual(256);
      // The digest covers the 256-byte fsverity_descriptor with sig_size zeroed (fs/verity/measure.c).
      desc.fill(0, 4, 8);
      expect(createHash(alg!).update(desc).digest('hex'), name).toBe(digest);
      const hashAlg = desc[1] === 1 ? 'sha256' : 'sha512';
      expect(hashAlg).toBe(alg);
      const blockSize = 1 << desc[2]!;
      const digestSize = alg === 'sha256' ? 32 : 64;
      const saltSize = desc[3]!;
      const dataSize = Number(new DataView(desc.buffer).getBigUint64(8, true));
      // fsverity_descriptor: version, hash_algorithm, log_blocksize, salt_size, sig_size (le32), data_size (le64) at 8, root_hash[64] at 16, salt[32] at 80.
      const rootHash = desc.subarray(16, 16 + digestSize);
      const salt = new Uint8Array(saltSize === 0 ? 0 : Math.ceil(saltSize / (alg === 'sha256' ? 64 : 128)) * (alg === 'sha256' ? 64 : 128));
      salt.set(desc.subarray(80, 80 + saltSize));
      const r = view.resolve(name!);
      if (!r.ok) throw new Error(`${name} not found`);
      const data = readAll(view, r.inode, {}).bytes;
      expect(dataSize).toBe(data.length);
      if (data.length === 0) {
        expect(rootHash.every((b) => b === 0)).toBe(true);
        continue;
      }
      // Level 0 from the content, then up to one block: the stored tree keeps the top level first.
      const hashBlocks = (bytes: Uint8Array) => {
        const out = new Uint8Array(Math.ceil(bytes.length / blockSize) * digestSize);
        for (let i = 0; i * blockSize < bytes.length; i++) {
          const blk = new Uint8Array(blockSize);
          blk.set(bytes.subarray(i * blockSize, (i + 1) * blockSize));
          out.set(createHash(alg!).update(salt).update(blk).digest(), i * digestSize);
        }
        return out;
      };
      const levels = [hashBlocks(data)];
      while (levels.at(-1)!.length > digestSize) levels.push(hashBlocks(levels.at(-1)!));
      expect(Buffer.from(levels.at(-1)!).toString('hex'), name).toBe(Buffer.from(rootHash).toString('hex'));
      const merkle = itemBytes(fs, ino, ItemType.VERITY_MERKLE_ITEM, 0n);
      let pos = 0;
      for (const level of levels.slice(0, -1).reverse()) {
        const padded = Math.ceil(level.length / blockSize) * blockSize;
        expect(Buffer.from(merkle.subarray(pos, pos + level.length)).equals(Buffer.from(level)), `${name} Merkle level at ${pos}`).toBe(true);
        pos += padded;
      }
      if (name === 'two-levels-1061233') expect(levels.length).toBe(3);
    }
  });
});
