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
import { type CliIO, EXIT_DAMAGE, LineWriter, UsageError } from '../context.js';
import { DfxmlFile } from '../dfxmlFile.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';

interface TimelineOptions extends CommonOptions {
  bodyfile?: boolean;
  ns?: boolean;
  recovered?: boolean;
  subvol?: string;
  dfxml?: string;
}

/**
 * Inodes the time-sorted view gathers in memory: about 1.3 KiB each with
 * their events (364,000 took 555 MiB max RSS on the bench image), so this
 * many stay near 350 MiB. The body file streams and has no limit: past
 * this, sort it with mactime, or narrow the view with --subvol.
 */
export const MAX_SORTED_INODES = 200_000;

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
      const entries: TimelineEntry[] = [];
      const style = opts.json ? 'json' : 'display';
      for (const e of liveInodes(view, only)) {
        if (entries.length >= MAX_SORTED_INODES) {
          io.stderr.write(`btrfs-inspect: timeline: more than ${MAX_SORTED_INODES} inodes to sort in memory; use --bodyfile (streamed; sort it with mactime) or --subvol to narrow it\n`);
          dfxml?.close();
          return done(EXIT_DAMAGE);
        }
        entries.push(slimEntry(toDfxml(withTarget(e)), style));
      }
      entries.push(...recovered().map((e) => slimEntry(toDfxml(e), style)));
      dfxml?.close();
      // NDJSON: a header record, then one "event" record per time.
      if (opts.json) w.line(ndjsonHeader('timeline').slice(0, -1));
      for (const ev of timelineEvents(entries)) {
        const e = ev.entry;
        if (opts.json) {
          w.line(toJson(eventJson(ev)));
        } else {
          w.line(
            `${formatTime(eventTime(ev))} ${ev.macb} ${String(e.inode.size).padStart(10)} ${tskModeString(e.inode.kind, e.inode.mode)} ${String(e.inode.uid).padStart(5)} ${String(e.inode.gid).padStart(5)} ${e.subvol}:${e.ino} ${displayEntryName(e)}`,
          );
        }
      }
      w.flush();
      done(finish(fs, io));
    });
}
