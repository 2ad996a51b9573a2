import type { Command } from 'commander';

export interface CommonOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The options every command takes: other devices, partition or offset, and --json. */
export function addSourceOptions(cmd: Command): Command {
  return cmd
    .option('--device <path>', 'another device of a multi-device filesystem (repeatable)', collect)
    .option('--partition <n>', 'use partition N of a whole-disk image')
    .option('--offset <bytes>', 'the filesystem starts at this byte offset of the image')
    .option('--json', 'machine-readable output');
}
