import { itemTypeName } from '../format/constants.js';
import type { TreeBlock } from '../format/treeBlock.js';
import { decodeItem, type ItemContext } from '../format/items/index.js';
import { toJson } from './json.js';

/**
 * NDJSON records for one tree block: a "block" record for its header, then
 * an "item" record per leaf item (decoded) or a "ptr" record per node pointer.
 */
export function treeBlockJsonLines(b: TreeBlock, tree: bigint, ctx: ItemContext, validItems: number, emit: (line: string) => void): void {
  emit(toJson({
    record: 'block', tree, bytenr: b.logical, level: b.level, nritems: b.nritems, generation: b.generation, owner: b.owner,
    flags: b.flags, fsid: b.fsid, chunkTreeUuid: b.chunkTreeUuid,
  }));
  for (let i = 0; i < validItems; i++) {
    const key = b.key(i);
    const k = { objectid: key.objectid, type: key.type, typeName: itemTypeName(key.type), offset: key.offset };
    if (b.isLeaf) {
      emit(toJson({ record: 'item', tree, block: b.logical, slot: i, key: k, itemOffset: b.itemOffset(i) - 101, itemSize: b.itemSize(i), item: decodeItem(key, b.itemData(i), ctx) }));
    } else {
      emit(toJson({ record: 'ptr', tree, block: b.logical, slot: i, key: k, blockptr: b.blockPtr(i), generation: b.ptrGeneration(i) }));
    }
  }
}
