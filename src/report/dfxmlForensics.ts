import type { ByteRun } from '../analysis/byteRuns.js';
import type { Recovered } from '../analysis/forensics/recover.js';
import { type TimelineEntry, tskPath } from '../analysis/forensics/timeline.js';
import { type ContentDigests, type ManifestEntry, manifestEntryOf } from '../analysis/manifest.js';
import type { Inode } from '../fs/types.js';
import { dfxmlFileObject } from './dfxml.js';

/** Where the first device's bytes are in the image file DFXML's img_offset counts in. */
export interface DfxmlImage {
  devid: bigint;
  offset: bigint;
}

/** A ManifestEntry (what dfxmlFileObject writes) for an inode at `path`. */
function entryOf(subvol: bigint, path: Uint8Array[], i: Inode, content?: { digests: ContentDigests } | { contentError: string }): ManifestEntry {
  return { ...manifestEntryOf(path, { subvol, ino: i.ino }, i), ...(content ?? {}) };
}

/**
 * One fileobject of a recovered file: its path as it was (TSK's
 * $OrphanFiles form when no directory path survives), allocation elements
 * that say it is deleted, its byte runs and the digests of what was
 * recovered (`content`; the data state tells how far to trust them).
 */
export function recoveredFileObject(r: Recovered, runs: readonly ByteRun[] | null, content: { digests: ContentDigests } | { contentError: string } | undefined, image: DfxmlImage): string {
  const p = tskPath({ subvol: r.subvol, ino: r.ino, path: r.paths[0] ?? null, source: r.source });
  return dfxmlFileObject(entryOf(r.subvol, p.path, r.inode, content), runs, image.devid, image.offset, {
    inodeAllocated: r.olderVersion === true,
    orphan: p.orphan,
    source: r.source,
    lastSeen: r.lastSeen,
    dataState: r.data.state,
  });
}

/** One fileobject of a timeline entry (one name of an inode): names, inode fields and times; recovered entries flagged deleted. */
export function timelineFileObject(e: TimelineEntry & { inode: Inode }, image: DfxmlImage): string {
  const p = tskPath(e);
  const recovered = e.deleted ? { inodeAllocated: e.olderVersion === true, orphan: p.orphan, source: e.source ?? 'recovered' } : undefined;
  return dfxmlFileObject(entryOf(e.subvol, p.path, e.inode), null, image.devid, image.offset, recovered);
}
