/**
 * The extraction engine (Node): writes files of an image to a directory of
 * this machine. Used by the extract and recover commands; progress goes
 * through the ExtractProgress the caller passes.
 */
export { extractFiles, type ExtractOptions, type ExtractProgress, type ExtractSelect, type ExtractStart } from './extractFiles.js';
export { mergeSummary, type ExtractIssue, type ExtractSummary, type WrittenEntry } from './summary.js';
export { loadXattr, metaOf, timePrecisionNote, type Meta, type XattrApi } from './metadata.js';
export { loadNsTimes, type NsTimes } from './nsTimes.js';
export { planExtraction, planSelect, type Plan, type PlannedEntry } from './plan.js';
export { prepareOutputDir } from './outputPath.js';
