/**
 * The fast leaf path: a whole tree block as dump-tree prints it, the
 * commonest fs-tree items formatted straight from the leaf bytes, every
 * other item decoded and handed to its renderer (items.ts).
 */
import { toHex } from '../../format/bytes.js';
import { FileExtentType, ItemType, ObjectId } from '../../format/constants.js';
import { chunkItem, chunkItemSize, chunkNumStripes } from '../../format/items/chunk.js';
import { DIR_ITEM_HEADER_SIZE, dirItem, dirItemType, forEachDirEntry } from '../../format/items/dir.js';
import { extentItem, treeBlockInfo } from '../../format/items/extent.js';
import { FILE_EXTENT_INLINE_DATA_START, fileExtentCompression, fileExtentItem, fileExtentType } from '../../format/items/fileExtent.js';
import { decodeItem, fixedReadSize } from '../../format/items/index.js';
import { forEachInodeRef, INODE_ITEM_SIZE, INODE_REF_HEADER_SIZE, inodeFlags, inodeGid, inodeItem, inodeMode, inodeNlink, inodeRef, inodeUid } from '../../format/items/inode.js';
import { DEV_STAT_VALUES_MAX } from '../../format/items/misc.js';
import { ROOT_ITEM_SIZE } from '../../format/items/root.js';
import { type Key, keyTypeAt } from '../../format/key.js';
import { HEADER_SIZE, ITEM_SIZE, KEY_PTR_SIZE, keyPtr, leafItem, leafItemOffset, leafItemSize, type TreeBlock } from '../../format/treeBlock.js';
import type { PrintContext, ProgsStyle } from './context.js';
import { printItem } from './items.js';
import { compressionName, DIR_TYPE_NAMES, headerFlagsToString, inodeFlagsToString, keyText, objectidToString } from './names.js';
import { name62, timespecAt, u64Text } from './text.js';

function headerLines(b: TreeBlock, ctx: PrintContext, v: ProgsStyle, nodesize: number): string {
  const d = b.data;
  const nr = b.nritems;
  const level = b.level;
  const gen = b.generation;
  const owner = objectidToString(b.owner, 0, v);
  let s: string;
  if (level) {
    const ptrs = Math.floor((nodesize - HEADER_SIZE) / KEY_PTR_SIZE);
    s = `node ${b.logical} level ${level} items ${nr} free space ${(ptrs - nr) >>> 0} generation ${gen} owner ${owner}\n`;
  } else {
    s = `leaf ${b.bytenr} items ${nr} free space ${leafFreeSpace(b, nodesize)} generation ${gen} owner ${owner}\n`;
  }
  const rawFlags = b.flags;
  const flags = rawFlags & 0x00ffffffffffffffn;
  let csum = '';
  if (ctx.csumHeaders) csum = ' csum 0x' + toHex(d, 0, Math.min(ctx.csumSize, 32));
  s += `${level ? 'node' : 'leaf'} ${b.bytenr} flags 0x${flags.toString(16)}(${headerFlagsToString(flags)}) backref revision ${Number(rawFlags >> 56n)}${csum}\n`;
  s += `fs uuid ${b.fsid}\nchunk uuid ${b.chunkTreeUuid}\n`;
  return s;
}

/** btrfs_leaf_free_space with progs' C int arithmetic. */
function leafFreeSpace(b: TreeBlock, nodesize: number): number {
  const nr = b.nritems;
  const dataSize = nodesize - HEADER_SIZE;
  if (nr === 0) return dataSize;
  const d = b.data;
  const last = HEADER_SIZE + (nr - 1) * ITEM_SIZE;
  if (last + ITEM_SIZE > d.length) return (dataSize - ((nr * ITEM_SIZE) | 0)) | 0;
  const end0 = (leafItemOffset(d, HEADER_SIZE) + leafItemSize(d, HEADER_SIZE)) | 0;
  const offLast = leafItemOffset(d, last) | 0;
  return (dataSize - ((end0 - offLast + Math.imul(nr, ITEM_SIZE)) | 0)) | 0;
}

/** A chunk item must reach past num_stripes for its stripes to be counted. */
const CHUNK_NUM_STRIPES_END = chunkItem.off.numStripes + chunkItem.sizeOf.numStripes;

const I = inodeItem.off;
const FE = fileExtentItem.off;
/** btrfs_dev_stats_item: the u64 counters btrfs-progs reads. */
const DEV_STATS_SIZE = DEV_STAT_VALUES_MAX * 8;

/**
 * The body of the commonest items of fs trees, formatted from the bytes
 * without decoding them (a dump of many snapshots prints millions): a full
 * inode item (160 bytes), and a regular, prealloc or inline file extent with
 * all its fixed fields. Undefined for anything else, which printItem prints.
 */
