import { toHex, u64, u64n } from '../format/bytes.js';
import { ItemType, itemTypeName } from '../format/constants.js';
import { nameText, timespecNsec, timespecStruct } from '../format/items/common.js';
import { DIR_ITEM_HEADER_SIZE, dirItem, dirItemType, forEachDirEntry } from '../format/items/dir.js';
import { decodeItem, type ItemContext } from '../format/items/index.js';
import { forEachInodeRef, INODE_ITEM_SIZE, INODE_REF_HEADER_SIZE, inodeGid, inodeItem, inodeMode, inodeNlink, inodeRef, inodeUid } from '../format/items/inode.js';
import { diskKey, type Key, keyTypeAt } from '../format/key.js';
import { HEADER_SIZE, type TreeBlock } from '../format/treeBlock.js';
import { jsonBigint, toJson, u64Json } from './json.js';

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
      ? `${head}${i},${key},"itemOffset":${b.itemOffset(i) - HEADER_SIZE},"itemSize":${b.itemSize(i)},"item":${itemJson(b, i, type, ctx)}}\n`
      : `${head}${i},${key},"blockptr":${u64Json(b.blockPtr(i))},"generation":${u64Json(b.ptrGeneration(i))}}\n`;
  }
  return out;
}

/** The decoded item of slot i as JSON: what toJson(decodeItem(...)) writes, a full inode item straight from the leaf. */
function itemJson(b: TreeBlock, i: number, type: number, ctx: ItemContext): string {
  // One per file and snapshot generation: the commonest item of a dump, and its decoded form is
  // 13 bigints and 4 timespec objects that the generic writer walks key by key.
  if (type === ItemType.INODE_ITEM && b.itemSize(i) === INODE_ITEM_SIZE) {
    const o = b.itemOffset(i);
    // Wholly inside the block (a damaged item offset is left to the decoder's own view).
    if (o + INODE_ITEM_SIZE <= b.data.length) return inodeItemJson(b.data, o);
  }
  // Names: one to three per file and snapshot generation, each a decoded object of views and strings.
  if (type === ItemType.DIR_ITEM || type === ItemType.DIR_INDEX || type === ItemType.XATTR_ITEM || type === ItemType.INODE_REF) {
    const o = b.itemOffset(i);
    const size = b.itemSize(i);
    if (o + size <= b.data.length) {
      const fast = type === ItemType.INODE_REF ? inodeRefJson(b.data, o, size, b.keyOffsetField(i)) : dirItemJson(b.data, o, size, type);
      if (fast !== undefined) return fast;
    }
  }
  return toJson(decodeItem(b.key(i), b.itemData(i), ctx));
}

/** One leaf's names are written at a time: the walks' callbacks are made once and write here. */
let namesOut = '';
let namesBlock: Uint8Array = new Uint8Array(0);
let namesQuote = '';

/**
 * A DIR_ITEM, DIR_INDEX or XATTR_ITEM as toJson(decodeDirItem(...)) writes it, when its entries
 * fill the item exactly (and a DIR_INDEX holds one); undefined otherwise (the decoder says what is wrong).
 */
function dirItemJson(d: Uint8Array, o: number, size: number, type: number): string | undefined {
  namesOut = '';
  namesBlock = d;
  namesQuote = jsonBigint() === 'string' ? '"' : '';
  let n = 0;
  const end = forEachDirEntry(d, o, size, (e, nameLen, dataLen) => {
    n++;
    dirEntryJson(e, nameLen, dataLen);
  });
  if (end !== size || size === 0 || (type === ItemType.DIR_INDEX && n !== 1)) return undefined;
  const kind = type === ItemType.DIR_INDEX ? 'dir_index' : type === ItemType.XATTR_ITEM ? 'xattr_item' : 'dir_item';
  return `{"kind":"${kind}","entries":[${namesOut}]}`;
}

