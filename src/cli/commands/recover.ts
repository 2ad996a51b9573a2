import * as nodeFs from 'node:fs';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { recoverDeleted, type Recovered } from '../../analysis/forensics/recover.js';
import { displayPath, jsonPath } from '../../fs/names.js';
import { fileEntryJson, formatTimeShort, modeString } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { openFilesystem } from '../open.js';
import { renderTable } from '../table.js';
import { EXIT_DAMAGE, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress, scanWithProgress } from '../progress.js';
import { reportFindings } from '../findings.js';
import { extractFiles, placeUnder } from '../../node/extract/index.js';

interface RecoverOptions extends CommonOptions {
  output?: string;
}

/**
 * recover: deleted files and directories found in surviving older tree
 * blocks, orphans, and inodes of deleted-but-not-cleaned subvolumes, with
 * the state of their data; -o writes them out through extract's machinery
 * (never outside DIR, never over an existing file, never through a symlink).
 */
export function registerRecover(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('recover').argument('[image]', 'image file or device'))
    .description('deleted files and directories from surviving older tree blocks (plus orphans and deleted subvolumes): path as it was, inode fields, last generation seen, data state; -o writes them out')
    .option('-o, --output <dir>', 'write the recovered files under DIR (as DIR/<path as it was>, with recover-report.json)')
    .action(async (image: string | undefined, opts: RecoverOptions) => {
      const fs = openFilesystem(image, opts, io);
      const scan = scanWithProgress(fs, io);
      const progress = new Progress(io);
      progress.phase('searching older trees');
      const report = recoverDeleted(fs, scan);
      progress.done();
      const written = new Map<Recovered, { host: string | null; failed: string | null }>();
      if (opts.output) {
        const out = resolvePath(opts.output);
        nodeFs.mkdirSync(out, { recursive: true, mode: 0o700 });
        const used = new Set<string>();
        for (const r of report.files) {
          if (r.inode.kind === 'dir') continue;
          written.set(r, await writeOne(r, out, used));
        }
        nodeFs.writeFileSync(joinPath(out, 'recover-report.json'), toJson(jsonDocument('recover', { files: report.files.map((r) => fileJson(r, written.get(r))), searched: report.searched }), 2) + '\n', { flag: 'wx' });
      }
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('recover', { files: report.files.map((r) => fileJson(r, written.get(r))), searched: report.searched }), 2) + '\n');
      } else {
        const rows = report.files.map((r) => [
          r.paths.length ? r.paths.map((p) => displayPath(p)).join('\n') : '(no name survives)',
          `${r.subvol}:${r.ino}`, modeString(r.inode.mode), r.inode.size, r.inode.nlink, formatTimeShort(r.inode.mtime), r.lastSeen, r.source + (r.inoReused ? ' (ino reused)' : ''),
          `${r.data.state}${r.data.sectorsOk + r.data.sectorsBad ? ` (${r.data.sectorsOk} ok, ${r.data.sectorsBad} bad` + (r.data.sectorsNoCsum ? `, ${r.data.sectorsNoCsum} no csum` : '') + ')' : ''}${r.data.reusedBytes ? `, ${r.data.reusedBytes} bytes reused` : ''}`,
          ...(opts.output ? [written.get(r)?.failed ?? written.get(r)?.host ?? ''] : []),
        ]);
        io.stdout.write(renderTable(['path (as it was)', 'subvol:ino', 'mode', 'size', 'nlink', 'mtime', 'last seen', 'found in', 'data', ...(opts.output ? ['written to'] : [])], rows) + '\n');
        const lost = report.searched.filter((s) => s.missing > 0).length;
        io.stdout.write(`${report.files.length} recovered; ${report.searched.length} older tree root(s) searched${lost ? `, ${lost} of them partial (blocks reused since)` : ''}\n`);
      }
      const failed = [...written.values()].some((w) => w.failed);
      done(reportFindings(fs, io) || failed ? EXIT_DAMAGE : 0);
    });
}

/** DIR/<path as it was>, each component checked as extract checks names; a clash gets "~ino<N>". */
async function writeOne(r: Recovered, out: string, used: Set<string>): Promise<{ host: string | null; failed: string | null }> {
  const place = await placeUnder(out, r.paths[0] ?? [new TextEncoder().encode(`subvol${r.subvol}-ino${r.ino}`)]);
  if ('failed' in place) return { host: null, failed: place.failed };
  const { dir } = place;
  let { name } = place;
  if (used.has(joinPath(dir, name)) || nodeFs.existsSync(joinPath(dir, name))) name = `${name}~ino${r.ino}`;
  used.add(joinPath(dir, name));
  const s = await extractFiles(r.view, { ref: { subvol: r.subvol, ino: r.ino }, inode: r.inode, into: new TextEncoder().encode(name) }, dir, { verify: false });
  const f = s.failed[0] ?? s.refused[0];
  return { host: joinPath(dir, name), failed: f ? `${f.path}: ${f.reason}` : null };
}

function fileJson(r: Recovered, w?: { host: string | null; failed: string | null }): Record<string, unknown> {
  const i = r.inode;
  return {
    // The entry shape of ls and stat (no xattrs: they are in the older tree, not read here), then what recover adds.
    ...fileEntryJson({ path: r.paths[0] ?? null, ref: { subvol: r.subvol, ino: r.ino }, inode: i }),
    paths: r.paths.map((p) => jsonPath(p).text), inodeGeneration: i.generation, lastSeen: r.lastSeen, source: r.source, inoReused: r.inoReused,
    treeRoot: r.root.bytenr, treeRootGeneration: r.root.generation ?? null,
    data: r.data, ...(w ? { writtenTo: w.host, failed: w.failed } : {}),
  };
}