function fastItemText(d: Uint8Array, type: number, o: number, size: number, ctx: PrintContext, v: ProgsStyle): string | undefined {
  const tz = ctx.timeZone ?? 'utc';
  if (type === ItemType.INODE_ITEM && size >= INODE_ITEM_SIZE) {
    const raw = inodeFlags(d, o);
    const flags = raw === 0n ? '0x0(none)' : `0x${raw.toString(16)}(${inodeFlagsToString(raw, v)})`;
    return (
      `\t\tgeneration ${u64Text(d, o + I.generation)} transid ${u64Text(d, o + I.transid)} size ${u64Text(d, o + I.size)} nbytes ${u64Text(d, o + I.nbytes)}\n` +
      `\t\tblock group ${u64Text(d, o + I.blockGroup)} mode ${inodeMode(d, o).toString(8)} links ${inodeNlink(d, o)} uid ${inodeUid(d, o)} gid ${inodeGid(d, o)} rdev ${u64Text(d, o + I.rdev)}\n` +
      `\t\tsequence ${u64Text(d, o + I.sequence)} flags ${flags}\n` +
      `\t\tatime ${timespecAt(d, o + I.atime, tz)}\n\t\tctime ${timespecAt(d, o + I.ctime, tz)}\n` +
      `\t\tmtime ${timespecAt(d, o + I.mtime, tz)}\n\t\totime ${timespecAt(d, o + I.otime, tz)}\n`
    );
  }
  if (v === '6.2' && !ctx.hideNames) {
    if (type === ItemType.DIR_ITEM || type === ItemType.DIR_INDEX || type === ItemType.XATTR_ITEM) return dirEntriesText(d, o, size);
    if (type === ItemType.INODE_REF) return inodeRefsText(d, o, size);
  }
  if (type === ItemType.EXTENT_DATA && size >= FILE_EXTENT_INLINE_DATA_START) {
    const t = fileExtentType(d, o);
    const c = fileExtentCompression(d, o);
    if (t === FileExtentType.INLINE) {
      return (
        `\t\tgeneration ${u64Text(d, o + FE.generation)} type 0 (inline)\n` +
        `\t\tinline extent data size ${size - FILE_EXTENT_INLINE_DATA_START} ram_bytes ${u64Text(d, o + FE.ramBytes)} compression ${c} (${compressionName(c)})\n`
      );
    }
    if (size < fileExtentItem.size) return undefined;
    if (t === FileExtentType.PREALLOC) {
      return (
        `\t\tgeneration ${u64Text(d, o + FE.generation)} type 2 (prealloc)\n` +
        `\t\tprealloc data disk byte ${u64Text(d, o + FE.diskBytenr)} nr ${u64Text(d, o + FE.diskNumBytes)}\n` +
        `\t\tprealloc data offset ${u64Text(d, o + FE.offset)} nr ${u64Text(d, o + FE.numBytes)}\n`
      );
    }
    if (t === FileExtentType.REG) {
      return (
        `\t\tgeneration ${u64Text(d, o + FE.generation)} type 1 (regular)\n` +
        `\t\textent data disk byte ${u64Text(d, o + FE.diskBytenr)} nr ${u64Text(d, o + FE.diskNumBytes)}\n` +
        `\t\textent data offset ${u64Text(d, o + FE.offset)} nr ${u64Text(d, o + FE.numBytes)} ram ${u64Text(d, o + FE.ramBytes)}\n` +
        `\t\textent compression ${c} (${compressionName(c)})\n`
      );
    }
  }
  return undefined;
}

/** The entries of a DIR_ITEM, DIR_INDEX or XATTR_ITEM as 6.2 prints them, when they fill the item exactly. */
function dirEntriesText(d: Uint8Array, o: number, size: number): string | undefined {
  dirText = '';
  dirBlock = d;
  const end = forEachDirEntry(d, o, size, dirEntryText);
  dirBlock = EMPTY;
  return end === size && size > 0 ? dirText : undefined;
}
const EMPTY: Uint8Array = new Uint8Array(0);
/** dirEntryText's output and input: one leaf is formatted at a time, so the walk's callback is made once. */
let dirText = '';
let dirBlock = EMPTY;
function dirEntryText(e: number, nameLen: number, dataLen: number): void {
  const d = dirBlock;
  const t = dirItemType(d, e);
  const name = e + DIR_ITEM_HEADER_SIZE;
  dirText +=
    `\t\tlocation key ${keyText(d, e + dirItem.off.location, '6.2')} type ${DIR_TYPE_NAMES[t] || `DIR_ITEM.${t}`}\n` +
    `\t\ttransid ${u64Text(d, e + dirItem.off.transid)} data_len ${dataLen} name_len ${nameLen}\n` +
    `\t\tname: ${name62(d, name, nameLen)}\n`;
  if (dataLen) dirText += `\t\tdata ${name62(d, name + nameLen, dataLen)}\n`;
}

/** The refs of an INODE_REF as 6.2 prints them, when they fill the item exactly. */
function inodeRefsText(d: Uint8Array, o: number, size: number): string | undefined {
  refText = '';
  refBlock = d;
  const end = forEachInodeRef(d, o, size, inodeRefText);
  refBlock = EMPTY;
  return end === size && size > 0 ? refText : undefined;
}
let refText = '';
let refBlock = EMPTY;
function inodeRefText(r: number, nameLen: number): void {
  refText += `\t\tindex ${u64Text(refBlock, r + inodeRef.off.index)} namelen ${nameLen} name: ${name62(refBlock, r + INODE_REF_HEADER_SIZE, nameLen)}\n`;
}

