import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { ObjectId } from '../../format/constants.js';
import type { FsView } from '../../fs/FsView.js';
import type { Located } from '../../fs/select.js';
import { selectSubvolume } from '../../fs/select.js';
import {
  type ExtractIssue,
  type ExtractOptions,
  type ExtractStart,
  type ExtractSummary,
  extractFiles as extractWith,
  type Meta,
  mergeSummary,
  metaOf,
  type PlannedEntry,
  planExtraction,
  planSelect,
  prepareOutputDir,
  preserveOf,
  type Withheld,
} from '../../node/extract/index.js';
import { formatTime, timeNs } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { openBatch, worst } from '../batch.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, UsageError } from '../context.js';
import { reportFindings, type SaidRanges } from '../findings.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress } from '../progress.js';
import { openTarget } from '../target.js';

export type { ExtractIssue, ExtractSummary } from '../../node/extract/index.js';

/**
 * extract: writes files of the image to a directory of this machine, with
 * the extraction engine of src/node/extract/ (where its safety, limits and
 * speed are described); this file parses the options, places each PATH,
 * draws the progress line and prints the summary.
 *
 * Layout, the same for every way of asking (and for recover's files/):
 * everything is written at DIR/<its path from the top level>, the path `ls`
 * shows. Extracting / fills DIR itself; /rich writes DIR/rich/...; the file
 * /rich/a.txt writes DIR/rich/a.txt; several PATHs and --path-regex put each
 * match at its own path, with the directories on the way made and given
 * their metadata from the image.
 */

interface ExtractCliOptions extends CommonOptions {
  output?: string;
  force?: boolean;
  verify?: boolean;
  subvol?: string;
  inode?: string;
  pathRegex?: string;
  dryRun?: boolean;
  preserveAll?: boolean;
  devices?: boolean;
  setuid?: boolean;
  owner?: boolean;
}

type Found = Extract<Located, { ok: true }>;

/** One PATH asked for, placed: its path under DIR and the metadata of the image's directories on the way. */
interface Placed {
  request: string;
  loc: Found;
  into: Uint8Array[];
  ways: (Meta | null)[];
}

