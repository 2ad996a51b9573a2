import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { runCheck } from '../../analysis/check/index.js';
import { type Recovered, recoverDeleted } from '../../analysis/forensics/recover.js';
import { entryTimes, liveInodes, recoveredEntries, type TimelineEntry, timespecOfNs, tskModeString } from '../../analysis/forensics/timeline.js';
import { formatLocation } from '../../findings.js';
import { FsView } from '../../fs/FsView.js';
import { displayPath } from '../../fs/names.js';
import { type CaseReport, type CaseSection, caseReportHtml, caseReportMarkdown } from '../../report/caseReport.js';
import { formatTime, formatTimeShort, modeString, subvolumeRow } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { superblockRows } from '../../report/superblock.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, UsageError } from '../context.js';
import { demoImagePath } from '../demo.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';
import { VERSION } from '../version.js';

interface ReportOptions extends CommonOptions {
  output?: string;
  html?: boolean;
  hash?: boolean;
  data?: boolean;
  latest?: string;
}

/** Superblock fields a case report names (the rest are in `super`). */
const SUPER_FIELDS = new Set([
  'fsid',
  'metadata_uuid',
  'label',
  'generation',
  'root',
  'chunk_root',
  'total_bytes',
  'bytes_used',
  'sectorsize',
  'nodesize',
  'csum_type',
  'num_devices',
  'incompat_flags',
  'compat_ro_flags',
]);

/**
 * report: one self-contained case report (Markdown, or HTML with --html) of
 * what the other commands find: the image files and their hashes, the
 * filesystem's facts, subvolumes and snapshots, every check finding, the
 * deleted and recovered files with the state of their data, names removed
 * from live inodes, and the timeline's latest events.
 */
