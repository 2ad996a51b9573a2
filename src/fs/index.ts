/**
 * The file layer: subvolumes, directories, inodes, file data and back
 * references of a btrfs filesystem, read lazily from its trees.
 */
export * from './types.js';
export * from './names.js';
export { FsView, LIMITS, EMPTY_SUBVOL_DIR, isFsTreeId, kindOfMode, inodeFlagNames, FT_OF_KIND, type InodeName, type Xattr, type SubvolumeInfo, type ResolveResult } from './FsView.js';
export { fileExtents, readFile, readAll, newReadStats, type FileExtent, type DataSegment, type ReadOptions, type ReadStats } from './fileData.js';
export { CsumLookup, type SectorCsums } from './csums.js';
export { walkFiles, type WalkItem, type WalkFilesOptions } from './walk.js';
export { resolveLogical, type LogicalResolution, type FileUse, type BackRef, type ExtentInfo } from './backrefs.js';
export { locate, selectSubvolume, parseInodeSpec, type Target, type Located } from './select.js';
export { lastKeyAtOrBefore, itemsFromAtOrBefore } from './treeSearch.js';
