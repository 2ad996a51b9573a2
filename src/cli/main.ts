import { isatty } from 'node:tty';
import { Command, CommanderError } from 'commander';
import { setJsonBigint } from '../report/json.js';
import { commandsFor } from './commandIndex.js';
import { type CliIO, EXIT_DAMAGE, EXIT_USAGE, InputError, NotServedError, UsageError } from './context.js';
import { withDemoImage } from './demo.js';
import { checkOptionRules, type OutputOptions } from './options.js';
import { BlockingStdout } from './stdout.js';
import { setTableStyle } from './table.js';

export { VERSION } from './version.js';

import { VERSION } from './version.js';

/**
 * Runs the CLI with `args` (without node and script) and returns the exit
 * code: 0 ok/clean, 1 damage found or request not fully served, 2 usage
 * error or unreadable input. Never throws; never prints a stack trace unless
 * BTRFS_INSPECT_DEBUG is set.
 */
export async function runCli(args: string[], io: CliIO): Promise<number> {
  setTableStyle({ format: 'box' });
  setJsonBigint('number');
  let code = 0;
  const done = (c: number) => {
    code = c;
  };
  const program = new Command('btrfs-inspect')
    .description('Raw, on-disk Btrfs inspector: reads images and devices directly, never mounts, never writes.')
    .version(VERSION)
    .exitOverride()
    // Commander's own messages ("error: unknown option ...") get the one prefix every error line has.
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s), outputError: (s, write) => write(s.replace(/^error: /, 'btrfs-inspect: ')) })
    .showHelpAfterError('(run with --help for usage)');
  const argv = withDemoImage(args);
  for (const register of await commandsFor(argv)) register(program, io, done);
  for (const c of program.commands) c.exitOverride();
  program.hook('preAction', async (_program, command) => {
    checkOptionRules(command);
    applyOutputOptions(
      command.opts<OutputOptions>(),
      io,
      command.options.some((o) => o.long === '--wide'),
    );
    // The checksum code and the native crc32c binding load only when a command runs (help and --version never checksum).
    await (await import('../io/node/nativeCrc32c.js')).useNativeCrc32c();
    (await import('../io/node/extentCodecs.js')).useNativeExtentCodecs();
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof InputError) {
      io.stderr.write(`btrfs-inspect: ${e.message}\n`);
      if (e instanceof InputError && e.hint) io.stderr.write(`${e.hint}\n`);
      return EXIT_USAGE;
    }
    if (e instanceof NotServedError) {
      io.stderr.write(`btrfs-inspect: ${e.message}${e.hint ? `; ${e.hint}` : ''}\n`);
      return EXIT_DAMAGE;
    }
    if (isBrokenPipe(e)) return code;
    io.stderr.write(`btrfs-inspect: ${(e as Error)?.message ?? String(e)}\n`);
    if (process.env['BTRFS_INSPECT_DEBUG']) io.stderr.write(`${(e as Error)?.stack}\n`);
    return EXIT_DAMAGE;
  }
}

/** --format, --wide and --json-bigint: how tables and JSON are written for this run. */
function applyOutputOptions(o: OutputOptions, io: CliIO, tables: boolean): void {
  // A command without the table options (addOutputOptions) gives --format a meaning of its own.
  if (!tables) o = { ...o, format: undefined };
  if (o.format !== undefined && o.format !== 'box' && o.format !== 'tsv') throw new UsageError(`--format must be "box" or "tsv", got "${o.format}"`);
  if (o.jsonBigint !== undefined && o.jsonBigint !== 'number' && o.jsonBigint !== 'string') throw new UsageError(`--json-bigint must be "number" or "string", got "${o.jsonBigint}"`);
  if (o.wide && o.format === 'tsv') throw new UsageError('--wide is for boxed tables; --format tsv is never cut');
  const width = !o.wide && io.stdoutColumns !== undefined && io.stdoutColumns > 0 ? io.stdoutColumns : undefined;
  setTableStyle({ format: o.format === 'tsv' ? 'tsv' : 'box', ...(width !== undefined ? { width } : {}) });
  setJsonBigint(o.jsonBigint === 'string' ? 'string' : 'number');
}

/**
 * Columns of the terminal on fd 1, without creating process.stdout (that
 * would put a pipe into non-blocking mode, see stdout.ts): $COLUMNS, else
 * stderr's size when stderr is the same kind of terminal, else 80.
 */
function stdoutColumns(): number | undefined {
  if (!isatty(1)) return undefined;
  const env = Number(process.env['COLUMNS']);
  if (Number.isInteger(env) && env > 0) return env;
  return process.stderr.isTTY && process.stderr.columns > 0 ? process.stderr.columns : 80;
}

const withColumns = (n: number | undefined) => (n !== undefined ? { stdoutColumns: n } : {});

function isBrokenPipe(e: unknown): boolean {
  return (e as { code?: string })?.code === 'EPIPE';
}

/** Entry point of the bin script. */
export async function main(): Promise<void> {
  const code = await runCli(process.argv.slice(2), { stdout: new BlockingStdout(), stderr: process.stderr, stderrIsTTY: Boolean(process.stderr.isTTY), ...withColumns(stdoutColumns()) });
  process.exitCode = code;
}