export function registerReport(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('report').argument('[image]', 'image file or device'))
    .description(
      'a case report in one self-contained file (Markdown, or HTML with --html): image files and their md5/sha256, filesystem facts, subvolumes and snapshots, check findings, deleted and recovered files with their data state, removed names, latest timeline events',
    )
    .option('-o, --output <file>', 'write the report to FILE (default: standard output)')
    .option('--html', 'one HTML page (style inline, no script, nothing fetched) instead of Markdown')
    .option('--no-hash', 'do not hash the image files (md5 and sha256 read every byte of them)')
    .option('--data', 'check data checksums too, as "check --data"')
    .option('--latest <n>', 'how many of the latest timeline events to list (default 25)')
    .action((image: string | undefined, opts: ReportOptions) => {
      const latest = opts.latest === undefined ? 25 : Number(opts.latest);
      if (!Number.isInteger(latest) || latest < 0 || latest > 100_000) throw new UsageError(`--latest must be a whole number from 0 to 100000, got "${opts.latest}"`);
      const files = [image === undefined || opts.demo ? demoImagePath() : image, ...(opts.device ?? [])];
      const fs = openFilesystem(image, opts, io);
      const progress = new Progress(io);
      const sections: CaseSection[] = [];

      progress.phase('hashing the image files');
      sections.push({
        title: 'Image',
        blocks: [
          {
            kind: 'table',
            head: ['file', 'size', ...(opts.hash === false ? [] : ['md5', 'sha256'])],
            rows: files.map((f) => {
              const h = opts.hash === false ? null : hashFile(f);
              return [f, String(h?.size ?? fileSize(f)), ...(h ? [h.md5, h.sha256] : [])];
            }),
          },
          { kind: 'text', text: 'Hashes are of the files as given (a container such as E01 or qcow2 is hashed as stored, not as the disk it holds).' },
        ],
      });

      const sb = fs.superblock;
      sections.push({ title: 'Filesystem', blocks: [{ kind: 'fields', rows: superblockRows(sb).filter(([k]) => SUPER_FIELDS.has(k)) }] });

      const view = new FsView(fs);
      const subs = view.subvolumes();
      sections.push({
        title: 'Subvolumes and snapshots',
        blocks: [
          {
            kind: 'table',
            head: ['id', 'path', 'parent', 'gen', 'cgen', 'uuid', 'parent uuid', 'received uuid', 'ctime', 'otime', 'flags'],
            rows: subs.map((s) => subvolumeRow(s).map(String)),
          },
        ],
      });

      progress.phase('checking');
      const check = runCheck(fs, { data: opts.data ?? false });
      const s = check.summary;
      const errors = check.findings.filter((f) => f.severity === 'error').length;
      const warnings = check.findings.filter((f) => f.severity === 'warning').length;
      const verdict = errors ? `DAMAGED: ${errors} error(s), ${warnings} warning(s)` : `clean (${warnings} warning(s))`;
      sections.push({
        title: 'Check',
        blocks: [
          {
            kind: 'text',
            text: `${verdict}; ${s.trees} trees, ${s.treeBlocks} tree blocks (${s.treeBlockCopies} copies), ${s.items} items checked; data ${s.dataChecked ? `checked: ${s.dataSectors} sectors (${s.dataSectorCopies} copies)` : s.dataSkipped ? `not checked: ${s.dataSkipped}` : 'not checked (report --data checks it)'}.`,
          },
          {
            kind: 'table',
            head: ['severity', 'code', 'location', 'repairable', 'message', 'files hurt'],
            rows: check.findings.map((f) => [
              f.severity,
              f.code,
              formatLocation(f.location),
              f.repairable === undefined ? '' : f.repairable ? 'yes' : 'no',
              f.message,
              (f.hurt ?? [])
                .slice(0, 20)
                .map((h) =>
                  h.ino === undefined
                    ? `tree ${h.tree}`
                    : `${h.paths?.join(', ') || `subvolume ${h.tree} inode ${h.ino}`}${h.fileOffset !== undefined ? ` bytes ${h.fileOffset}..${h.fileOffset + (h.length ?? 0n)}` : ''}`,
                )
                .join('\n') + ((f.hurt?.length ?? 0) > 20 ? `\n... and ${f.hurt!.length - 20} more ("check --json" lists them all)` : ''),
            ]),
          },
        ],
      });

      const scan = scanWithProgress(fs, io);
      progress.phase('searching older trees');
      const rec = recoverDeleted(fs, scan);
      const states = new Map<string, number>();
      for (const r of rec.files) states.set(r.data.state, (states.get(r.data.state) ?? 0) + 1);
      sections.push({
        title: 'Deleted and recovered files',
        blocks: [
          {
            kind: 'text',
            text: `${rec.files.length} recovered from ${rec.searched.length} older tree root(s)${rec.orphanLeaves.unreached ? ` and ${rec.orphanLeaves.unreached} orphan leaves` : ''}; data: ${[...states].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}. "recover IMAGE -o DIR" writes them out.`,
          },
          {
            kind: 'table',
            head: ['path (as it was)', 'subvol:ino', 'type', 'mode', 'size', 'mtime', 'last seen (generation)', 'found in', 'data'],
            rows: rec.files.map(recoveredRow),
          },
          {
            kind: 'table',
            title: 'Names removed from inodes that still live (a removed hard link, a rename)',
            head: ['name (as it was)', 'subvol:ino', 'last seen (generation)', 'names now'],
            rows: rec.removedNames.map((n) => [
              n.path ? displayPath(n.path) : `(in directory ${n.parent}) ${displayPath([n.name]).slice(1)}`,
              `${n.subvol}:${n.ino}`,
              String(n.lastSeen),
              n.currentPaths.map((c) => displayPath(c)).join('\n') || '(no name now)',
            ]),
          },
        ],
      });

      progress.phase('timeline');
      sections.push(timelineSection(view, rec.files, latest));
      progress.done();

      const doc: CaseReport = {
        title: `btrfs-inspect case report: ${files[0]}`,
        generated: new Date().toISOString(),
        preface: [`Made by btrfs-inspect ${VERSION}, reading the image read-only (never mounted).`, `Devices: ${files.join(', ')}.`],
        sections,
      };
      if (opts.json) io.stdout.write(toJson(jsonDocument('report', doc as unknown as Record<string, unknown>), 2) + '\n');
      else {
        const text = opts.html ? caseReportHtml(doc) : caseReportMarkdown(doc);
        if (opts.output) {
          writeFileSync(opts.output, text, { flag: 'wx' });
          io.stdout.write(`${opts.html ? 'HTML' : 'Markdown'} case report written to ${opts.output}: ${verdict}; ${rec.files.length} recovered file(s)\n`);
        } else io.stdout.write(text);
      }
      done(errors ? EXIT_DAMAGE : EXIT_OK);
    });
}

