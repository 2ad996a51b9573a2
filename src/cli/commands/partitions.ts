import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { ByteSource } from '../../io/ByteSource.js';
import { openByteSource } from '../../io/node/openSource.js';
import { type PartitionTable, PartitionTableError, readPartitionTable } from '../../io/partitions.js';
import { SliceSource } from '../../io/SliceSource.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, InputError } from '../context.js';
import { btrfsAt, containerLayer, type LvmLayer, lvmLayer } from '../layers.js';
import { DEMO_HINT, demoImagePath, warnIfLive } from '../open.js';
import { addInputFormatOption, addOutputOptions, DEMO_OPTION_HELP, parseInputFormat } from '../options.js';
import { renderTable } from '../table.js';

const btrfsText = (b: ReturnType<typeof btrfsAt>) => (b ? `fsid ${b.fsid} devid ${b.devid}${b.label ? ` label "${b.label}"` : ''}` : '');

/** The LVM layers as tables: each PV's VG, and each LV with its segments and where they lie. */
function lvmText(layers: LvmLayer[], path: string): string[] {
  const out: string[] = [];
  for (const l of layers) {
    const where = l.partition === null ? 'the whole disk' : `partition ${l.partition}`;
    if (!l.vg) {
      out.push(`${path}: ${where} is LVM physical volume ${l.pvUuid} with no readable metadata`);
      continue;
    }
    out.push(
      renderTable(
        ['LV', 'size', 'segment (extents)', 'type', 'areas (PV: extent, offset on the PV)', 'btrfs'],
        l.lvs.flatMap((lv) =>
          lv.segments.map((s, i) => [
            i === 0
              ? `${lv.vg}/${lv.lv}${lv.snapshotOf ? ` (snapshot of ${lv.snapshotOf}; size: its copy-on-write store)` : lv.origin ? ` (internal: ties ${lv.origin} to its snapshot)` : lv.status.includes('VISIBLE') ? '' : ' (hidden)'}`
              : '',
            i === 0 ? lv.size : '',
            `${s.startExtent}..${s.startExtent + s.extentCount - 1n}`,
            s.areas.length > 1 ? `${s.type}, ${s.areas.length} stripes of ${s.stripeBytes}` : s.type === 'striped' ? 'linear' : s.type,
            s.areas.map((a) => `${a.pv}: ${a.pe}, ${a.pvOffset ?? '?'}`).join('; '),
            i === 0 ? btrfsText(lv.btrfs) : '',
          ]),
        ),
        {
          title: `${path}: ${where} (offset ${l.offset}, ${l.size} bytes) is LVM physical volume ${l.pvUuid} of volume group ${l.vg.name} (seqno ${l.vg.seqno}, ${l.vg.extentBytes}-byte extents; PVs: ${l.vg.pvs.map((p) => `${p.name}${p.here ? ' (this one)' : ''}`).join(', ')})`,
        },
      ),
    );
  }
  return out;
}

export function registerPartitions(program: Command, io: CliIO, done: (code: number) => void): void {
  addInputFormatOption(addOutputOptions(program.command('partitions').argument('[image]', 'whole-disk image or device')))
    .description('show the layers of an image: the container, the MBR or GPT partitions, LVM volumes, and which of them hold btrfs')
    .option('--json', 'machine-readable output')
    .option('--demo', DEMO_OPTION_HELP)
    .action((image: string | undefined, opts: { json?: boolean; demo?: boolean; inputFormat?: string }) => {
      const format = parseInputFormat(opts.inputFormat);
      const path = image ?? demoImagePath();
      if (!existsSync(path)) throw new InputError(`${path}: no such file or device`, image !== undefined && !opts.demo ? DEMO_HINT : undefined);
      warnIfLive(path, io);
      let src: ByteSource;
      try {
        src = openByteSource(path, format !== undefined ? { format } : {});
      } catch (e) {
        throw new InputError((e as Error).message);
      }
      const container = containerLayer(path, src, format);
      let table: PartitionTable | null;
      try {
        table = readPartitionTable(src);
      } catch (e) {
        if (e instanceof PartitionTableError) throw new InputError(`${path}: ${e.message}`);
        throw e;
      }
      const containerLine = container.format === 'raw' || container.format === 'runs' ? '' : `${path}: ${container.format} container of a ${container.size}-byte disk\n`;
      if (!table) {
        const whole = btrfsAt(src) !== null;
        const lvm = whole ? null : lvmLayer(src, 0n, null);
        const lvmList = lvm ? [lvm] : [];
        io.stdout.write(
          opts.json
            ? toJson(jsonDocument('partitions', { container, table: null, btrfsOnWholeDevice: whole, lvm: lvmList }), 2) + '\n'
            : containerLine + (lvm ? lvmText(lvmList, path).join('\n') + '\n' : `${path}: no partition table${whole ? '; btrfs starts at offset 0 (use the image directly)' : ''}\n`),
        );
        return done(lvm?.problems.length ? EXIT_DAMAGE : EXIT_OK);
      }
      const lvm: LvmLayer[] = [];
      const rows = table.partitions.map((p) => {
        const part = p.kind === 'extended' ? null : new SliceSource(src, p.start, p.size, `${src.name} partition ${p.index}`);
        const btrfs = part ? btrfsAt(part) : null;
        const pv = part && !btrfs ? lvmLayer(part, p.start, p.index) : null;
        if (pv) lvm.push(pv);
        return { ...p, btrfs, ...(pv ? { lvm: { pvUuid: pv.pvUuid, vg: pv.vg?.name ?? null } } : {}) };
      });
      const problems = [...table.problems, ...lvm.flatMap((l) => l.problems)];
      if (opts.json) {
        io.stdout.write(
          toJson(
            jsonDocument('partitions', { container, table: { type: table.type, sectorSize: table.sectorSize, diskId: table.diskId, problems: table.problems, gpt: table.gpt }, partitions: rows, lvm }),
            2,
          ) + '\n',
        );
      } else {
        io.stdout.write(
          containerLine +
            renderTable(
              ['#', 'kind', 'start', 'size', 'type', 'name', 'btrfs'],
              rows.map((p) => [
                p.index,
                p.kind,
                p.start,
                p.size,
                p.typeName ? `${p.typeName} (${p.type})` : p.type,
                p.name,
                p.btrfs ? btrfsText(p.btrfs) : p.lvm ? `LVM PV of ${p.lvm.vg ?? 'no readable VG'} (below)` : '',
              ]),
              { title: `${path}: ${table.type.toUpperCase()}, ${table.sectorSize}-byte sectors, disk id ${table.diskId}` },
            ) +
            '\n',
        );
        for (const t of lvmText(lvm, path)) io.stdout.write(`\n${t}\n`);
        for (const p of problems) io.stderr.write(`warning: ${p}\n`);
      }
      done(problems.length ? EXIT_DAMAGE : EXIT_OK);
    });
}
