import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { Command } from 'commander';
import { DecodeAheadVerifier } from '../../analysis/check/decodeAhead.js';
import { type CheckFinding, type CheckReport, type CheckSummary, type DataJob, type DataJobResult, type DataVerifier, runCheck, runCheckParallel, verifyDataJob } from '../../analysis/check/index.js';
import type { RuleGroup } from '../../findingRules.js';
import { formatLocation, locationJson } from '../../findings.js';
import { type CheckedImage, githubAnnotations } from '../../report/ciReports.js';
import { JSON_VERSION, ndjsonHeader, toJson } from '../../report/json.js';
import type { Filesystem } from '../../tree/Filesystem.js';
import { groupByFilesystem, type ImageJobResult, ImagePool, imageList } from '../checkImages.js';
import { type CheckPolicy, fails, ignoredBecause, loadPolicy } from '../checkPolicy.js';
import { openCiReports } from '../ciReportFiles.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK, EXIT_USAGE, InputError, LineWriter, NotServedError, UsageError } from '../context.js';
import { openFilesystem, type SourceOptions, sourceOptionsOf } from '../open.js';
import { addSourceOptions, type CommonOptions, collect } from '../options.js';
import { Progress } from '../progress.js';
import { renderTable } from '../table.js';
import { startWorker } from '../worker.js';

interface CheckCliOptions extends CommonOptions {
  data?: boolean;
  jobs?: string;
  verbose?: boolean;
  quiet?: boolean;
  from?: string;
  failOn?: string;
  ignore?: string[];
  config?: string;
  junit?: string;
  sarif?: string;
}

/** Version of the --json document (docs/check-json.md): the version of the whole JSON vocabulary (docs/json.md). */
export const CHECK_JSON_VERSION = JSON_VERSION;

/** One filesystem checked: its report, or why it could not be checked (exit 2). */
interface Checked {
  image: string;
  devices: string[];
  report?: CheckReport;
  error?: string;
  elapsedMs: number;
}

