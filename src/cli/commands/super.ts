import type { Command } from 'commander';
import { SuperFlag } from '../../format/constants.js';
import { featureGaps } from '../../report/featureSupport.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { BACKUP_ROOT_HEAD, backupRootRows, SYS_CHUNK_HEAD, superblockJson, superblockRows, sysChunkArrayRows } from '../../report/superblock.js';
import { dumpedDevice } from '../../volume/metadump.js';
import { readSuperblocks } from '../../volume/superblocks.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, InputError } from '../context.js';
import { forcedCopyError, openSources, superChoice } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderFields, renderTable } from '../table.js';

export function registerSuper(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('super').argument('[image]', 'image file or device (default: the bundled demo image)'))
    .description('decode the superblock (the primary copy, or the newest valid backup when the primary is invalid) and show the state of every copy')
    .option('--all-mirrors', 'decode and show every copy on every device')
    .action((image: string | undefined, opts: CommonOptions & { allMirrors?: boolean }) => {
      const choice = superChoice(opts);
      const sources = openSources(image, opts, io).map(dumpedDevice);
      const devices = sources.map((s) => ({ name: s.source.name, supers: readSuperblocks(s.source, choice) }));
      // A seed given first beside its sprout: the sprout's superblock is the filesystem's (as Filesystem.open assembles it).
      const isSeed = (d: (typeof devices)[number]) => d.supers.best !== undefined && (d.supers.best.flags & SuperFlag.SEEDING) !== 0n;
      const sprout = isSeed(devices[0]!) ? devices.find((d) => d.supers.best && !isSeed(d) && d.supers.best.fsid !== devices[0]!.supers.best!.fsid) : undefined;
      const first = sprout ?? devices[0]!;
      const dump = sources[0]!.dump;
      if (!first.supers.best && choice.copy !== undefined) throw forcedCopyError({ source: first.name, supers: first.supers }, choice.copy);
      if (!first.supers.best) {
        const states = first.supers.mirrors.map((m) => `copy ${m.index + 1} at ${m.offset}: ${m.state}`).join('; ');
        throw new InputError(`${first.name}: no valid btrfs superblock (${states})`);
      }
      const damaged = devices.some((d) => d.supers.mirrors.some((m) => m.state !== 'ok' && m.state !== 'missing'));
      if (opts.json) {
        io.stdout.write(
          toJson(
            jsonDocument('super', {
              superblock: superblockJson(first.supers.best),
              ...(dump ? { metadump: dump.info } : {}),
              featureGaps: featureGaps(first.supers.best),
              devices: devices.map((d) => ({
                name: d.name,
                ...(isSeed(d) ? { seed: true } : {}),
                // Copies numbered from 1, as the text and every message number them.
                usedCopy: d.supers.bestIndex !== undefined ? d.supers.bestIndex + 1 : null,
                mirrors: d.supers.mirrors.map((m) => ({
                  copy: m.index + 1,
                  index: m.index,
                  offset: m.offset,
                  state: m.state,
                  problems: m.problems,
                  ...(m.generation !== undefined ? { generation: m.generation } : {}),
                  ...(m.readError !== undefined ? { readError: m.readError } : {}),
                  ...(opts.allMirrors && m.superblock ? { superblock: superblockJson(m.superblock) } : {}),
                })),
              })),
            }),
            2,
          ) + '\n',
        );
        return done(damaged ? EXIT_DAMAGE : EXIT_OK);
      }
      const out: string[] = [];
      if (dump)
        out.push(
          `${dump.info.name}: a btrfs-image dump (format ${dump.info.version}${dump.info.compressed ? ', zlib' : ''}, ${dump.info.ranges} ranges of tree blocks${dump.info.data ? ' and data extents (-d)' : ''}): the primary superblock of the dumped device; a dump holds no backup copies`,
        );
      if (opts.allMirrors) {
        for (const d of devices) {
          for (const m of d.supers.mirrors) {
            if (m.superblock) {
              out.push(renderFields(superblockRows(m.superblock), `${d.name}: superblock copy ${m.index + 1} at ${m.offset} (${m.state})`));
              out.push(renderTable(BACKUP_ROOT_HEAD, backupRootRows(m.superblock), { title: 'backup roots' }));
            } else out.push(`${d.name}: superblock copy ${m.index + 1} at ${m.offset}: ${m.state}`);
          }
        }
      } else {
        out.push(renderFields(superblockRows(first.supers.best), `${first.name}: superblock copy ${first.supers.bestIndex! + 1} (used)`));
        out.push(renderTable(SYS_CHUNK_HEAD, sysChunkArrayRows(first.supers.best), { title: 'sys_chunk_array' }));
        out.push(renderTable(BACKUP_ROOT_HEAD, backupRootRows(first.supers.best), { title: 'backup roots' }));
      }
      const gaps = featureGaps(first.supers.best);
      if (gaps.length) {
        out.push(
          renderTable(
            ['flag', 'support', 'what is not handled', 'may be incomplete'],
            gaps.map((g) => [g.flag, g.support, g.note, g.commands.join(', ')]),
            { title: 'features btrfs-inspect does not fully understand' },
          ),
        );
      }
      out.push(
        renderTable(
          ['device', 'copy', 'offset', 'state', 'generation', 'problems'],
          devices.flatMap((d) =>
            d.supers.mirrors.map((m) => [
              d.name + (isSeed(d) && d !== first ? ' (seed)' : ''),
              m.index + 1,
              m.offset,
              m.state + (m.index === d.supers.bestIndex ? ' (used)' : ''),
              m.generation ?? '',
              m.problems.join(', '),
            ]),
          ),
          { title: 'superblock copies' },
        ),
      );
      io.stdout.write(out.join('\n\n') + '\n');
      done(damaged ? EXIT_DAMAGE : EXIT_OK);
    });
}
