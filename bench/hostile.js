#!/usr/bin/env node
// Time and peak memory of every command on the hostile images of issue 25 (built with the
// kernel by bench/build-hostile.sh: dedup clones of one block, punched holes, deleted files, a
// deep tree, a huge directory, a file of large xattrs, and two hostile runs images). One run
// each, stdout to /dev/null; CPU seconds (user + sys: the machine may be shared, so wall time is
// shown but not the measure), wall seconds and max RSS from GNU time; a command that runs past
// --timeout seconds is stopped and shown as such. The issue's bound is 512 MiB.
//
//   npm run build && sudo node bench/hostile.js [--n N|issue] [--timeout S] [--only IMAGE,...]
//     [--commands LABEL,...] [--out DIR] [--no-build]
//   (npm run bench:hostile: the issue's counts; --n 1000 for a quick pass)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const n = arg('--n', 'issue');
const timeout = Number(arg('--timeout', '600'));
const only = arg('--only', '').split(',').filter(Boolean);
const onlyCommands = arg('--commands', '').split(',').filter(Boolean);
const out = arg('--out', join(here, '.cache', `hostile-${n}`));
const cli = join(here, '..', 'bin', 'btrfs-inspect.js');
if (!existsSync(join(here, '..', 'dist', 'cli', 'main.js'))) {
  console.error('build first: npm run build');
  process.exit(2);
}
// --no-build: run on the images already built (a build may be under way for the others).
if (!process.argv.includes('--no-build')) execFileSync('bash', [join(here, 'build-hostile.sh'), n, out], { stdio: ['ignore', 'ignore', 'inherit'] });

/** Each image, the path its hostile part is at, and a file for cat (null: none there). */
const IMAGES = [
  ['dedup.img', '/clones', '/clones'],
  ['dedup1m.img', '/clones', '/clones'],
  ['punched.img', '/punched', '/punched'],
  ['deleted.img', '/victims', null],
  ['deep.img', '/d', null],
  ['wide.img', '/huge', '/huge/entry-0000000'],
  ['xattrs.img', '/x', '/x'],
  ['bomb.runs.gz', '/', null],
  ['index.runs.gz', '/', null],
];
/** The logical address of the cloned block's extent (every clone's), for resolve --logical. */
function sharedExtent(image) {
  const r = spawnSync(process.execPath, [cli, 'extents', image, '/block', '--json'], { maxBuffer: 1 << 26 });
  try {
    return String(JSON.parse(r.stdout.toString()).extents[0].diskBytenr);
  } catch {
    return null;
  }
}
const scratch = mkdtempSync('/tmp/btrfs-hostile-out-');
/** Every command, with the arguments it takes for an image and its path (DIR: a fresh output directory). */
const COMMANDS = [
  ['super', () => []],
  ['chunks', () => []],
  ['usage', () => []],
  ['subvolumes', () => []],
  ['roots', () => []],
  ['tree --tree 5', () => ['--tree', '5']],
  ['ls PATH', (p) => [p]],
  ['ls -R /', () => ['-R', '/']],
  ['ls --json PATH', (p) => [p, '--json']],
  ['stat PATH', (p) => [p]],
  ['cat FILE', (_p, _dir, file) => (file ? [file] : null)],
  ['resolve --inode 5:257', () => ['--inode', '5:257']],
  ['resolve --logical EXTENT', (_p, _dir, _file, extent) => (extent ? ['--logical', extent] : null)],
  ['extents PATH', (p) => [p]],
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
console.log(['image', 'command', 'status', 'cpu s', 'wall s', 'max RSS MiB'].join('\t'));
for (const [name, path, file] of IMAGES) {
  if (only.length && !only.includes(name.replace(/\..*/, ''))) continue;
  const image = join(out, name);
  if (!existsSync(image)) continue;
  const extent = name.startsWith('dedup') ? sharedExtent(image) : null;
  for (const [label, args] of COMMANDS) {
    if (onlyCommands.length && !onlyCommands.includes(label)) continue;
    const dir = mkdtempSync(join(scratch, 'c-'));
    const cmd = label.split(' ')[0];
    const rest = args(path, dir, file, extent);
    if (!rest) continue;
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S %e %M', '-o', join(dir, 'time'), 'timeout', String(timeout), process.execPath, cli, cmd, image, ...rest], {
      stdio: ['ignore', 'ignore', 'pipe'],
      maxBuffer: 1 << 26,
    });
    const [user, sys, sec, kib] = execFileSync('cat', [join(dir, 'time')])
      .toString()
      .trim()
      .split('\n')
      .pop()
      .split(' ');
    const status = r.status === 124 ? `stopped after ${timeout} s` : `exit ${r.status}`;
    rows.push([name, label, status, (Number(user) + Number(sys)).toFixed(2), Number(sec).toFixed(2), (Number(kib) / 1024).toFixed(0)]);
    console.log(rows.at(-1).join('\t'));
    // rm(1), not rmSync: Node's recursive removal overflows its stack on the 5,000-level tree extract writes.
    execFileSync('rm', ['-rf', dir]);
  }
}
execFileSync('rm', ['-rf', scratch]);
const over = rows.filter((r) => Number(r[5]) > 512 || r[2].startsWith('stopped'));
console.log(`\n${rows.length} runs at scale ${n}; ${over.length} past 512 MiB or the time limit${over.length ? `: ${over.map((r) => `${r[0]} ${r[1]}`).join(', ')}` : ''}`);
