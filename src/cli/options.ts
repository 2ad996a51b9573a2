import type { Command } from 'commander';

export interface CommonOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  json?: boolean;
  generation?: string;
  root?: string;
  replayLog?: boolean;
  /** The image is the bundled demo image (main.ts puts its path first): every positional is an argument. */
  demo?: boolean;
  /** --lv VG/LV: the LVM logical volume to read. */
  lv?: string;
  /** --snapshot ID|NAME: the qcow2 internal snapshot of IMAGE to read. */
  snapshot?: string;
}

/** How a command writes its output: --wide, --format, --json-bigint (read for every command in src/cli/main.ts). */
export interface OutputOptions {
  wide?: boolean;
  format?: string;
  jsonBigint?: string;
}

/** Help of --demo, which every command that reads an image has. */
export const DEMO_OPTION_HELP = 'read the bundled demo image; every positional is then an argument (e.g. "ls --demo /rich")';

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** Tables at full width, tables as TSV, and u64 values in JSON as strings: every command that prints tables or JSON takes them. */
export function addOutputOptions(cmd: Command): Command {
  return cmd
    .option('--wide', 'tables as wide as their cells (default on a terminal: fit its width, wrapping the widest columns)')
    .option('--format <format>', 'tables as "box" (default) or "tsv": tab-separated, a header line, no box drawing (for scripts)')
    .option('--json-bigint <mode>', 'with --json: u64 values as "number" (default; exact numerals) or "string" (for parsers that round past 2^53)');
}

/** The options every command takes: other devices, partition or offset, --json, and the table and JSON forms. */
export function addSourceOptions(cmd: Command): Command {
  return addImageOptions(addOutputOptions(cmd));
}

/**
 * The options of every command that reads an image, without the table
 * options: for a command whose output is no table and whose --format
 * names its own formats (manifest).
 */
export function addImageOptions(cmd: Command): Command {
  return cmd
    .option('--device <path>', 'another device of a multi-device filesystem (repeatable)', collect)
    .option('--partition <n>', 'use partition N of a whole-disk image')
    .option('--offset <bytes>', 'the filesystem starts at this byte offset of the image')
    .option('--lv <vg/lv>', 'read this LVM logical volume of the physical volumes given (IMAGE and --device)')
    .option('--snapshot <id|name>', 'read this internal snapshot of a qcow2 IMAGE instead of its current state (see "image-info")')
    .option('--json', 'machine-readable output')
    .option('--demo', DEMO_OPTION_HELP)
    .option('--generation <n>', 'read the filesystem as it was at generation N (a surviving older root tree: backup root or metadata scan; see "roots")')
    .option('--root <logical>', 'read the filesystem from this root tree block (logical address of an older root tree, see "roots")')
    .option('--replay-log', 'see the filesystem as after a log replay (the fsync\'d changes in the log tree), in memory, writing nothing');
}
