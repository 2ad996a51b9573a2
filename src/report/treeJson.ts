import { itemTypeName } from '../format/constants.js';
import { decodeItem, type ItemContext } from '../format/items/index.js';
import type { Key } from '../format/key.js';
import { HEADER_SIZE, type TreeBlock } from '../format/treeBlock.js';
import { toJson, u64Json } from './json.js';

const keyJson = (k: Key) => ({ objectid: k.objectid, type: k.type, typeName: itemTypeName(k.type), offset: k.offset });

/**
 * NDJSON records for one tree block, independent of which tree reached it
 * (a block shared by snapshots renders the same for each): a "block" record
 * for its header, then an "item" record per leaf item (decoded) or a "ptr"
 * record per node pointer. Lines end with "\n".
 */
export function treeBlockJson(b: TreeBlock, ctx: ItemContext, validItems: number): string {
  let out =
    toJson({
      record: 'block',
      bytenr: b.logical,
      level: b.level,
      nritems: b.nritems,
      generation: b.generation,
      owner: b.owner,
      flags: b.flags,
      fsid: b.fsid,
      chunkTreeUuid: b.chunkTreeUuid,
      ...(validItems < b.nritems ? { validItems } : {}),
    }) + '\n';
  // The per-item envelope is written directly (same fields as toJson would write): it is the hot path of a dump.
  const head = `{"record":"${b.isLeaf ? 'item' : 'ptr'}","block":${u64Json(b.logical)},"slot":`;
  for (let i = 0; i < validItems; i++) {
    const type = b.keyType(i);
    const key = `"key":{"objectid":${u64Json(b.keyObjectid(i))},"type":${type},"typeName":"${itemTypeName(type)}","offset":${u64Json(b.keyOffsetField(i))}}`;
    out += b.isLeaf
      ? `${head}${i},${key},"itemOffset":${b.itemOffset(i) - HEADER_SIZE},"itemSize":${b.itemSize(i)},"item":${toJson(decodeItem(b.key(i), b.itemData(i), ctx))}}\n`
      : `${head}${i},${key},"blockptr":${u64Json(b.blockPtr(i))},"generation":${u64Json(b.ptrGeneration(i))}}\n`;
  }
  return out;
}

/** The record that starts each tree in an NDJSON dump; the block records that follow belong to it. */
export function treeStartJson(tree: bigint, title: string, bytenr: bigint, level: number, key?: Key): string {
  return toJson({ record: 'tree', tree, name: title, bytenr, level, ...(key ? { key: keyJson(key) } : {}) }) + '\n';
}
