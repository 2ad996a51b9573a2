import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { computeCsum } from '../src/format/checksum.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import { FsView } from '../src/fs/FsView.js';
import { fileExtents, readAll } from '../src/fs/fileData.js';
import { readInodeVerity, VerityVerifier } from '../src/fs/verity.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
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

  const measured = () => [...truth('fsverity-measure.txt').matchAll(/^(sha256|sha512):([0-9a-f]+) (\S+)$/gm)].map((m) => ({ digest: `${m[1]}:${m[2]}`, name: m[3]! }));
  const IMG = join(DIR, 'dev1.runs.gz');

  it("stat --json's verity digest is `fsverity measure`'s, and the core reads the same descriptor", async () => {
    const files = measured();
    expect(files.length).toBe(6);
    const view = new FsView(open());
    for (const { digest, name } of files) {
      const r = await cli('stat', IMG, `/${name}`, '--json');
      expect(r.code, `${name} ${r.stderr}`).toBe(0);
      const v = (parseJsonExact(r.stdout) as { verity: { digest: string; dataSize: number; algorithm: string } }).verity;
      expect(v.digest, name).toBe(digest);
      expect(v.algorithm).toBe(digest.split(':')[0]);
      expect(v.dataSize).toBe(Number(name.match(/(\d+)$/)?.[1] ?? (name === 'one-byte' ? 1 : 0)));
      const loc = view.resolve(name);
      if (!loc.ok) throw new Error(`${name} not found`);
      expect(readInodeVerity(view, loc.inode)).not.toBeNull();
    }
    const plain = view.resolve('not-verity-20000');
    if (!plain.ok) throw new Error('not-verity-20000 not found');
    expect(readInodeVerity(view, plain.inode)).toBeNull();
    expect((await cli('stat', IMG, '/not-verity-20000')).stdout).not.toContain('fs-verity');
  });

  it("cat of each fs-verity file passes the Merkle check and writes the VM's sha256", async () => {
    const sums = new Map(
      truth('files.sha256')
        .trim()
        .split('\n')
        .map((l) => l.split(/ {2}/).reverse() as [string, string]),
    );
    for (const { name } of measured()) {
      const r = await cli('cat', IMG, `/${name}`);
      expect(r.code, `${name} ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
      expect(createHash('sha256').update(r.stdoutBytes).digest('hex'), name).toBe(sums.get(name));
    }
  });

  it('cat names the file offset of a content byte that no longer matches the Merkle tree (data checksum made to match)', async () => {
    // A copy of the image with one byte of two-levels-1061233 changed, and its data checksum (and the
    // csum leaf's own checksum, on both DUP copies) recomputed: only fs-verity can tell.
    const fs = open();
    const view = new FsView(fs);
    const loc = view.resolve('two-levels-1061233');
    if (!loc.ok) throw new Error('not found');
    const fileOffset = 5n * 4096n + 123n;
    const ext = [...fileExtents(view, loc.inode)].find((e) => e.fileOffset <= fileOffset && fileOffset < e.fileOffset + e.length)!;
    expect(ext.kind).toBe('regular');
    expect(ext.compression).toBe(0);
    const logical = ext.diskBytenr + ext.offset + (fileOffset - ext.fileOffset);
    const raw = Buffer.from(gunzipSync(readFileSync(IMG)));
    const nl = raw.indexOf(10, raw.indexOf(10) + 1);
    const index = JSON.parse(raw.subarray(raw.indexOf(10) + 1, nl).toString()) as { runs: [number, number][] };
    // The runs format keeps only the image's nonzero runs: a byte outside them reads as zero and
    // cannot be changed (put throws then, and the test would say so).
    const starts: [number, number, number][] = [];
    let pos = nl + 1;
    for (const [off, len] of index.runs) {
      starts.push([off, len, pos]);
      pos += len;
    }
    const find = (p: number) => starts.find(([off, len]) => p >= off && p < off + len);
    const get = (physical: bigint, n: number) =>
      Uint8Array.from({ length: n }, (_, i) => {
        const r = find(Number(physical) + i);
        return r ? raw[r[2] + Number(physical) + i - r[0]]! : 0;
      });
    const put = (physical: bigint, bytes: Uint8Array) => {
      const old = get(physical, bytes.length);
      bytes.forEach((b, i) => {
        if (b === old[i]) return;
        const r = find(Number(physical) + i);
        if (!r) throw new Error(`physical ${physical + BigInt(i)} is outside the image's runs`);
        raw[r[2] + Number(physical) + i - r[0]] = b;
      });
    };
    const sb = fs.superblock;
    const sectorLogical = logical - (logical % BigInt(sb.sectorsize));
    const [copy] = fs.volume.map(sectorLogical)!.copies;
    const sector = get(copy!.physical, sb.sectorsize);
    const flip = Number(logical - sectorLogical);
    sector[flip] = sector[flip]! ^ 0x5a;
    put(copy!.physical, sector);
    const csumRoot = fs.globalRoots(ObjectId.CSUM_TREE)[0]!;
    const it = [...fs.items(csumRoot)].find((i) => {
      const start = i.block.key(i.slot).offset;
      return start <= sectorLogical && sectorLogical < start + BigInt(i.block.itemSize(i.slot) / sb.csumSize) * BigInt(sb.sectorsize);
    })!;
    const inLeaf = it.block.itemOffset(it.slot) + Number((sectorLogical - it.block.key(it.slot).offset) / BigInt(sb.sectorsize)) * sb.csumSize;
    const leaf = Uint8Array.from(it.block.data);
    leaf.set(computeCsum(sb.csumType, sector), inLeaf);
    leaf.set(computeCsum(sb.csumType, leaf.subarray(32)), 0);
    for (const c of fs.volume.map(it.block.logical)!.copies) put(c.physical, leaf);
    const dir = mkdtempSync(join(tmpdir(), 'fsverity-'));
    try {
      const img = join(dir, 'flipped.runs');
      writeFileSync(img, raw);
      const r = await cli('cat', img, '/two-levels-1061233');
      expect(r.code).toBe(1);
      // The data checksum matches (no checksum error, no finding): the one complaint is fs-verity's.
      expect(r.stderr).toBe('btrfs-inspect: /two-levels-1061233: fs-verity: data block at file offset 20480 does not match the Merkle tree\n');
      const good = (await cli('cat', IMG, '/two-levels-1061233')).stdoutBytes;
      // What was written before cat stopped is the file's own bytes, none past the bad block.
      expect(r.stdoutBytes.length).toBeLessThanOrEqual(20480);
      expect(r.stdoutBytes.equals(good.subarray(0, r.stdoutBytes.length))).toBe(true);
      // The data checksum was made to match: without fs-verity the changed byte reads back.
      const nv = await cli('cat', img, '/two-levels-1061233', '--no-verify');
      expect(nv.code).toBe(0);
      expect(nv.stderr).toBe('/two-levels-1061233: data checksums and fs-verity are not verified (--no-verify)\n');
      expect(nv.stdoutBytes[Number(fileOffset)]).toBe(good[Number(fileOffset)]! ^ 0x5a);
      const others = await cli('cat', img, '/salted-70000');
      expect(others.stderr).toBe('');
      expect(others.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a changed Merkle tree block is named by its tree offset: the top level against the root hash, a lower one against its parent', () => {
    const view = new FsView(open());
    const loc = view.resolve('two-levels-1061233');
    if (!loc.ok) throw new Error('not found');
    const v = readInodeVerity(view, loc.inode)!;
    if (!('digest' in v.descriptor)) throw new Error(v.descriptor.errors.join('; '));
    // 260 data blocks of 4096 bytes, 128 sha256 hashes a block: level 0 is 3 blocks, level 1 one block, stored first.
    expect(v.tree.length).toBe(4 * 4096);
    const good = new VerityVerifier(v.descriptor, v.tree);
    expect(good.shape.levelBlocks).toEqual([3, 1]);
    expect(good.mismatch).toBeUndefined();
    for (const [at, want] of [
      [17, 'fs-verity Merkle tree block at tree offset 0 does not match the root hash'],
      [2 * 4096 + 17, 'fs-verity Merkle tree block at tree offset 8192 does not match its parent'],
    ] as const) {
      const tree = v.tree.slice();
      tree[at] = tree[at]! ^ 1;
      expect(new VerityVerifier(v.descriptor, tree).mismatch?.message).toBe(want);
    }
  });
});