function dirEntryJson(e: number, nameLen: number, dataLen: number): void {
  const d = namesBlock;
  const q = namesQuote;
  const loc = e + dirItem.off.location;
  const name = e + DIR_ITEM_HEADER_SIZE;
  const data = name + nameLen;
  namesOut +=
    `${namesOut ? ',' : ''}{"location":{"objectid":${u64At(d, loc + diskKey.off.objectid, q)},"type":${keyTypeAt(d, loc)},"offset":${u64At(d, loc + diskKey.off.offset, q)}}` +
    `,"transid":${u64At(d, e + dirItem.off.transid, q)},"dataLen":${dataLen},"nameLen":${nameLen},"type":${dirItemType(d, e)}` +
    `,"name":"${toHex(d, name, nameLen)}","data":"${toHex(d, data, dataLen)}","nameStr":${JSON.stringify(nameText(d, name, nameLen))}` +
    `,"dataStr":${dataLen ? JSON.stringify(nameText(d, data, dataLen)) : '""'}}`;
}

/** An INODE_REF as toJson(decodeInodeRef(...)) writes it, when its refs fill the item exactly; undefined otherwise. */
function inodeRefJson(d: Uint8Array, o: number, size: number, parent: bigint): string | undefined {
  namesOut = '';
  namesBlock = d;
  namesQuote = jsonBigint() === 'string' ? '"' : '';
  const end = forEachInodeRef(d, o, size, inodeRefEntryJson);
  if (end !== size || size === 0) return undefined;
  return `{"kind":"inode_ref","parent":${u64Json(parent)},"refs":[${namesOut}]}`;
}

function inodeRefEntryJson(r: number, nameLen: number): void {
  const d = namesBlock;
  const name = r + INODE_REF_HEADER_SIZE;
  namesOut += `${namesOut ? ',' : ''}{"index":${u64At(d, r + inodeRef.off.index, namesQuote)},"nameLen":${nameLen},"name":"${toHex(d, name, nameLen)}","nameStr":${JSON.stringify(nameText(d, name, nameLen))}}`;
}

const I = inodeItem.off;

/**
 * A u64 field as toJson writes a bigint: exact decimal (a number below 2^53, the bigint above),
 * quoted in the "string" bigint form.
 */
function u64At(d: Uint8Array, off: number, q: string): string {
  const n = u64n(d, off);
  return q + (n !== Infinity ? String(n) : u64(d, off).toString()) + q;
}

/** A timespec ({sec: i64, nsec: u32}) as toJson writes its decoded form. */
function timespecJson(d: Uint8Array, off: number, q: string): string {
  const n = u64n(d, off + timespecStruct.off.sec);
  // Past 2^53 read unsigned: a negative or huge i64 takes the exact path.
  const sec = n !== Infinity ? String(n) : BigInt.asIntN(64, u64(d, off + timespecStruct.off.sec)).toString();
  return `{"sec":${q}${sec}${q},"nsec":${timespecNsec(d, off)}}`;
}

/** A 160-byte btrfs_inode_item as toJson(decodeInodeItem(...)) writes it (same fields, same order). */
function inodeItemJson(d: Uint8Array, o: number): string {
  const q = jsonBigint() === 'string' ? '"' : '';
  return (
    `{"kind":"inode_item","generation":${u64At(d, o + I.generation, q)},"transid":${u64At(d, o + I.transid, q)},"size":${u64At(d, o + I.size, q)}` +
    `,"nbytes":${u64At(d, o + I.nbytes, q)},"blockGroup":${u64At(d, o + I.blockGroup, q)},"nlink":${inodeNlink(d, o)},"uid":${inodeUid(d, o)}` +
    `,"gid":${inodeGid(d, o)},"mode":${inodeMode(d, o)},"rdev":${u64At(d, o + I.rdev, q)},"flags":${u64At(d, o + I.flags, q)}` +
    `,"sequence":${u64At(d, o + I.sequence, q)},"atime":${timespecJson(d, o + I.atime, q)},"ctime":${timespecJson(d, o + I.ctime, q)}` +
    `,"mtime":${timespecJson(d, o + I.mtime, q)},"otime":${timespecJson(d, o + I.otime, q)}}`
  );
}

/** The record that starts each tree in an NDJSON dump; the block records that follow belong to it. */
export function treeStartJson(tree: bigint, title: string, bytenr: bigint, level: number, key?: Key): string {
  return toJson({ record: 'tree', tree, name: title, bytenr, level, ...(key ? { key: keyJson(key) } : {}) }) + '\n';
}