export function registerCheck(program: Command, io: CliIO, done: (code: number) => void): void {
  addSourceOptions(program.command('check').argument('[images...]', 'image file or device; several: each filesystem is checked in turn (the devices of a multi-device filesystem are grouped by fsid)'))
    .description(
      'find, locate and explain damage: superblocks, every copy of every tree block, items, cross references; --data: every copy of every data sector. Exit 0 clean, 1 damage, 2 could not check',
    )
    .option('--data', 'also verify every copy of every checksummed data sector (reads all data)')
    .option(
      '--jobs <n>',
      'one IMAGE: worker threads verifying data checksums; several: filesystems checked at once, each on a worker thread (default: one per core; 1 = on the main thread, one after another)',
    )
    .option('-v, --verbose', 'list notes (findings of severity info) in the findings table too')
    .option('-q, --quiet', 'print the verdict line only')
    .option('--from <file>', 'check the images listed in FILE too, one path a line ("-": stdin; blank lines and # comments skipped)')
    .option('--fail-on <severity>', 'the least severity that fails the check (exit 1): "error" (default), "warning" or "info"')
    .option('--ignore <codes>', 'accept findings of these codes (comma list, repeatable): listed, never failing', collect)
    .option('--config <file>', 'JSON: {"failOn": "warning", "ignore": [{"code": "...", "reason": "why it is accepted", "images": ["pattern"]}]}')
    .option('--junit <file>', 'also write a JUnit XML report to FILE (a test case per rule family and image)')
    .option('--sarif <file>', 'also write a SARIF 2.1.0 report to FILE (rules from the finding catalogue, results with locations)')
    .action(async (images: string[], opts: CheckCliOptions) => {
      if (opts.verbose && opts.quiet) throw new UsageError('give --verbose or --quiet, not both');
      const jobs = opts.jobs === undefined ? availableParallelism() : Number(opts.jobs);
      if (!Number.isInteger(jobs) || jobs < 1 || jobs > 64) throw new UsageError(`--jobs must be a whole number from 1 to 64, got "${opts.jobs}"`);
      const policy = loadPolicy(opts);
      const list = imageList(images, opts.from);
      const single = list.length <= 1 && opts.from === undefined;
      if (single && opts.jobs !== undefined && !opts.data) throw new UsageError('check: --jobs goes with --data, which was not given (or with several images: filesystems checked at once)');
      if (!single && opts.device) throw new UsageError('--device goes with one IMAGE; given several, the devices of a multi-device filesystem are found by their fsid');
      // Several images are grouped by what their detected formats hold: one forced format cannot name them all.
      if (!single && opts.inputFormat !== undefined) throw new UsageError('--input-format goes with one IMAGE; given several, each is read as its content says');
      const groups = single ? [{ image: list[0], devices: opts.device ?? [] }] : groupByFilesystem(list, io);
      const reports = openCiReports(opts, CHECK_GROUPS);
      const annotate = process.env['GITHUB_ACTIONS'] === 'true' && !opts.json;
      if (single) {
        const started = Date.now();
        const image = groups[0]!.image ?? '(demo)';
        let report: CheckReport;
        try {
          report = await checkOne(groups[0]!.image, opts, jobs, io);
        } catch (e) {
          // The report files were begun: they are closed whole, the image an errored case, before the error ends the run.
          reports.add({ image, findings: [], error: (e as Error).message, failing: () => true, elapsedMs: Date.now() - started });
          reports.close();
          throw e;
        }
        const r: Checked = { image, devices: groups[0]!.devices, report, elapsedMs: Date.now() - started };
        const v = judge(r, policy);
        reports.add(checkedImage(r, policy));
        reports.close();
        if (annotate) io.stdout.write(githubAnnotations([checkedImage(r, policy)]));
        return done(writeOne(r, v, policy, opts, io, images[0]));
      }
      // Each filesystem's part of every output is written as it is checked (in the order given), then forgotten.
      const many = new ManyWriter(policy, opts, io);
      for await (const r of checkAll(groups as { image: string; devices: string[] }[], opts, jobs, io)) {
        const v = judge(r, policy);
        const im = checkedImage(r, policy);
        reports.add(im);
        if (annotate) io.stdout.write(githubAnnotations([im]));
        many.image(r, v);
      }
      reports.close();
      done(many.end());
    });
}

/**
 * The filesystems of `groups` checked, yielded in the order given: one after
 * another on this thread (`jobs` 1), or up to `jobs` at once on image
 * workers (checkImageWorker.ts), each checking one filesystem at a time with
 * its data verified on its own thread. At most 2 × jobs filesystems are in
 * work or finished and waiting for an earlier one, so a slow image holds
 * back a bounded number of reports.
 */
async function* checkAll(groups: readonly { image: string; devices: string[] }[], opts: CheckCliOptions, jobs: number, io: CliIO): AsyncGenerator<Checked> {
  if (jobs === 1 || groups.length === 1) {
    for (const g of groups) {
      const started = Date.now();
      try {
        yield { image: g.image, devices: g.devices, report: await checkOne(g.image, { ...opts, device: g.devices }, jobs, io), elapsedMs: Date.now() - started };
      } catch (e) {
        // One image that cannot be opened is an error line of its own.
        if (!(e instanceof InputError || e instanceof UsageError || e instanceof NotServedError)) throw e;
        yield { image: g.image, devices: g.devices, error: e.message, elapsedMs: Date.now() - started };
      }
    }
    return;
  }
  const source = workerSourceOptions(opts);
  const pool = new ImagePool(Math.min(jobs, groups.length), () => startWorker(import.meta.url, 'checkImageWorker', null, { maxYoungGenerationSizeMb: 4 }));
  try {
    const inWork = new Map<number, Promise<ImageJobResult>>();
    let sent = 0;
    for (let i = 0; i < groups.length; i++) {
      for (; sent < groups.length && sent < i + 2 * jobs; sent++) inWork.set(sent, pool.check(groups[sent]!.image, groups[sent]!.devices, source, opts.data === true));
      const r = await inWork.get(i)!;
      inWork.delete(i);
      const g = groups[i]!;
      if (r.fatal !== undefined) throw new Error(`${g.image}: ${r.fatal}`);
      if (r.stderr) io.stderr.write(r.stderr);
      yield { image: g.image, devices: g.devices, ...(r.report ? { report: r.report } : { error: r.error ?? 'not checked' }), elapsedMs: r.elapsedMs };
    }
  } finally {
    await pool.close();
  }
}

