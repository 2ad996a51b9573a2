import { formatLocation } from '../findings.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { EXIT_DAMAGE, EXIT_OK, type CliIO } from './context.js';

/**
 * Tells the user on stderr about damage met while serving a command (the
 * command's own output stays clean for pipes). Returns true when any error was met.
 */
export function reportFindings(fs: Filesystem, io: CliIO, _opts: { json?: boolean } = {}): boolean {
  const items = fs.findings.items;
  const max = 20;
  for (const f of items.slice(0, max)) io.stderr.write(`${f.severity}: ${f.message}${locSuffix(f.location)}\n`);
  if (fs.findings.count > max) io.stderr.write(`... and ${fs.findings.count - max} more findings (run "check" for all of them)\n`);
  return items.some((f) => f.severity === 'error');
}

function locSuffix(l: Parameters<typeof formatLocation>[0]): string {
  const s = formatLocation(l);
  return s ? ` [${s}]` : '';
}

/** Reports findings on stderr; the exit code they call for (1 when any error was met). */
export function finish(fs: Filesystem, io: CliIO): number {
  return reportFindings(fs, io) ? EXIT_DAMAGE : EXIT_OK;
}
