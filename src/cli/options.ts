import type { Command } from 'commander';

export interface CommonOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  json?: boolean;
  generation?: string;
  root?: string;
  replayLog?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The options every command takes: other devices, partition or offset, and --json. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--device <path>', 'another device of a multi-device filesystem (repeatable)', collect)
    .option('--partition <n>', 'use partition N of a whole-disk image')
    .option('--offset <bytes>', 'the filesystem starts at this byte offset of the image')
    .option('--json', 'machine-readable output')
    .option('--generation <n>', 'read the filesystem as it was at generation N (a surviving older root tree: backup root or metadata scan; see "roots")')
    .option('--root <logical>', 'read the filesystem from this root tree block (logical address of an older root tree, see "roots")')
    .option('--replay-log', 'see the filesystem as after a log replay (the fsync\'d changes in the log tree), in memory, writing nothing');
}
