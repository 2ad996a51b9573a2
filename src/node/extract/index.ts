/**
 * The extraction engine (Node): writes files of an image to a directory of
 * this machine. Used by the extract and recover commands; progress goes
 * through the ExtractProgress the caller passes.
 */
export { type ExtractOptions, type ExtractProgress, type ExtractSelect, type ExtractStart, extractFiles } from './extractFiles.js';
export { loadXattr, type Meta, metaOf, timePrecisionNote, type XattrApi } from './metadata.js';
export { loadNsTimes, type NsTimes } from './nsTimes.js';
export { prepareOutputDir } from './outputPath.js';
export { type Plan, type PlannedEntry, planExtraction, planSelect } from './plan.js';
export { PRESERVE_ALL, PRESERVE_NONE, type Preserve, preserveOf } from './policy.js';
export { type ExtractIssue, type ExtractSummary, mergeSummary, type Withheld, type WrittenEntry } from './summary.js';
