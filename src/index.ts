/**
 * btrfs-inspect as a library: the decoding core, free of Node APIs, so it
 * runs in a browser too (feed it a MemorySource, or any ByteSource).
 * Node-only sources (files, block devices, runs images) are in "btrfs-inspect/node".
 */
export type { ByteSource } from './io/ByteSource.js';
export { SourceError, readExact } from './io/ByteSource.js';
export { MemorySource } from './io/MemorySource.js';
export { SliceSource } from './io/SliceSource.js';
export { SparseSource } from './io/SparseSource.js';
export { OverlaySource } from './io/OverlaySource.js';
export * from './io/partitions.js';

export * from './format/constants.js';
export * from './format/bytes.js';
export * from './format/key.js';
export * from './format/checksum.js';
export * from './format/superblock.js';
export * from './format/treeBlock.js';
export * as items from './format/items/index.js';
export { decodeItem, type ItemContext, type DecodedItem } from './format/items/index.js';
export { decompressExtent, DecompressionError } from './format/compression/index.js';

export * from './findings.js';

export * from './volume/ChunkMap.js';
export * from './volume/Volume.js';
export * from './volume/superblocks.js';
export * from './volume/assemble.js';
export * from './volume/raid56.js';

export * from './tree/Filesystem.js';
export * from './tree/readTreeBlock.js';
export * from './tree/BlockCache.js';
export * from './tree/walk.js';
export * from './tree/blockGroups.js';

export * from './report/json.js';
export * from './report/printTree.js';
export * from './report/dumpTree.js';
export * from './fs/index.js';
export * as forensics from './analysis/forensics/index.js';
export * as check from './analysis/check/index.js';
