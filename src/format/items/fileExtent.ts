import { asLogical, type Logical } from '../addresses.js';
import { FileExtentType, ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { defineStruct } from '../struct.js';
import { type InvalidItem, tooShort } from './common.js';

/**
 * btrfs_file_extent_item, field by field (btrfs_tree.h). An inline extent
 * stores its data from disk_bytenr's offset on, in place of the last four fields.
 */
export const fileExtentItem = defineStruct('btrfs_file_extent_item', 53, [
  ['generation', 'u64'],
  ['ramBytes', 'u64'],
  ['compression', 'u8'],
  ['encryption', 'u8'],
  ['otherEncoding', 'u16'],
  ['type', 'u8'],
  ['diskBytenr', 'u64'],
  ['diskNumBytes', 'u64'],
  ['offset', 'u64'],
  ['numBytes', 'u64'],
]);
export const {
  generation: fileExtentGeneration,
  ramBytes: fileExtentRamBytes,
  compression: fileExtentCompression,
  encryption: fileExtentEncryption,
  otherEncoding: fileExtentOtherEncoding,
  type: fileExtentType,
  diskBytenr: fileExtentDiskBytenr,
  diskNumBytes: fileExtentDiskNumBytes,
  offset: fileExtentOffset,
  numBytes: fileExtentNumBytes,
} = fileExtentItem.get;

/** Offset of inline data (and of disk_bytenr) in btrfs_file_extent_item. */
export const FILE_EXTENT_INLINE_DATA_START = fileExtentItem.off.diskBytenr;
export const FILE_EXTENT_ITEM_SIZE = fileExtentItem.size;

interface FileExtentCommon {
  kind: 'file_extent';
  /** File offset this extent maps (the key offset). */
  fileOffset: bigint;
  generation: bigint;
  /** Uncompressed size of the whole extent (decompressed size for inline). */
  ramBytes: bigint;
  compression: number;
  encryption: number;
  otherEncoding: number;
  /** FileExtentType: 0 inline, 1 regular, 2 prealloc (other values are corrupt). */
  type: number;
  errors?: string[];
}

/** Inline extent: the (possibly compressed) data is stored in the item after a 21-byte header. */
export interface FileExtentInline extends FileExtentCommon {
  body: 'inline';
  /** Offset of the data within the item (always 21). */
  inlineOffset: number;
  /** Stored data length (item size - 21). */
  inlineLength: number;
  data: Uint8Array;
}

/** Regular or prealloc extent (and, as btrfs-progs does, any unknown type): data lives on disk. */
export interface FileExtentDisk extends FileExtentCommon {
  body: 'disk';
  /** Logical address of the extent; 0 means a hole. */
  /** Logical address of the data extent (0: a hole). */
  diskBytenr: Logical;
  diskNumBytes: bigint;
  /** Offset into the (uncompressed) extent where this file range starts. */
  offset: bigint;
  numBytes: bigint;
}

export type FileExtentDecoded = FileExtentInline | FileExtentDisk;

export function decodeFileExtent(key: Key, data: Uint8Array): FileExtentDecoded | InvalidItem {
  if (data.length < FILE_EXTENT_INLINE_DATA_START) {
    return tooShort(ItemType.EXTENT_DATA, 'file extent header', FILE_EXTENT_INLINE_DATA_START, data);
  }
  const type = fileExtentType(data, 0);
  const generation = fileExtentGeneration(data, 0);
  const ramBytes = fileExtentRamBytes(data, 0);
  const compression = fileExtentCompression(data, 0);
  const encryption = fileExtentEncryption(data, 0);
  const otherEncoding = fileExtentOtherEncoding(data, 0);
  if (type === FileExtentType.INLINE) {
    return {
      kind: 'file_extent',
      body: 'inline',
      fileOffset: key.offset,
      generation,
      ramBytes,
      compression,
      encryption,
      otherEncoding,
      type,
      inlineOffset: FILE_EXTENT_INLINE_DATA_START,
      inlineLength: data.length - FILE_EXTENT_INLINE_DATA_START,
      data: data.subarray(FILE_EXTENT_INLINE_DATA_START),
    };
  }
  if (data.length < FILE_EXTENT_ITEM_SIZE) return tooShort(ItemType.EXTENT_DATA, 'non-inline file extent', FILE_EXTENT_ITEM_SIZE, data);
  const r: FileExtentDisk = {
    kind: 'file_extent',
    body: 'disk',
    fileOffset: key.offset,
    generation,
    ramBytes,
    compression,
    encryption,
    otherEncoding,
    type,
    diskBytenr: asLogical(fileExtentDiskBytenr(data, 0)),
    diskNumBytes: fileExtentDiskNumBytes(data, 0),
    offset: fileExtentOffset(data, 0),
    numBytes: fileExtentNumBytes(data, 0),
  };
  let errors: string[] | undefined;
  if (data.length !== FILE_EXTENT_ITEM_SIZE) (errors ??= []).push(`file extent item has ${data.length} bytes, expected ${FILE_EXTENT_ITEM_SIZE}`);
  if (type !== FileExtentType.REG && type !== FileExtentType.PREALLOC) (errors ??= []).push(`unknown file extent type ${type}`);
  if (errors) r.errors = errors;
  return r;
}
