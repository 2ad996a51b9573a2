import * as nodeFs from 'node:fs';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { fileByteRuns } from '../../analysis/byteRuns.js';
import { type Recovered, type RecoverReport, recoverDeleted } from '../../analysis/forensics/recover.js';
import { contentDigests } from '../../analysis/manifest.js';
import { displayPath } from '../../fs/names.js';
import { extractFiles, loadNsTimes, loadXattr, preserveOf, timePrecisionNote, type Withheld } from '../../node/extract/index.js';
import { recoveredFileObject } from '../../report/dfxmlForensics.js';
import { reportJson, type Written } from '../../report/forensicsJson.js';
import { formatTimeShort, modeString } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { type CliIO, EXIT_DAMAGE, UsageError } from '../context.js';
import { DfxmlFile } from '../dfxmlFile.js';
import { reportFindings } from '../findings.js';
import { nodeHasher } from '../hashers.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';
import { renderTable } from '../table.js';
import { withheldLines } from './extract.js';

interface RecoverOptions extends CommonOptions {
  output?: string;
  dfxml?: string;
  force?: boolean;
  dryRun?: boolean;
  preserveAll?: boolean;
  devices?: boolean;
  setuid?: boolean;
  owner?: boolean;
}

/**
 * recover: deleted files and directories found in surviving older tree
 * blocks, orphans, and inodes of deleted-but-not-cleaned subvolumes, with
 * the state of their data; -o writes them out through extract's machinery
 * (never outside DIR, never through a symlink), in the layout of extract
 * under DIR/files (see `placeOf`), with DIR/recover-report.json.
 */
