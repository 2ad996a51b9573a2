import type { Command } from 'commander';
import { analyzeSharing, groupExclusive, type SubvolSharing, sharedMatrix } from '../../analysis/sharing.js';
import { DuCalculator, subvolumesBelow } from '../../analysis/sharingDu.js';
import { FsView } from '../../fs/FsView.js';
import { selectSubvolume } from '../../fs/select.js';
import { jsonDocument, toJson } from '../../report/json.js';
import { sharingJson } from '../../report/sharingJson.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, UsageError } from '../context.js';
import { reportFindings } from '../findings.js';
import { openFilesystem } from '../open.js';
import { addSourceOptions, type CommonOptions, collect } from '../options.js';
import { metadataBlocks, Progress } from '../progress.js';
import { renderTable } from '../table.js';

interface SharingOptions extends CommonOptions {
  matrix?: boolean;
  free?: string[];
}

function ratioText(p: SubvolSharing): string {
  if (p.compressedDisk === 0n) return '-';
  return (Number((p.compressedRam * 1000n) / p.compressedDisk) / 1000).toFixed(2);
}

export function registerSharing(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('sharing').argument('[image]', 'image file or device'))
    .description('per subvolume: referenced, exclusive and shared bytes (as qgroups count them), fi du totals, bookend waste, inline/prealloc bytes, compression, tree blocks')
    .option('--matrix', 'bytes shared between each pair of subvolumes')
    .option('--free <subvol>', 'what deleting this set of subvolumes (ids or paths) would free: repeat it or give a comma list', collect)
    .action((image: string | undefined, opts: SharingOptions) => {
      const fs = openFilesystem(image, opts, io);
      const view = new FsView(fs);
      const progress = new Progress(io);
      if (progress.enabled) progress.phase('walking trees', { items: 'tree blocks' }, metadataBlocks(fs));
      const r = analyzeSharing(view, progress.enabled ? { progress: (n) => progress.update(n) } : {});
      progress.done();
      const freeIds = (opts.free ?? []).flatMap((spec) => {
        const s = selectSubvolume(view, spec);
        if (!s.ok) throw new UsageError(`--free: ${s.error.replace(/^--subvol /, '')}`);
        return [s.root.subvol];
      });
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('sharing', sharingJson(r, { matrix: opts.matrix === true, ...(opts.free ? { free: freeIds } : {}) })), 2) + '\n');
      } else {
        const du = new DuCalculator(r);
        const rows = r.perSubvol.map((p) => ({ ...p, du: du.du(subvolumesBelow(r, p.id)) }));
        const matrix = opts.matrix ? sharedMatrix(r) : null;
        const freed = opts.free ? groupExclusive(r, freeIds) : null;
        const out: string[] = [];
        out.push(
          renderTable(
            ['id', 'path', 'referenced', 'exclusive', 'shared', 'meta (refd/excl blocks)', 'du total', 'du excl', 'du set shared', 'apparent', 'waste', 'inline', 'prealloc', 'compr ratio'],
            rows.map((p) => [
              p.id,
              p.path ?? '(unlinked)',
              p.referenced,
              p.exclusive,
              p.shared,
              `${p.referencedMetaBlocks}/${p.exclusiveMetaBlocks}`,
              p.du.total,
              p.du.exclusive,
              p.du.setShared,
              p.apparentBytes,
              p.wasteEstimated ? `${p.wasteBytes} (~${p.wasteEstimated} est.)` : p.wasteBytes,
              p.inlineBytes,
              p.preallocBytes,
              ratioText(p),
            ]),
          ),
        );
        out.push(
          `referenced/exclusive/shared count data extents at their on-disk size plus ${r.nodesize} bytes per tree block (as qgroups do); du columns are "btrfs filesystem du -s" of the subvolume's path (nested subvolumes included); ${r.treeBlocks} tree blocks and ${r.extents.size} data extents read once each`,
        );
        if (matrix) {
          out.push(
            renderTable(
              ['bytes shared', ...r.subvols.map((s) => String(s.id))],
              r.subvols.map((s, i) => [s.id, ...matrix[i]!]),
            ),
          );
        }
        if (freed) {
          out.push(`deleting ${freeIds.join(', ')} would free ${freed.total} bytes (${freed.data} data, ${freed.metaBlocks} tree blocks of ${r.nodesize})`);
        }
        io.stdout.write(out.join('\n') + '\n');
      }
      done(reportFindings(fs, io, opts) ? EXIT_DAMAGE : EXIT_OK);
    });
}
