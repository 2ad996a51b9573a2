import type { Command } from 'commander';
import { recoverDeleted } from '../../analysis/forensics/recover.js';
import { bodyLine, bodyName, liveInodes, recoveredEntries, timelineEvents, type TimelineEntry } from '../../analysis/forensics/timeline.js';
import { FsView } from '../../fs/FsView.js';
import { formatTime, tableName } from '../../report/fs.js';
import { toJson } from '../../report/json.js';
import { openFilesystem } from '../open.js';
import { LineWriter, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';
import { finish } from '../findings.js';
import { symlinkTarget } from '../../fs/fileData.js';

interface TimelineOptions extends CommonOptions {
  bodyfile?: boolean;
  ns?: boolean;
  recovered?: boolean;
}

/**
 * timeline: atime, mtime, ctime and otime (birth) of every inode of every
 * subvolume, and of recovered ones (flagged "(deleted)"), as a TSK 3 body
 * file for mactime, or a time-sorted table / NDJSON of MACB events.
 */
export function registerTimeline(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('timeline').argument('[image]', 'image file or device'))
    .description('every inode\'s atime/mtime/ctime/otime (and recovered ones, flagged): TSK 3 body file (--bodyfile) or a time-sorted MACB table / NDJSON (--json)')
    .option('--bodyfile', 'TSK 3 body file: MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime (whole seconds)')
    .option('--ns', 'with --bodyfile: times as seconds.nanoseconds (not every mactime accepts it)')
    .option('--no-recovered', 'leave out recovered (deleted) inodes (skips the metadata scan)')
    .action((image: string | undefined, opts: TimelineOptions) => {
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      const entries: TimelineEntry[] = [];
      for (const e of liveInodes(view)) {
        if (e.inode.kind === 'symlink') e.symlinkTarget = symlinkTarget(view, e.inode);
        entries.push(e);
      }
      if (opts.recovered !== false) {
        const scan = scanWithProgress(fs, io);
        const progress = new Progress(io);
        progress.phase('searching older trees');
        entries.push(...recoveredEntries(recoverDeleted(fs, scan).files));
        progress.done();
      }
      const w = new LineWriter(io.stdout);
      if (opts.bodyfile) {
        for (const e of entries) w.line(bodyLine(e, opts.ns ?? false));
      } else {
        for (const ev of timelineEvents(entries)) {
          const e = ev.entry;
          const t = { sec: ev.timeNs / 1_000_000_000n - (ev.timeNs % 1_000_000_000n < 0n ? 1n : 0n), nsec: Number(((ev.timeNs % 1_000_000_000n) + 1_000_000_000n) % 1_000_000_000n) };
          if (opts.json) {
            w.line(toJson({ time: formatTime(t), timeNs: ev.timeNs, macb: ev.macb, subvol: e.subvol, ino: e.ino, path: e.path ? bodyName({ ...e, deleted: false, symlinkTarget: null }) : null, kind: e.inode.kind, mode: e.inode.mode, uid: e.inode.uid, gid: e.inode.gid, size: e.inode.size, deleted: e.deleted, ...(e.source ? { source: e.source } : {}) }));
          } else {
            w.line(`${formatTime(t)} ${ev.macb} ${String(e.inode.size).padStart(10)} ${bodyLine(e).split('|')[3]} ${String(e.inode.uid).padStart(5)} ${String(e.inode.gid).padStart(5)} ${e.subvol}:${e.ino} ${e.path ? bodyName(e) : tableName(new TextEncoder().encode(`<no name: subvolume ${e.subvol} inode ${e.ino}>`))}`);
          }
        }
      }
      w.flush();
      done(finish(fs, io));
    });
}
