/**
 * Item -> text: one renderer per decoded kind (RENDERERS), the decoded item
 * as dump-tree prints its body. The compiler checks that every kind the
 * decoders yield has one; test/printTree.test.ts checks the item registry's kinds against it.
 */
import { toHex } from '../../format/bytes.js';
import { ItemType } from '../../format/constants.js';
import { type DecodedItem, type DecodedItemKind, extentDataRefHash, type InlineRef } from '../../format/items/index.js';
import { type BalanceArgs, remapItem } from '../../format/items/misc.js';
import type { Key } from '../../format/key.js';
import type { PrintContext, ProgsStyle } from './context.js';
import {
  blockGroupFlagsToString,
  compressionName,
  DEV_REPLACE_STATES,
  dirTypeName,
  extentFlagsToString,
  fileExtentTypeName,
  formatKey,
  inodeFlagsToString,
  keyTypeToString,
  objectidToString,
  qgroupStatusFlagsToString,
  signed64,
} from './names.js';
import { formatTime, printableName62, shownName, timespec } from './text.js';

/** The body text of one decoded item of kind K. */
export type Renderer<K extends DecodedItemKind> = (key: Key, item: DecodedItem & { kind: K }, ctx: PrintContext) => string;

/**
 * The body lines dump-tree prints under an item's "item N key ..." line,
 * each ending in "\n" ("" when it prints none). `item` is what decodeItem
 * returned for `key`. For a `kind: 'invalid'` item this prints one
 * "\t\t(invalid ...)" line, which dump-tree does not (it reads on past the
 * item); printTreeBlock avoids that where it can by decoding from the leaf.
 */
export function printItem(key: Key, item: DecodedItem, ctx: PrintContext): string {
  return (RENDERERS[item.kind] as Renderer<DecodedItemKind>)(key, item, ctx);
}

