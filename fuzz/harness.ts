import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Limits } from './check.js';
import type { CaseReport, CaseRequest, ChildMessage } from './worker.js';

export interface FuzzOptions {
  seed: number;
  cases: number;
  /** First case index (to replay one case: first = N, cases = 1). */
  first?: number;
  samples: string[];
  workers?: number;
  limits?: Partial<Limits>;
  /** A command running longer than this is a hang: its child is killed. */
  hangMs?: number;
  /** Heap cap of each child (MiB); exceeding it kills the child and counts as a memory failure. */
  heapMb?: number;
  /** Run the built dist/ instead of src/ (through tsx). */
  dist?: boolean;
  onCase?: (r: CaseReport, done: number) => void;
}

export interface Failure {
  seed: number;
  index: number;
  sample: string;
  mutation: string[];
  argv?: string[];
  problems: string[];
  stderr?: string;
}

export interface FuzzSummary {
  cases: number;
  commands: number;
  exitCodes: Record<string, number>;
  failures: Failure[];
  ms: number;
  slowestMs: number;
  slowest?: string[];
  maxRssGrowth: number;
}

const ROOT = join(import.meta.dirname, '..');
const WORKER = join(import.meta.dirname, 'worker.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** Small samples (every command on a case takes ~0.1 s) covering csum types, profiles, a partition table and compression. */
export const QUICK_SAMPLES = ['csum-xxhash', 'csum-sha256', 'holes', 'dup-data', 'raid1', 'raid5', 'partitioned-mbr', 'compress'];

export const DEFAULT_LIMITS: Limits = { commandMs: 10_000, rssBytes: 512 * 2 ** 20 };

/**
 * Runs cases [first, first + cases) of run `seed` on a pool of child
 * processes. A child is the unit of hang and memory containment: in-process
 * timers cannot interrupt the synchronous decoders, but the parent can kill
 * a child whose command outlives `hangMs`, and a child that outgrows its
 * heap cap dies alone. Each child runs its commands in-process (runCli with
 * captured io), so a case costs no process start.
 */
export async function runFuzz(o: FuzzOptions): Promise<FuzzSummary> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const hangMs = o.hangMs ?? 30_000;
  const first = o.first ?? 0;
  const root = mkdtempSync(join(tmpdir(), 'btrfs-fuzz-'));
  const summary: FuzzSummary = { cases: 0, commands: 0, exitCodes: {}, failures: [], ms: 0, slowestMs: 0, maxRssGrowth: 0 };
  const t0 = performance.now();
  let next = first;
  const end = first + o.cases;
  let spawned = 0;

  const runWorker = (): Promise<void> => new Promise((resolveWorker) => {
    const dir = join(root, `w${spawned++}`);
    mkdirSync(dir);
    let child: ChildProcess;
    let pending: { index: number; argv?: string[]; timer?: NodeJS.Timeout; sample?: string; mutation?: string[] } | null = null;
    let ended = false;
    const finish = () => { if (!ended) { ended = true; rmSync(dir, { recursive: true, force: true }); resolveWorker(); } };
    const feed = () => {
      if (next >= end) { child.kill(); return; }
      pending = { index: next++ };
      const req: CaseRequest = { type: 'case', seed: o.seed, index: pending.index, samples: o.samples, limits };
      child.send(req);
    };
    const fail = (problem: string, stderr?: string) => {
      const p = pending!;
      summary.failures.push({ seed: o.seed, index: p.index, sample: p.sample ?? '?', mutation: p.mutation ?? [], ...(p.argv ? { argv: p.argv } : {}), problems: [problem], ...(stderr ? { stderr } : {}) });
      summary.cases++;
    };
    const start = () => {
      let stderr = '';
      child = fork(WORKER, [], {
        cwd: dir,
        execArgv: ['--import', TSX, `--max-old-space-size=${o.heapMb ?? 1024}`],
        env: { ...process.env, BTRFS_INSPECT_DEBUG: '1', ...(o.dist ? { FUZZ_DIST: '1' } : {}) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      child.stderr!.on('data', (d: Buffer) => { if (stderr.length < 8000) stderr += d.toString(); });
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'ready') feed();
        else if (m.type === 'case' && pending) {
          // Known before any command runs, so a hang or crash can still be replayed by sample.
          pending.sample = m.sample;
          pending.mutation = m.mutation;
        } else if (m.type === 'start' && pending) {
          clearTimeout(pending.timer);
          pending.argv = m.argv;
          pending.timer = setTimeout(() => {
            fail(`hang: still running after ${hangMs} ms (killed)`);
            pending = null;
            child.kill('SIGKILL');
          }, hangMs);
        } else if (m.type === 'done' && pending) {
          clearTimeout(pending.timer);
          pending = null;
          record(o, summary, m.report);
          feed();
        } else if (m.type === 'fatal' && pending) {
          clearTimeout(pending.timer);
          fail(m.message);
          pending = null;
        }
      });
      child.on('exit', (code, signal) => {
        if (pending) {
          clearTimeout(pending.timer);
          const oom = /heap out of memory|Allocation failed/i.test(stderr);
          fail(oom ? 'memory: child ran out of heap' : `child died (code ${code}, signal ${signal})`, stderr.slice(-2000));
          pending = null;
        }
        // A child killed for a hang or crash is replaced, and the queue goes on.
        if (next < end) { stderr = ''; start(); } else finish();
      });
    };
    start();
  });

  const n = Math.max(1, Math.min(o.workers ?? 2, o.cases));
  await Promise.all(Array.from({ length: n }, runWorker));
  const stray = readdirSync(root);
  if (stray.length) summary.failures.push({ seed: o.seed, index: -1, sample: '-', mutation: [], problems: [`left in the fuzz temp dir: ${stray.join(', ')}`] });
  rmSync(root, { recursive: true, force: true });
  summary.ms = performance.now() - t0;
  return summary;
}

function record(o: FuzzOptions, s: FuzzSummary, r: CaseReport): void {
  s.cases++;
  for (const c of r.commands) {
    s.commands++;
    s.exitCodes[c.code] = (s.exitCodes[c.code] ?? 0) + 1;
    if (c.ms > s.slowestMs) { s.slowestMs = c.ms; s.slowest = [`case ${r.index}`, ...c.argv]; }
    s.maxRssGrowth = Math.max(s.maxRssGrowth, c.rssGrowth);
    if (c.problems.length) s.failures.push({ seed: o.seed, index: r.index, sample: r.sample, mutation: r.mutation, argv: c.argv, problems: c.problems, stderr: c.stderr.slice(0, 1500) });
  }
  if (r.problems.length) s.failures.push({ seed: o.seed, index: r.index, sample: r.sample, mutation: r.mutation, problems: r.problems });
  o.onCase?.(r, s.cases);
}
