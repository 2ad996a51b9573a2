import { existsSync, readFileSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import type { CheckReport } from '../analysis/check/index.js';
import { openByteSource } from '../io/node/openSource.js';
import { readSuperblocks } from '../volume/superblocks.js';
import { type CliIO, InputError, UsageError } from './context.js';
import { type SourceOptions, selectSource } from './open.js';

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

/** A filesystem sent to an image worker (checkImageWorker.ts); `opts` are the source options, cloneable. */
export interface ImageJob {
  id: number;
  image: string;
  devices: string[];
  opts: SourceOptions;
  data: boolean;
}

/** A worker's answer: the report, or why the filesystem could not be checked (`error`) or the run must end (`fatal`). */
export interface ImageJobResult {
  id: number;
  report?: CheckReport;
  error?: string;
  fatal?: string;
  /** What opening it wrote to stderr (notes on partitions, copies), written when its line is. */
  stderr: string;
  elapsedMs: number;
}

/**
 * Worker threads that each check whole filesystems, one at a time: a job
 * goes to an idle worker or waits in line. A worker that dies (out of
 * memory, a crash) fails the filesystem it had as "could not check" and is
 * replaced.
 */
export class ImagePool {
  private readonly idle: Worker[] = [];
  private readonly queue: { job: ImageJob; resolve: (r: ImageJobResult) => void }[] = [];
  private readonly working = new Map<Worker, { job: ImageJob; resolve: (r: ImageJobResult) => void }>();
  private next = 0;
  private closed = false;

  constructor(
    private readonly size: number,
    private readonly start: () => Worker,
  ) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  private spawn(): Worker {
    const w = this.start();
    w.on('message', (r: ImageJobResult) => {
      const t = this.working.get(w);
      this.working.delete(w);
      this.idle.push(w);
      t?.resolve(r);
      this.pump();
    });
    const gone = (why: string) => {
      const t = this.working.get(w);
      this.working.delete(w);
      const at = this.idle.indexOf(w);
      if (at >= 0) this.idle.splice(at, 1);
      if (this.closed) return;
      t?.resolve({ id: t.job.id, error: `the check worker stopped: ${why}`, stderr: '', elapsedMs: 0 });
      if (this.idle.length + this.working.size < this.size) this.idle.push(this.spawn());
      this.pump();
    };
    w.on('error', (e) => gone(e.message));
    w.on('exit', (code) => gone(`exit code ${code}`));
    return w;
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.shift()!;
      const t = this.queue.shift()!;
      this.working.set(w, t);
      w.postMessage(t.job);
    }
  }

  check(image: string, devices: string[], opts: SourceOptions, data: boolean): Promise<ImageJobResult> {
    return new Promise((resolve) => {
      this.queue.push({ job: { id: this.next++, image, devices, opts, data }, resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.idle, ...this.working.keys()].map((w) => w.terminate()));
  }
}
