/**
 * The fuzz child process: builds each case's mutated image files in its
 * scratch directory (its cwd), runs every command on them in-process with
 * captured output, measures time and peak RSS, and checks the images were
 * not written and nothing appeared outside the output directory. The parent
 * kills it when a command outlives the hang limit.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CommandOutcome, checkOutcome, type Limits } from './check.js';
import { COMMANDS, commandLine } from './commands.js';
import { mutate } from './mutate.js';
import { Rng } from './rng.js';
import { writeMutatedRuns } from './runsImage.js';
import { decodeTargets, type SampleTargets, samplePaths } from './targets.js';

type RunCli = (args: string[], io: { stdout: { write(s: string | Uint8Array): unknown }; stderr: { write(s: string): unknown }; stderrIsTTY: boolean }) => Promise<number>;

export interface CaseRequest {
  type: 'case';
  seed: number;
  index: number;
  samples: string[];
  limits: Limits;
}
export interface CommandReport extends CommandOutcome {
  problems: string[];
}
/** setupMs: mutating and writing the image files; verifyMs: checking them and the scratch directory afterwards. */
export interface CaseReport {
  index: number;
  sample: string;
  mutation: string[];
  commands: CommandReport[];
  problems: string[];
  setupMs: number;
  verifyMs: number;
}
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'case'; index: number; sample: string; mutation: string[] }
  | { type: 'start'; index: number; argv: string[] }
  | { type: 'done'; report: CaseReport }
  | { type: 'fatal'; index: number; message: string };

const send = (m: ChildMessage) => process.send!(m);
const scratch = process.cwd();
const imgDir = join(scratch, 'img');
const outDir = join(scratch, 'out');
let runCli: RunCli;
let current = -1;

function readStatus(field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
  } catch {
    return process.memoryUsage().rss;
  }
}

/** Resets the kernel's peak-RSS mark (VmHWM) so the next reading is this command's peak. */
function resetPeak(): void {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    /* not Linux: growth is measured after the fact */
  }
}

/**
 * What a consumer reading stdout takes before closing the pipe (like
 * `| head -c`): a file may legally be 2^63 bytes of holes and cat streams it
 * until the reader stops, so the harness stops reading here and the command
 * sees EPIPE, as from a closed pipe.
 */
export const STDOUT_TAKEN = 64 * 2 ** 20;

async function capture(argv: string[]): Promise<CommandOutcome> {
  let stdoutBytes = 0;
  let stderr = '';
  const before = readStatus('VmRSS');
  resetPeak();
  const t = performance.now();
  const code = await runCli(argv, {
    stdout: {
      write: (s: string | Uint8Array) => {
        if (stdoutBytes > STDOUT_TAKEN) throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        stdoutBytes += typeof s === 'string' ? Buffer.byteLength(s) : s.length;
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        if (stderr.length < 1 << 20) stderr += s;
        return true;
      },
    },
    stderrIsTTY: false,
  });
  const ms = performance.now() - t;
  return { argv, code, ms, stdoutBytes, stderr: stderr.slice(0, 4000), rssGrowth: Math.max(0, Math.max(readStatus('VmHWM'), readStatus('VmRSS')) - before) };
}

const targetsCache = new Map<string, SampleTargets>();

async function targetsFor(name: string): Promise<SampleTargets> {
  let t = targetsCache.get(name);
  if (!t) {
    const paths = samplePaths(name);
    let out = '';
    await runCli(['ls', paths[0]!, '-R', '--json', ...paths.slice(1).flatMap((p) => ['--device', p])], {
      stdout: {
        write: (s: string | Uint8Array) => {
          out += typeof s === 'string' ? s : Buffer.from(s).toString();
          return true;
        },
      },
      stderr: { write: () => true },
      stderrIsTTY: false,
    });
    const entries = out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { path: string; type: string; size: number });
    const files = entries
      .filter((e) => e.type === 'file')
      .sort((a, b) => b.size - a.size)
      .slice(0, 40)
      .map((e) => e.path);
    const dirs = [
      '/',
      ...entries
        .filter((e) => e.type === 'dir')
        .slice(0, 40)
        .map((e) => e.path),
    ];
    t = decodeTargets(name, { files, dirs });
    targetsCache.set(name, t);
  }
  return t;
}

async function runCase(req: CaseRequest): Promise<CaseReport> {
  current = req.index;
  const t0 = performance.now();
  const rng = Rng.forCase(req.seed, req.index);
  const sample = rng.pick(req.samples);
  const t = await targetsFor(sample);
  const m = mutate(t, rng);
  send({ type: 'case', index: req.index, sample, mutation: m.desc });
  rmSync(imgDir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(imgDir);
  mkdirSync(outDir);
  const files = t.images.map((img, dev) => {
    const p = join(imgDir, `dev${dev + 1}.runs`);
    const bytes = writeMutatedRuns(
      p,
      img,
      m.patches.filter((x) => x.dev === dev),
      m.truncate?.dev === dev ? m.truncate.size : undefined,
    );
    return { p, bytes, mtime: statSync(p).mtimeMs };
  });
  const setupMs = performance.now() - t0;
  const ctx = { image: files[0]!.p, devices: files.slice(1).map((f) => f.p), out: outDir, t, rng };
  const commands: CommandReport[] = [];
  for (const entry of COMMANDS) {
    const argv = commandLine(entry, ctx);
    send({ type: 'start', index: req.index, argv });
    const o = await capture(argv);
    commands.push({ ...o, problems: checkOutcome(o, req.limits) });
  }
  const t1 = performance.now();
  const problems: string[] = [];
  // The bytes written are still in memory: comparing them is exact and cheaper than hashing twice.
  for (const f of files) {
    if (statSync(f.p).mtimeMs !== f.mtime || !readFileSync(f.p).equals(f.bytes)) problems.push(`image ${f.p} was modified`);
  }
  const stray = readdirSync(scratch).filter((f) => f !== 'img' && f !== 'out');
  if (stray.length) problems.push(`files written outside the output directory: ${stray.join(', ')}`);
  const strayImg = readdirSync(imgDir).filter((f) => !files.some((x) => x.p.endsWith(`/${f}`)));
  if (strayImg.length) problems.push(`files written next to the image: ${strayImg.join(', ')}`);
  for (const f of stray) rmSync(join(scratch, f), { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  return { index: req.index, sample, mutation: m.desc, commands, problems, setupMs, verifyMs: performance.now() - t1 };
}

process.on('uncaughtException', (e) => {
  send({ type: 'fatal', index: current, message: `uncaught: ${e?.stack ?? e}` });
  process.exit(70);
});
process.on('unhandledRejection', (e) => {
  send({ type: 'fatal', index: current, message: `unhandled rejection: ${(e as Error)?.stack ?? e}` });
  process.exit(70);
});

const mod = process.env['FUZZ_DIST'] ? '../dist/cli/main.js' : '../src/cli/main.js';
runCli = ((await import(mod)) as { runCli: RunCli }).runCli;
process.on('message', (req: CaseRequest) => {
  runCase(req).then(
    (report) => send({ type: 'done', report }),
    (e: Error) => send({ type: 'fatal', index: req.index, message: `harness: ${e?.stack ?? e}` }),
  );
});
send({ type: 'ready' });
