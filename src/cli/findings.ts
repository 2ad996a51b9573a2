import { type Finding, formatLocation } from '../findings.js';
import { ObjectId } from '../format/constants.js';
import type { Filesystem } from '../tree/Filesystem.js';
import { type CliIO, EXIT_DAMAGE, EXIT_OK } from './context.js';

const DEVICE_MISSING = 'device-missing';
const MISSING_NOTE = '; give it with --device PATH (reads were served from other mirrors or parity where the profile has them; a read that was not is an error of its own)';

/**
 * Tells the user on stderr about damage met while serving a command (the
 * command's own output stays clean for pipes). Returns true when any error was met.
 */
export function reportFindings(fs: Filesystem, io: CliIO, opts: { json?: boolean; said?: SaidRanges; nextStep?: boolean } = {}): boolean {
  // A damaged block met twice (a root read, then its walk; two lookups) is one finding to the user.
  const seen = new Set<string>();
  const said = opts.said ?? [];
  const items = fs.findings.items.filter((f) => {
    if (said.length && isSaid(f, said)) return false;
    const key = `${f.severity}\0${f.message}\0${formatLocation(f.location)}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  const max = 20;
  for (const f of items.slice(0, max)) {
    const missing = f.code === DEVICE_MISSING;
    io.stderr.write(`${missing ? 'warning' : f.severity}: ${f.message}${locSuffix(f.location)}${missing ? MISSING_NOTE : ''}\n`);
  }
  const more = items.length - max + fs.findings.dropped;
  if (more > 0) io.stderr.write(`... and ${more} more findings (run "check" for all of them)\n`);
  const hint = opts.nextStep === false ? undefined : olderRootsHint(fs);
  if (hint) io.stderr.write(`btrfs-inspect: tree blocks with no good copy were met; ${hint}\n`);
  // A missing device alone fails nothing: what another mirror or parity served is whole; a read
  // that needed the device and had no other copy is an error finding (or a failed read) of its own.
  return items.some((f) => f.severity === 'error' && f.code !== DEVICE_MISSING);
}

/**
 * Trees with a block no copy of which is good (a per-copy read finding that
 * no other copy repaired), in the order met.
 */
export function lostTrees(fs: Filesystem): bigint[] {
  const out = new Set<bigint>();
  for (const f of fs.findings.items) {
    if (f.severity === 'error' && f.location.tree !== undefined && f.location.copy !== undefined && f.repairable !== true) out.add(f.location.tree);
  }
  return [...out];
}

/**
 * The next step when tree blocks are lost: an older copy of the tree may
 * survive (a backup root, or a block the metadata scan finds), and
 * --generation reads the filesystem from it. The root tree first: every
 * other tree is found through it.
 */
export function olderRootsHint(fs: Filesystem, tree?: bigint): string | undefined {
  const lost = lostTrees(fs);
  if (lost.includes(ObjectId.ROOT_TREE)) return '"roots IMAGE" lists the older root trees that survive (backup roots, a scan of the metadata); read one with --generation N (or --root LOGICAL)';
  const t = tree ?? lost[0];
  if (t === undefined) return undefined;
  return `"roots IMAGE --tree ${t}" lists older roots of tree ${t} that survive; read one with --generation N (or --root LOGICAL)`;
}

function locSuffix(l: Parameters<typeof formatLocation>[0]): string {
  const s = formatLocation(l);
  return s ? ` [${s}]` : '';
}

/** Reports findings on stderr; the exit code they call for (1 when any error was met). */
export function finish(fs: Filesystem, io: CliIO, said?: SaidRanges): number {
  return reportFindings(fs, io, said ? { said } : {}) ? EXIT_DAMAGE : EXIT_OK;
}

/**
 * Logical ranges of data whose failure the command has already said in its
 * own line (with the file, offset and next step): the data findings there
 * are that same error, not said twice.
 */
export type SaidRanges = { logical: bigint; length: bigint }[];

const DATA_ERRORS = new Set(['data-csum', 'data-unreadable']);

function isSaid(f: Finding, said: SaidRanges): boolean {
  const at = f.location.logical;
  if (f.severity !== 'error' || !DATA_ERRORS.has(f.code) || at === undefined) return false;
  return said.some((r) => at >= r.logical && at < r.logical + r.length);
}
