/** Node-only byte sources (image files, block devices, runs images) and the extraction engine. */
export * from './io/node/FileSource.js';
export * from './io/node/runs.js';
export * from './io/node/openSource.js';
/** The extraction engine: files of an image written to a directory of this machine. */
export { extractFiles, loadXattr, type ExtractIssue, type ExtractOptions, type ExtractProgress, type ExtractSummary, type XattrApi } from './node/extract/index.js';
export { runCli } from './cli/main.js';