export function registerRecover(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('recover').argument('[image]', 'image file or device'))
    .description(
      'deleted files and directories from surviving older tree blocks (plus orphans and deleted subvolumes): path as it was, inode fields, last generation seen, data state; -o writes them out',
    )
    .option('-o, --output <dir>', 'write the recovered files to DIR/files/<path as it was>, with DIR/recover-report.json (DIR must be empty or new)')
    .option('--force', 'with -o: write into a DIR that is not empty, replacing what is in the way (each one replaced is listed)')
    .option('--dry-run', 'with -o: list where each file would be written, with sizes; write nothing')
    .option('--preserve-all', 'with -o: make device nodes, keep setuid/setgid bits and give the image owners (as root)')
    .option('--devices', 'with -o: make device nodes (as root; default: listed as withheld, nothing written for them)')
    .option('--setuid', 'with -o: keep setuid/setgid bits of files (default: cleared, listed as withheld)')
    .option('--owner', "with -o: give every file the image's uid and gid (as root; default: owned by the user running recover)")
    .option(
      '--dfxml <file>',
      'also write a DFXML document of the recovered files to FILE: names as they were, inode fields, times, byte runs, md5 and sha256 of what was recovered, marked deleted (alloc_name 0)',
    )
    .addHelpText(
      'after',
      `
Layout of -o DIR (the layout of extract, under files/):
  DIR/recover-report.json                  what was recovered from where (--json's document)
  DIR/files/<path as it was>               e.g. DIR/files/victims/subdir/one.bin
  DIR/files/deleted-subvolume-ID/<path>    inodes of a deleted (not yet cleaned) subvolume
  DIR/unnamed/SUBVOL-INO                   inodes no surviving name reaches
  DIR/files/$ORPHAN/TREE/...               orphan-leaf files whose directory has no known path
Two recovered inodes with the same path: the later one gets "~SUBVOL-INO" appended.
Directories are made on the way (mode 0700); times to the ns with the optional koffi package,
else to the microsecond (ns in the report). By default device nodes are not made, setuid/setgid
bits are cleared and ownership is not changed (listed as withheld; exit 0 when that is all):
--devices, --setuid, --owner take over one each, --preserve-all all of them.`,
    )
    .action(async (image: string | undefined, opts: RecoverOptions) => {
      if ((opts.force || opts.dryRun) && !opts.output) throw new UsageError(`${opts.force ? '--force' : '--dry-run'} goes with -o DIR`);
      const out = opts.output ? resolvePath(opts.output) : null;
      if (out && !opts.dryRun) checkOutput(out, opts.force ?? false);
      const fs = openFilesystem(image, opts, io);
      const scan = scanWithProgress(fs, io);
      const progress = new Progress(io);
      progress.phase('searching older trees');
      const report = recoverDeleted(fs, scan);
      progress.done();
      if (opts.dfxml) writeDfxml(opts.dfxml, fs, image, report);
      const written = new Map<Recovered, Written>();
      const replaced: string[] = [];
      const preserve = preserveOf(opts);
      const withheld: Withheld = { devices: 0, setuid: 0, owner: 0, outputMode: 0, entries: [] };
      let precision: { timePrecision: 'us' | 'ns'; note: string } | null = null;
      if (out) {
        const places = placeAll(report.files);
        if (!opts.dryRun) nodeFs.mkdirSync(out, { recursive: true, mode: 0o700 });
        const xattr = opts.dryRun ? '' : await loadXattr();
        const times = opts.dryRun ? '' : await loadNsTimes();
        for (const r of report.files) {
          const into = places.get(r);
          if (!into) continue;
          const path = displayPath(into);
          if (opts.dryRun) {
            written.set(r, { path, host: null, failed: null });
            continue;
          }
          const s = await extractFiles(r.view, { ref: { subvol: r.subvol, ino: r.ino }, inode: r.inode, into }, out, { verify: false, force: opts.force ?? false, xattr, times, preserve });
          for (const k of ['devices', 'setuid', 'owner', 'outputMode'] as const) withheld[k] += s.withheld[k];
          withheld.entries.push(...s.withheld.entries);
          precision ??= { timePrecision: s.timePrecision, note: typeof times === 'string' ? timePrecisionNote('us', times) : timePrecisionNote('ns') };
          replaced.push(...s.replaced);
          const f = s.failed[0] ?? s.refused[0];
          written.set(r, { path, host: f ? null : joinPath(out, path), failed: f ? `${f.path}: ${f.reason}` : null });
        }
        if (!opts.dryRun) {
          const at = joinPath(out, REPORT);
          if (nodeFs.existsSync(at)) replaced.push(`/${REPORT}`);
          const doc = reportJson(report, written, { output: out, replaced, withheld, timePrecision: precision?.timePrecision ?? null });
          nodeFs.writeFileSync(at, toJson(jsonDocument('recover', doc), 2) + '\n', { flag: opts.force ? 'w' : 'wx' });
        }
      }
      if (opts.json) {
        const doc = reportJson(report, written, out ? { output: out, replaced, ...(opts.dryRun ? { dryRun: true } : { withheld }), timePrecision: precision?.timePrecision ?? null } : {});
        io.stdout.write(toJson(jsonDocument('recover', doc), 2) + '\n');
      } else {
        const rows = report.files.map((r) => [
          r.paths.length ? r.paths.map((p) => displayPath(p)).join('\n') : '(no name survives)',
          `${r.subvol}:${r.ino}`,
          modeString(r.inode.mode),
          r.inode.size,
          r.inode.nlink,
          formatTimeShort(r.inode.mtime),
          r.lastSeen,
          r.source + (r.inoReused ? ' (ino reused)' : '') + (r.olderVersion ? ' (older version)' : ''),
          `${r.data.state}${r.data.sectorsOk + r.data.sectorsBad ? ` (${r.data.sectorsOk} ok, ${r.data.sectorsBad} bad` + (r.data.sectorsNoCsum ? `, ${r.data.sectorsNoCsum} no csum` : '') + ')' : ''}${r.data.reusedBytes ? `, ${r.data.reusedBytes} bytes reused` : ''}`,
          ...(out ? [cell(out, written.get(r))] : []),
        ]);
        io.stdout.write(
          renderTable(
            ['path (as it was)', 'subvol:ino', 'mode', 'size', 'nlink', 'mtime', 'last seen', 'found in', 'data', ...(out ? [opts.dryRun ? 'would be written to' : 'written to'] : [])],
            rows,
          ) + '\n',
        );
        if (report.removedNames.length) {
          io.stdout.write('names removed from inodes that still live (a removed hard link, a rename):\n');
          const named = report.removedNames.map((n) => [
            n.path ? displayPath(n.path) : `(in directory ${n.parent}) ${displayPath([n.name]).slice(1)}`,
            `${n.subvol}:${n.ino}`,
            n.lastSeen,
            n.currentPaths.map((c) => displayPath(c)).join('\n') || '(no name now)',
          ]);
          io.stdout.write(renderTable(['name (as it was)', 'subvol:ino', 'last seen', 'names now'], named) + '\n');
        }
        const lost = report.searched.filter((s) => s.missing > 0).length;
        const ol = report.orphanLeaves;
        const leaves = ol.unreached ? `; ${ol.unreached} orphan leaves (no root reaches them) ${ol.mined < ol.unreached ? `of which the newest ${ol.mined} mined` : 'mined'}` : '';
        io.stdout.write(`${report.files.length} recovered; ${report.searched.length} older tree root(s) searched${lost ? `, ${lost} of them partial (blocks reused since)` : ''}${leaves}\n`);
        for (const line of olderChunkLines(report)) io.stdout.write(`${line}\n`);
        const cv = report.carved;
        if (cv.sectorsChecked) {
          const matched = cv.runs.reduce((a, r) => a + r.sectorsMatched, 0);
          const unclaimed = cv.runs.filter((r) => r.sectorsMatched > 0 && r.claimedBy.length === 0);
          io.stdout.write(
            `carving by checksum: ${cv.sectorsChecked} free sectors that surviving csum items name checked${cv.truncated ? ' (bound reached)' : ''}; ${matched} still match` +
              `${unclaimed.length ? `, ${unclaimed.reduce((a, r) => a + r.sectorsMatched, 0)} of them in ${unclaimed.length} run(s) no recovered file claims (evidence of deleted data, "carved" in --json)` : ''}\n`,
          );
        }
        if (out && opts.dryRun) io.stdout.write(`nothing written (--dry-run); -o ${out} would hold files/, unnamed/ and ${REPORT}\n`);
        if (out && !opts.dryRun) {
          io.stdout.write(`written to ${out}: files/ and ${REPORT}${precision ? `; note: ${precision.note.replace('--json', REPORT)}` : ''}\n`);
          for (const p of replaced) io.stdout.write(`replaced (--force): ${joinPath(out, p)}\n`);
          for (const l of withheldLines(withheld)) io.stdout.write(`${l.replace('--json', REPORT)}\n`);
        }
      }
      const failed = [...written.values()].some((w) => w.failed);
      done(reportFindings(fs, io) || failed ? EXIT_DAMAGE : 0);
    });
}