/** The source options of the command line a worker opens each filesystem with (strings and flags: cloneable). */
function workerSourceOptions(opts: CheckCliOptions): SourceOptions {
  const { partition, offset, superblock, generation, root, replayLog, lv, snapshot } = opts;
  return {
    ...(partition !== undefined ? { partition } : {}),
    ...(offset !== undefined ? { offset } : {}),
    ...(superblock !== undefined ? { superblock } : {}),
    ...(generation !== undefined ? { generation } : {}),
    ...(root !== undefined ? { root } : {}),
    ...(replayLog !== undefined ? { replayLog } : {}),
    ...(lv !== undefined ? { lv } : {}),
    ...(snapshot !== undefined ? { snapshot } : {}),
  };
}

/** Opens one filesystem and checks it (data on `jobs` worker threads). */
async function checkOne(image: string | undefined, opts: CheckCliOptions, jobs: number, io: CliIO): Promise<CheckReport> {
  const fs = openFilesystem(image, opts, io);
  const progress = io.stderrIsTTY ? progressBar(io) : undefined;
  const checkOpts = { ...(opts.data ? { data: true } : {}), ...(progress ? { progress: progress.update } : {}) };
  // A compressed container's blocks are decoded ahead on another thread only with a core to spare:
  // when every core verifies already, that thread adds the cost of handing blocks over and no speed.
  const decodeAhead = jobs < availableParallelism() && fs.volume.decodes;
  const pool = opts.data && jobs > 1 ? new WorkerPool(fs, jobs, { image, opts: sourceOptionsOf(opts), decodeAhead }) : undefined;
  try {
    if (pool) return await runCheckParallel(fs, checkOpts, pool, jobs * 4);
    return opts.data && decodeAhead ? await runCheckParallel(fs, checkOpts, new DecodeAheadVerifier(fs)) : runCheck(fs, checkOpts);
  } finally {
    progress?.clear();
    await pool?.close();
    fs.close();
  }
}

interface Verdict {
  code: number;
  failing: CheckFinding[];
  accepted: number;
}

/** Exit code of one image under the policy: 2 unreadable, 1 a failing finding, 0 clean. */
function judge(r: Checked, policy: CheckPolicy): Verdict {
  if (!r.report) return { code: EXIT_USAGE, failing: [], accepted: 0 };
  const failing = r.report.findings.filter((f) => fails(policy, r.image, f));
  const accepted = r.report.findings.filter((f) => ignoredBecause(policy, r.image, f) !== null).length;
  return { code: failing.length > 0 ? EXIT_DAMAGE : EXIT_OK, failing, accepted };
}

function checkedImage(r: Checked, policy: CheckPolicy): CheckedImage {
  return { image: r.image, findings: r.report?.findings ?? [], ...(r.error !== undefined ? { error: r.error } : {}), failing: (f) => fails(policy, r.image, f), elapsedMs: r.elapsedMs };
}

/** Check's JUnit test cases per image: its rule families, in the order it reports them. */
const CHECK_GROUPS: RuleGroup[] = ['superblock', 'devices', 'chunks', 'tree blocks', 'items', 'cross references', 'files', 'data', 'notes'];

