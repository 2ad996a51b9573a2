/**
 * The extraction engine (Node): writes files of an image to a directory of
 * this machine. Used by the extract and recover commands; progress goes
 * through the ExtractProgress the caller passes.
 */
export { extractFiles, type ExtractOptions, type ExtractProgress } from './extractFiles.js';
export type { ExtractIssue, ExtractSummary } from './summary.js';
export { loadXattr, type XattrApi } from './metadata.js';
export { placeUnder, prepareOutputDir } from './outputPath.js';
