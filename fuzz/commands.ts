import type { Rng } from './rng.js';
import type { SampleTargets } from './targets.js';

/** What a command line is built from: the case's image files, its output directory, and the sample's decoded paths. */
export interface CaseContext {
  image: string;
  /** --device PATH for every further device. */
  devices: string[];
  out: string;
  t: SampleTargets;
  rng: Rng;
}

/**
 * Every CLI command the harness runs on each case: one line per command,
 * its arguments after IMAGE (a few variants; one is picked per case) and
 * whether it takes --json. New commands are one more line.
 */
export const COMMANDS: { cmd: string; json: boolean; args: (c: CaseContext) => string[][] }[] = [
  { cmd: 'super', json: true, args: () => [[], ['--all-mirrors']] },
  { cmd: 'chunks', json: true, args: () => [[]] },
  { cmd: 'map', json: true, args: (c) => [[String(c.t.dataLogical)], [String(c.t.treeLogical)], ['--physical', String(c.rng.int(1 << 26))]] },
  { cmd: 'tree', json: true, args: (c) => [[], ['--tree', 'fs'], ['--tree', 'extent', '--bfs'], ['--block', String(c.t.treeLogical)], ['--tree', 'root', '--expand-shared', '--json']] },
  { cmd: 'partitions', json: true, args: () => [[]] },
  { cmd: 'subvolumes', json: true, args: () => [[]] },
  { cmd: 'ls', json: true, args: (c) => [['-R', '-l'], ['-R'], ['-l', c.rng.pick(c.t.dirs) ?? '/']] },
  { cmd: 'stat', json: true, args: (c) => [[c.rng.pick(c.t.files) ?? '/'], [c.rng.pick(c.t.dirs) ?? '/'], ['--inode', '5:256']] },
  { cmd: 'cat', json: false, args: (c) => [[c.t.files[0] ?? '/'], [c.rng.pick(c.t.files) ?? '/'], ['--no-verify', c.rng.pick(c.t.files) ?? '/']] },
  {
    cmd: 'extract',
    json: true,
    args: (c) => [
      ['-o', c.out],
      ['--no-verify', '-o', c.out],
    ],
  },
  {
    cmd: 'resolve',
    json: true,
    args: (c) => [
      ['--logical', String(c.t.dataLogical)],
      ['--inode', `5:${257 + c.rng.int(20)}`],
    ],
  },
  { cmd: 'roots', json: true, args: () => [[], ['--tree', '5']] },
  { cmd: 'recover', json: true, args: (c) => [[], ['-o', c.out]] },
  { cmd: 'timeline', json: true, args: () => [[], ['--bodyfile']] },
  {
    cmd: 'ls',
    json: true,
    args: () => [
      ['-R', '--replay-log'],
      ['-R', '--generation', '1'],
    ],
  },
  { cmd: 'sharing', json: true, args: () => [[], ['--matrix'], ['--free', '5']] },
  {
    cmd: 'diff',
    json: true,
    args: () => [
      ['5', '256'],
      ['5', '5'],
    ],
  },
  { cmd: 'extents', json: true, args: (c) => [[c.t.files[0] ?? '/'], [c.rng.pick(c.t.files) ?? '/', '--no-sharing']] },
  { cmd: 'usage', json: true, args: () => [[]] },
  {
    cmd: 'heatmap',
    json: false,
    args: (c) => [
      ['-o', c.out + '/h.png'],
      ['-o', c.out + '/h.svg'],
    ],
  },
  { cmd: 'check', json: true, args: () => [[], ['--data'], ['--data', '--jobs', '1']] },
  { cmd: 'manifest', json: true, args: () => [[], ['--format', 'dfxml'], ['--format', 'hashdeep', '--digests', 'md5,sha1,sha256']] },
  { cmd: 'verify', json: true, args: () => [['--deny', 'world-writable,setuid,snapshots', '--min-free', '1']] },
];

/** One command line for the case: the command, IMAGE, a variant's arguments, --device options, maybe --json. */
export function commandLine(entry: (typeof COMMANDS)[number], c: CaseContext): string[] {
  const args = c.rng.pick(entry.args(c));
  // A variant that excludes --json (timeline --bodyfile) or needs it (--expand-shared) says so itself; the coin is tossed either way.
  const json = entry.json && c.rng.chance(0.5) && !args.includes('--bodyfile') && !args.includes('--json') ? ['--json'] : [];
  return [entry.cmd, c.image, ...args, ...c.devices.flatMap((d) => ['--device', d]), ...json];
}
