import type { Command } from 'commander';
import { fsChunkReports } from '../../report/chunks.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { seedDeviceLines, seedDevices } from '../../report/seeds.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK } from '../context.js';
import { reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { renderTable } from '../table.js';

export function registerChunks(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('chunks').argument('[image]', 'image file or device'))
    .description('list chunks with type, profile, size, used bytes, stripes and their device extents')
    .action((image: string | undefined, opts: CommonOptions) => {
      const fs = openFilesystem(image, opts, io);
      const reports = fsChunkReports(fs);
      const bad = reports.some((r) => r.stripes.some((s) => s.devExtent !== 'ok'));
      if (opts.json) {
        const seeds = seedDevices(fs);
        io.stdout.write(toJson(jsonDocument('chunks', { chunks: reports, ...(seeds.length ? { seedDevices: seeds } : {}) }), 2) + '\n');
      } else {
        const seedIds = new Set(seedDevices(fs).map((d) => d.devid));
        io.stdout.write(
          renderTable(
            ['logical', 'length', 'type', 'profile', 'used', 'stripe len', 'stripes (devid:physical)', 'dev extents'],
            reports.map((r) => [
              r.logical,
              r.length,
              r.type,
              r.profile,
              r.used ?? '?',
              r.stripeLen,
              r.stripes.map((s) => `${s.devid}${seedIds.has(s.devid) ? ' (seed)' : ''}:${s.physical}`).join(' '),
              r.stripes.map((s) => s.devExtent).join(' '),
            ]),
          ) + '\n',
        );
        for (const line of seedDeviceLines(fs)) io.stdout.write(line + '\n');
        if (fs.rebuilt) {
          io.stdout.write('rebuilt mappings (--rebuild), with how sure each is and why:\n');
          for (const r of reports) io.stdout.write(`  ${r.logical} ${r.type} ${r.profile}: ${r.confidence ?? 'from the superblock'} - ${r.evidence ?? `${r.origin} (where the scan left a gap)`}\n`);
        }
      }
      const damage = reportFindings(fs, io, opts);
      done(damage || bad ? EXIT_DAMAGE : EXIT_OK);
    });
}
