#!/usr/bin/env node
// Start-up cost of the CLI: medians over many runs of `--version`, and of the
// per-file commands people run in loops (`stat`, `cat`, `extents` on the demo
// image, unpacked to a raw file once), each against a bare `node -e 0`. No root, no large image needed.
//
//   npm run build && node bench/startup.js [--runs N]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const cli = join(root, 'bin', 'btrfs-inspect.js');
// A raw image, as users hold them: the demo image's compressed form would
// add its decompression to every run and hide the start-up cost.
const cache = join(here, '.cache');
const image = join(cache, 'demo.raw');
if (!existsSync(image)) {
  mkdirSync(cache, { recursive: true });
  execFileSync('python3', [join(root, 'sample-images', 'unpack_runs.py'), join(root, 'sample-images', 'default', 'dev1.runs.gz'), image]);
}
if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
const i = process.argv.indexOf('--runs');
const runs = i > 0 ? Number(process.argv[i + 1]) : 21;

function median(args) {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t = process.hrtime.bigint();
    const p = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (p.status !== 0) throw new Error(`${args.join(' ')}: exit ${p.status}: ${p.stderr}`);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const base = median(['-e', '0']);
const cases = [
  ['--version', [cli, '--version']],
  ['--help', [cli, '--help']],
  ['stat FILE', [cli, 'stat', image, '/rich/tiny.txt']],
  ['cat FILE', [cli, 'cat', image, '/rich/tiny.txt']],
  ['extents FILE', [cli, 'extents', image, '/rich/fragmented.bin']],
];
console.log(`runs per line: ${runs}; median wall time; node -e 0: ${base.toFixed(1)} ms`);
console.log('command        ms      × node -e 0');
for (const [name, args] of cases) {
  const m = median(args);
  console.log(`${name.padEnd(14)} ${m.toFixed(1).padStart(6)}  ${(m / base).toFixed(2)}`);
}