/** Verdict words: the classic line when only errors fail and nothing is accepted, else what failed and what was accepted. */
function verdictLine(s: CheckSummary, v: Verdict, policy: CheckPolicy): string {
  const accepted = v.accepted ? `, ${v.accepted} accepted` : '';
  if (v.code === EXIT_DAMAGE) {
    return policy.failOn === 'error'
      ? `DAMAGED: ${v.failing.length} error(s), ${s.warnings} warning(s)${accepted}`
      : `FAILED (--fail-on ${policy.failOn}): ${v.failing.length} finding(s): ${s.errors} error(s), ${s.warnings} warning(s), ${s.infos} note(s)${accepted}`;
  }
  return `clean${s.warnings + s.infos || v.accepted ? ` (${s.warnings} warning(s), ${s.infos} note(s)${accepted})` : ''}`;
}

function findingJsonWith(f: CheckFinding, image: string, policy: CheckPolicy): Record<string, unknown> {
  const why = ignoredBecause(policy, image, f);
  return { ...findingJson(f), ...(why !== null ? { accepted: why } : {}) };
}

/** The document and table of one filesystem (the command's output when given one IMAGE). */
function writeOne(r: Checked, v: Verdict, policy: CheckPolicy, opts: CheckCliOptions, io: CliIO, image: string | undefined): number {
  const report = r.report!;
  const s = report.summary;
  const code = v.code;
  if (opts.json) {
    io.stdout.write(
      toJson(
        {
          version: CHECK_JSON_VERSION,
          command: 'check',
          image: image ?? null,
          verdict: code === EXIT_DAMAGE ? 'damaged' : 'clean',
          exitCode: code,
          failOn: policy.failOn,
          // Copies are numbered from 1 in JSON as in every message (the library counts from 0).
          summary: { ...s, superblockUsed: s.superblockUsed + 1 },
          findings: report.findings.map((f) => findingJsonWith(f, r.image, policy)),
          dropped: report.dropped,
        },
        2,
      ) + '\n',
    );
    return code;
  }
  const verdict = verdictLine(s, v, policy);
  if (opts.quiet) {
    io.stdout.write(verdict + '\n');
    return code;
  }
  const out: string[] = [];
  const data = s.dataChecked
    ? `; data: ${s.dataBytes} bytes in ${s.dataSectors} sectors, ${s.dataSectorCopies} sector copies verified${s.dataCopiesUnavailable ? `, ${s.dataCopiesUnavailable} reads on missing devices skipped` : ''}`
    : s.dataSkipped
      ? `; data not checked: ${s.dataSkipped}`
      : '; data not checked (use --data)';
  out.push(`checked ${s.superblockCopies} superblock copies (copy ${s.superblockUsed + 1} used), ${s.trees} trees, ${s.treeBlocks} tree blocks (${s.treeBlockCopies} copies), ${s.items} items${data}`);
  // Notes are facts, not trouble (every mkfs.btrfs before 6.3 leaves free-space-orphan ones): one line unless --verbose.
  const shown = opts.verbose ? report.findings : report.findings.filter((f) => f.severity !== 'info');
  const notes = report.findings.length - shown.length;
  if (shown.length) {
    // Errors first, then warnings, then notes; in the order found within each.
    const rank = { error: 0, warning: 1, info: 2 } as const;
    const sorted = shown
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank[a.f.severity] - rank[b.f.severity] || a.i - b.i)
      .map((x) => x.f);
    const anyAccepted = v.accepted > 0;
    out.push(
      renderTable(
        ['severity', 'code', 'location', 'repairable', 'message', ...(anyAccepted ? ['accepted'] : [])],
        sorted.map((f) => [
          f.severity,
          f.code,
          formatLocation(f.location),
          f.repairable === undefined ? '' : f.repairable ? 'yes' : 'no',
          f.message,
          ...(anyAccepted ? [ignoredBecause(policy, r.image, f) ?? ''] : []),
        ]),
      ),
    );
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
    out.push(
      renderTable(
        ['code', 'count'],
        Object.entries(s.byCode).filter(([k]) => codes.has(k)),
        { title: 'findings by kind' },
      ),
    );
  }
  if (notes) out.push(`${notes} note${notes === 1 ? '' : 's'} (${noteCodes(report.findings)}); --verbose to list`);
  if (report.dropped) out.push(`(${report.dropped} more findings were not kept)`);
  out.push(verdict);
  io.stdout.write(out.join('\n') + '\n');
  return code;
}