const REPORT = 'recover-report.json';

/** --dfxml FILE: one fileobject per recovered file, with its byte runs and the digests of its content as recovered. */
function writeDfxml(path: string, fs: Filesystem, image: string | undefined, report: RecoverReport): void {
  const d = new DfxmlFile(path, fs, image, 'recover');
  const hasher = nodeHasher(['md5', 'sha256']);
  for (const r of report.files) {
    const ref = { subvol: r.subvol, ino: r.ino };
    const runs = r.inode.kind === 'file' || r.inode.kind === 'symlink' ? fileByteRuns(r.view, ref).runs : null;
    d.object(recoveredFileObject(r, runs, r.inode.kind === 'file' ? contentDigests(r.view, r.inode, hasher, undefined, undefined, false) : undefined, d.image));
  }
  d.close();
}

/**
 * Which chunks the filesystem no longer has served recovered extents: one line per such chunk,
 * with how many extents of how many files were read through it.
 */
function olderChunkLines(report: RecoverReport): string[] {
  const use = new Map<bigint, { extents: number; files: Set<Recovered> }>();
  for (const r of report.files)
    for (const x of r.data.extents) {
      if (!x.mapping || (x.mapping.origin !== 'older_chunk_tree' && x.mapping.origin !== 'backup_sys_chunk_array')) continue;
      const u = use.get(x.mapping.chunk) ?? { extents: 0, files: new Set<Recovered>() };
      u.extents++;
      u.files.add(r);
      use.set(x.mapping.chunk, u);
    }
  return report.olderChunks
    .filter((c) => use.has(c.logical))
    .map((c) => {
      const u = use.get(c.logical)!;
      const from = c.origin === 'older_chunk_tree' ? 'a chunk-tree leaf' : 'a superblock copy';
      return `${u.extents} extent(s) of ${u.files.size} file(s) read through chunk [${c.logical}, +${c.length}) ${c.profile}, which the filesystem no longer has (from ${from} of generation ${c.generation})`;
    });
}

/** The "written to" cell: where the file is (or would be, --dry-run), or why it is not. */
function cell(out: string, w: Written | undefined): string {
  if (!w) return '';
  return w.failed ?? joinPath(out, w.path);
}

/** DIR must be new or empty unless --force: a recovery never mixes silently with what is there. */
function checkOutput(out: string, force: boolean): void {
  let st: nodeFs.Stats | undefined;
  try {
    st = nodeFs.statSync(out);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw new UsageError(`${out}: exists and is not a directory`);
  if (!force && nodeFs.readdirSync(out).length > 0)
    throw new UsageError(`${out}: not empty (an earlier recovery?); choose a new directory, or --force to write into it and replace what is in the way`);
}

/**
 * Where each recovered inode goes under DIR (directories are made on the
 * way for the files below them, not written themselves): files/<path as it
 * was>, files/deleted-subvolume-ID/<path in it>, or unnamed/SUBVOL-INO; a
 * path already taken in this run gets "~SUBVOL-INO".
 */
function placeAll(files: Recovered[]): Map<Recovered, Uint8Array[]> {
  const enc = new TextEncoder();
  const used = new Set<string>();
  const places = new Map<Recovered, Uint8Array[]>();
  const key = (p: Uint8Array[]) => p.map((c) => Buffer.from(c).toString('hex')).join('/');
  for (const r of files) {
    if (r.inode.kind === 'dir') continue;
    const first = r.paths[0];
    let into: Uint8Array[];
    if (!first || first.length === 0) into = [enc.encode('unnamed'), enc.encode(`${r.subvol}-${r.ino}`)];
    // recoverDeleted names the inodes of a deleted subvolume <deleted subvolume ID>/...: a plain directory name here.
    else if (r.source === 'deleted subvolume' || new TextDecoder().decode(first[0]) === `<deleted subvolume ${r.subvol}>`)
      into = [enc.encode('files'), enc.encode(`deleted-subvolume-${r.subvol}`), ...first.slice(1)];
    else into = [enc.encode('files'), ...first];
    if (used.has(key(into))) into = [...into.slice(0, -1), new Uint8Array([...into[into.length - 1]!, ...enc.encode(`~${r.subvol}-${r.ino}`)])];
    used.add(key(into));
    places.set(r, into);
  }
  return places;
}
