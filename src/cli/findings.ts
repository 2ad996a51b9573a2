import { formatLocation } from '../findings.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { EXIT_DAMAGE, EXIT_OK, type CliIO } from './context.js';

/**
 * Tells the user on stderr about damage met while serving a command (the
 * command's own output stays clean for pipes). Returns true when any error was met.
 */
export function reportFindings(fs: Filesystem, io: CliIO, _opts: { json?: boolean } = {}): boolean {
  // A damaged block met twice (a root read, then its walk; two lookups) is one finding to the user.
  const seen = new Set<string>();
  const items = fs.findings.items.filter((f) => {
    const key = `${f.severity}\0${f.message}\0${formatLocation(f.location)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const max = 20;
  for (const f of items.slice(0, max)) io.stderr.write(`${f.severity}: ${f.message}${locSuffix(f.location)}\n`);
  const more = items.length - max + fs.findings.dropped;
  if (more > 0) io.stderr.write(`... and ${more} more findings (run "check" for all of them)\n`);
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
