import type { Command } from 'commander';
import { recoverDeleted } from '../../analysis/forensics/recover.js';
import { bodyLine, displayEntryName, liveInodes, recoveredEntries, slimEntry, type TimelineEntry, timelineEvents, tskModeString } from '../../analysis/forensics/timeline.js';
import { FsView } from '../../fs/FsView.js';
import { symlinkTarget } from '../../fs/fileData.js';
import { selectSubvolume } from '../../fs/select.js';
import type { Inode } from '../../fs/types.js';
import { timelineFileObject } from '../../report/dfxmlForensics.js';
import { eventJson, eventTime } from '../../report/forensicsJson.js';
import { formatTime } from '../../report/fs.js';
import { ndjsonHeader, toJson } from '../../report/json.js';
import { type CliIO, LineWriter, UsageError } from '../context.js';
import { DfxmlFile } from '../dfxmlFile.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';
import { SortedLines } from '../sortedLines.js';

interface TimelineOptions extends CommonOptions {
  bodyfile?: boolean;
  ns?: boolean;
  recovered?: boolean;
  subvol?: string;
  dfxml?: string;
}

/**
 * Events the time-sorted views hold in memory (a line and its sort key,
 * about 300 bytes each): past this, sorted runs of this many go to
 * temporary files (TMPDIR) and are merged through a heap, so any number of
 * inodes sorts in bounded memory (the bench image: 3.9 million inodes of 13
 * subvolumes). 200,000 held 720 MiB of RSS there at times (the collector
 * lets dropped runs pile up): a quarter of that.
 */
export const SORT_RUN_EVENTS = 50_000;

/** Biases that make signed times and u64 numbers sort as fixed-width hex strings. */
const TIME_BIAS = 1n << 95n;

/** A sort key of fixed width: time (ns, biased; seconds are i64, so up to 2^93), subvolume, inode, sequence. */
function eventKey(timeNs: bigint, subvol: bigint, ino: bigint, seq: number): string {
  const hex = (v: bigint, w: number) => v.toString(16).padStart(w, '0');
  return hex(timeNs + TIME_BIAS, 24) + hex(subvol, 16) + hex(ino, 16) + seq.toString(16).padStart(13, '0');
}

/**
 * timeline: atime, mtime, ctime and otime (birth) of every inode of every
 * subvolume, and of recovered ones (flagged "(deleted)"), as a TSK 3 body
 * file for mactime, or a time-sorted table / NDJSON of MACB events.
 */
export function registerTimeline(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('timeline').argument('[image]', 'image file or device'))
    .description("every inode's atime/mtime/ctime/otime (and recovered ones, flagged): TSK 3 body file (--bodyfile) or a time-sorted MACB table / NDJSON (--json)")
    .option('--bodyfile', 'TSK 3 body file: MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime (whole seconds; one line per name; inode is SUBVOL-INO)')
    .option('--ns', 'with --bodyfile: times as seconds.nanoseconds (not every mactime accepts it)')
    .option('--no-recovered', 'leave out recovered (deleted) inodes (skips the metadata scan)')
    .option('--subvol <id|path>', "only this subvolume's inodes (recovered ones too)")
    .option(
      '--dfxml <file>',
      "also write a DFXML document to FILE: one fileobject per name of each inode with its fields and times, recovered ones marked deleted (alloc_name 0), TSK's $OrphanFiles for those no name reaches",
    )
    .action((image: string | undefined, opts: TimelineOptions) => {
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      let only: bigint | undefined;
      if (opts.subvol !== undefined) {
        const sv = selectSubvolume(view, opts.subvol);
        if (!sv.ok) throw new UsageError(sv.error);
        only = sv.root.subvol;
      }
      const w = new LineWriter(io.stdout);
      const dfxml = opts.dfxml ? new DfxmlFile(opts.dfxml, fs, image, 'timeline') : null;
      const toDfxml = <T extends TimelineEntry & { inode: Inode }>(e: T): T => {
        dfxml?.object(timelineFileObject(e, dfxml.image));
        return e;
      };
      const withTarget = (e: TimelineEntry & { inode: Inode }) => {
        if (e.inode.kind === 'symlink') e.symlinkTarget = symlinkTarget(view, e.inode);
        return e;
      };
      const recovered = () => {
        if (opts.recovered === false) return [];
        const scan = scanWithProgress(fs, io);
        const progress = new Progress(io);
        progress.phase('searching older trees');
        const r = recoveredEntries(recoverDeleted(fs, scan).files).filter((e) => only === undefined || e.subvol === only);
        progress.done();
        return r;
      };
      if (opts.bodyfile) {
        // A body file is unsorted (mactime sorts it): written as the trees are walked, in bounded memory.
        for (const e of liveInodes(view, only)) w.line(bodyLine(toDfxml(withTarget(e)), opts.ns ?? false));
        for (const e of recovered()) w.line(bodyLine(toDfxml(e), opts.ns ?? false));
        w.flush();
        dfxml?.close();
        return done(finish(fs, io));
      }
      const style = opts.json ? 'json' : 'display';
      const sorted = new SortedLines(SORT_RUN_EVENTS);
      // Each event is made its output line at once (nothing of the entry is held) and keyed by
      // time, subvolume, inode, then the order it came in: the order timelineEvents gives.
      let seq = 0;
      const add = (e: TimelineEntry) => {
        const slim = slimEntry(e, style);
        for (const ev of timelineEvents([slim])) {
          const line = opts.json
            ? toJson(eventJson(ev))
            : `${formatTime(eventTime(ev))} ${ev.macb} ${String(slim.inode.size).padStart(10)} ${tskModeString(slim.inode.kind, slim.inode.mode)} ${String(slim.inode.uid).padStart(5)} ${String(slim.inode.gid).padStart(5)} ${slim.subvol}:${slim.ino} ${displayEntryName(slim)}`;
          sorted.add(eventKey(ev.timeNs, slim.subvol, slim.ino, seq++), line);
        }
      };
      try {
        for (const e of liveInodes(view, only)) add(toDfxml(withTarget(e)));
        for (const e of recovered()) add(toDfxml(e));
        dfxml?.close();
        // NDJSON: a header record, then one "event" record per time.
        if (opts.json) w.line(ndjsonHeader('timeline').slice(0, -1));
        for (const line of sorted.drain()) w.line(line);
      } finally {
        sorted.dispose();
      }
      w.flush();
      done(finish(fs, io));
    });
}
