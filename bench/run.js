#!/usr/bin/env node
// Benchmarks btrfs-inspect's heavy commands against btrfs-progs on the bench images (see
// build-large.sh: profile "large", 300k files and 12 snapshots, and profile "scale", 1.2M files
// and 24 snapshots). Per command, image, --jobs (1 and all cores), page cache (warm, cold) and
// load (alone, or beside a CPU-bound process pinned to the last core): the median wall time,
// the median CPU time (user+sys: wall is noisy on a shared machine), the peak RSS, and the
// ratio to btrfs-progs' same run. One table printed, and the same as JSON in
// bench/results/<date>.json.
//
//   npm run build && sudo node bench/run.js [--runs N] [--only NAME[,NAME]] [--images large[,scale]]
//       [--jobs 1,all] [--cache warm,cold] [--load alone,loaded] [--progs PATH] [--out DIR]
//       [--results FILE] [--containers] [--no-progs]
//
// NAME matches a command's short name (tree-json, tree, check, check-data, extract, sharing,
// diff, recover) or part of its title. The extraction needs free disk space for the
// subvolume's data and is skipped (with a note) when the output directory lacks it.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // The usage is this file's opening comment.
  const text = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    text
      .slice(
        1,
        text.findIndex((l) => l.startsWith('import ')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const list = (name, def) => arg(name, def).split(',').filter(Boolean);
const runs = Number(arg('--runs', '3'));
const only = list('--only', '');
// The scale image takes an hour and about 10 GB to build: only when asked for.
const imageNames = list('--images', 'large');
const jobsList = list('--jobs', '1,all');
const caches = list('--cache', 'warm,cold');
const loads = list('--load', 'alone,loaded');
const progs = arg('--progs', existsSync('/work/progs-6.19/bin/btrfs') ? '/work/progs-6.19/bin/btrfs' : 'btrfs');
const outDir = arg('--out', '/tmp/btrfs-bench-out');
const outOurs = `${outDir}/ours`;
const outTheirs = `${outDir}/theirs`;
const cli = join(here, '..', 'bin', 'btrfs-inspect.js');
if (!existsSync(join(here, '..', 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error('needs GNU time: apt-get install time');
  process.exit(2);
}
const ncpu = cpus().length;

/** The image of a build-large.sh profile (built once and cached; a valid cached image is only named). */
const images = {};
for (const name of imageNames) {
  // A built image is named at once; else it is built under the build lock: an image being built by
  // another process is waited for, not rebuilt beside it (the lock is held for a whole build, so a
  // built image is never looked up under it).
  const built = spawnSync('bash', [join(here, 'build-large.sh'), '--if-built', name], { stdio: ['ignore', 'pipe', 'inherit'] });
  const path = (built.status === 0 ? built.stdout : execFileSync('flock', ['/tmp/bench-build.lock', 'bash', join(here, 'build-large.sh'), name], { stdio: ['ignore', 'pipe', 'inherit'] }))
    .toString()
    .trim();
  // The last snapshot's name, for diff: large has 12 (snap00..snap11), scale 24.
  const snaps = Number(/-(\d+)\.img$/.exec(path)?.[1] ?? 12);
  images[name] = { path, snaps, bytes: Number(execFileSync('du', ['-B1', path]).toString().split('\t')[0]) };
}

/** Data bytes of the subvolume an extraction writes: roughly the image's used bytes (an upper bound). */
const freeBytes = (dir) => {
  mkdirSync(dir, { recursive: true });
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

const commands = [
  // dump-tree prints every block of every tree; our NDJSON emits each block once (a subtree shared
  // with an earlier snapshot is a "shared" record), the text repeats shared blocks as dump-tree does.
  { id: 'tree-json', title: 'tree --json (full walk, NDJSON)', ours: (i) => ['tree', i.path, '--json'], jobs: true, theirs: (i) => [progs, ['inspect-internal', 'dump-tree', i.path]] },
  { id: 'tree', title: 'tree (text, byte-identical to dump-tree)', ours: (i) => ['tree', i.path], jobs: true, theirs: (i) => [progs, ['inspect-internal', 'dump-tree', i.path]] },
  { id: 'check', title: 'check vs check --readonly', ours: (i) => ['check', i.path], theirs: (i) => [progs, ['check', '--readonly', i.path]] },
  {
    id: 'check-data',
    title: 'check --data vs check --readonly --check-data-csum',
    ours: (i) => ['check', i.path, '--data'],
    jobs: true,
    theirs: (i) => [progs, ['check', '--readonly', '--check-data-csum', i.path]],
  },
  // The live subvolume (id 256: /data, every file of the fill) against btrfs restore of the same
  // root with what extract restores too: owner, mode and times (-m), xattrs (-x), symlinks (-S).
  // Each run starts from an empty output directory and ends when its output is on disk (sync).
  {
    id: 'extract',
    title: 'extract /data vs restore -m -x -S -r 256 (incl. sync)',
    ours: (i) => ['extract', i.path, '/data', '-o', outOurs],
    theirs: (i) => [progs, ['restore', '-m', '-x', '-S', '-r', '256', i.path, outTheirs]],
    sync: true,
    before: () => {
      for (const d of [outOurs, outTheirs]) rmSync(d, { recursive: true, force: true });
      mkdirSync(outTheirs, { recursive: true });
    },
    // The output needs the subvolume's data on disk once (ours and restore's runs take turns).
    skip: (i) => (freeBytes(outDir) < i.bytes + 4 * 2 ** 30 ? `needs ${(i.bytes / 2 ** 30 + 4).toFixed(0)} GiB free in ${outDir}` : ''),
  },
  // No offline counterpart: `btrfs check --qgroup-report` computes nothing without quotas (these images).
  { id: 'sharing', title: 'sharing (qgroup-exact referenced/exclusive)', ours: (i) => ['sharing', i.path] },
  // No offline counterpart either (btrfs send needs a mounted filesystem): the oldest against the newest snapshot.
  { id: 'diff', title: 'diff of the first and last snapshot', ours: (i) => ['diff', i.path, '/snap00', `/snap${String(i.snaps - 1).padStart(2, '0')}`] },
  // btrfs restore --list-roots / -D lists what restore would write from the current trees, not deleted files.
  { id: 'recover', title: 'recover (deleted files from older tree blocks)', ours: (i) => ['recover', i.path] },
];
// Reading through containers (issue 18), against our own raw read: only with --containers (large image).
if (process.argv.includes('--containers')) {
  const raw = (i) => [process.execPath, [cli, 'check', i.path, '--data']];
  for (const [suffix, title] of [
    ['.qcow2', 'qcow2'],
    ['-zlib.qcow2', 'zlib qcow2'],
    ['.E01', 'E01 (ewfacquire -c fast)'],
  ]) {
    const file = (i) => i.path.replace(/\.img$/, suffix);
    commands.push({
      id: `check-data-${suffix.replace(/\W/g, '')}`,
      title: `check --data through ${title} (vs raw)`,
      ours: (i) => ['check', file(i), '--data'],
      theirs: raw,
      skip: (i) => (existsSync(file(i)) ? '' : `${file(i)} is not built`),
    });
  }
}

/** Drops the page cache (root): the next reads come from the disk. */
let coldNote = '';
function dropCaches() {
  execFileSync('sync');
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3');
  } catch {
    coldNote = 'page cache not dropped (needs root): the cold figures are warm';
  }
}

/** Runs a command with stdout to /dev/null; wall and CPU seconds (user+sys) and max RSS in MiB (GNU time). */
function timeIt(cmd, args, { cold, sync }) {
  if (cold) dropCaches();
  // A command that writes (extract) is timed until its output is on disk, so that one leaving more dirty pages gains nothing.
  if (sync) [cmd, args] = ['sh', ['-c', '"$0" "$@"; s=$?; sync; exit $s', cmd, ...args]];
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const last = r.stderr.toString().trim().split('\n').pop();
  const [wall, user, sys, kb] = last.split(' ').map(Number);
  return { wall, cpu: user + sys, mib: kb / 1024, code: r.status };
}

/** A CPU-bound process pinned to the last core for the loaded runs (stopped when they end). */
function startLoad() {
  const p = spawn('taskset', ['-c', String(ncpu - 1), process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' });
  return () => p.kill('SIGKILL');
}
let stopLoad;
process.on('exit', () => stopLoad?.());
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const progsVersion = spawnSync(progs, ['--version']).stdout?.toString().split('\n')[0]?.trim() ?? '?';
const header = {
  date: new Date().toISOString(),
  machine: `${ncpu} x ${cpus()[0].model}`,
  node: process.version,
  progs: `${progs} (${progsVersion})`,
  loadavgAtStart: loadavg().map((x) => Number(x.toFixed(2))),
  runs,
  images: Object.fromEntries(Object.entries(images).map(([k, v]) => [k, { path: v.path, bytesUsed: v.bytes }])),
};
console.log(`machine: ${header.machine}, node ${header.node}, ${header.progs}; load average at start ${header.loadavgAtStart.join(' ')}; median of ${runs}`);
for (const [k, v] of Object.entries(images)) console.log(`image ${k}: ${v.path} (${(v.bytes / 2 ** 30).toFixed(1)} GiB used)`);
console.log('');
console.log('| command | image | jobs | cache | load | ours wall s | ours CPU s | progs wall s | progs CPU s | ratio wall | ratio CPU | ours max RSS MiB | exit |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');

const rows = [];
const results = arg('--results', join(here, 'results', `${header.date.slice(0, 10)}.json`));
mkdirSync(dirname(results), { recursive: true });
// Several partial runs on one day (--only, --images) add to the day's file instead of replacing it.
const saved = existsSync(results) ? JSON.parse(readFileSync(results, 'utf8')) : { sessions: [] };
saved.sessions.push({ ...header, rows });
/** Saves after every row: a long run stopped part-way keeps what it measured. */
const save = () => writeFileSync(results, `${JSON.stringify(saved, null, 1)}\n`);
// A name that is some command's id picks that one only (`--only tree` must not also pick
// `recover`, whose title mentions a tree); any other name picks the titles containing it.
const picks = (c, o) => c.id === o || (!commands.some((x) => x.id === o) && c.title.includes(o));
const selected = commands.filter((c) => !only.length || only.some((o) => picks(c, o)));
for (const load of loads) {
  if (load === 'loaded') stopLoad = startLoad();
  for (const [imageName, image] of Object.entries(images)) {
    for (const c of selected) {
      const skip = c.skip?.(image);
      // Commands without --jobs run once per image and mode (their "all" is their "1").
      for (const jobs of c.jobs ? jobsList : jobsList.slice(0, 1)) {
        for (const cache of caches) {
          const row = { command: c.id, title: c.title, image: imageName, jobs: c.jobs ? jobs : 'n/a', cache, load };
          if (skip) {
            rows.push({ ...row, skipped: skip });
            save();
            console.log(`| ${c.title} | ${imageName} | ${row.jobs} | ${cache} | ${load} | skipped: ${skip} |`);
            continue;
          }
          const ourArgs = [cli, ...c.ours(image), ...(c.jobs ? ['--jobs', jobs === 'all' ? String(Math.min(4, ncpu)) : jobs] : [])];
          // --no-progs: ours alone (the scale figures: time and RSS growth from one image to the other).
          const theirs = process.argv.includes('--no-progs') ? undefined : c.theirs?.(image);
          const opts = { cold: cache === 'cold', sync: !!c.sync };
          const o = [];
          const t = [];
          for (let i = 0; i < runs; i++) {
            const ours = () => {
              c.before?.();
              return timeIt(process.execPath, ourArgs, opts);
            };
            const them = () => {
              if (!theirs) return null;
              c.before?.();
              return timeIt(theirs[0], theirs[1], opts);
            };
            // Odd runs go theirs first, so neither side always meets the other's leftovers in the cache.
            let a;
            let b;
            if (i % 2 === 0) {
              a = ours();
              b = them();
            } else {
              b = them();
              a = ours();
            }
            o.push(a);
            if (b) t.push(b);
          }
          c.before?.();
          const med = (xs, k) => (xs.length ? median(xs.map((x) => x[k])) : null);
          const r = {
            ...row,
            ours: { wall: o.map((x) => x.wall), cpu: o.map((x) => Number(x.cpu.toFixed(2))), maxRssMiB: Math.round(Math.max(...o.map((x) => x.mib))), exit: [...new Set(o.map((x) => x.code))] },
            ...(t.length ? { theirs: { wall: t.map((x) => x.wall), cpu: t.map((x) => Number(x.cpu.toFixed(2))), maxRssMiB: Math.round(Math.max(...t.map((x) => x.mib))) } } : {}),
          };
          r.ratioWall = t.length ? Number((med(o, 'wall') / med(t, 'wall')).toFixed(2)) : null;
          r.ratioCpu = t.length ? Number((med(o, 'cpu') / med(t, 'cpu')).toFixed(2)) : null;
          rows.push(r);
          save();
          const f = (x) => (x === null ? '-' : x.toFixed(2));
          console.log(
            `| ${c.title} | ${imageName} | ${r.jobs} | ${cache} | ${load} | ${f(med(o, 'wall'))} | ${f(med(o, 'cpu'))} | ${f(med(t, 'wall'))} | ${f(med(t, 'cpu'))} | ${r.ratioWall ?? '-'} | ${r.ratioCpu ?? '-'} | ${r.ours.maxRssMiB} | ${r.ours.exit.join(',')} |`,
          );
        }
      }
    }
  }
  if (load === 'loaded') {
    stopLoad();
    stopLoad = undefined;
  }
}
if (coldNote) console.log(`\nnote: ${coldNote}`);
console.log(`\nsaved: ${results}`);
