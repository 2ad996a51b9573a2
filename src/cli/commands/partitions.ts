import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { hasSuperMagic, decodeSuperblock } from '../../format/superblock.js';
import { PartitionTableError, readPartitionTable } from '../../io/partitions.js';
import { openByteSource } from '../../io/node/openSource.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { DEMO_HINT, demoImagePath, warnIfLive } from '../open.js';
import { DEMO_OPTION_HELP } from '../options.js';
import { renderTable } from '../table.js';
import { EXIT_DAMAGE, EXIT_OK, InputError, type CliIO } from '../context.js';
import { addOutputOptions } from '../options.js';

export function registerPartitions(program: Command, io: CliIO, done: (code: number) => void): void {
  addOutputOptions(program.command('partitions').argument('[image]', 'whole-disk image or device'))
    .description('list the MBR or GPT partitions of a whole-disk image and which of them hold btrfs')
    .option('--json', 'machine-readable output')
    .option('--demo', DEMO_OPTION_HELP)
    .action((image: string | undefined, opts: { json?: boolean; demo?: boolean }) => {
      const path = image ?? demoImagePath();
      if (!existsSync(path)) throw new InputError(`${path}: no such file or device`, image !== undefined && !opts.demo ? DEMO_HINT : undefined);
      warnIfLive(path, io);
      const src = openByteSource(path);
      let table;
      try {
        table = readPartitionTable(src);
      } catch (e) {
        if (e instanceof PartitionTableError) throw new InputError(`${path}: ${e.message}`);
        throw e;
      }
      if (!table) {
        const whole = hasSuperMagic(src.read(0x10000n, 4096));
        io.stdout.write(opts.json ? toJson(jsonDocument('partitions', { table: null, btrfsOnWholeDevice: whole }), 2) + '\n'
          : `${path}: no partition table${whole ? '; btrfs starts at offset 0 (use the image directly)' : ''}\n`);
        return done(EXIT_OK);
      }
      const rows = table.partitions.map((p) => {
        const head = p.kind === 'extended' ? new Uint8Array(0) : src.read(p.start + 0x10000n, 4096);
        const btrfs = hasSuperMagic(head) ? decodeSuperblock(head) : null;
        return { ...p, btrfs: btrfs ? { fsid: btrfs.fsid, label: btrfs.label, devid: btrfs.devItem.devid, generation: btrfs.generation } : null };
      });
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('partitions', { table: { type: table.type, sectorSize: table.sectorSize, diskId: table.diskId, problems: table.problems, gpt: table.gpt }, partitions: rows }), 2) + '\n');
      } else {
        io.stdout.write(renderTable(['#', 'kind', 'start', 'size', 'type', 'name', 'btrfs'], rows.map((p) => [
          p.index, p.kind, p.start, p.size, p.typeName ? `${p.typeName} (${p.type})` : p.type, p.name,
          p.btrfs ? `fsid ${p.btrfs.fsid} devid ${p.btrfs.devid}${p.btrfs.label ? ` label "${p.btrfs.label}"` : ''}` : '',
        ]), { title: `${path}: ${table.type.toUpperCase()}, ${table.sectorSize}-byte sectors, disk id ${table.diskId}` }) + '\n');
        for (const p of table.problems) io.stderr.write(`warning: ${p}\n`);
      }
      done(table.problems.length ? EXIT_DAMAGE : EXIT_OK);
    });
}
