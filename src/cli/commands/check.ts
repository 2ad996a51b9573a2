import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker.js';
import { runCheck, runCheckParallel, verifyDataJob, type CheckFinding, type CheckReport, type DataJob, type DataJobResult, type DataVerifier } from '../../analysis/check/index.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { formatLocation, locationJson } from '../../findings.js';
import { JSON_VERSION, toJson } from '../../report/json.js';
import { openFilesystem, sourceOptionsOf, type SourceOptions } from '../open.js';
import { renderTable } from '../table.js';
import { EXIT_DAMAGE, EXIT_OK, UsageError, type CliIO } from '../context.js';
import { addSourceOptions, type CommonOptions } from '../options.js';
import { Progress } from '../progress.js';

interface CheckCliOptions extends CommonOptions {
  data?: boolean;
  jobs?: string;
  verbose?: boolean;
  quiet?: boolean;
}

/** Version of the --json document (docs/check-json.md): the version of the whole JSON vocabulary (docs/json.md). */
export const CHECK_JSON_VERSION = JSON_VERSION;

export function registerCheck(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('check').argument('[image]', 'image file or device'))
    .description('find, locate and explain damage: superblocks, every copy of every tree block, items, cross references; --data: every copy of every data sector. Exit 0 clean, 1 damage, 2 could not check')
    .option('--data', 'also verify every copy of every checksummed data sector (reads all data)')
    .option('--jobs <n>', 'worker threads verifying data checksums (default: one per core; 1 = on the main thread)')
    .option('-v, --verbose', 'list notes (findings of severity info) in the findings table too')
    .option('-q, --quiet', 'print the verdict line only')
    .action(async (image: string | undefined, opts: CheckCliOptions) => {
      if (opts.verbose && opts.quiet) throw new UsageError('give --verbose or --quiet, not both');
      const jobs = opts.jobs === undefined ? availableParallelism() : Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, got "${opts.jobs}"`);
      const fs = openFilesystem(image, opts, io);
      const progress = io.stderrIsTTY ? progressBar(io) : undefined;
      const checkOpts = { ...(opts.data ? { data: true } : {}), ...(progress ? { progress: progress.update } : {}) };
      let report: CheckReport;
      const pool = opts.data && jobs > 1 ? new WorkerPool(fs, jobs, { image, opts: sourceOptionsOf(opts) }) : undefined;
      try {
        report = pool ? await runCheckParallel(fs, checkOpts, pool, jobs * 4) : runCheck(fs, checkOpts);
      } finally {
        progress?.clear();
        await pool?.close();
        fs.close();
      }
      const s = report.summary;
      // Warnings (an older superblock copy, a device of another generation) are shown but do not fail a CI run.
      const damaged = s.errors > 0;
      const code = damaged ? EXIT_DAMAGE : EXIT_OK;
      if (opts.json) {
        io.stdout.write(toJson({
          version: CHECK_JSON_VERSION,
          command: 'check',
          image: image ?? null,
          verdict: damaged ? 'damaged' : 'clean',
          exitCode: code,
          // Copies are numbered from 1 in JSON as in every message (the library counts from 0).
          summary: { ...s, superblockUsed: s.superblockUsed + 1 },
          findings: report.findings.map(findingJson),
          dropped: report.dropped,
        }, 2) + '\n');
        return done(code);
      }
      const verdict = damaged ? `DAMAGED: ${s.errors} error(s), ${s.warnings} warning(s)` : `clean${s.warnings + s.infos ? ` (${s.warnings} warning(s), ${s.infos} note(s))` : ''}`;
      if (opts.quiet) {
        io.stdout.write(verdict + '\n');
        return done(code);
      }
      const out: string[] = [];
      const data = s.dataChecked
        ? `; data: ${s.dataBytes} bytes in ${s.dataSectors} sectors, ${s.dataSectorCopies} sector copies verified${s.dataCopiesUnavailable ? `, ${s.dataCopiesUnavailable} reads on missing devices skipped` : ''}`
        : s.dataSkipped ? `; data not checked: ${s.dataSkipped}` : '; data not checked (use --data)';
      out.push(`checked ${s.superblockCopies} superblock copies (copy ${s.superblockUsed + 1} used), ${s.trees} trees, ${s.treeBlocks} tree blocks (${s.treeBlockCopies} copies), ${s.items} items${data}`);
      // Notes are facts, not trouble (every mkfs.btrfs before 6.3 leaves free-space-orphan ones): one line unless --verbose.
      const shown = opts.verbose ? report.findings : report.findings.filter((f) => f.severity !== 'info');
      const notes = report.findings.length - shown.length;
      if (shown.length) {
        // Errors first, then warnings, then notes; in the order found within each.
        const rank = { error: 0, warning: 1, info: 2 } as const;
        const sorted = shown.map((f, i) => ({ f, i })).sort((a, b) => rank[a.f.severity] - rank[b.f.severity] || a.i - b.i).map((x) => x.f);
        out.push(renderTable(['severity', 'code', 'location', 'repairable', 'message'], sorted.map((f) => [
          f.severity, f.code, formatLocation(f.location), f.repairable === undefined ? '' : f.repairable ? 'yes' : 'no', f.message,
        ])));
        // Findings about the same lost block (one per copy) share what they hurt: listed once.
        const groups = new Map<NonNullable<CheckFinding['hurt']>, CheckFinding[]>();
        for (const f of sorted) if (f.hurt?.length) groups.set(f.hurt, [...(groups.get(f.hurt) ?? []), f]);
        if (groups.size) {
          out.push('damage that no copy repairs hurts:');
          for (const [hurt, fs] of groups) {
            const f = fs[0]!;
            const copies = fs.length > 1 ? ` (copies ${fs.map((x) => (x.location.copy ?? 0) + 1).join(', ')})` : '';
            out.push(`  ${f.code} at ${formatLocation({ ...f.location, ...(fs.length > 1 ? { copy: undefined, device: undefined, devid: undefined, physical: undefined } : {}) })}${copies}:`);
            for (const h of hurt.slice(0, 50)) out.push(`    ${hurtText(h)}`);
            if (hurt.length > 50) out.push(`    ... and ${hurt.length - 50} more (--json lists them all)`);
          }
        }
        const codes = new Set<string>(shown.map((f) => f.code));
        out.push(renderTable(['code', 'count'], Object.entries(s.byCode).filter(([k]) => codes.has(k)), { title: 'findings by kind' }));
      }
      if (notes) out.push(`${notes} note${notes === 1 ? '' : 's'} (${noteCodes(report.findings)}); --verbose to list`);
      if (report.dropped) out.push(`(${report.dropped} more findings were not kept)`);
      out.push(verdict);
      io.stdout.write(out.join('\n') + '\n');
      done(code);
    });
}

/** "free-space-orphan" or "free-space-orphan 3, log-tree 1": the kinds of notes left out of the table. */
function noteCodes(findings: readonly CheckFinding[]): string {
  const n = new Map<string, number>();
  for (const f of findings) if (f.severity === 'info') n.set(f.code, (n.get(f.code) ?? 0) + 1);
  return n.size === 1 ? [...n.keys()][0]! : [...n].map(([k, v]) => `${k} ${v}`).join(', ');
}

function hurtText(h: NonNullable<CheckFinding['hurt']>[number]): string {
  if (h.ino === undefined) return `tree ${h.tree} keys (${h.minKey?.objectid} ${h.minKey?.type} ${h.minKey?.offset}) .. (${h.maxKey?.objectid} ${h.maxKey?.type} ${h.maxKey?.offset})`;
  const range = h.fileOffset !== undefined ? ` bytes ${h.fileOffset}..${h.fileOffset + (h.length ?? 0n)}` : '';
  return `subvolume ${h.tree} inode ${h.ino}${range}: ${h.paths?.length ? h.paths.join(', ') : '(no path)'}`;
}

function findingJson(f: CheckFinding): Record<string, unknown> {
  return { code: f.code, severity: f.severity, message: f.message, location: locationJson(f.location), ...(f.repairable !== undefined ? { repairable: f.repairable } : {}), ...(f.hurt ? { hurt: f.hurt.map(hurtJson) } : {}) };
}

/** What damage hurts: a file names its subvolume (`subvol`), a key range of another tree names the tree (`tree`). */
function hurtJson(h: NonNullable<CheckFinding['hurt']>[number]): Record<string, unknown> {
  if (h.ino === undefined) return { ...h };
  const { tree, ...rest } = h;
  return { subvol: tree, ...rest };
}

/** The check's progress line (src/cli/progress.ts): tree blocks of the metadata walk, then MiB of data verified. */
function progressBar(io: CliIO): { update: (phase: string, done: number, total: number) => void; clear: () => void } {
  const p = new Progress(io);
  let current = '';
  return {
    update(phase, done, total) {
      if (phase !== current) {
        current = phase;
        p.phase(`checking ${phase}`, phase === 'data' ? 'bytes' : { items: 'tree blocks' }, total);
      }
      p.update(done, total);
    },
    clear() { p.done(); },
  };
}

/**
 * Worker threads that verify data jobs (checkWorker.ts), each on its own
 * read-only open of the same sources; a job goes to the least busy one. If
 * the workers cannot run, jobs are verified on this thread instead.
 */
class WorkerPool implements DataVerifier {
  private readonly workers: { w: Worker; busy: number }[] = [];
  private readonly pending = new Map<number, { job: DataJob; resolve: (r: DataJobResult) => void }>();
  private next = 0;
  private broken = false;

  constructor(private readonly fs: Filesystem, n: number, data: { image: string | undefined; opts: SourceOptions }) {
    for (let i = 0; i < n; i++) {
      const w = startWorker(import.meta.url, 'checkWorker', data, { maxYoungGenerationSizeMb: 4 });
      const slot = { w, busy: 0 };
      w.on('message', (m: { id: number; result: DataJobResult }) => {
        slot.busy--;
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        p?.resolve(m.result);
      });
      w.on('error', () => this.fail());
      w.on('exit', (code) => { if (code !== 0) this.fail(); });
      this.workers.push(slot);
    }
  }

  /** A worker died: everything it had, and everything after, is verified here. */
  private fail(): void {
    this.broken = true;
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.resolve(verifyDataJob(this.fs, p.job));
    }
  }

  verify(job: DataJob): Promise<DataJobResult> {
    if (this.broken) return Promise.resolve(verifyDataJob(this.fs, job));
    const id = this.next++;
    const slot = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    slot.busy++;
    return new Promise((resolve) => {
      this.pending.set(id, { job, resolve });
      slot.w.postMessage({ id, job });
    });
  }

  async close(): Promise<void> {
    this.broken = true;
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}
