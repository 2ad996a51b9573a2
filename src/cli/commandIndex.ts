import type { Command } from 'commander';
import type { CliIO } from './context.js';

/** What every command module exports: adds the command, its options and action to the program. */
export type RegisterCommand = (program: Command, io: CliIO, done: (code: number) => void) => void;

/**
 * Every command by name (and alias), with the module that defines it, in
 * the order help lists them. A run loads only the module of the command it
 * runs: importing all of them costs more than most commands take on a
 * small image, and per-file scripting (`stat`, `cat` in a loop) pays it
 * every time.
 */
export const COMMANDS: ReadonlyArray<{ name: string; aliases?: string[]; load: () => Promise<RegisterCommand> }> = [
  { name: 'super', load: async () => (await import('./commands/super.js')).registerSuper },
  { name: 'chunks', load: async () => (await import('./commands/chunks.js')).registerChunks },
  { name: 'map', load: async () => (await import('./commands/map.js')).registerMap },
  { name: 'tree', load: async () => (await import('./commands/tree.js')).registerTree },
  { name: 'partitions', load: async () => (await import('./commands/partitions.js')).registerPartitions },
  { name: 'image-info', load: async () => (await import('./commands/image-info.js')).registerImageInfo },
  { name: 'subvolumes', aliases: ['subvol'], load: async () => (await import('./commands/subvolumes.js')).registerSubvolumes },
  { name: 'ls', load: async () => (await import('./commands/ls.js')).registerLs },
  { name: 'stat', load: async () => (await import('./commands/stat.js')).registerStat },
  { name: 'cat', load: async () => (await import('./commands/cat.js')).registerCat },
  { name: 'extract', load: async () => (await import('./commands/extract.js')).registerExtract },
  { name: 'resolve', load: async () => (await import('./commands/resolve.js')).registerResolve },
  { name: 'roots', load: async () => (await import('./commands/roots.js')).registerRoots },
  { name: 'recover', load: async () => (await import('./commands/recover.js')).registerRecover },
  { name: 'report', load: async () => (await import('./commands/report.js')).registerReport },
  { name: 'timeline', load: async () => (await import('./commands/timeline.js')).registerTimeline },
  { name: 'check', load: async () => (await import('./commands/check.js')).registerCheck },
  { name: 'sharing', load: async () => (await import('./commands/sharing.js')).registerSharing },
  { name: 'diff', load: async () => (await import('./commands/diff.js')).registerDiff },
  { name: 'extents', load: async () => (await import('./commands/extents.js')).registerExtents },
  { name: 'usage', load: async () => (await import('./commands/usage.js')).registerUsage },
  { name: 'heatmap', load: async () => (await import('./commands/heatmap.js')).registerHeatmap },
  { name: 'manifest', load: async () => (await import('./commands/manifest.js')).registerManifest },
  { name: 'verify', load: async () => (await import('./commands/verify.js')).registerVerify },
  { name: 'serve', load: async () => (await import('./commands/serve.js')).registerServe },
];

/**
 * The registrations a run needs: the one command named by the first word of
 * `args`, or every command when there is none to run (help, a mistyped
 * name: help and commander's "did you mean" need them all), or none for
 * --version.
 */
export async function commandsFor(args: readonly string[]): Promise<RegisterCommand[]> {
  const first = args[0];
  if (first === '--version' || first === '-V') return [];
  const one = first === undefined ? undefined : COMMANDS.find((c) => c.name === first || c.aliases?.includes(first));
  const wanted = one !== undefined ? [one] : COMMANDS;
  return Promise.all(wanted.map((c) => c.load()));
}