function renderInodeItem(_key: Key, item: Extract<DecodedItem, { kind: 'inode_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const tz = ctx.timeZone ?? 'utc';
  return (
    `\t\tgeneration ${item.generation} transid ${item.transid} size ${item.size} nbytes ${item.nbytes}\n` +
    `\t\tblock group ${item.blockGroup} mode ${item.mode.toString(8)} links ${item.nlink} uid ${item.uid} gid ${item.gid} rdev ${item.rdev}\n` +
    `\t\tsequence ${item.sequence} flags 0x${item.flags.toString(16)}(${inodeFlagsToString(item.flags, v)})\n` +
    `\t\tatime ${timespec(item.atime, tz)}\n\t\tctime ${timespec(item.ctime, tz)}\n` +
    `\t\tmtime ${timespec(item.mtime, tz)}\n\t\totime ${timespec(item.otime, tz)}\n`
  );
}

function renderInodeRef(_key: Key, item: Extract<DecodedItem, { kind: 'inode_ref' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const hide = ctx.hideNames === true;
  let s = '';
  for (const r of item.refs) {
    s += `\t\tindex ${r.index} namelen ${r.nameLen} name: ${hide ? 'HIDDEN' : shownName(r.name, r.nameStr, v)}\n`;
  }
  return s;
}

function renderInodeExtref(_key: Key, item: Extract<DecodedItem, { kind: 'inode_extref' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const hide = ctx.hideNames === true;
  let s = '';
  for (const r of item.refs) {
    s += `\t\tindex ${r.index} parent ${r.parent} namelen ${r.nameLen} name: ${hide ? 'HIDDEN' : shownName(r.name, r.nameStr, v)}\n`;
  }
  return s;
}

function renderDirItem(key: Key, item: Extract<DecodedItem, { kind: 'dir_item' | 'dir_index' | 'xattr_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const hide = ctx.hideNames === true;
  let s = '';
  const last = item.entries.length - 1;
  item.entries.forEach((e, i) => {
    s += `\t\tlocation key ${formatKey(e.location, v)} type ${dirTypeName(e.type, v)}\n`;
    // 6.19 stops (with an error on stderr) at an entry whose name and data run past the item.
    if (v === '6.19' && i === last && item.errors && e.name.length + e.data.length < e.nameLen + e.dataLen) return;
    s += `\t\ttransid ${e.transid} data_len ${e.dataLen} name_len ${e.nameLen}\n`;
    s += hide ? '\t\tname: HIDDEN\n' : `\t\tname: ${shownName(e.name, e.nameStr, v)}\n`;
    if (e.dataLen) s += hide ? '\t\tdata HIDDEN\n' : `\t\tdata ${shownName(e.data, e.dataStr, v)}\n`;
  });
  return s;
}

function renderDirLogItem(_key: Key, item: Extract<DecodedItem, { kind: 'dir_log_item' | 'dir_log_index' }>, _ctx: PrintContext): string {
  return `\t\tdir log end ${item.end}\n`;
}

function renderOrphanItem(_key: Key, item: Extract<DecodedItem, { kind: 'orphan_item' }>, _ctx: PrintContext): string {
  return '\t\torphan item\n';
}

function renderRootItem(key: Key, item: Extract<DecodedItem, { kind: 'root_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const tz = ctx.timeZone ?? 'utc';
  let s = '';
  s =
    `\t\tgeneration ${item.generation} root_dirid ${item.rootDirid} bytenr ${item.bytenr} byte_limit ${item.byteLimit} bytes_used ${item.bytesUsed}\n` +
    `\t\tlast_snapshot ${item.lastSnapshot} flags 0x${item.flags.toString(16)}(${item.flags & 1n ? 'RDONLY' : 'none'}) refs ${item.refs}\n` +
    `\t\tdrop_progress key ${formatKey(item.dropProgress, v)} drop_level ${item.dropLevel}\n` +
    `\t\tlevel ${item.level} generation_v2 ${item.generationV2}\n`;
  if (item.generation === item.generationV2) {
    s +=
      `\t\tuuid ${item.uuid}\n\t\tparent_uuid ${item.parentUuid}\n\t\treceived_uuid ${item.receivedUuid}\n` +
      `\t\tctransid ${item.ctransid} otransid ${item.otransid} stransid ${item.stransid} rtransid ${item.rtransid}\n` +
      `\t\tctime ${timespec(item.ctime, tz)}\n\t\totime ${timespec(item.otime, tz)}\n` +
      `\t\tstime ${timespec(item.stime, tz)}\n\t\trtime ${timespec(item.rtime, tz)}\n`;
  }
  return s;
}

function renderRootRef(key: Key, item: Extract<DecodedItem, { kind: 'root_ref' | 'root_backref' }>, _ctx: PrintContext): string {
  return `\t\troot ${item.kind === 'root_ref' ? 'ref' : 'backref'} key dirid ${item.dirid} sequence ${item.sequence} name ${printableName62(item.name)}\n`;
}

function renderExtentItem(key: Key, item: Extract<DecodedItem, { kind: 'extent_item' | 'metadata_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  s = `\t\trefs ${item.refs} gen ${item.generation} flags ${extentFlagsToString(item.flags)}\n`;
  if (item.treeBlock) s += `\t\ttree block key ${formatKey(item.treeBlock.key, v)} level ${item.treeBlock.level}\n`;
  else if (item.kind === 'metadata_item') s += `\t\ttree block skinny level ${BigInt.asIntN(32, key.offset)}\n`;
  for (const r of item.inlineRefs) {
    const pre = v === '6.19' ? `(${r.type} 0x${refSeq(r).toString(16)}) ` : '';
    switch (r.kind) {
      case 'tree_block':
        s += `\t\t${pre}tree block backref root ${objectidToString(r.root, 0, v)}\n`;
        break;
      case 'shared_block':
        s += `\t\t${pre}shared block backref parent ${r.parent}\n`;
        break;
      case 'extent_data':
        s += `\t\t${pre}extent data backref root ${objectidToString(r.root, 0, v)} objectid ${r.objectid} offset ${r.offset} count ${r.count}\n`;
        break;
      case 'shared_data':
        s += `\t\t${pre}shared data backref parent ${r.parent} count ${r.count}\n`;
        break;
      case 'extent_owner':
        // btrfs-progs 6.2 does not know this ref and stops printing the item's refs.
        if (v !== '6.19') return s;
        s += `\t${pre}textent owner root ${r.root}\n`;
        break;
    }
  }
  return s;
}

function renderExtentItemV0(_key: Key, item: Extract<DecodedItem, { kind: 'extent_item_v0' }>, _ctx: PrintContext): string {
  return '';
}

function renderTreeBlockRef(_key: Key, item: Extract<DecodedItem, { kind: 'tree_block_ref' }>, _ctx: PrintContext): string {
  return '\t\ttree block backref\n';
}

function renderSharedBlockRef(_key: Key, item: Extract<DecodedItem, { kind: 'shared_block_ref' }>, _ctx: PrintContext): string {
  return '\t\tshared block backref\n';
}

function renderExtentDataRef(_key: Key, item: Extract<DecodedItem, { kind: 'extent_data_ref' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return `\t\textent data backref root ${objectidToString(item.root, 0, v)} objectid ${item.objectid} offset ${item.offset} count ${item.count}\n`;
}

function renderSharedDataRef(_key: Key, item: Extract<DecodedItem, { kind: 'shared_data_ref' }>, _ctx: PrintContext): string {
  return `\t\tshared data backref count ${item.count}\n`;
}

function renderExtentOwnerRef(_key: Key, item: Extract<DecodedItem, { kind: 'extent_owner_ref' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return v === '6.19' ? `\t\textent owner root ${item.root}\n` : '';
}

function renderExtentRefV0(_key: Key, item: Extract<DecodedItem, { kind: 'extent_ref_v0' }>, _ctx: PrintContext): string {
  return '\t\textent ref v0 (deprecated)\n';
}

function renderExtentCsum(_key: Key, item: Extract<DecodedItem, { kind: 'extent_csum' }>, ctx: PrintContext): string {
  let s = '';
  const size = BigInt.asUintN(32, BigInt(item.count) * BigInt(ctx.sectorsize));
  s = `\t\trange start ${item.start} end ${item.start + size} length ${size}\n`;
  if (ctx.csumItems) s += csumLines(item.start, item.csums, item.count, item.csumSize, ctx.sectorsize);
  return s;
}

function renderFileExtent(_key: Key, item: Extract<DecodedItem, { kind: 'file_extent' }>, _ctx: PrintContext): string {
  let s = '';
  s = `\t\tgeneration ${item.generation} type ${item.type} (${fileExtentTypeName(item.type)})\n`;
  const comp = `${item.compression} (${compressionName(item.compression)})`;
  if (item.body === 'inline') {
    return s + `\t\tinline extent data size ${item.inlineLength} ram_bytes ${item.ramBytes} compression ${comp}\n`;
  }
  if (item.type === 2) {
    return s + `\t\tprealloc data disk byte ${item.diskBytenr} nr ${item.diskNumBytes}\n` + `\t\tprealloc data offset ${item.offset} nr ${item.numBytes}\n`;
  }
  return (
    s +
    `\t\textent data disk byte ${item.diskBytenr} nr ${item.diskNumBytes}\n` +
    `\t\textent data offset ${item.offset} nr ${item.numBytes} ram ${item.ramBytes}\n` +
    `\t\textent compression ${comp}\n`
  );
}

function renderBlockGroupItem(_key: Key, item: Extract<DecodedItem, { kind: 'block_group_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return `\t\tblock group used ${item.used} chunk_objectid ${item.chunkObjectid} flags ${blockGroupFlagsToString(item.flags, v)}\n`;
}

function renderFreeSpaceInfo(_key: Key, item: Extract<DecodedItem, { kind: 'free_space_info' }>, _ctx: PrintContext): string {
  return `\t\tfree space info extent count ${item.extentCount} flags ${item.flags}\n`;
}

function renderFreeSpaceExtent(_key: Key, item: Extract<DecodedItem, { kind: 'free_space_extent' }>, _ctx: PrintContext): string {
  return '\t\tfree space extent\n';
}

function renderFreeSpaceBitmap(_key: Key, item: Extract<DecodedItem, { kind: 'free_space_bitmap' }>, _ctx: PrintContext): string {
  return '\t\tfree space bitmap\n';
}

function renderFreeSpaceHeader(key: Key, item: Extract<DecodedItem, { kind: 'free_space_header' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return `\t\tlocation key ${formatKey(item.location, v)}\n` + `\t\tcache generation ${item.generation} entries ${item.numEntries} bitmaps ${item.numBitmaps}\n`;
}

function renderChunkItem(_key: Key, item: Extract<DecodedItem, { kind: 'chunk_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  if (v === '6.2' && item.numStripes < 1) return `invalid num_stripes: ${item.numStripes}\n`;
  s =
    `\t\tlength ${item.length} owner ${item.owner} stripe_len ${item.stripeLen} type ${blockGroupFlagsToString(item.type, v)}\n` +
    `\t\tio_align ${item.ioAlign} io_width ${item.ioWidth} sector_size ${item.sectorSize}\n` +
    `\t\tnum_stripes ${item.numStripes} sub_stripes ${item.subStripes}\n`;
  item.stripes.forEach((st, i) => {
    s += `\t\t\tstripe ${i} devid ${st.devid} offset ${st.offset}\n\t\t\tdev_uuid ${st.devUuid}\n`;
  });
  return s;
}

function renderDevItem(_key: Key, item: Extract<DecodedItem, { kind: 'dev_item' }>, _ctx: PrintContext): string {
  return (
    `\t\tdevid ${item.devid} total_bytes ${item.totalBytes} bytes_used ${item.bytesUsed}\n` +
    `\t\tio_align ${item.ioAlign} io_width ${item.ioWidth} sector_size ${item.sectorSize} type ${item.type}\n` +
    `\t\tgeneration ${item.generation} start_offset ${item.startOffset} dev_group ${item.devGroup}\n` +
    `\t\tseek_speed ${item.seekSpeed} bandwidth ${item.bandwidth}\n` +
    `\t\tuuid ${item.uuid}\n\t\tfsid ${item.fsid}\n`
  );
}

function renderDevExtent(_key: Key, item: Extract<DecodedItem, { kind: 'dev_extent' }>, _ctx: PrintContext): string {
  return (
    `\t\tdev extent chunk_tree ${item.chunkTree}\n` +
    `\t\tchunk_objectid ${item.chunkObjectid} chunk_offset ${item.chunkOffset} length ${item.length}\n` +
    `\t\tchunk_tree_uuid ${item.chunkTreeUuid}\n`
  );
}

function renderQgroupStatus(_key: Key, item: Extract<DecodedItem, { kind: 'qgroup_status' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  s = `\t\tversion ${item.version} generation ${item.generation} flags ${qgroupStatusFlagsToString(item.flags, v)} scan ${item.rescan}`;
  if (v === '6.19' && ctx.incompatFlags !== undefined && ctx.incompatFlags & (1n << 16n)) s += ` enable_gen ${item.enableGen ?? 0n}`;
  return s + '\n';
}

function renderQgroupInfo(_key: Key, item: Extract<DecodedItem, { kind: 'qgroup_info' }>, _ctx: PrintContext): string {
  return `\t\tgeneration ${item.generation}\n\t\treferenced ${item.rfer} referenced_compressed ${item.rferCmpr}\n` + `\t\texclusive ${item.excl} exclusive_compressed ${item.exclCmpr}\n`;
}

function renderQgroupLimit(_key: Key, item: Extract<DecodedItem, { kind: 'qgroup_limit' }>, _ctx: PrintContext): string {
  return (
    `\t\tflags ${item.flags.toString(16)}\n\t\tmax_referenced ${signed64(item.maxRfer)} max_exclusive ${signed64(item.maxExcl)}\n` +
    `\t\trsv_referenced ${signed64(item.rsvRfer)} rsv_exclusive ${signed64(item.rsvExcl)}\n`
  );
}

function renderQgroupRelation(_key: Key, item: Extract<DecodedItem, { kind: 'qgroup_relation' }>, _ctx: PrintContext): string {
  return '';
}

function renderUuidSubvol(_key: Key, item: Extract<DecodedItem, { kind: 'uuid_subvol' | 'uuid_received_subvol' }>, _ctx: PrintContext): string {
  let s = '';
  if (item.raw.length % 8) return `btrfs: uuid item with illegal size ${item.raw.length}!\n`;
  for (const id of item.subvolIds) s += `\t\tsubvol_id ${id}\n`;
  return s;
}

function renderStringItem(_key: Key, item: Extract<DecodedItem, { kind: 'string_item' }>, _ctx: PrintContext): string {
  return `\t\titem data ${printableName62(item.bytes)}\n`;
}

function renderDevStats(key: Key, item: Extract<DecodedItem, { kind: 'dev_stats' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  s =
    `\t\tpersistent item objectid ${objectidToString(key.objectid, ItemType.PERSISTENT_ITEM, v)} offset ${key.offset}\n\t\tdevice stats\n` +
    `\t\twrite_errs ${item.writeErrs} read_errs ${item.readErrs} flush_errs ${item.flushErrs} corruption_errs ${item.corruptionErrs} generation ${item.generationErrs}\n`;
  const size = item.values.length * 8;
  if (size > 40) {
    s += `\t\tunknown stats item bytes ${size - 40}`;
    for (let i = 5; i < item.values.length; i++) s += `\t\tunknown item ${i} offset ${i * 8} value ${item.values[i]}\n`;
  }
  return s;
}

function renderPersistentItem(key: Key, item: Extract<DecodedItem, { kind: 'persistent_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return `\t\tpersistent item objectid ${objectidToString(key.objectid, ItemType.PERSISTENT_ITEM, v)} offset ${key.offset}\n` + `\t\tunknown persistent item objectid ${key.objectid}\n`;
}

function renderBalanceItem(key: Key, item: Extract<DecodedItem, { kind: 'balance_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return (
    `\t\ttemporary item objectid ${objectidToString(key.objectid, ItemType.TEMPORARY_ITEM, v)} offset ${key.offset}\n` +
    `\t\tbalance status flags ${item.flags}\n` +
    `\t\tDATA\n${balanceArgs(item.data)}\t\tMETADATA\n${balanceArgs(item.meta)}\t\tSYSTEM\n${balanceArgs(item.sys)}`
  );
}

function renderTemporaryItem(key: Key, item: Extract<DecodedItem, { kind: 'temporary_item' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  s = `\t\ttemporary item objectid ${objectidToString(key.objectid, ItemType.TEMPORARY_ITEM, v)} offset ${key.offset}\n`;
  if (v === '6.2' && key.objectid === 13n) return s + `\t\tcsum tree tmp root ${key.offset}\n`;
  if (v === '6.19' && key.objectid === BigInt.asUintN(64, -13n)) {
    const names = ['crc32c', 'xxhash64', 'sha256', 'blake2b'];
    return s + (key.offset < 4n ? `\t\ttarget csum type ${names[Number(key.offset)]} (${key.offset})\n` : `\t\tunknown csum type ${key.offset}\n`);
  }
  return s + `\t\tunknown temporary item objectid ${key.objectid}\n`;
}

function renderDevReplace(_key: Key, item: Extract<DecodedItem, { kind: 'dev_replace' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  const tz = ctx.timeZone ?? 'utc';
  if (v !== '6.19') return '';
  const mode = item.contReadingFromSrcdevMode === 0n ? 'ALWAYS' : item.contReadingFromSrcdevMode === 1n ? 'AVOID' : `unknown(${item.contReadingFromSrcdevMode})`;
  const state = item.replaceState < 5n ? DEV_REPLACE_STATES[Number(item.replaceState)]! : `unknown(${item.replaceState})`;
  // btrfs-progs prints time_started on both time lines.
  return (
    `\t\tsrc devid ${signed64(item.srcDevid)} cursor left ${item.cursorLeft} cursor right ${item.cursorRight} mode ${mode}\n` +
    `\t\tstate ${state} write errors ${item.numWriteErrors} uncorrectable read errors ${item.numUncorrectableReadErrors}\n` +
    `\t\tstart time ${item.timeStarted} (${formatTime(BigInt.asIntN(64, item.timeStarted), tz)})\n` +
    `\t\tstop time ${item.timeStarted} (${formatTime(BigInt.asIntN(64, item.timeStarted), tz)})\n`
  );
}

function renderRaidStripe(_key: Key, item: Extract<DecodedItem, { kind: 'raid_stripe' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  let s = '';
  if (v !== '6.19') return '';
  item.strides.forEach((st, i) => {
    s += `\t\t\tstripe ${i} devid ${st.devid} physical ${st.physical}\n`;
  });
  return s;
}

function renderVerityDesc(_key: Key, item: Extract<DecodedItem, { kind: 'verity_desc' | 'verity_merkle' }>, _ctx: PrintContext): string {
  return '';
}

function renderUnknown(_key: Key, item: Extract<DecodedItem, { kind: 'unknown' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  if (item.itemType === 120) return '\t\tcsum item\n';
  if (v === '6.19' && (item.itemType === 235 || item.itemType === 236) && item.raw.length >= remapItem.size) return `\t\taddress ${remapItem.get.address(item.raw, 0)}\n`;
  return '';
}

function renderInvalid(key: Key, item: Extract<DecodedItem, { kind: 'invalid' }>, ctx: PrintContext): string {
  const v: ProgsStyle = ctx.progs ?? '6.2';
  return `\t\t(invalid ${keyTypeToString(key.objectid, key.type, v)} item: ${item.reason})\n`;
}

export const RENDERERS: { readonly [K in DecodedItemKind]: Renderer<K> } = {
  inode_item: renderInodeItem,
  inode_ref: renderInodeRef,
  inode_extref: renderInodeExtref,
  dir_item: renderDirItem,
  dir_index: renderDirItem,
  xattr_item: renderDirItem,
  dir_log_item: renderDirLogItem,
  dir_log_index: renderDirLogItem,
  orphan_item: renderOrphanItem,
  root_item: renderRootItem,
  root_ref: renderRootRef,
  root_backref: renderRootRef,
  extent_item: renderExtentItem,
  metadata_item: renderExtentItem,
  extent_item_v0: renderExtentItemV0,
  tree_block_ref: renderTreeBlockRef,
  shared_block_ref: renderSharedBlockRef,
  extent_data_ref: renderExtentDataRef,
  shared_data_ref: renderSharedDataRef,
  extent_owner_ref: renderExtentOwnerRef,
  extent_ref_v0: renderExtentRefV0,
  extent_csum: renderExtentCsum,
  file_extent: renderFileExtent,
  block_group_item: renderBlockGroupItem,
  free_space_info: renderFreeSpaceInfo,
  free_space_extent: renderFreeSpaceExtent,
  free_space_bitmap: renderFreeSpaceBitmap,
  free_space_header: renderFreeSpaceHeader,
  chunk_item: renderChunkItem,
  dev_item: renderDevItem,
  dev_extent: renderDevExtent,
  qgroup_status: renderQgroupStatus,
  qgroup_info: renderQgroupInfo,
  qgroup_limit: renderQgroupLimit,
  qgroup_relation: renderQgroupRelation,
  uuid_subvol: renderUuidSubvol,
  uuid_received_subvol: renderUuidSubvol,
  string_item: renderStringItem,
  dev_stats: renderDevStats,
  persistent_item: renderPersistentItem,
  balance_item: renderBalanceItem,
  temporary_item: renderTemporaryItem,
  dev_replace: renderDevReplace,
  raid_stripe: renderRaidStripe,
  verity_desc: renderVerityDesc,
  verity_merkle: renderVerityDesc,
  unknown: renderUnknown,
  invalid: renderInvalid,
};

function balanceArgs(a: BalanceArgs): string {
  return (
    `\t\tprofiles ${a.profiles} devid ${a.devid} target ${a.target} flags ${a.flags}\n` +
    `\t\tusage_min ${a.usageMin} usage_max ${a.usageMax} pstart ${a.pstart} pend ${a.pend}\n` +
    `\t\tvstart ${a.vstart} vend ${a.vend} limit_min ${a.limitMin} limit_max ${a.limitMax}\n` +
    `\t\tstripes_min ${a.stripesMin} stripes_max ${a.stripesMax}\n`
  );
}

/** What btrfs-progs 6.19 prints as an inline ref's "sequence": its offset field, or the data ref hash. */
function refSeq(r: InlineRef): bigint {
  switch (r.kind) {
    case 'tree_block':
    case 'extent_owner':
      return r.root;
    case 'shared_block':
    case 'shared_data':
      return r.parent;
    case 'extent_data':
      return extentDataRefHash(r.root, r.objectid, r.offset);
  }
}

/** --csum-items lines: "[offset] 0xCSUM", 4 per line for crc32c, 2 for xxhash, 1 for 32-byte csums. */
function csumLines(start: bigint, csums: Uint8Array, count: number, csumSize: number, sectorsize: number): string {
  const perLine = Math.max(1, Math.floor(32 / csumSize / 2));
  let s = '';
  let cur = perLine;
  let off = start;
  for (let i = 0; i < count; i++) {
    if (cur === perLine) s += '\t\t';
    else if (cur === 0) {
      cur = perLine;
      s += '\n\t\t';
    } else s += ' ';
    s += `[${off}] 0x${toHex(csums, i * csumSize, csumSize)}`;
    off += BigInt(sectorsize);
    cur--;
  }
  return s + '\n';
}
