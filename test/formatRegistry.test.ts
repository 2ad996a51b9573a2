import { describe, expect, test } from 'vitest';
import { ITEM_CHECKS } from '../src/analysis/check/items.js';
import { ItemType } from '../src/format/constants.js';
import { dirItem } from '../src/format/items/dir.js';
import { fileExtentItem } from '../src/format/items/fileExtent.js';
import { ITEM_TYPE_BY_NUMBER, ITEM_TYPES, progsTypeNames } from '../src/format/items/index.js';
import { inodeItem, inodeRef } from '../src/format/items/inode.js';
import { rootItem } from '../src/format/items/root.js';
import { diskKey } from '../src/format/key.js';
import { defineStruct } from '../src/format/struct.js';
import { blockHeader, keyPtr, leafItem } from '../src/format/treeBlock.js';
import { RENDERERS } from '../src/report/printTree/items.js';

// Offsets and sizes as btrfs-progs' own headers state them (kernel-shared/uapi/btrfs_tree.h,
// ctree.h; e.g. offsetof(struct btrfs_inode_item, mode) == 52), an independent truth for the
// offsets defineStruct computes from the field lists.
describe('struct layouts against btrfs_tree.h', () => {
  test('sizes', () => {
    expect([diskKey.size, blockHeader.size, leafItem.size, keyPtr.size]).toEqual([17, 101, 25, 33]);
    expect([inodeItem.size, dirItem.size, inodeRef.size, fileExtentItem.size, rootItem.size]).toEqual([160, 30, 10, 53, 439]);
  });
  test('offsets', () => {
    expect(inodeItem.off).toMatchObject({ size: 16, nbytes: 24, nlink: 40, mode: 52, flags: 64, atime: 112, otime: 148 });
    expect(dirItem.off).toMatchObject({ transid: 17, dataLen: 25, nameLen: 27, type: 29 });
    expect(fileExtentItem.off).toMatchObject({ compression: 16, type: 20, diskBytenr: 21, offset: 37, numBytes: 45 });
    expect(rootItem.off).toMatchObject({ generation: 160, bytenr: 176, refs: 216, dropProgress: 220, level: 238, generationV2: 239, uuid: 247, rtime: 363 });
    expect(blockHeader.off).toMatchObject({ fsid: 0x20, bytenr: 0x30, generation: 0x50, owner: 0x58, nritems: 0x60, level: 0x64 });
  });
  test('accessors read little-endian at the field offset', () => {
    const b = new Uint8Array(200);
    b[100 + 52] = 0xa4;
    b[100 + 53] = 0x81; // mode 0o100644 in an inode item at 100
    expect(inodeItem.get.mode(b, 100)).toBe(0o100644);
    b[100 + 16] = 5;
    b[100 + 22] = 0x20; // size 2^53 + 5
    expect(inodeItem.get.size(b, 100)).toBe((1n << 53n) + 5n);
    expect(inodeItem.num.size(b, 100)).toBe(Infinity);
  });
  test('a field list that does not add up to the size is refused', () => {
    expect(() => defineStruct('x', 9, [['a', 'u64']])).toThrow(/fields end at 8/);
  });
});

describe('item registry', () => {
  test('one entry per key type, every ItemType registered', () => {
    for (const t of Object.values(ItemType)) expect(ITEM_TYPE_BY_NUMBER[t]?.type).toBe(t);
    expect(new Set(ITEM_TYPES.map((e) => e.type)).size).toBe(ITEM_TYPES.length);
  });
  test('every kind a decoder yields has a dump-tree renderer', () => {
    for (const e of ITEM_TYPES) for (const k of [...e.kinds, 'invalid' as const]) expect(typeof RENDERERS[k], `${e.name} ${k}`).toBe('function');
  });
  test('every item check is keyed by a registered item type name', () => {
    const names = new Set(ITEM_TYPES.map((e) => e.name));
    for (const n of Object.keys(ITEM_CHECKS)) expect(names.has(n), n).toBe(true);
    expect(Object.keys(ITEM_CHECKS)).toContain('DIR_INDEX');
  });
  test('btrfs-progs 6.19 knows the 6.2 names and EXTENT_OWNER_REF, RAID_STRIPE and the remap items besides', () => {
    const a = progsTypeNames('6.2'),
      b = progsTypeNames('6.19');
    expect(a.get(172)).toBeUndefined();
    expect(b.get(172)).toBe('EXTENT_OWNER_REF');
    expect([...b.keys()].filter((t) => !a.has(t)).sort((x, y) => x - y)).toEqual([172, 230, 234, 235, 236]);
    expect(a.get(120)).toBe('CSUM_ITEM');
  });
});
