import { scanOf } from '../analysis/forensics/roots.js';
import type { ScanResult } from '../analysis/forensics/scan.js';
import { BlockGroupFlag } from '../format/constants.js';
import { readBlockGroups } from '../tree/blockGroups.js';
import type { Filesystem } from '../tree/Filesystem.js';
import type { CliIO } from './context.js';

/** What a phase counts: things (shown as "N/M <name>", rate "<name>/s") or bytes (MiB, MiB/s). */
export type ProgressUnit = { items: string } | 'bytes';

export interface ProgressOptions {
  /** Clock in milliseconds (tests pass a fake one). */
  now?: () => number;
  /** Fewest milliseconds between two redraws (default 100: at most ten a second). */
  intervalMs?: number;
}

const MiB = 2 ** 20;

/**
 * One progress line on stderr for a long command: phase, done/total,
 * percent, rate and time left (when the total is known), redrawn in place at
 * most ten times a second and erased by done(). Drawn only when stderr is a
 * terminal (io.stderrIsTTY): on a pipe or a file every method does nothing,
 * so callers need no check of their own.
 *
 *   const p = new Progress(io);
 *   p.phase('scanning metadata', { items: 'blocks' }, total);
 *   for (...) p.update(done);          // cheap when called often
 *   p.done();                          // erase the line before writing results
 */
export class Progress {
  private readonly active: boolean;
  private readonly now: () => number;
  private readonly interval: number;
  private name = '';
  private unit: ProgressUnit | undefined;
  private total: number | undefined;
  private started = 0;
  private last = -Infinity;
  private drawn = false;

  constructor(
    private readonly io: CliIO,
    opts: ProgressOptions = {},
  ) {
    this.active = io.stderrIsTTY;
    this.now = opts.now ?? Date.now;
    this.interval = opts.intervalMs ?? 100;
  }

  /** Whether anything is drawn (stderr is a terminal). */
  get enabled(): boolean {
    return this.active;
  }

  /**
   * Starts a phase: its name, what it counts, and how many there are when
   * known (no unit: a phase that counts nothing shows its name and the time
   * spent). Resets the rate.
   */
  phase(name: string, unit?: ProgressUnit, total?: number): void {
    if (!this.active) return;
    this.name = name;
    this.unit = unit;
    this.total = total !== undefined && total > 0 ? total : undefined;
    this.started = this.now();
    this.last = -Infinity;
    this.update(0);
  }

  /** Reports `done` so far (and a total that became known or changed); redraws when the last draw is old enough. */
  update(done: number, total?: number): void {
    if (!this.active) return;
    if (total !== undefined) this.total = total > 0 ? total : undefined;
    const t = this.now();
    if (t - this.last < this.interval) return;
    this.last = t;
    this.drawn = true;
    this.io.stderr.write(`\r${this.text(done, t)}\x1b[K`);
  }

  /** Changes the phase's name (a count in it, say) without restarting its rate. */
  rename(name: string): void {
    this.name = name;
  }

  /** Erases the line (if one was drawn); the next phase() draws again. */
  done(): void {
    if (!this.active || !this.drawn) return;
    this.io.stderr.write('\r\x1b[K');
    this.drawn = false;
    this.last = -Infinity;
  }

  /** The line for `done` at time `t`. */
  text(done: number, t: number): string {
    const secs = (t - this.started) / 1000;
    if (!this.unit) return `${this.name}... ${formatDuration(secs)}`;
    const bytes = this.unit === 'bytes';
    const amount = (n: number) => (bytes ? (n / MiB).toFixed(n < 10 * MiB ? 1 : 0) : String(Math.round(n)));
    const what = bytes ? 'MiB' : (this.unit as { items: string }).items;
    const rate = secs > 0 ? done / secs : 0;
    const rateText = secs >= 0.5 && done > 0 ? `, ${bytes ? `${(rate / MiB).toFixed(1)} MiB/s` : `${formatRate(rate)} ${what}/s`}` : '';
    const total = this.total;
    if (total === undefined) return `${this.name}: ${amount(done)} ${what}${rateText}`;
    const f = Math.max(0, Math.min(1, done / total));
    const left = rateText && rate > 0 ? `, ${formatDuration(Math.max(0, total - done) / rate)} left` : '';
    return `${this.name}: ${bar(f)} ${(100 * f).toFixed(1)}% ${amount(done)}/${amount(total)} ${what}${rateText}${left}`;
  }
}

function bar(f: number): string {
  const w = 24,
    n = Math.round(f * w);
  return `[${'#'.repeat(n)}${'.'.repeat(w - n)}]`;
}

function formatRate(r: number): string {
  return r >= 100 ? String(Math.round(r)) : r.toFixed(1);
}

/** 42s, 3m05s, 2h07m. */
export function formatDuration(s: number): string {
  const n = Math.ceil(s);
  if (n < 60) return `${n}s`;
  if (n < 3600) return `${Math.floor(n / 60)}m${String(n % 60).padStart(2, '0')}s`;
  return `${Math.floor(n / 3600)}h${String(Math.floor((n % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * How many tree blocks a walk of every tree reads, about: the metadata and
 * system block groups' used bytes over nodesize (block group items). For a
 * progress total only: it reads the block group items, so call it only when
 * progress is drawn.
 */
export function metadataBlocks(fs: Filesystem): number {
  let used = 0n;
  for (const bg of readBlockGroups(fs)) if (bg.flags & (BlockGroupFlag.METADATA | BlockGroupFlag.SYSTEM)) used += bg.used;
  return Number(used / BigInt(fs.superblock.nodesize));
}

/** The metadata scan of roots, recover and timeline (scanOf), with its progress line: block offsets of all metadata chunks. */
export function scanWithProgress(fs: Filesystem, io: CliIO): ScanResult {
  const p = new Progress(io);
  if (!p.enabled) return scanOf(fs);
  p.phase('scanning metadata', { items: 'blocks' });
  const scan = scanOf(fs, (done, total) => p.update(Number(done), Number(total)));
  p.done();
  return scan;
}
