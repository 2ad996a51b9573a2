import type { Command } from 'commander';
import { computeUsage } from '../../analysis/usage.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK } from '../context.js';
import { reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderTable } from '../table.js';

export function registerUsage(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('usage').argument('[image]', 'image file or device'))
    .description('space usage like "btrfs filesystem usage": devices, block groups by type and profile, totals, unallocated space')
    .action((image: string | undefined, opts: CommonOptions) => {
      const fs = openFilesystem(image, opts, io);
      const u = computeUsage(fs);
      if (opts.json) {
        io.stdout.write(
          toJson(
            jsonDocument('usage', {
              ...u,
              devices: u.devices.map((d) => ({ ...d, byGroup: Object.fromEntries(d.byGroup) })),
            }),
            2,
          ) + '\n',
        );
      } else {
        const pct = (a: bigint, b: bigint) => (b === 0n ? '0.00' : ((Number(a) * 100) / Number(b)).toFixed(2));
        const out: string[] = [];
        out.push(
          renderTable(
            ['overall', 'bytes'],
            [
              ['device size', u.deviceSize],
              ['device allocated', u.allocated],
              ['device unallocated', u.unallocated],
              ['used', u.used],
              ['free (estimated)', `${u.freeEstimated} (min: ${u.freeMin})${u.mixed ? ' (the kernel also subtracts the global reserve, not on disk)' : ''}`],
              ['data ratio', u.dataRatio.toFixed(2)],
              ['metadata ratio', u.metadataRatio.toFixed(2)],
              ['multiple profiles', u.multipleProfiles ? 'yes' : 'no'],
            ],
          ),
        );
        out.push(
          renderTable(
            ['type', 'profile', 'size', 'used', 'used %', 'raw on devices', 'chunks'],
            u.groups.map((g) => [g.type, g.profile, g.size, g.used, pct(g.used, g.size), g.raw, g.chunks]),
            { title: 'block groups' },
          ),
        );
        const keys = u.groups.map((g) => `${g.type},${g.profile}`);
        out.push(
          renderTable(
            ['devid', 'uuid', 'size', 'allocated', ...keys, 'unallocated'],
            u.devices.map((d) => [d.devid, d.uuid, d.size, d.allocated, ...keys.map((k) => d.byGroup.get(k) ?? 0n), d.unallocated]),
            { title: 'devices' },
          ),
        );
        io.stdout.write(out.join('\n') + '\n');
      }
      done(reportFindings(fs, io, opts) ? EXIT_DAMAGE : EXIT_OK);
    });
}
