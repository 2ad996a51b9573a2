import { existsSync, readFileSync } from 'node:fs';
import { openByteSource } from '../io/node/openSource.js';
import { readSuperblocks } from '../volume/superblocks.js';
import { type CliIO, InputError, UsageError } from './context.js';
import { selectSource } from './open.js';

/** One filesystem to check: its first device (the IMAGE), the others (--device), or why it cannot be opened. */
export interface ImageGroup {
  image: string;
  devices: string[];
}

/** Most images one run checks (a --from list is read whole). */
const MAX_IMAGES = 100_000;

/** The IMAGE arguments and the --from list (one path a line; blank lines and #-comments skipped). */
export function imageList(images: readonly string[], from: string | undefined): string[] {
  const out = [...images];
  if (from !== undefined) {
    let text: string;
    try {
      text = from === '-' ? readFileSync(0, 'utf8') : readFileSync(from, 'utf8');
    } catch (e) {
      throw new InputError(`--from ${from}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    for (const line of text.split('\n')) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) out.push(t);
    }
  }
  if (out.length > MAX_IMAGES) throw new UsageError(`${out.length} images: at most ${MAX_IMAGES} in one run`);
  return out;
}

/**
 * The filesystems among `paths`: the devices of one multi-device filesystem
 * (the same fsid in their superblocks, each devid once) become one group, its lowest devid
 * first; a path that is no btrfs device is a group of its own (its check
 * then says why). Order: as the paths were given.
 */
export function groupByFilesystem(paths: readonly string[], io: CliIO): ImageGroup[] {
  const groups: { key: string | null; members: { path: string; devid: bigint }[] }[] = [];
  for (const path of paths) {
    let key: string | null = null;
    let devid = 0n;
    if (existsSync(path)) {
      try {
        // Quietly: the check of the group says which partition it uses.
        const src = selectSource(openByteSource(path), {}, { ...io, stderr: { write: () => true } });
        const best = readSuperblocks(src).best;
        src.close?.();
        if (best) {
          key = best.fsid;
          devid = best.devItem.devid;
        }
      } catch {
        // Unreadable here: the check of this path alone says why.
      }
    }
    // A second path with a devid the group already has is another copy of that device (an image of
    // the same filesystem): a filesystem of its own.
    const g = key === null ? undefined : groups.find((x) => x.key === key && !x.members.some((m) => m.devid === devid));
    if (g) g.members.push({ path, devid });
    else groups.push({ key, members: [{ path, devid }] });
  }
  return groups.map((g) => {
    const m = [...g.members].sort((a, b) => (a.devid < b.devid ? -1 : a.devid > b.devid ? 1 : 0));
    return { image: m[0]!.path, devices: m.slice(1).map((x) => x.path) };
  });
}
