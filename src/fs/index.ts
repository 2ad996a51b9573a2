/**
 * The file layer: subvolumes, directories, inodes, file data and back
 * references of a btrfs filesystem, read lazily from its trees.
 */

export { type BackRef, type ExtentInfo, type FileUse, type LogicalResolution, resolveLogical } from './backrefs.js';
export { CsumLookup, type SectorCsums } from './csums.js';
export { EMPTY_SUBVOL_DIR, FsView, LIMITS } from './FsView.js';
export { type DataSegment, type FileExtent, fileExtents, newReadStats, type ReadOptions, type ReadStats, readAll, readFile } from './fileData.js';
export { FT_OF_KIND, inodeFlagNames, isFsTreeId, kindOfMode } from './fileKinds.js';
export * from './names.js';
export { type Located, locate, parseInodeSpec, selectSubvolume, type Target } from './select.js';
export { itemsFromAtOrBefore, lastKeyAtOrBefore } from './treeSearch.js';
export * from './types.js';
export { type WalkFilesOptions, type WalkItem, walkFiles } from './walk.js';
