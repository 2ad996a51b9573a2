import type { Command } from 'commander';
import { resolveLogical } from '../../fs/backrefs.js';
import { FsView } from '../../fs/FsView.js';
import { displayPath } from '../../fs/names.js';
import { parseInodeSpec } from '../../fs/select.js';
import { pathFields, resolutionJson } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { type CliIO, EXIT_DAMAGE, UsageError } from '../context.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseU64 } from '../parse.js';
import { renderTable } from '../table.js';

interface ResolveOptions extends CommonOptions {
  inode?: string;
  logical?: string;
}

export function registerResolve(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('resolve').argument('[image]', 'image file or device'))
    .description('--inode SUBVOL:INO: every path of an inode; --logical ADDR: every file (subvolume, path, file offset) using that address, or the trees reaching a tree block')
    .option('--inode <subvol:ino>', 'an inode: all its paths (hard links, every INODE_REF/INODE_EXTREF)')
    .option('--logical <addr>', "a logical address: every user, via the extent tree's back references")
    .action((image: string | undefined, opts: ResolveOptions) => {
      if ((opts.inode === undefined) === (opts.logical === undefined)) throw new UsageError('resolve needs exactly one of --inode SUBVOL:INO or --logical ADDR');
      const logical = opts.logical !== undefined ? parseU64(opts.logical, '--logical') : null;
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      if (opts.inode !== undefined) {
        const ref = parseInodeSpec(opts.inode, 5n);
        if (!ref) throw new UsageError(`--inode: "${opts.inode}" is not SUBVOL:INO or INO`);
        if (!view.tree(ref.subvol)) throw new UsageError(`--inode ${opts.inode}: there is no subvolume ${ref.subvol}`);
        const inode = view.inode(ref);
        if (!inode) throw new UsageError(`--inode ${opts.inode}: subvolume ${ref.subvol} has no inode ${ref.ino}`);
        const paths = view.paths(ref);
        if (opts.json) io.stdout.write(toJson(jsonDocument('resolve', { subvol: ref.subvol, ino: ref.ino, paths: paths.map((p) => pathFields(p)) }), 2) + '\n');
        else if (paths.length === 0) io.stdout.write(`inode ${ref.ino} of subvolume ${ref.subvol} has no path (unlinked, or its directory is unreachable)\n`);
        else io.stdout.write(paths.map((p) => displayPath(p)).join('\n') + '\n');
        const code = finish(fs, io);
        return done(paths.length ? code : EXIT_DAMAGE);
      }
      const r = resolveLogical(view, logical!);
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('resolve', resolutionJson(r)), 2) + '\n');
      } else {
        const out: string[] = [];
        if (!r.extent) out.push(`logical ${r.logical}: ${r.notes.join('; ')}`);
        else {
          const e = r.extent;
          out.push(`logical ${r.logical} is in ${e.kind} extent ${e.bytenr} +${e.length} (refs ${e.refs}, generation ${e.generation}${e.level !== undefined ? `, level ${e.level}` : ''})`);
          if (r.treeBlock) {
            const t = r.treeBlock;
            out.push(
              `tree block: owner tree ${t.owner}, level ${t.level}${t.firstKey ? `, first key (${t.firstKey.objectid} ${t.firstKey.type} ${t.firstKey.offset})` : ''}; reached from tree(s) ${t.roots.join(', ') || '?'}`,
            );
          } else if (r.files.length === 0) {
            out.push('no file uses it');
          } else {
            out.push(
              renderTable(
                ['subvol', 'inode', 'file offset', 'path'],
                r.files.flatMap((f) =>
                  (f.paths.length ? f.paths : [null]).map((p) => [
                    f.subvol,
                    f.ino,
                    f.compressed ? `${f.fileOffset} (compressed extent of ${f.extentLength} bytes)` : f.fileOffset,
                    p ? displayPath(p) : '(no path)',
                  ]),
                ),
              ),
            );
          }
          for (const n of r.notes) out.push(`note: ${n}`);
        }
        io.stdout.write(out.join('\n') + '\n');
      }
      const code = finish(fs, io);
      done(r.extent ? code : EXIT_DAMAGE);
    });
}
