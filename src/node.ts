/**
 * Node-only byte sources: image files, block devices, runs images; and the
 * hardware crc32c. The CLI is not part of this entry (bin runs dist/cli/main.js).
 */
/** A file or block device opened read-only (positional reads); the error naming a path it cannot open. */

/** Hands the core a hardware-backed crc32c when the optional @node-rs/crc32 package is there. */
export { useNativeExtentCodecs } from './io/node/extentCodecs.js';
export { FileOpenError, FileSource } from './io/node/FileSource.js';
export { useNativeCrc32c } from './io/node/nativeCrc32c.js';
/** The source a path names: a runs image (".runs.gz", the samples' sparse form), a split raw image, a qcow2 or EWF container (by content), or a file/device. */
export { isRunsImagePath, openByteSource } from './io/node/openSource.js';
/** A runs image loaded into a sparse in-memory source. */
export { type LoadRunsOptions, loadRunsImage } from './io/node/runs.js';
/** The extraction engine: files of an image written to a directory of this machine. */
export { type ExtractIssue, type ExtractOptions, type ExtractProgress, type ExtractSummary, extractFiles, loadXattr, type XattrApi } from './node/extract/index.js';
