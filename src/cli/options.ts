import type { Command } from 'commander';
import { INPUT_FORMATS, type InputFormat, isInputFormat } from '../io/containers/detect.js';
import { UsageError } from './context.js';

export interface CommonOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  superblock?: string;
  rebuild?: boolean;
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
  /** --input-format NAME: IMAGE's container format, overriding detection. */
  inputFormat?: string;
}

/** How a command writes its output: --wide, --format, --json-bigint (read for every command in src/cli/main.ts). */
export interface OutputOptions {
  wide?: boolean;
  format?: string | undefined;
  jsonBigint?: string;
}

/** Help of --demo, which every command that reads an image has. */
export const DEMO_OPTION_HELP = 'read the bundled demo image; every positional is then an argument (e.g. "ls --demo /rich")';

/** A repeatable option's values: each occurrence, and each comma-separated part of one ("--free 256,/snap --free 259"). */
export const collect = (v: string, prev: string[] = []) => [
  ...prev,
  ...v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== ''),
];

/** A repeatable option that keeps each value whole (a path may hold a comma). */
const collectWhole = (v: string, prev: string[] = []) => [...prev, v];

/** Tables at full width, tables as TSV, and u64 values in JSON as strings: every command that prints tables or JSON takes them. */
export function addOutputOptions(cmd: Command): Command {
  cmd
    .option('--wide', 'tables as wide as their cells (default on a terminal: fit its width, wrapping the widest columns)')
    .option('--format <format>', 'tables as "box" (default) or "tsv": tab-separated, a header line, no box drawing (for scripts)')
    .option('--json-bigint <mode>', 'with --json: u64 values as "number" (default; exact numerals) or "string" (for parsers that round past 2^53)');
  return hideRefused(cmd);
}

/** The options every command that opens an image takes: the table and JSON forms, and the image options. */
export function addSourceOptions(cmd: Command): Command {
  return addImageOptions(addOutputOptions(cmd));
}

/**
 * --input-format, not --format: --format already names the table style
 * (box|tsv) of every command with tables, and manifest's output format.
 */
export function addInputFormatOption(cmd: Command): Command {
  return cmd.option('--input-format <name>', `read IMAGE as this format, not the one its bytes look like (${INPUT_FORMATS.join(', ')}; raw: its bytes as they are)`);
}

/** The --input-format value checked: an unknown name is a usage error listing the names. */
export function parseInputFormat(name: string | undefined): InputFormat | undefined {
  if (name === undefined) return undefined;
  if (!isInputFormat(name)) throw new UsageError(`--input-format must be one of ${INPUT_FORMATS.join(', ')}, got "${name}"`);
  return name;
}

/**
 * The options of every command that reads an image, without the table
 * options: other devices, partition or offset, superblock copy, --json,
 * older roots (alone: for a command whose output is no table and whose
 * --format names its own formats, manifest).
 */
export function addImageOptions(cmd: Command): Command {
  cmd
    .option('--device <path>', 'another device of a multi-device filesystem (repeatable)', collectWhole)
    .option('--partition <n>', 'use partition N of a whole-disk image')
    .option('--offset <bytes>', 'the filesystem starts at this byte offset of the image')
    .option('--superblock <n>', "use superblock copy N (1 = 64 KiB, 2 = 64 MiB, 3 = 256 GiB; btrfs-progs' --super N-1), not the primary (or newest valid) copy")
    .option(
      '--rebuild',
      'rebuild the chunk map by scanning the devices for tree blocks, chunk, block-group and device-extent items (a destroyed chunk tree; with no valid superblock, one is made from the scan)',
    )
    .option('--lv <vg/lv>', 'read this LVM logical volume of the physical volumes given (IMAGE and --device)')
    .option('--snapshot <id|name>', 'read this internal snapshot of a qcow2 IMAGE instead of its current state (see "image-info")')
    .option('--json', 'machine-readable output')
    .option('--demo', DEMO_OPTION_HELP)
    .option('--generation <n>', 'read the filesystem as it was at generation N (a surviving older root tree: backup root or metadata scan; see "roots")')
    .option('--root <logical>', 'read the filesystem from this root tree block (logical address of an older root tree, see "roots")')
    .option('--replay-log', "see the filesystem as after a log replay (the fsync'd changes in the log tree), in memory, writing nothing");
  addInputFormatOption(cmd);
  return hideRefused(cmd);
}

/**
 * What each command does not do with the options it shares, or does only
 * together with another option. An option a command does not honour is a
 * usage error (exit 2) naming why, never silently ignored. Keyed by the
 * option's attribute name (--json-bigint: jsonBigint).
 */
interface OptionRules {
  /** Options the command does not honour, with why (and what to use instead). */
  refuse?: Record<string, string>;
  /** Options that mean something only with another one given. */
  requires?: Record<string, string>;
  /** Pairs of options that exclude each other. */
  conflicts?: [string, string][];
}

const NO_TABLES = { wide: 'it prints no tables', format: 'it prints no tables' };
const NO_JSON = { json: 'it has no JSON output', jsonBigint: 'it has no JSON output' };
const CURRENT_ONLY = (why: string) => ({ generation: why, root: why, replayLog: why });