/** Body of leaf slot `i`, reading past a short item into the leaf as btrfs-progs does. */
function printLeafItem(b: TreeBlock, key: Key, off: number, size: number, ctx: PrintContext, v: ProgsStyle): string {
  const data = b.data.subarray(off, off + size);
  let item = decodeItem(key, data, ctx);
  if (key.type === ItemType.ROOT_ITEM && item.kind === 'invalid') {
    // progs copies the item into a zeroed btrfs_root_item.
    const padded = new Uint8Array(ROOT_ITEM_SIZE);
    padded.set(data.subarray(0, ROOT_ITEM_SIZE));
    item = decodeItem(key, padded, ctx);
  } else if (key.type === ItemType.EXTENT_ITEM || key.type === ItemType.METADATA_ITEM) {
    if (size < extentItem.size) return '';
    if (item.kind === 'invalid') {
      // A non-skinny tree block item too short for its tree_block_info: progs reads it from the leaf.
      item = decodeItem(key, window(b.data, off, extentItem.size + treeBlockInfo.size), ctx);
      if (item.kind === 'extent_item') item.inlineRefs = [];
    }
  } else if (key.type === ItemType.CHUNK_ITEM) {
    if (size >= CHUNK_NUM_STRIPES_END) {
      const n = chunkNumStripes(b.data, off);
      const need = chunkItemSize(n);
      if (v === '6.2' && n < 1) return `invalid num_stripes: ${n}\n`;
      if (off + need > b.data.length) return '\t\tchunk item invalid\n';
      if (need > size) item = decodeItem(key, b.data.subarray(off, off + need), ctx);
    }
  } else if (key.type === ItemType.PERSISTENT_ITEM && key.objectid === ObjectId.DEV_STATS && size < DEV_STATS_SIZE) {
    const it = decodeItem(key, window(b.data, off, DEV_STATS_SIZE), ctx);
    if (it.kind === 'dev_stats') {
      it.values = it.values.slice(0, DEV_STAT_VALUES_MAX);
      item = it;
    }
  } else if (item.kind === 'invalid') {
    const need = fixedReadSize(key, data);
    if (need > size) item = decodeItem(key, window(b.data, off, need), ctx);
    if (item.kind === 'file_extent' && item.body === 'inline') item.inlineLength = (size - FILE_EXTENT_INLINE_DATA_START) >>> 0;
  }
  return printItem(key, item, ctx);
}

/** `len` bytes of the block from `off`, zero-filled past its end. */
function window(d: Uint8Array, off: number, len: number): Uint8Array {
  if (off + len <= d.length) return d.subarray(off, off + len);
  const w = new Uint8Array(len);
  w.set(d.subarray(off, Math.min(d.length, off + len)));
  return w;
}

/**
 * The text dump-tree prints for one tree block (header, uuids, then every
 * item with its body or every key pointer), lines joined by "\n" without a
 * trailing newline. Items whose offset/size point outside the leaf end the
 * listing, as in btrfs-progs (which reports that on stderr).
 */
export function printTreeBlock(block: TreeBlock, ctx: PrintContext): string {
  const s = printTreeBlockLines(block, ctx);
  return s.slice(0, -1);
}

/** printTreeBlock with every line ending in "\n", as a dump writes it (no copy to cut the last one). */
export function printTreeBlockLines(block: TreeBlock, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const d = block.data;
  const nodesize = d.length;
  const parts: string[] = [headerLines(block, ctx, v, nodesize)];
  const nr = block.nritems;
  if (block.level) {
    const ptrs = Math.floor((nodesize - HEADER_SIZE) / KEY_PTR_SIZE);
    for (let i = 0; i < nr && i < ptrs; i++) {
      const k = HEADER_SIZE + i * KEY_PTR_SIZE;
      parts.push(`\tkey ${keyText(d, k + keyPtr.off.key, v)} block ${u64Text(d, k + keyPtr.off.blockptr)} gen ${u64Text(d, k + keyPtr.off.generation)}\n`);
    }
  } else {
    const dataSize = nodesize - HEADER_SIZE;
    for (let i = 0; i < nr; i++) {
      const h = HEADER_SIZE + i * ITEM_SIZE;
      if (h + ITEM_SIZE > nodesize) break;
      const off = leafItemOffset(d, h);
      const size = leafItemSize(d, h);
      if (off > dataSize || (off + size) >>> 0 > dataSize) break;
      const k = h + leafItem.off.key;
      parts.push(
        `\titem ${i} key ${keyText(d, k, v)} itemoff ${off} itemsize ${size}\n`,
        fastItemText(d, keyTypeAt(d, k), HEADER_SIZE + off, size, ctx, v) ?? printLeafItem(block, block.key(i), HEADER_SIZE + off, size, ctx, v),
      );
    }
  }
  const s = parts.join('');
  return s.endsWith('\n') ? s : s + '\n';
}
