import type { Command } from 'commander';
import { jsonDocument, toJson } from '../../report/json.js';
import { mapReport, reverseJson } from '../../report/map.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, NotServedError, UsageError } from '../context.js';
import { finish } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { parseU64 } from '../parse.js';
import { renderTable } from '../table.js';

export function registerMap(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('map').argument('[image]', 'image file or device').argument('[logical]', 'logical address (decimal or 0x hex)'))
    .description('map a logical address to every physical copy, or (--physical, --devid) a physical offset back to logical')
    .option('--physical <offset>', 'physical byte offset on a device, to map back to logical')
    .option('--devid <id>', 'device id for --physical (default 1)')
    .action((image: string | undefined, logicalArg: string | undefined, opts: CommonOptions & { physical?: string; devid?: string }) => {
      const fs = openFilesystem(image, opts, io);
      if (opts.physical !== undefined) {
        if (logicalArg !== undefined) throw new UsageError(`map: give a LOGICAL address or --physical OFFSET, not both (got ${logicalArg} and --physical ${opts.physical})`);
        const devid = parseU64(opts.devid ?? '1', '--devid');
        const phys = parseU64(opts.physical, '--physical');
        const hits = fs.volume.reverse(devid, phys);
        if (opts.json) io.stdout.write(toJson(jsonDocument('map', reverseJson(devid, phys, hits)), 2) + '\n');
        else if (hits.length === 0) io.stdout.write(`devid ${devid} physical ${phys} is not in any chunk's stripe (unallocated or outside the device)\n`);
        else
          io.stdout.write(
            renderTable(
              ['devid', 'physical', 'chunk', 'profile', 'stripe', 'role', 'logical'],
              hits.map((h) => [
                devid,
                phys,
                h.chunk.logical,
                h.chunk.profile,
                h.stripeIndex,
                h.role,
                h.logical ?? (h.unplaced ? 'none (no raid stripe item places data here)' : `parity of row at ${h.rowLogical}`),
              ]),
            ) + '\n',
          );
        return done(hits.length ? EXIT_OK : EXIT_DAMAGE);
      }
      if (logicalArg === undefined) throw new UsageError('map needs a LOGICAL address (or --physical OFFSET --devid N)');
      const logical = parseU64(logicalArg, 'LOGICAL');
      const m = fs.volume.map(logical);
      if (!m) throw new NotServedError(`logical ${logical} is not in any chunk`, '"chunks" lists the chunks and their logical ranges');
      const r = mapReport(fs.volume, logical, m);
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('map', r), 2) + '\n');
      } else {
        const lines = [
          `logical ${logical} is at offset ${r.offsetInChunk} of ${r.chunk.type} chunk ${r.chunk.logical} (length ${r.chunk.length}, ${r.chunk.profile}, stripe_len ${r.chunk.stripeLen}); contiguous for ${r.contiguous} bytes`,
          renderTable(
            ['copy', 'devid', 'device', 'physical', 'stripe'],
            r.copies.map((c) => [c.copy, c.devid, c.device, c.physical, c.stripe]),
          ),
        ];
        if (r.stripeExtent) lines.splice(1, 0, `placed by the raid stripe tree: item (${r.stripeExtent.logical} RAID_STRIPE ${r.stripeExtent.length})`);
        if (r.unmapped) lines.push(r.unmapped);
        if (r.row)
          lines.push(
            renderTable(
              ['role', 'devid', 'device', 'physical', 'stripe'],
              r.row.stripes.map((c, i) => [c.role === 'data' ? `data ${i}${i === r.row!.dataIndex ? ' (this)' : ''}` : c.role.toUpperCase(), c.devid, c.device, c.physical, c.stripe]),
              { title: `RAID row starting at logical ${r.row.logicalStart}` },
            ),
          );
        io.stdout.write(lines.join('\n') + '\n');
      }
      const code = finish(fs, io);
      // The chunk holds the address but no raid stripe item places it: nowhere to read it from.
      done(r.unmapped ? EXIT_DAMAGE : code);
    });
}
