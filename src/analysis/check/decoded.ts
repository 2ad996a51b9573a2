import { decodeExtentItem } from '../../format/items/extent.js';
import { decodeFileExtent } from '../../format/items/fileExtent.js';
import type { TreeBlock } from '../../format/treeBlock.js';

/**
 * Decodes of the item last asked for, by block and slot: the walk hands each
 * leaf item to the item checks, the fact collection and an fs tree's
 * consistency checker in turn, and each of them reads the same file extent
 * or extent item. One decode serves the three (the result is shared: callers
 * only read it). The key comes from the same block and slot, so the cached
 * answer is the one a fresh decode would give.
 */
let feBlock: TreeBlock | undefined;
let feSlot = -1;
let fe: ReturnType<typeof decodeFileExtent> | undefined;

export function fileExtentAt(block: TreeBlock, slot: number): ReturnType<typeof decodeFileExtent> {
  if (fe === undefined || feBlock !== block || feSlot !== slot) {
    fe = decodeFileExtent(block.key(slot), block.itemData(slot));
    feBlock = block;
    feSlot = slot;
  }
  return fe;
}

let eiBlock: TreeBlock | undefined;
let eiSlot = -1;
let ei: ReturnType<typeof decodeExtentItem> | undefined;

export function extentItemAt(block: TreeBlock, slot: number): ReturnType<typeof decodeExtentItem> {
  if (ei === undefined || eiBlock !== block || eiSlot !== slot) {
    ei = decodeExtentItem(block.key(slot), block.itemData(slot));
    eiBlock = block;
    eiSlot = slot;
  }
  return ei;
}
