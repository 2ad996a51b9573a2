#!/usr/bin/env node
// CPU of extract against btrfs restore on a 1.4 GB kernel-made image of mixed content (see
// build-extract.sh), written to a tmpfs from a warm page cache: the case where the work is all
// CPU (restore was 3 times faster in wall time there; on a disk with sync the two tie). Wall time
// on a shared machine says little, so each run is measured in CPU seconds (user + sys, GNU time),
// per GiB written and per 1,000 files, and the median of the runs is printed. Two cases: the
// whole image (small files, zstd, zlib, plain large files), and its 40,000 small files alone.
//
//   npm run build && sudo node bench/extract-cpu.js [--runs N] [--restore PATH] [--tmpfs DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const runs = Number(arg('--runs', '3'));
const restore = arg('--restore', '/usr/bin/btrfs');
const cli = join(here, '..', 'bin', 'btrfs-inspect.js');
if (!existsSync(join(here, '..', 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
const image = execFileSync('bash', [join(here, 'build-extract.sh')], { stdio: ['ignore', 'pipe', 'inherit'] })
  .toString()
  .trim();
// A tmpfs of our own (root), unless one is given: the output must not touch a disk.
let tmpfs = arg('--tmpfs', '');
let mounted = false;
if (!tmpfs) {
  tmpfs = `/tmp/btrfs-bench-extract-cpu-${process.pid}`;
  mkdirSync(tmpfs, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4G', 'tmpfs', tmpfs]);
  mounted = true;
}
const out = join(tmpfs, 'out');
const clean = () => rmSync(out, { recursive: true, force: true });
process.on('exit', () => {
  clean();
  if (mounted) {
    spawnSync('umount', [tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
  }
});

/** CPU seconds (user + sys) and wall seconds of one run (GNU time). */
function cpu(cmd, args) {
  clean();
  mkdirSync(out, { recursive: true });
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const [u, s, e] = r.stderr.toString().trim().split('\n').pop().split(' ').map(Number);
  return { cpu: u + s, user: u, sys: s, wall: e, code: r.status };
}
/** Files and bytes under `out` after a run (what both wrote; counted once, from the last run). */
function census() {
  const r = execFileSync('sh', ['-c', `find "${out}" -type f | wc -l; du -sb --apparent-size "${out}" | cut -f1`])
    .toString()
    .trim()
    .split('\n');
  return { files: Number(r[0]), bytes: Number(r[1]) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Warm the page cache: every run reads the image from memory.
readFileSync(image);
const cases = [
  { name: 'whole image (small files, zstd, zlib, plain)', ours: ['extract', image, '-o', out], theirs: ['restore', image, out] },
  { name: '40,000 small files (/small)', ours: ['extract', image, '/small', '-o', out], theirs: ['restore', '--path-regex', '^/(|small(|/.*))$', image, out] },
];
console.log(`image: ${image} (warm cache), output: tmpfs, runs: ${runs}, node ${process.version}`);
console.log('| case | files | GiB | extract CPU s (user+sys) | restore CPU s | ratio | extract s/GiB | restore s/GiB | extract ms/1000 files | restore ms/1000 files |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const c of cases) {
  const o = [];
  const t = [];
  let size = null;
  for (let i = 0; i < runs; i++) {
    // Alternate which goes first.
    const a = () => o.push(cpu(process.execPath, [cli, ...c.ours]).cpu);
    const b = () => {
      t.push(cpu(restore, c.theirs).cpu);
      size ??= census();
    };
    if (i % 2) {
      b();
      a();
    } else {
      a();
      b();
    }
  }
  const gib = size.bytes / 2 ** 30;
  const mo = median(o);
  const mt = median(t);
  const f = (x) => x.toFixed(2);
  console.log(
    `| ${c.name} | ${size.files} | ${f(gib)} | ${f(mo)} | ${f(mt)} | ${f(mo / mt)} | ${f(mo / gib)} | ${f(mt / gib)} | ${((mo * 1e6) / size.files).toFixed(0)} | ${((mt * 1e6) / size.files).toFixed(0)} |`,
  );
}
