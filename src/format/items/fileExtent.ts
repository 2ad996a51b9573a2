import { u16, u64 } from '../bytes.js';
import { FileExtentType, ItemType } from '../constants.js';
import type { Key } from '../key.js';
import { tooShort, type InvalidItem } from './common.js';

/** Offset of inline data (and of disk_bytenr) in btrfs_file_extent_item. */
export const FILE_EXTENT_INLINE_DATA_START = 21;
export const FILE_EXTENT_ITEM_SIZE = 53;

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
  diskBytenr: bigint;
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
  const type = data[20]!;
  const generation = u64(data, 0);
  const ramBytes = u64(data, 8);
  const compression = data[16]!;
  const encryption = data[17]!;
  const otherEncoding = u16(data, 18);
  if (type === FileExtentType.INLINE) {
    return {
      kind: 'file_extent', body: 'inline', fileOffset: key.offset, generation, ramBytes, compression, encryption, otherEncoding, type,
      inlineOffset: FILE_EXTENT_INLINE_DATA_START,
      inlineLength: data.length - FILE_EXTENT_INLINE_DATA_START,
      data: data.subarray(FILE_EXTENT_INLINE_DATA_START),
    };
  }
  if (data.length < FILE_EXTENT_ITEM_SIZE) return tooShort(ItemType.EXTENT_DATA, 'non-inline file extent', FILE_EXTENT_ITEM_SIZE, data);
  const r: FileExtentDisk = {
    kind: 'file_extent', body: 'disk', fileOffset: key.offset, generation, ramBytes, compression, encryption, otherEncoding, type,
    diskBytenr: u64(data, 21),
    diskNumBytes: u64(data, 29),
    offset: u64(data, 37),
    numBytes: u64(data, 45),
  };
  let errors: string[] | undefined;
  if (data.length !== FILE_EXTENT_ITEM_SIZE) (errors ??= []).push(`file extent item has ${data.length} bytes, expected ${FILE_EXTENT_ITEM_SIZE}`);
  if (type !== FileExtentType.REG && type !== FileExtentType.PREALLOC) (errors ??= []).push(`unknown file extent type ${type}`);
  if (errors) r.errors = errors;
  return r;
}
