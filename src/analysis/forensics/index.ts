export type { DataState, DataStateName, ExtentState } from './dataState.js';
export { type LoggedTree, LogOverlay } from './logReplay.js';
export { type Recovered, type RecoverReport, recoverDeleted } from './recover.js';
export { type Completeness, committedRoots, completeness, type RootCandidate, rootTreeCandidates, scanOf, surveyRoots } from './roots.js';
export { type ScannedBlock, type ScanResult, scanMetadata, type TreeGeneration } from './scan.js';
export { bodyLine, liveInodes, recoveredEntries, type TimelineEntry, type TimelineEvent, timelineEvents, tskModeString } from './timeline.js';
export { TreeAtRoot } from './treeAtRoot.js';
export { type ViewpointOptions, viewpoint } from './viewpoint.js';
