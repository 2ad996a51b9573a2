import type { Command } from 'commander';
import { runCheck, type CheckFinding, type CheckReport } from '../../analysis/check/index.js';
import { formatLocation } from '../../findings.js';
import { toJson } from '../../report/json.js';
import { openFilesystem } from '../open.js';
import { renderTable } from '../table.js';
import { EXIT_DAMAGE, EXIT_OK, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';

interface CheckCliOptions extends CommonOptions {
  data?: boolean;
}

/** Version of the --json document (docs/check-json.md). */
export const CHECK_JSON_VERSION = 1;

export function registerCheck(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('check').argument('[image]', 'image file or device'))
    .description('find, locate and explain damage: superblocks, every copy of every tree block, items, cross references; --data: every copy of every data sector. Exit 0 clean, 1 damage, 2 could not check')
    .option('--data', 'also verify every copy of every checksummed data sector (reads all data)')
    .action((image: string | undefined, opts: CheckCliOptions) => {
      const fs = openFilesystem(image, opts, io);
      const progress = io.stderrIsTTY ? progressBar(io) : undefined;
      let report: CheckReport;
      try {
        report = runCheck(fs, { ...(opts.data ? { data: true } : {}), ...(progress ? { progress: progress.update } : {}) });
      } finally {
        progress?.clear();
        fs.close();
      }
      const s = report.summary;
      // Warnings (an older superblock copy, a device of another generation) are shown but do not fail a CI run.
      const damaged = s.errors > 0;
      const code = damaged ? EXIT_DAMAGE : EXIT_OK;
      if (opts.json) {
        io.stdout.write(toJson({
          version: CHECK_JSON_VERSION,
          image: image ?? null,
          verdict: damaged ? 'damaged' : 'clean',
          exitCode: code,
          summary: s,
          findings: report.findings.map(findingJson),
          dropped: report.dropped,
        }, 2) + '\n');
        return done(code);
      }
      const out: string[] = [];
      const data = s.dataChecked
        ? `; data: ${s.dataBytes} bytes in ${s.dataSectors} sectors, ${s.dataSectorCopies} sector copies verified${s.dataCopiesUnavailable ? `, ${s.dataCopiesUnavailable} reads on missing devices skipped` : ''}`
        : s.dataSkipped ? `; data not checked: ${s.dataSkipped}` : '; data not checked (use --data)';
      out.push(`checked ${s.superblockCopies} superblock copies (copy ${s.superblockUsed + 1} used), ${s.trees} trees, ${s.treeBlocks} tree blocks (${s.treeBlockCopies} copies), ${s.items} items${data}`);
      if (report.findings.length) {
        out.push(renderTable(['severity', 'code', 'location', 'repairable', 'message'], report.findings.map((f) => [
          f.severity, f.code, formatLocation(f.location), f.repairable === undefined ? '' : f.repairable ? 'yes' : 'no', f.message,
        ])));
        const hurt = report.findings.filter((f) => f.hurt?.length);
        if (hurt.length) {
          out.push('damage that no copy repairs hurts:');
          for (const f of hurt) {
            out.push(`  ${f.code} at ${formatLocation(f.location)}:`);
            for (const h of f.hurt!.slice(0, 50)) out.push(`    ${hurtText(h)}`);
            if (f.hurt!.length > 50) out.push(`    ... and ${f.hurt!.length - 50} more`);
          }
        }
        out.push(renderTable(['code', 'count'], Object.entries(s.byCode).map(([k, v]) => [k, v]), { title: 'findings by kind' }));
      }
      if (report.dropped) out.push(`(${report.dropped} more findings were not kept)`);
      out.push(damaged ? `DAMAGED: ${s.errors} error(s), ${s.warnings} warning(s)` : `clean${s.warnings + s.infos ? ` (${s.warnings} warning(s), ${s.infos} note(s))` : ''}`);
      io.stdout.write(out.join('\n') + '\n');
      done(code);
    });
}

function hurtText(h: NonNullable<CheckFinding['hurt']>[number]): string {
  if (h.ino === undefined) return `tree ${h.tree} keys (${h.minKey?.objectid} ${h.minKey?.type} ${h.minKey?.offset}) .. (${h.maxKey?.objectid} ${h.maxKey?.type} ${h.maxKey?.offset})`;
  const range = h.fileOffset !== undefined ? ` bytes ${h.fileOffset}..${h.fileOffset + (h.length ?? 0n)}` : '';
  return `subvolume ${h.tree} inode ${h.ino}${range}: ${h.paths?.length ? h.paths.join(', ') : '(no path)'}`;
}

function findingJson(f: CheckFinding): Record<string, unknown> {
  return { code: f.code, severity: f.severity, message: f.message, location: f.location, ...(f.repairable !== undefined ? { repairable: f.repairable } : {}), ...(f.hurt ? { hurt: f.hurt } : {}) };
}

/** One line on stderr, redrawn at most ten times a second. */
function progressBar(io: CliIO): { update: (phase: string, done: number, total: number) => void; clear: () => void } {
  let last = 0;
  let drawn = false;
  return {
    update(phase, done, total) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      drawn = true;
      const text = total > 0
        ? `checking ${phase}: ${bar(done / total)} ${(100 * done / total).toFixed(1)}% (${(done / 2 ** 20).toFixed(0)}/${(total / 2 ** 20).toFixed(0)} MiB)`
        : `checking ${phase}: ${done} blocks`;
      io.stderr.write(`\r${text}\x1b[K`);
    },
    clear() { if (drawn) io.stderr.write('\r\x1b[K'); },
  };
}

function bar(f: number): string {
  const w = 30, n = Math.max(0, Math.min(w, Math.round(f * w)));
  return `[${'#'.repeat(n)}${'.'.repeat(w - n)}]`;
}