function recoveredRow(r: Recovered): string[] {
  const d = r.data;
  const sectors = d.sectorsOk + d.sectorsBad ? ` (${d.sectorsOk} ok, ${d.sectorsBad} bad${d.sectorsNoCsum ? `, ${d.sectorsNoCsum} no csum` : ''})` : '';
  return [
    r.paths.length ? r.paths.map((p) => displayPath(p)).join('\n') : '(no name survives)',
    `${r.subvol}:${r.ino}`,
    r.inode.kind,
    modeString(r.inode.mode),
    String(r.inode.size),
    formatTimeShort(r.inode.mtime),
    String(r.lastSeen),
    r.source + (r.inoReused ? ' (ino reused)' : '') + (r.olderVersion ? ' (older version)' : ''),
    `${d.state}${sectors}${d.reusedBytes ? `, ${d.reusedBytes} bytes reused` : ''}`,
  ];
}

/** One time of one name: mactime's flags for which times it is. */
interface Event {
  timeNs: bigint;
  macb: string;
  e: TimelineEntry;
}

/**
 * The span of every time on the filesystem and its latest `n` events (live
 * and recovered inodes), kept in a bounded list as the trees are walked: a
 * report over millions of inodes holds `n` events, not all of them.
 */
function timelineSection(view: FsView, recovered: Recovered[], n: number): CaseSection {
  let kept: Event[] = [];
  let count = 0;
  let first: bigint | null = null;
  let last: bigint | null = null;
  const add = (e: TimelineEntry) => {
    for (const t of entryTimes(e)) {
      count++;
      if (first === null || t.timeNs < first) first = t.timeNs;
      if (last === null || t.timeNs > last) last = t.timeNs;
      if (n === 0) continue;
      kept.push({ ...t, e });
      if (kept.length >= 2 * n) kept = newest(kept, n);
    }
  };
  for (const e of liveInodes(view)) add(e);
  for (const e of recoveredEntries(recovered)) add(e);
  kept = newest(kept, n);
  const at = (t: bigint | null) => (t === null ? '-' : formatTime(timespecOfNs(t)));
  return {
    title: 'Timeline',
    blocks: [
      {
        kind: 'text',
        text: `${count} events (distinct times of each name of each inode, recovered ones included) from ${at(first)} to ${at(last)}; "timeline IMAGE --bodyfile" gives all of them for mactime.`,
      },
      {
        kind: 'table',
        title: `The latest ${kept.length} events`,
        head: ['time', 'macb', 'size', 'mode', 'subvol:ino', 'name'],
        rows: kept.map((v) => [
          at(v.timeNs),
          v.macb,
          String(v.e.inode.size),
          tskModeString(v.e.inode.kind, v.e.inode.mode),
          `${v.e.subvol}:${v.e.ino}`,
          (v.e.path ? displayPath(v.e.path) : '(no name)') + (v.e.deleted ? ' (deleted)' : ''),
        ]),
      },
    ],
  };
}

/** The `n` latest events, newest first (ties: subvolume, inode). */
function newest(events: Event[], n: number): Event[] {
  const c = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  return events.sort((a, b) => c(b.timeNs, a.timeNs) || c(a.e.subvol, b.e.subvol) || c(a.e.ino, b.e.ino)).slice(0, n);
}

function fileSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** md5 and sha256 of a file's bytes, read in 1 MiB pieces (images are large). */
function hashFile(path: string): { size: number; md5: string; sha256: string } {
  const fd = openSync(path, 'r');
  try {
    const md5 = createHash('md5');
    const sha = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    let size = 0;
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, size);
      if (got === 0) break;
      const part = buf.subarray(0, got);
      md5.update(part);
      sha.update(part);
      size += got;
    }
    return { size, md5: md5.digest('hex'), sha256: sha.digest('hex') };
  } finally {
    closeSync(fd);
  }
}
