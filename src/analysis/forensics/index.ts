export { scanMetadata, type ScanResult, type ScannedBlock, type TreeGeneration } from './scan.js';
export { completeness, committedRoots, rootTreeCandidates, scanOf, surveyRoots, type Completeness, type RootCandidate } from './roots.js';
export { LogOverlay, type LoggedTree } from './logReplay.js';
export { recoverDeleted, type Recovered, type RecoverReport, type DataState, type DataStateName, type ExtentState } from './recover.js';
export { bodyLine, liveInodes, recoveredEntries, timelineEvents, tskModeString, type TimelineEntry, type TimelineEvent } from './timeline.js';
export { viewpoint, type ViewpointOptions } from './viewpoint.js';
export { TreeAtRoot } from './treeAtRoot.js';