/**
 * Several filesystems: a line each (and its failing findings), written as each is checked, then the
 * totals; --json: NDJSON, a record per image. Only the verdict counts are kept.
 */
class ManyWriter {
  private readonly n = { clean: 0, damaged: 0, unreadable: 0 };
  private code = EXIT_OK;
  private readonly w: LineWriter;

  constructor(
    private readonly policy: CheckPolicy,
    private readonly opts: CheckCliOptions,
    io: CliIO,
  ) {
    this.w = new LineWriter(io.stdout);
    if (opts.json) this.w.line(ndjsonHeader('check').slice(0, -1));
  }

  image(r: Checked, v: Verdict): void {
    const { w, policy, opts } = this;
    const verdict = v.code === EXIT_OK ? 'clean' : v.code === EXIT_DAMAGE ? 'damaged' : 'unreadable';
    this.n[verdict]++;
    this.code = Math.max(this.code, v.code);
    if (opts.json) {
      w.line(
        toJson({
          record: 'image',
          image: r.image,
          devices: r.devices,
          verdict,
          exitCode: v.code,
          ...(r.error !== undefined ? { error: r.error } : {}),
          ...(r.report
            ? {
                summary: { ...r.report.summary, superblockUsed: r.report.summary.superblockUsed + 1 },
                findings: r.report.findings.map((f) => findingJsonWith(f, r.image, policy)),
                dropped: r.report.dropped,
              }
            : {}),
        }),
      );
    } else {
      const name = r.devices.length ? `${r.image} (+ ${r.devices.join(', ')})` : r.image;
      if (!r.report) w.line(`${name}: could not check: ${r.error}`);
      else {
        w.line(`${name}: ${verdictLine(r.report.summary, v, policy)}`);
        if (!opts.quiet) {
          for (const f of v.failing.slice(0, 20)) {
            const at = formatLocation(f.location);
            w.line(`  ${f.severity} ${f.code}${at ? ` [${at}]` : ''}: ${f.message}`);
          }
          if (v.failing.length > 20) w.line(`  ... and ${v.failing.length - 20} more ("check ${r.image}" lists them all)`);
        }
      }
    }
    w.flush();
  }

  /** The totals; the run's exit code. */
  end(): number {
    const { n, w } = this;
    const images = n.clean + n.damaged + n.unreadable;
    if (this.opts.json) w.line(toJson({ record: 'total', images, ...n, failOn: this.policy.failOn, exitCode: this.code }));
    else w.line(`${images} filesystems: ${n.clean} clean, ${n.damaged} damaged, ${n.unreadable} could not be checked`);
    w.flush();
    return this.code;
  }
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
  return {
    code: f.code,
    severity: f.severity,
    message: f.message,
    location: locationJson(f.location),
    ...(f.repairable !== undefined ? { repairable: f.repairable } : {}),
    ...(f.hurt ? { hurt: f.hurt.map(hurtJson) } : {}),
  };
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
    clear() {
      p.done();
    },
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

  constructor(
    private readonly fs: Filesystem,
    n: number,
    data: { image: string | undefined; opts: SourceOptions; decodeAhead: boolean },
  ) {
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
      w.on('exit', (code) => {
        if (code !== 0) this.fail();
      });
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
