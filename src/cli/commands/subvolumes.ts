import type { Command } from 'commander';
import { FsView } from '../../fs/FsView.js';
import { lineageLines, subvolumeJson, subvolumeRow } from '../../report/fs.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { seedDeviceLines, seedDevices } from '../../report/seeds.js';
import type { CliIO } from '../context.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderTable } from '../table.js';

export function registerSubvolumes(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('subvolumes').alias('subvol').argument('[image]', 'image file or device'))
    .description('list subvolumes and snapshots: id, path, parent, generations, uuids, times, flags, the default one, deleted ones; snapshot lineage as a tree')
    .action((image: string | undefined, opts: CommonOptions) => {
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      const subs = view.subvolumes();
      if (opts.json) {
        const seeds = seedDevices(fs);
        io.stdout.write(toJson(jsonDocument('subvolumes', { defaultSubvol: view.defaultSubvolume(), subvolumes: subs.map(subvolumeJson), ...(seeds.length ? { seedDevices: seeds } : {}) }), 2) + '\n');
      } else {
        const out: string[] = [];
        out.push(renderTable(['id', 'path', 'parent', 'gen', 'cgen', 'uuid', 'parent uuid', 'received uuid', 'ctime', 'otime', 'flags'], subs.map(subvolumeRow)));
        out.push(`default subvolume: ${view.defaultSubvolume()}`);
        out.push(...seedDeviceLines(fs));
        const deleted = subs.filter((s) => s.deleted);
        if (deleted.length) out.push(`deleted, not yet cleaned up: ${deleted.map((s) => s.id).join(', ')}`);
        out.push('', 'snapshot lineage (by parent uuid):', ...lineageLines(subs));
        io.stdout.write(out.join('\n') + '\n');
      }
      done(finish(fs, io));
    });
}