export function registerExtract(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(
    program.command('extract').argument('[image]', 'image file or device').argument('[paths...]', 'files, directories or subvolumes to extract, each to DIR/<its path> (default: everything)'),
  )
    .description(
      'copy files out of the image to a directory: content (sparse), modes, times, symlinks, hard links, xattrs; fifos when root; device nodes, setuid/setgid bits and ownership only when asked for',
    )
    .requiredOption('-o, --output <dir>', 'directory to write into (created if missing)')
    .option('--force', 'replace existing files in the output directory (each one replaced is listed)')
    .option('--no-verify', 'do not verify data checksums')
    .option('--subvol <id|path>', 'PATHs are in this subvolume (alone: extract the subvolume)')
    .option('--inode <subvol:ino>', 'extract this inode instead of a path')
    .option('--path-regex <regex>', 'only entries whose path (as "ls" shows it, from /) matches this JavaScript regular expression; directories on the way are made')
    .option('--dry-run', 'list what would be written, with sizes; write nothing')
    .option('--preserve-all', "take over everything: device nodes, setuid/setgid bits, ownership (as root) and the image root's mode for DIR")
    .option('--devices', 'make device nodes (as root; default: listed as withheld, nothing written for them)')
    .option('--setuid', 'keep setuid/setgid bits of files (default: cleared, listed as withheld)')
    .option('--owner', "give every entry the image's uid and gid (as root; default: owned by the user running extract)")
    .addHelpText(
      'after',
      `
Layout: every entry is written at DIR/<its path from the top level>: "/" fills DIR, /rich
writes DIR/rich/..., /rich/a.txt writes DIR/rich/a.txt; the directories on the way get
their metadata from the image. A subvolume that no directory reaches (--subvol ID) goes to
DIR/subvol-ID/..., an inode with no name (--inode) to DIR/inode-SUBVOL-INO.
Safety: names with "/" or NUL, ".", "..", empty or longer than 255 bytes are refused and
reported; nothing is written outside DIR and symlinks are never followed; existing files
are kept unless --force. By default a hostile image cannot hand out privileges: device
nodes are not made, setuid/setgid bits of files are cleared, ownership is not changed and
DIR stays 0700 when extract makes it; the summary lists what was withheld (exit 0 when that
is all). --devices, --setuid, --owner take over one each, --preserve-all all of them.
Limits: mtime/atime are restored to the ns with the optional koffi package, else to the
microsecond (Node passes seconds as a double to libuv; the ns values are in --json); ownership, fifos and device nodes only when running
as root (listed otherwise); sockets are listed, not made; xattrs need the optional koffi
package (fsetxattr, and lsetxattr on a symlink's own). Exit 1 when anything could not be written
or was refused.`,
    )
    .action(async (image: string | undefined, paths: string[], opts: ExtractCliOptions) => {
      let regex: RegExp | null = null;
      if (opts.pathRegex !== undefined) {
        try {
          regex = new RegExp(opts.pathRegex);
        } catch (e) {
          throw new UsageError(`--path-regex: ${(e as Error).message}`);
        }
      }
      const { fs, view, found, code: lookup } = openTargets(image, paths, opts, io);
      const placed = dropNested(
        found.map((t) => place(view, t.request, t.loc, opts)),
        io,
      );
      const outDir = resolvePath(opts.output!);
      const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
      const preserve = preserveOf(opts);
      const planOpts = { isRoot, devices: preserve.devices };
      if (opts.dryRun) {
        const entries = placed.flatMap((p) => planExtraction(view, p.loc.ref, p.into, regex, planOpts).entries);
        if (opts.json) io.stdout.write(toJson(jsonDocument('extract', dryRunJson(outDir, entries)), 2) + '\n');
        else io.stdout.write(dryRunText(outDir, entries) + '\n');
        done(worst(lookup, reportFindings(fs, io) ? EXIT_DAMAGE : EXIT_OK));
        return;
      }
      let created: boolean;
      try {
        created = prepareOutputDir(outDir).created;
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (opts.verify === false) io.stderr.write('data checksums are not verified (--no-verify)\n');
      let s: ExtractSummary | null = null;
      // Data that could not be read is said once, as the file's failure: its per-sector findings are not repeated.
      const said: SaidRanges = [];
      const onDataError = (logical: bigint, length: bigint) => {
        said.push({ logical, length });
      };
      for (const p of placed) {
        let select: ExtractOptions['select'];
        if (regex) {
          const plan = planExtraction(view, p.loc.ref, p.into, regex, planOpts);
          if (plan.entries.length === 0) continue;
          select = planSelect(plan, regex);
        }
        const one = await extractFiles(view, { ref: p.loc.ref, inode: p.loc.inode, into: p.into, ways: p.ways }, outDir, {
          force: opts.force ?? false,
          verify: opts.verify !== false,
          io,
          createdOutput: created && p.into.length === 0,
          preserve,
          manifest: opts.json ?? false,
          onDataError,
          ...(select ? { select } : {}),
        });
        if (s) mergeSummary(s, one);
        else s = one;
      }
      // Nothing matched: the summary of an empty extraction.
      s ??= await extractFiles(view, { ref: view.rootOf(ObjectId.FS_TREE), inode: view.inode(view.rootOf(ObjectId.FS_TREE))!, into: null }, outDir, {
        manifest: opts.json ?? false,
        select: { dir: () => false, entry: () => false },
      });
      if (regex && s.written.files + s.written.directories + s.written.symlinks === 0) s.notes.push(`nothing matched --path-regex ${JSON.stringify(opts.pathRegex)}`);
      if (opts.json) io.stdout.write(toJson(jsonDocument('extract', s), 2) + '\n');
      else io.stdout.write(summaryText(s) + '\n');
      const damage = reportFindings(fs, io, { said });
      done(worst(lookup, s.failed.length || s.refused.length || damage ? EXIT_DAMAGE : EXIT_OK));
    });
}

/** The PATHs (or --inode) asked for: found ones, and the exit code of those not found (said on stderr). */
function openTargets(
  image: string | undefined,
  paths: string[],
  opts: ExtractCliOptions,
  io: CliIO,
): { fs: ReturnType<typeof openTarget>['fs']; view: FsView; found: { request: string; loc: Found }[]; code: number } {
  if (paths.length <= 1) {
    const { fs, view, loc, path } = openTarget(image, paths[0], opts, io, { defaultPath: '/' });
    if (!loc.ok) throw new UsageError('not found');
    return { fs, view, found: [{ request: path ?? (opts.inode !== undefined ? `--inode ${opts.inode}` : '/'), loc }], code: EXIT_OK };
  }
  const { fs, view, targets } = openBatch(image, paths, opts, io);
  let code = EXIT_OK;
  const found: { request: string; loc: Found }[] = [];
  for (const t of targets) {
    if ('error' in t) {
      io.stderr.write(`btrfs-inspect: ${t.error}\n`);
      code = worst(code, 2);
    } else found.push({ request: t.name, loc: t.loc });
  }
  return { fs, view, found, code };
}

/**
 * Where a target goes: its path from the top level (the directories on the
 * way from the image); a subvolume no directory reaches under subvol-ID; an
 * inode with no name as inode-SUBVOL-INO.
 */
function place(view: FsView, request: string, loc: Found, opts: ExtractCliOptions): Placed {
  const enc = new TextEncoder();
  let into: Uint8Array[];
  let real = true;
  if (loc.path === null) {
    into = [enc.encode(`inode-${loc.ref.subvol}-${loc.ref.ino}`)];
    real = false;
  } else {
    const sv = opts.subvol !== undefined ? selectSubvolume(view, opts.subvol) : null;
    const detached = sv?.ok && sv.root.subvol !== ObjectId.FS_TREE && view.subvolumePath(sv.root.subvol) === null;
    into = detached && sv?.ok ? [enc.encode(`subvol-${sv.root.subvol}`), ...loc.path] : loc.path;
    real = !detached;
  }
  const ways: (Meta | null)[] = [];
  for (let i = 1; i < into.length; i++) {
    const r = real ? view.resolve(into.slice(0, i)) : null;
    ways.push(r?.ok && r.inode.kind === 'dir' ? metaOf(r.inode) : null);
  }
  return { request, loc, into, ways };
}

/** PATHs inside another PATH asked for are written with it, once (said on stderr). */
function dropNested(placed: Placed[], io: CliIO): Placed[] {
  const key = (p: Placed) => p.into.map((c) => Buffer.from(c).toString('hex'));
  const within = (a: string[], b: string[]) => b.length <= a.length && b.every((c, i) => a[i] === c);
  const out: Placed[] = [];
  for (const p of placed) {
    const k = key(p);
    const outer = placed.find((q) => q !== p && within(k, key(q)) && (key(q).length < k.length || placed.indexOf(q) < placed.indexOf(p)));
    if (outer) io.stderr.write(`note: ${p.request} is within ${outer.request}, extracted once with it\n`);
    else out.push(p);
  }
  return out;
}

function dryRunJson(outDir: string, entries: PlannedEntry[]): Record<string, unknown> {
  const w = entries.filter((e) => !e.not);
  return {
    dryRun: true,
    output: outDir,
    would: {
      files: w.filter((e) => e.type === 'file' && !e.hardLink).length,
      hardlinks: w.filter((e) => e.hardLink).length,
      directories: w.filter((e) => e.type === 'dir').length,
      symlinks: w.filter((e) => e.type === 'symlink').length,
      bytes: w.filter((e) => e.type === 'file' && !e.hardLink).reduce((a, e) => a + e.size, 0n),
    },
    entries: entries.map((e) => ({
      path: e.path,
      type: e.type,
      size: e.size,
      ...(e.hardLink ? { hardLink: true } : {}),
      ...(e.not ? { notWritten: e.not } : {}),
      ...(e.inode ? { mtime: formatTime(e.inode.mtime), mtimeNs: timeNs(e.inode.mtime), atime: formatTime(e.inode.atime), atimeNs: timeNs(e.inode.atime) } : {}),
    })),
  };
}

function dryRunText(outDir: string, entries: PlannedEntry[]): string {
  const lines = entries.map(
    (e) => `${e.not ? '-' : e.hardLink ? 'link' : e.type}\t${e.type === 'file' ? e.size : ''}\t${outDir}${e.path === '/' ? '' : e.path}${e.not ? `\t(not written: ${e.not})` : ''}`,
  );
  const d = dryRunJson(outDir, entries).would as Record<string, number | bigint>;
  lines.push(`would write to ${outDir}: ${d.files} files (${d.bytes} bytes), ${d.directories} directories, ${d.symlinks} symlinks, ${d.hardlinks} hard links; nothing written (--dry-run)`);
  return lines.join('\n');
}
/**
 * The engine's extractFiles, with its progress drawn on `io`'s stderr when
 * that is a terminal (the command's way in, and the tests').
 */
export function extractFiles(view: FsView, start: ExtractStart, outDir: string, opts: ExtractOptions & { io?: CliIO } = {}): Promise<ExtractSummary> {
  const { io, ...rest } = opts;
  return extractWith(view, start, outDir, io ? { ...rest, progress: new Progress(io, { intervalMs: 200 }) } : rest);
}

function summaryText(s: ExtractSummary): string {
  const w = s.written;
  const lines = [
    `extracted to ${s.output}: ${w.files} files (${w.bytes} bytes), ${w.directories} directories, ${w.symlinks} symlinks, ${w.hardlinks} hard links, ${w.fifos} fifos, ${w.devices} device nodes`,
    `xattrs restored: ${s.xattrs.restored}, not restored: ${s.xattrs.notRestored.length}; ownership ${s.ownership}; data checksums ${s.verify ? `verified (${s.read.verifiedSectors} sectors${s.read.repairedSectors ? `, ${s.read.repairedSectors} read from another copy` : ''}${s.read.unverifiedSectors ? `, ${s.read.unverifiedSectors} without checksum` : ''})` : 'not verified (--no-verify)'}`,
  ];
  for (const n of s.notes) lines.push(`note: ${n}`);
  if (s.replaced.length) {
    lines.push(`replaced (--force) (${s.replaced.length}):`);
    for (const p of s.replaced.slice(0, 50)) lines.push(`  ${p}`);
    if (s.replaced.length > 50) lines.push(`  ... and ${s.replaced.length - 50} more (--json lists all)`);
  }
  const list = (title: string, items: ExtractIssue[]) => {
    if (!items.length) return;
    lines.push(`${title} (${items.length}):`);
    for (const i of items.slice(0, 50)) lines.push(`  ${i.path}: ${i.reason}`);
    if (items.length > 50) lines.push(`  ... and ${items.length - 50} more (--json lists all)`);
  };
  list('refused (unsafe names)', s.refused);
  list('failed', s.failed);
  list('not created', s.skipped);
  lines.push(...withheldLines(s.withheld));
  list(
    'xattrs not restored',
    s.xattrs.notRestored.map((x) => ({ path: x.path, reason: `${x.name}: ${x.reason}` })),
  );
  return lines.join('\n');
}

/**
 * What the safe defaults held back (none: nothing), with the option that takes each over, then
 * up to 50 of the entries (recover prints them too).
 */
export function withheldLines(w: Withheld): string[] {
  const parts = [
    w.devices ? `${w.devices} device node${w.devices === 1 ? '' : 's'} not made (--devices)` : '',
    w.setuid ? `setuid/setgid bits of ${w.setuid} file${w.setuid === 1 ? '' : 's'} (--setuid)` : '',
    w.owner ? `the owner of ${w.owner} entr${w.owner === 1 ? 'y' : 'ies'} (--owner)` : '',
    w.outputMode ? "the output directory's mode (kept 0700)" : '',
  ].filter((p) => p);
  if (!parts.length) return [];
  const lines = [`withheld by default (--preserve-all takes all): ${parts.join(', ')}`];
  for (const i of w.entries.slice(0, 50)) lines.push(`  ${i.path}: ${i.reason}`);
  if (w.entries.length > 50) lines.push(`  ... and ${w.entries.length - 50} more (--json lists all)`);
  return lines;
}
