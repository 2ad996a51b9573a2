import { type ChildProcess, fork } from 'node:child_process';
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
  /** Further node options for the children (e.g. --cpu-prof --cpu-prof-dir=DIR to profile them). */
  nodeArgs?: string[];
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
  /** Milliseconds the children spent outside the commands: mutating, writing and checking images. */
  harnessMs: number;
  /** Command milliseconds by command name (where a case's time goes). */
  commandMs: Record<string, number>;
}

const ROOT = join(import.meta.dirname, '..');
const WORKER = join(import.meta.dirname, 'worker.ts');
const TSX = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/** A sample list in which each name appears `weight` times (a case picks uniformly from it). */
export function weighted(w: Record<string, number>): string[] {
  return Object.entries(w).flatMap(([name, n]) => Array<string>(n).fill(name));
}

/**
 * The samples of the test suite's run, weighted by cost: all commands on a
 * case of the single-device samples take ~0.2-0.4 s, on raid1, compress and
 * raid5 0.7-1.7 s (their metadata scans read 2-3 copies or rebuild parity),
 * so those come up less often. Together they cover the four csum types'
 * common two, DUP and single metadata, holes, DUP data, RAID1 and RAID5, an
 * MBR partition, compression, deleted files, older generations and a log tree.
 */
export const QUICK_SAMPLES = weighted({
  'csum-xxhash': 4,
  generations: 3,
  deleted: 3,
  'log-tree': 2,
  'csum-sha256': 2,
  holes: 2,
  'dup-data': 2,
  'partitioned-mbr': 2,
  raid1: 1,
  compress: 1,
  raid5: 1,
});

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
  const root = scratchRoot();
  const summary: FuzzSummary = { cases: 0, commands: 0, exitCodes: {}, failures: [], ms: 0, slowestMs: 0, maxRssGrowth: 0, harnessMs: 0, commandMs: {} };
  const t0 = performance.now();
  let next = first;
  const end = first + o.cases;
  let spawned = 0;

  const runWorker = (): Promise<void> =>
    new Promise((resolveWorker) => {
      const dir = join(root, `w${spawned++}`);
      mkdirSync(dir);
      let child: ChildProcess;
      let pending: { index: number; argv?: string[]; timer?: NodeJS.Timeout; sample?: string; mutation?: string[] } | null = null;
      let ended = false;
      const finish = () => {
        if (!ended) {
          ended = true;
          rmSync(dir, { recursive: true, force: true });
          resolveWorker();
        }
      };
      const feed = () => {
        if (next >= end) {
          child.disconnect();
          return;
        }
        pending = { index: next++ };
        const req: CaseRequest = { type: 'case', seed: o.seed, index: pending.index, samples: o.samples, limits };
        child.send(req);
      };
      const fail = (problem: string, stderr?: string) => {
        const p = pending!;
        summary.failures.push({
          seed: o.seed,
          index: p.index,
          sample: p.sample ?? '?',
          mutation: p.mutation ?? [],
          ...(p.argv ? { argv: p.argv } : {}),
          problems: [problem],
          ...(stderr ? { stderr } : {}),
        });
        summary.cases++;
      };
      const start = () => {
        let stderr = '';
        child = fork(WORKER, [], {
          cwd: dir,
          execArgv: ['--import', TSX, `--max-old-space-size=${o.heapMb ?? 1024}`, ...(o.nodeArgs ?? [])],
          env: { ...process.env, BTRFS_INSPECT_DEBUG: '1', ...(o.dist ? { FUZZ_DIST: '1' } : {}) },
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        child.stderr!.on('data', (d: Buffer) => {
          if (stderr.length < 8000) stderr += d.toString();
        });
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
          if (next < end) {
            stderr = '';
            start();
          } else finish();
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

/** The children's scratch space: tmpfs when there is one (each case writes and rereads its image files), else the temp dir. */
function scratchRoot(): string {
  try {
    return mkdtempSync(join('/dev/shm', 'btrfs-fuzz-'));
  } catch {
    return mkdtempSync(join(tmpdir(), 'btrfs-fuzz-'));
  }
}

function record(o: FuzzOptions, s: FuzzSummary, r: CaseReport): void {
  s.cases++;
  s.harnessMs += r.setupMs + r.verifyMs;
  for (const c of r.commands) {
    s.commands++;
    s.commandMs[c.argv[0]!] = (s.commandMs[c.argv[0]!] ?? 0) + c.ms;
    s.exitCodes[c.code] = (s.exitCodes[c.code] ?? 0) + 1;
    if (c.ms > s.slowestMs) {
      s.slowestMs = c.ms;
      s.slowest = [`case ${r.index}`, ...c.argv];
    }
    s.maxRssGrowth = Math.max(s.maxRssGrowth, c.rssGrowth);
    if (c.problems.length) s.failures.push({ seed: o.seed, index: r.index, sample: r.sample, mutation: r.mutation, argv: c.argv, problems: c.problems, stderr: c.stderr.slice(0, 1500) });
  }
  if (r.problems.length) s.failures.push({ seed: o.seed, index: r.index, sample: r.sample, mutation: r.mutation, problems: r.problems });
  o.onCase?.(r, s.cases);
}
