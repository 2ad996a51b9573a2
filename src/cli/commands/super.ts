import type { Command } from 'commander';
import { readSuperblocks } from '../../volume/superblocks.js';
import { BACKUP_ROOT_HEAD, SYS_CHUNK_HEAD, backupRootRows, sysChunkArrayRows, superblockJson, superblockRows } from '../../report/superblock.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { openSources } from '../open.js';
import { renderFields, renderTable } from '../table.js';
import { EXIT_DAMAGE, EXIT_OK, InputError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';

export function registerSuper(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('super').argument('[image]', 'image file or device (default: the bundled demo image)'))
    .description('decode the superblock (the primary copy, or the newest valid backup when the primary is invalid) and show the state of every copy')
    .option('--all-mirrors', 'decode and show every copy on every device')
    .action((image: string | undefined, opts: CommonOptions & { allMirrors?: boolean }) => {
      const sources = openSources(image, opts, io);
      const devices = sources.map((s) => ({ name: s.name, supers: readSuperblocks(s) }));
      const first = devices[0]!;
      if (!first.supers.best) {
        const states = first.supers.mirrors.map((m) => `copy ${m.index + 1} at ${m.offset}: ${m.state}`).join('; ');
        throw new InputError(`${first.name}: no valid btrfs superblock (${states})`);
      }
      const damaged = devices.some((d) => d.supers.mirrors.some((m) => m.state !== 'ok' && m.state !== 'missing'));
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('super', {
          superblock: superblockJson(first.supers.best),
          devices: devices.map((d) => ({
            name: d.name,
            usedCopy: d.supers.bestIndex,
            mirrors: d.supers.mirrors.map((m) => ({
              index: m.index, offset: m.offset, state: m.state, problems: m.problems,
              ...(m.generation !== undefined ? { generation: m.generation } : {}),
              ...(m.readError !== undefined ? { readError: m.readError } : {}),
              ...(opts.allMirrors && m.superblock ? { superblock: superblockJson(m.superblock) } : {}),
            })),
          })),
        }), 2) + '\n');
        return done(damaged ? EXIT_DAMAGE : EXIT_OK);
      }
      const out: string[] = [];
      if (opts.allMirrors) {
        for (const d of devices) {
          for (const m of d.supers.mirrors) {
            if (m.superblock) {
              out.push(renderFields(superblockRows(m.superblock), `${d.name}: superblock copy ${m.index + 1} at ${m.offset} (${m.state})`));
              out.push(renderTable(BACKUP_ROOT_HEAD, backupRootRows(m.superblock), { title: 'backup roots' }));
            }
            else out.push(`${d.name}: superblock copy ${m.index + 1} at ${m.offset}: ${m.state}`);
          }
        }
      } else {
        out.push(renderFields(superblockRows(first.supers.best), `${first.name}: superblock copy ${first.supers.bestIndex! + 1} (used)`));
        out.push(renderTable(SYS_CHUNK_HEAD, sysChunkArrayRows(first.supers.best), { title: 'sys_chunk_array' }));
        out.push(renderTable(BACKUP_ROOT_HEAD, backupRootRows(first.supers.best), { title: 'backup roots' }));
      }
      out.push(renderTable(['device', 'copy', 'offset', 'state', 'generation', 'problems'], devices.flatMap((d) => d.supers.mirrors.map((m) => [
        d.name, m.index + 1, m.offset, m.state + (m.index === d.supers.bestIndex ? ' (used)' : ''), m.generation ?? '', m.problems.join(', '),
      ])), { title: 'superblock copies' }));
      io.stdout.write(out.join('\n\n') + '\n');
      done(damaged ? EXIT_DAMAGE : EXIT_OK);
    });
}
