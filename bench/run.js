#!/usr/bin/env node
// Benchmarks btrfs-inspect against btrfs-progs on the large image (see
// build-large.sh): each command beside its btrfs-progs counterpart, several
// runs, medians and ratios, and btrfs-inspect's peak memory (max RSS).
//
//   npm run build && sudo node bench/run.js [--files N] [--snapshots N] [--runs N] [--only NAME] [--out DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const files = arg('--files', '300000');
const snaps = arg('--snapshots', '12');
const runs = Number(arg('--runs', '3'));
const only = arg('--only', '');
// Extraction writes the whole subvolume: to a scratch directory emptied before every run.
const outOurs = arg('--out', '/tmp/btrfs-bench-out') + '/ours';
const outTheirs = arg('--out', '/tmp/btrfs-bench-out') + '/theirs';
const cli = join(here, '..', 'bin', 'btrfs-inspect.js');
if (!existsSync(join(here, '..', 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
const build = (n) =>
  execFileSync('bash', [join(here, 'build-large.sh'), files, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] })
    .toString()
    .trim();
const image = build(snaps);
// The same fill with twice the snapshots, for how sharing scales (built once, cached, only when that line runs).
let doubled;
const image2 = () => (doubled ??= build(Number(snaps) * 2));

// The same image in containers (issue 18: reading through qcow2 and E01 costs at most 1.3x the raw
// read for check --data): converted once, cached beside it, only when those lines run. ewfacquire
// with deflate "fast": its default (no compression) would be a 24 GB copy.
const inContainer = (suffix, make) => {
  const p = image.replace(/\.img$/, suffix);
  if (!existsSync(p)) make(p);
  return p;
};
const qcow2 = () => inContainer('.qcow2', (p) => execFileSync('qemu-img', ['convert', '-O', 'qcow2', image, p]));
const zlibQcow2 = () => inContainer('-zlib.qcow2', (p) => execFileSync('qemu-img', ['convert', '-c', '-O', 'qcow2', image, p]));
const e01 = () => inContainer('-e01.E01', (p) => execFileSync('ewfacquire', ['-u', '-c', 'fast', '-t', p.replace(/\.E01$/, ''), image], { stdio: 'ignore' }));
const rawCheckData = [process.execPath, [cli, 'check', image, '--data']];

/**
 * Runs a command with stdout to /dev/null; returns wall seconds and max RSS in MiB (GNU time).
 * `cold`: the page cache is dropped first (as root) and the time includes writing back what the
 * command wrote (`sync`), so that a command that leaves more dirty pages behind gains nothing.
 */
function timeIt(cmd, args, cold = false) {
  if (cold) {
    execFileSync('sync');
    try {
      execFileSync('sh', ['-c', 'echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
    } catch {
      coldNote = 'page cache not dropped (needs root)';
    }
    [cmd, args] = ['sh', ['-c', '"$0" "$@"; sync', cmd, ...args]];
  }
  const r = spawnSync('/usr/bin/time', ['-f', '%e %M', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const last = r.stderr.toString().trim().split('\n').pop();
  const [secs, kb] = last.split(' ').map(Number);
  return { secs, mib: kb / 1024, code: r.status };
}
let coldNote = '';
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const pairs = [
  { name: 'full tree walk, NDJSON', ours: ['tree', image, '--json'], theirs: ['btrfs', ['inspect-internal', 'dump-tree', image]] },
  { name: 'full tree dump, text', ours: ['tree', image], theirs: ['btrfs', ['inspect-internal', 'dump-tree', image]] },
  { name: 'check (metadata)', ours: ['check', image], theirs: ['btrfs', ['check', '--readonly', image]] },
  { name: 'check --data', ours: ['check', image, '--data'], theirs: ['btrfs', ['check', '--readonly', '--check-data-csum', image]] },
  // Through containers, against our own raw read (the "btrfs-progs" column is then the raw image).
  { name: 'check --data through qcow2 (vs raw)', ours: () => ['check', qcow2(), '--data'], theirs: rawCheckData },
  { name: 'check --data through zlib qcow2 (vs raw)', ours: () => ['check', zlibQcow2(), '--data'], theirs: rawCheckData },
  { name: 'check --data through E01, deflate fast (vs raw)', ours: () => ['check', e01(), '--data'], theirs: rawCheckData },
  // btrfs-progs has no offline counterpart here: `btrfs check --qgroup-report` computes nothing
  // on an image without quotas (this one), so sharing is timed alone.
  { name: `snapshot sharing (qgroup-exact referenced/exclusive), ${snaps} snapshots`, ours: ['sharing', image] },
  { name: `snapshot sharing, ${Number(snaps) * 2} snapshots`, ours: () => ['sharing', image2()] },
  // No offline counterpart either (btrfs send needs a mounted filesystem): the oldest against the newest snapshot.
  { name: 'diff of the first and last snapshot', ours: ['diff', image, '/snap00', `/snap${String(Number(snaps) - 1).padStart(2, '0')}`] },
  // The live subvolume (id 256, 300k files incl. a zstd directory) written out, against btrfs restore of
  // the same root with what extract restores too: owner, mode and times (-m), xattrs (-x), symlinks (-S).
  // Cold: 16 GB read and 16 GB written do not fit the page cache together, so each run starts from a
  // dropped cache and ends when its output is on disk; the two alternate which goes first.
  {
    name: 'extract subvolume /data vs btrfs restore -m -x -S -r 256 (cold cache, incl. sync)',
    ours: ['extract', image, '/data', '-o', outOurs],
    theirs: ['btrfs', ['restore', '-m', '-x', '-S', '-r', '256', image, outTheirs]],
    cold: true,
    before: () => {
      for (const d of [outOurs, outTheirs]) rmSync(d, { recursive: true, force: true });
      execFileSync('mkdir', ['-p', outTheirs]);
    },
  },
];
if (!existsSync('/usr/bin/time')) {
  console.error('needs GNU time: apt-get install time');
  process.exit(2);
}
console.log(`image: ${image}\nmachine: ${cpus().length} x ${cpus()[0].model}, node ${process.version}\nruns: ${runs}\n`);
console.log('| command | btrfs-inspect (s) | btrfs-progs (s) | ratio | btrfs-inspect max RSS (MiB) |');
console.log('|---|---|---|---|---|');
for (const p of pairs.filter((x) => !only || x.name.includes(only))) {
  const o = [],
    t = [],
    m = [];
  for (let i = 0; i < runs; i++) {
    const ours = () => {
      p.before?.();
      return timeIt(process.execPath, [cli, ...(typeof p.ours === 'function' ? p.ours() : p.ours)], p.cold);
    };
    // Each command starts from an empty output directory (the disk need not hold two extractions).
    const theirs = () => {
      if (!p.theirs) return null;
      p.before?.();
      return timeIt(p.theirs[0], p.theirs[1], p.cold);
    };
    // Odd runs go theirs first, so neither side always meets the other's leftovers.
    let a, b;
    if (i % 2 === 0) {
      a = ours();
      b = theirs();
    } else {
      b = theirs();
      a = ours();
    }
    o.push(a.secs);
    m.push(a.mib);
    if (b) t.push(b.secs);
  }
  p.before?.();
  const theirs = t.length ? median(t).toFixed(2) : '-';
  const ratio = t.length ? (median(o) / median(t)).toFixed(2) : '-';
  console.log(`| ${p.name} | ${median(o).toFixed(2)} | ${theirs} | ${ratio} | ${Math.max(...m).toFixed(0)} |`);
}
if (coldNote) console.log(`\nnote: ${coldNote}`);
