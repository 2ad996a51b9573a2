import type { Recovered, RecoverReport, RemovedName } from '../analysis/forensics/recover.js';
import type { RootCandidate } from '../analysis/forensics/roots.js';
import { showEntry, type TimelineEvent, timespecOfNs } from '../analysis/forensics/timeline.js';
import { ItemType } from '../format/constants.js';
import { jsonPath, pathBytes, toBase64 } from '../fs/names.js';
import { fileEntryJson, formatTime } from './fs.js';
import { objectidToString } from './printTree.js';

/**
 * The records of `roots --json` and `recover --json`: one builder for the CLI
 * and the web app's Forensics view.
 */

/** What recover -o did (or, with --dry-run, would do) for one recovered file. */
export interface Written {
  /** Its path under DIR. */
  path: string;
  /** Where it was written (null: not written, or --dry-run). */
  host: string | null;
  failed: string | null;
}

export function rootJson(r: RootCandidate): Record<string, unknown> {
  return {
    tree: r.tree,
    treeName: objectidToString(r.tree, ItemType.ROOT_ITEM),
    generation: r.generation,
    bytenr: r.root.bytenr,
    level: r.root.level,
    sources: r.sources,
    copies: r.copies ?? null,
    intact: r.intact,
    missing: r.missing,
    truncated: r.truncated,
    current: r.current,
    lost: r.lost,
  };
}

/**
 * Confidence that what was written is the file as it was, from the state of its data:
 * high when every sector matched a surviving checksum (or the data was inline, in a
 * checksummed leaf, or there is none), medium when nothing reused it but no checksum
 * survives, low when partly overwritten, none when overwritten or gone.
 */
export function confidence(state: Recovered['data']['state']): 'high' | 'medium' | 'low' | 'none' {
  switch (state) {
    case 'intact':
    case 'inline':
    case 'no-data':
      return 'high';
    case 'unverified':
      return 'medium';
    case 'partly-overwritten':
      return 'low';
    default:
      return 'none';
  }
}

export function reportJson(report: RecoverReport, written: Map<Recovered, Written>, top: Record<string, unknown>): Record<string, unknown> {
  return {
    ...top,
    files: report.files.map((r) => fileJson(r, written.get(r))),
    removedNames: report.removedNames.map(removedNameJson),
    orphanLeaves: report.orphanLeaves,
    olderChunks: report.olderChunks,
    carved: report.carved,
    searched: report.searched,
  };
}

export function removedNameJson(n: RemovedName): Record<string, unknown> {
  const p = n.path ? jsonPath(n.path) : null;
  const name = jsonPath([n.name]);
  return {
    subvol: n.subvol,
    ino: n.ino,
    path: p ? p.text : null,
    ...(p && !p.exact ? { pathBase64: toBase64(pathBytes(n.path!)) } : {}),
    parent: n.parent,
    name: name.text.slice(1),
    lastSeen: n.lastSeen,
    treeRoot: n.root.bytenr,
    currentPaths: n.currentPaths.map((c) => jsonPath(c).text),
  };
}

export function fileJson(r: Recovered, w?: Written): Record<string, unknown> {
  const i = r.inode;
  return {
    // The entry shape of ls and stat (no xattrs: they are in the older tree, not read here), then what recover adds.
    ...fileEntryJson({ path: r.paths[0] ?? null, ref: { subvol: r.subvol, ino: r.ino }, inode: i }),
    paths: r.paths.map((p) => jsonPath(p).text),
    inodeGeneration: i.generation,
    lastSeen: r.lastSeen,
    source: r.source,
    inoReused: r.inoReused,
    treeRoot: r.root.bytenr,
    treeRootGeneration: r.root.generation ?? null,
    inodeBlock: i.place?.block ?? null,
    confidence: confidence(r.data.state),
    data: r.data,
    ...(r.leaves ? { leaves: r.leaves, olderVersion: r.olderVersion ?? false } : {}),
    ...(w ? { outputPath: w.path, writtenTo: w.host, failed: w.failed } : {}),
  };
}

/** An event's time as seconds and nanoseconds (floored: a time before 1970 has a negative second and a positive nanosecond). */
export function eventTime(ev: TimelineEvent): { sec: bigint; nsec: number } {
  return timespecOfNs(ev.timeNs);
}

/** One "event" record of `timeline --json`. */
export function eventJson(ev: TimelineEvent): Record<string, unknown> {
  const e = ev.entry;
  const s = showEntry(e, 'json');
  return {
    record: 'event',
    time: formatTime(eventTime(ev)),
    timeNs: ev.timeNs,
    macb: ev.macb,
    subvol: e.subvol,
    ino: e.ino,
    path: s.path,
    ...(s.pathBase64 ? { pathBase64: s.pathBase64 } : {}),
    type: e.inode.kind,
    mode: e.inode.mode,
    uid: e.inode.uid,
    gid: e.inode.gid,
    size: e.inode.size,
    deleted: e.deleted,
    ...(e.source ? { source: e.source } : {}),
  };
}
