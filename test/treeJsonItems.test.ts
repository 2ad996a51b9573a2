import { describe, expect, it } from 'vitest';
import { ItemType } from '../src/format/constants.js';
import { dirItem } from '../src/format/items/dir.js';
import { decodeItem } from '../src/format/items/index.js';
import { inodeItem, inodeRef } from '../src/format/items/inode.js';
import { diskKey } from '../src/format/key.js';
import { TreeBlock } from '../src/format/treeBlock.js';
import { dumpAll, printContextOf } from '../src/report/dumpTree.js';
import { setJsonBigint, toJson } from '../src/report/json.js';
import { treeBlockJson } from '../src/report/treeJson.js';
import { openSample, sampleNames } from './helpers/samples.js';

/**
 * The NDJSON dump writes full inode items, directory entries, xattrs and inode refs straight from
 * the leaf (treeJson.ts): every one of them in the sample images must read as the generic writer's
 * JSON of the decoded item, in both bigint forms, and so must values at the edges (u64 past 2^53,
 * negative times).
 */
const ITEM = /^\{"record":"item","block":"?(\d+)"?,"slot":(\d+),.*,"item":(\{"kind":"(inode_item|dir_item|dir_index|xattr_item|inode_ref)".*\})\}$/;

describe.each(['number', 'string'] as const)('inode items in NDJSON, bigints as %s', (mode) => {
  it.each(sampleNames())('%s: each is the generic JSON of the decoded item', (name) => {
    const kinds = new Map<string, number>();
    setJsonBigint(mode);
    try {
      const fs = openSample(name);
      const ctx = printContextOf(fs);
      const chunks: Uint8Array[] = [];
      dumpAll(fs, (b) => chunks.push(b.slice()), { format: 'json', order: 'dfs', emitted: new Set() });
      const lines = new TextDecoder().decode(Buffer.concat(chunks)).split('\n');
      let n = 0;
      for (const line of lines) {
        const m = ITEM.exec(line);
        if (!m) continue;
        const r = fs.reader.read({ logical: BigInt(m[1]!) });
        const b = (r.block ?? r.damaged)!;
        const slot = Number(m[2]);
        expect(m[3]).toBe(toJson(decodeItem(b.key(slot), b.itemData(slot), ctx)));
        kinds.set(m[4]!, (kinds.get(m[4]!) ?? 0) + 1);
        n++;
      }
      expect(n).toBeGreaterThan(0);
      // Every filesystem has its root directory's inode item, its ".." ref and, past mkfs, names in it.
      for (const k of ['inode_item', 'inode_ref']) expect(kinds.get(k), `${name}: ${k}`).toBeGreaterThan(0);
    } finally {
      setJsonBigint('number');
    }
  });

  it('values past 2^53 and negative times are exact', () => {
    setJsonBigint(mode);
    try {
      const fs = openSample('default');
      const ctx = printContextOf(fs);
      // The first leaf of the fs tree starts with the root directory's inode item (slot 0).
      const root = fs.treeRoot(5n)!;
      let b = fs.reader.read({ logical: root.bytenr }).block!;
      while (b.level > 0) b = fs.reader.read({ logical: b.blockPtr(0) }).block!;
      const d = b.data.slice();
      const o = b.itemOffset(0);
      const v = new DataView(d.buffer);
      v.setBigUint64(o + inodeItem.off.size, 2n ** 64n - 1n, true);
      v.setBigUint64(o + inodeItem.off.generation, 2n ** 53n, true);
      v.setBigInt64(o + inodeItem.off.atime, -1n, true);
      v.setBigInt64(o + inodeItem.off.mtime, -(2n ** 62n), true);
      const copy = new TreeBlock(d, b.logical);
      const item = decodeItem(copy.key(0), copy.itemData(0), ctx);
      expect(item.kind).toBe('inode_item');
      const line = treeBlockJson(copy, ctx, copy.nritems).split('\n')[1]!;
      expect(ITEM.exec(line)?.[3]).toBe(toJson(item));
      expect(line).toContain(mode === 'string' ? '"size":"18446744073709551615"' : '"size":18446744073709551615');
      expect(line).toContain(mode === 'string' ? '"atime":{"sec":"-1"' : '"atime":{"sec":-1');
    } finally {
      setJsonBigint('number');
    }
  });

  it('directory entries and inode refs with u64 fields past 2^53 are exact', () => {
    setJsonBigint(mode);
    try {
      const fs = openSample('default');
      const ctx = printContextOf(fs);
      const root = fs.treeRoot(5n)!;
      let b = fs.reader.read({ logical: root.bytenr }).block!;
      while (b.level > 0) b = fs.reader.read({ logical: b.blockPtr(0) }).block!;
      const slotOf = (type: number) => Array.from({ length: b.nritems }, (_, i) => i).find((i) => b.keyType(i) === type)!;
      const dirIndex = slotOf(ItemType.DIR_INDEX);
      const ref = slotOf(ItemType.INODE_REF);
      expect(dirIndex).toBeDefined();
      expect(ref).toBeDefined();
      const d = b.data.slice();
      const v = new DataView(d.buffer);
      const e = b.itemOffset(dirIndex);
      // A subvolume link's location offset is (u64)-1; a transid past 2^53 takes the bigint path.
      v.setBigUint64(e + dirItem.off.location + diskKey.off.offset, 2n ** 64n - 1n, true);
      v.setBigUint64(e + dirItem.off.transid, 2n ** 53n + 1n, true);
      v.setBigUint64(b.itemOffset(ref) + inodeRef.off.index, 2n ** 63n, true);
      const copy = new TreeBlock(d, b.logical);
      const lines = treeBlockJson(copy, ctx, copy.nritems).split('\n');
      for (const slot of [dirIndex, ref]) {
        const m = ITEM.exec(lines[slot + 1]!);
        expect(m?.[3]).toBe(toJson(decodeItem(copy.key(slot), copy.itemData(slot), ctx)));
      }
      const q = mode === 'string' ? '"' : '';
      expect(lines[dirIndex + 1]).toContain(`"offset":${q}18446744073709551615${q}}`);
      expect(lines[dirIndex + 1]).toContain(`"transid":${q}9007199254740993${q}`);
      expect(lines[ref + 1]).toContain(`"index":${q}9223372036854775808${q}`);
    } finally {
      setJsonBigint('number');
    }
  });
});
