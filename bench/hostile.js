#!/usr/bin/env node
// Time and peak memory of every command on the hostile images of issue 25 (built with the
// kernel by bench/build-hostile.sh: N dedup clones of one block, N punched holes, N deleted
// files, a tree N directories deep, a directory of N entries). One run each, stdout to
// /dev/null, wall seconds and max RSS from GNU time (/usr/bin/time -f '%e %M'); a command that
// runs past --timeout seconds is stopped and shown as such. The issue's bound is 512 MiB.
//
//   npm run build && sudo node bench/hostile.js [--n N] [--timeout S] [--only IMAGE] [--out DIR]
//   (npm run bench:hostile: N = 100000)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const n = arg('--n', '100000');
const timeout = Number(arg('--timeout', '600'));
const only = arg('--only', '');
const out = arg('--out', `/tmp/btrfs-hostile-${n}`);
const cli = join(here, '..', 'bin', 'btrfs-inspect.js');
if (!existsSync(join(here, '..', 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
execFileSync('bash', [join(here, 'build-hostile.sh'), n, out], { stdio: ['ignore', 'ignore', 'inherit'] });

/** Each image, the path its hostile part is at, and a file for cat (null: none there). */
const IMAGES = [
  ['dedup', '/clones', '/clones'],
  ['punched', '/punched', '/punched'],
  ['deleted', '/victims', null],
  ['deep', '/d', null],
  ['wide', '/huge', '/huge/entry-0000000'],
];
const scratch = mkdtempSync('/tmp/btrfs-hostile-out-');
/** Every command, with the arguments it takes for an image and its path (DIR: a fresh output directory). */
const COMMANDS = [
  ['super', () => []],
  ['chunks', () => []],
  ['usage', () => []],
  ['subvolumes', () => []],
  ['roots', () => []],
  ['tree --tree 5', () => ['--tree', '5']],
  ['ls -R /', () => ['-R', '/']],
  ['ls --json PATH', (p) => [p, '--json']],
  ['stat PATH', (p) => [p]],
  ['cat FILE', (_p, _dir, file) => (file ? [file] : null)],
  ['resolve --inode 5:257', () => ['--inode', '5:257']],
  ['extents PATH --json', (p) => [p, '--json']],
  ['heatmap --file PATH', (p, dir) => ['--file', p, '-o', join(dir, 'h.png')]],
  ['sharing', () => []],
  ['check', () => []],
  ['check --data', () => ['--data']],
  ['timeline', () => []],
  ['timeline --bodyfile', () => ['--bodyfile']],
  ['recover', () => []],
  ['recover -o', (_p, dir) => ['-o', join(dir, 'r')]],
  ['extract -o', (_p, dir) => ['-o', join(dir, 'x')]],
  ['manifest /', () => ['/']],
];

const rows = [];
for (const [name, path, file] of IMAGES) {
  if (only && only !== name) continue;
  const image = join(out, `${name}.img`);
  for (const [label, args] of COMMANDS) {
    const dir = mkdtempSync(join(scratch, 'c-'));
    const cmd = label.split(' ')[0];
    const rest = args(path, dir, file);
    if (!rest) continue;
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', '-o', join(dir, 'time'), 'timeout', String(timeout), process.execPath, cli, cmd, image, ...rest], {
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
    });
    const [sec, kib] = execFileSync('cat', [join(dir, 'time')])
      .toString()
      .trim()
      .split('\n')
      .pop()
      .split(' ');
    const status = r.status === 124 ? `stopped after ${timeout} s` : `exit ${r.status}`;
    rows.push([name, label, status, Number(sec).toFixed(2), (Number(kib) / 1024).toFixed(0)]);
    console.log(rows.at(-1).join('\t'));
    rmSync(dir, { recursive: true, force: true });
  }
}
rmSync(scratch, { recursive: true, force: true });
const over = rows.filter((r) => Number(r[4]) > 512 || r[2].startsWith('stopped'));
console.log(`\n${rows.length} runs at N = ${n}; ${over.length} past 512 MiB or the time limit${over.length ? `: ${over.map((r) => `${r[0]} ${r[1]}`).join(', ')}` : ''}`);
