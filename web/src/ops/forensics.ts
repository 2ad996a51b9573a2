import { recoverDeleted } from '../../../src/analysis/forensics/recover.js';
import { scanOf, surveyRoots } from '../../../src/analysis/forensics/roots.js';
import type { ScanResult } from '../../../src/analysis/forensics/scan.js';
import { liveInodes, recoveredEntries, slimEntry, type TimelineEntry, timelineEvents } from '../../../src/analysis/forensics/timeline.js';
import type { FsView } from '../../../src/fs/FsView.js';
import { eventJson, reportJson, rootJson } from '../../../src/report/forensicsJson.js';
import { toJson } from '../../../src/report/json.js';
import type { Filesystem } from '../../../src/tree/Filesystem.js';

type Progress = (phase: string, done: number, total: number) => void;

/** The metadata scan (every block of every copy of the metadata chunks), done once per opened image. */
let scanned: { fs: Filesystem; scan: ScanResult } | null = null;

function scanFor(fs: Filesystem, progress: Progress): ScanResult {
  if (scanned?.fs !== fs) scanned = { fs, scan: scanOf(fs, (done, total) => progress('scanning metadata', Number(done), Number(total))) };
  return scanned.scan;
}

/** `roots --json` without the log summary: every surviving tree root by tree and generation, how complete each is. */
export function roots(fs: Filesystem, progress: Progress): string {
  const scan = scanFor(fs, progress);
  progress('measuring old trees', 0, 0);
  return toJson({
    superblock: { generation: fs.superblock.generation, root: fs.superblock.root, logRoot: fs.superblock.logRoot },
    scan: { chunks: scan.chunks, copiesRead: scan.copiesRead, validCopies: scan.validCopies, validBlocks: scan.validBlocks },
    roots: surveyRoots(fs, scan).map(rootJson),
  });
}

/** `recover --json` (nothing written): deleted files with the state of their data, and removed names. */
export function recover(fs: Filesystem, progress: Progress): string {
  const scan = scanFor(fs, progress);
  progress('searching older trees', 0, 0);
  return toJson(reportJson(recoverDeleted(fs, scan), new Map(), {}));
}

/** Most events sent to the page: the view filters them; the CLI sorts any number (sorted runs spill to temporary files). */
const MAX_EVENTS = 100_000;

/** `timeline --json`'s event records: every inode's four times, live and recovered (deleted) ones. */
export function timeline(view: FsView, progress: Progress): string {
  const entries: TimelineEntry[] = [];
  for (const e of liveInodes(view)) entries.push(slimEntry(e, 'json'));
  const scan = scanFor(view.fs, progress);
  progress('searching older trees', 0, 0);
  entries.push(...recoveredEntries(recoverDeleted(view.fs, scan).files).map((e) => slimEntry(e, 'json')));
  const events = timelineEvents(entries);
  return toJson({ total: events.length, events: events.slice(0, MAX_EVENTS).map(eventJson) });
}
