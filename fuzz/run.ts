/**
 * Command line of the fuzz harness:
 *   node fuzz/run.js [--seed N] [--cases K] [--first I] [--long] [--samples a,b]
 *                    [--workers W] [--hang-ms MS] [--dist] [--json] [--times] [--node-arg OPT ...]
 * Prints one line per failing command (with how to replay it) and a summary
 * (--times: where a case's time goes, harness and each command, per case);
 * exits 1 when anything failed.
 */
import { type Failure, QUICK_SAMPLES, runFuzz } from './harness.js';
import { availableSamples } from './targets.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);

const long = flag('long');
const seed = Number(arg('seed') ?? 1);
const cases = Number(arg('cases') ?? (long ? 200_000 : 2000));
const first = Number(arg('first') ?? 0);
const all = availableSamples().filter((s) => s !== 'large-offsets');
const samples = arg('samples')?.split(',') ?? (long ? all : QUICK_SAMPLES.filter((s) => all.includes(s)));
const workers = Number(arg('workers') ?? 2);

const t0 = Date.now();
let lastLog = 0;
const summary = await runFuzz({
  seed,
  cases,
  first,
  samples,
  workers,
  dist: flag('dist'),
  nodeArgs: process.argv.flatMap((a, i) => (a === '--node-arg' && process.argv[i + 1] ? [process.argv[i + 1]!] : [])),
  ...(arg('hang-ms') ? { hangMs: Number(arg('hang-ms')) } : {}),
  onCase: (_r, done) => {
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      process.stderr.write(`fuzz: ${done}/${cases} cases, ${Math.round((Date.now() - t0) / 1000)} s\n`);
    }
  },
});
const show = (f: Failure) =>
  `case ${f.index} [${f.sample}] ${f.mutation.join('; ')}\n  ${f.argv?.join(' ') ?? ''}\n  ${f.problems.join('; ')}\n  replay: node fuzz/run.js --seed ${f.seed} --first ${f.index} --cases 1 --samples ${f.sample}${f.stderr ? `\n  stderr: ${f.stderr.split('\n').slice(0, 6).join('\n          ')}` : ''}`;
if (flag('json')) process.stdout.write(JSON.stringify(summary, null, 1) + '\n');
else {
  for (const f of summary.failures) process.stdout.write(show(f) + '\n');
  process.stdout.write(
    `${summary.cases} cases, ${summary.commands} commands in ${(summary.ms / 1000).toFixed(1)} s; exit codes ${JSON.stringify(summary.exitCodes)}; ` +
      `slowest ${Math.round(summary.slowestMs)} ms (${summary.slowest?.join(' ') ?? '-'}); max RSS growth ${Math.round(summary.maxRssGrowth / 2 ** 20)} MiB; ${summary.failures.length} failures\n`,
  );
  if (flag('times')) {
    const per = (ms: number) => (ms / Math.max(1, summary.cases)).toFixed(1);
    const cmds = Object.entries(summary.commandMs)
      .sort((a, b) => b[1] - a[1])
      .map(([c, ms]) => `${c} ${per(ms)}`)
      .join(', ');
    process.stdout.write(`per case (ms): harness ${per(summary.harnessMs)}; ${cmds}\n`);
  }
}
process.exitCode = summary.failures.length ? 1 : 0;