const RULES: Record<string, OptionRules> = {
  super: { refuse: { ...CURRENT_ONLY('it shows the superblock copies themselves; "roots" lists older root trees'), rebuild: 'it shows the superblock copies as they are on the devices' } },
  chunks: { refuse: CURRENT_ONLY('the chunk map comes from the superblock and chunk tree, which older root trees do not change') },
  map: {
    refuse: CURRENT_ONLY('the chunk map comes from the superblock and chunk tree, which older root trees do not change'),
    requires: { devid: 'physical' },
  },
  usage: { refuse: CURRENT_ONLY('space usage is that of the chunks and block groups the superblock names') },
  tree: {
    refuse: NO_TABLES,
    requires: { expandShared: 'json' },
    conflicts: [
      ['dfs', 'bfs'],
      ['block', 'tree'],
      ['block', 'minKey'],
      ['block', 'maxKey'],
      ['block', 'dfs'],
      ['block', 'bfs'],
      ['block', 'jobs'],
    ],
  },
  ls: { refuse: NO_TABLES, requires: { allTimes: 'long' }, conflicts: [['directory', 'recursive']] },
  cat: { refuse: { ...NO_TABLES, ...NO_JSON, json: 'it writes the file\'s bytes; "stat --json" gives its fields' } },
  extract: { refuse: NO_TABLES },
  heatmap: { refuse: { ...NO_TABLES, ...NO_JSON, json: 'it writes a picture; "usage --json" and "extents --json" give the numbers' } },
  roots: { refuse: CURRENT_ONLY('it lists every surviving root of every generation') },
  recover: {
    refuse: CURRENT_ONLY('it searches every surviving older root already'),
    // What -o takes over from the image: nothing to take over without it.
    requires: { preserveAll: 'output', devices: 'output', setuid: 'output', owner: 'output' },
  },
  report: { refuse: { ...NO_TABLES, ...CURRENT_ONLY('it reports the filesystem as it is and searches every surviving older root already') }, conflicts: [['json', 'html']] },
  timeline: { refuse: NO_TABLES, requires: { ns: 'bodyfile' }, conflicts: [['bodyfile', 'json']] },
  check: {
    refuse: CURRENT_ONLY('it verifies the filesystem the superblock names (--superblock N picks another copy)'),
    // --jobs without --data is refused in the command when given one IMAGE: with several it is the image workers.
    // --json always holds every finding: --verbose and --quiet shape the text only.
    conflicts: [
      ['verbose', 'quiet'],
      ['json', 'verbose'],
      ['json', 'quiet'],
    ],
  },
  resolve: { conflicts: [['inode', 'logical']] },
  sharing: {},
};

/** Options every command that writes JSON takes only with --json. */
const COMMON_REQUIRES: Record<string, string> = { jsonBigint: 'json' };

/** Shared options that exclude each other wherever both exist: JSON has no tables; an offset is not a partition. */
const COMMON_CONFLICTS: [string, string][] = [
  ['json', 'wide'],
  ['json', 'format'],
  ['partition', 'offset'],
];

/** Refused options stay known to the parser (so the message can say why) but out of --help. */
function hideRefused(cmd: Command): Command {
  const refuse = RULES[cmd.name()]?.refuse ?? {};
  for (const o of cmd.options) if (o.attributeName() in refuse) o.hideHelp();
  return cmd;
}

const flag = (cmd: Command, attr: string) => cmd.options.find((o) => o.attributeName() === attr)?.long ?? `--${attr}`;

/**
 * Refuses options the command `cmd` does not honour, options given without
 * the one they go with, and options that exclude each other (run before
 * every command's action, in main.ts).
 */
export function checkOptionRules(cmd: Command): void {
  const given = (attr: string) => {
    const src = cmd.getOptionValueSource(attr);
    return src === 'cli' || src === 'env';
  };
  const rules = RULES[cmd.name()] ?? {};
  for (const [attr, why] of Object.entries(rules.refuse ?? {})) {
    if (given(attr)) throw new UsageError(`${cmd.name()} does not take ${flag(cmd, attr)}: ${why}`);
  }
  for (const [attr, needs] of Object.entries({ ...COMMON_REQUIRES, ...rules.requires })) {
    if (given(attr) && !given(needs) && cmd.options.some((o) => o.attributeName() === needs)) {
      throw new UsageError(`${cmd.name()}: ${flag(cmd, attr)} goes with ${flag(cmd, needs)}, which was not given`);
    }
  }
  // A command without the table options (manifest) gives --format a meaning of its own.
  const tables = cmd.options.some((o) => o.long === '--wide');
  const common = COMMON_CONFLICTS.filter((pair) => tables || !pair.includes('format'));
  for (const [a, b] of [...common, ...(rules.conflicts ?? [])]) {
    if (given(a) && given(b)) throw new UsageError(`${cmd.name()}: give ${flag(cmd, a)} or ${flag(cmd, b)}, not both`);
  }
}
