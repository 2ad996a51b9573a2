import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

// Kept apart from open.ts so that the CLI can rewrite --demo before it loads
// any command (open.ts pulls in the whole reader).

/** The bundled demo image, used when a command is given no image. */
export function demoImagePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/cli or dist/cli → package root.
  return resolve(here, '..', '..', 'sample-images', 'default', 'dev1.runs.gz');
}

/** Said after "IMAGE: no such file or device": the first positional is always the image. */
export const DEMO_HINT = '(the first argument is always the image; --demo reads the bundled demo image instead, e.g. "btrfs-inspect ls --demo /rich")';

/**
 * "CMD --demo ARGS" is "CMD DEMO_IMAGE ARGS --demo": the bundled demo image
 * is the command's IMAGE, and every positional an argument after it. The
 * path goes in before commander parses, so each command's positionals keep
 * their one meaning (and required ones their check).
 */
export function withDemoImage(args: string[]): string[] {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  if (!opts.includes('--demo') || args.length === 0 || args[0]!.startsWith('-')) return args;
  return [args[0]!, demoImagePath(), ...args.slice(1)];
}
