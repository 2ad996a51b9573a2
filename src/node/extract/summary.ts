import { newReadStats, type ReadStats } from '../../fs/fileData.js';
import { formatTime, timeNs } from '../../report/fs.js';

export interface ExtractIssue {
  path: string;
  reason: string;
}

/** What an extraction wrote, refused, failed at and skipped (the `--json` output of extract). */
export interface ExtractSummary {
  output: string;
  written: { files: number; directories: number; symlinks: number; hardlinks: number; fifos: number; devices: number; bytes: number };
  /** Names refused as unsafe (nothing written for them or below them). */
  refused: ExtractIssue[];
  /** Things that could not be written (or only partly: unreadable data), or that exist already (no --force). */
  failed: ExtractIssue[];
  /** Things deliberately not made: devices and fifos when not root, sockets. */
  skipped: ExtractIssue[];
  xattrs: { restored: number; notRestored: (ExtractIssue & { name: string })[] };
  /**
   * What the safe defaults held back (policy.ts): device nodes not made, files written without
   * their setuid/setgid bits, entries whose image owner was not given them, the output
   * directory's mode kept private; `entries` lists each with the reason (but ownership, which
   * concerns nearly every entry of a root extraction, is counted only).
   */
  withheld: Withheld;
  ownership: 'restored' | 'withheld (--owner or --preserve-all restores it)' | 'not restored (not running as root)';
  verify: boolean;
  /** How precisely mtime and atime were set on what was written ("us": to the microsecond, truncated). */
  timePrecision: 'us' | 'ns';
  /** Existing entries of the output removed to make way (--force). */
  replaced: string[];
  notes: string[];
  read: ReadStats;
  /** Every entry written, with the exact on-disk times (only when asked for: `manifest`). */
  entries?: WrittenEntry[];
}

export interface Withheld {
  devices: number;
  setuid: number;
  owner: number;
  outputMode: number;
  entries: ExtractIssue[];
}

/** Kinds of withheld entries that are listed (ownership is only counted). */
export type WithheldKind = 'devices' | 'setuid' | 'outputMode';

/** One entry written: its path under the output directory, type, size and the image's times to the ns. */
export interface WrittenEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'chr' | 'blk';
  size: bigint;
  /** A further name of a hard-linked inode (made with link(2)). */
  hardLink?: boolean;
  mtime: string;
  mtimeNs: bigint;
  atime: string;
  atimeNs: bigint;
}

type Times = { mtime: { sec: bigint; nsec: number }; atime: { sec: bigint; nsec: number } };

/** Most entries kept in each list of the summary. */
const LIST_CAP = 100_000;

/**
 * The summary of one extraction as it is filled: every issue is recorded
 * with the walk order of its item (`seq`), so that `sort` puts the lists in
 * walk order whatever order the writes ended in.
 */
export class SummaryLog {
  readonly summary: ExtractSummary;
  private readonly order = new WeakMap<object, number>();
  private readonly replacedItems: { path: string }[] = [];

  constructor(output: string, opts: { isRoot: boolean; verify: boolean; manifest?: boolean; timePrecision: 'us' | 'ns'; owner: boolean }) {
    this.summary = {
      output,
      written: { files: 0, directories: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0, bytes: 0 },
      refused: [],
      failed: [],
      skipped: [],
      xattrs: { restored: 0, notRestored: [] },
      withheld: { devices: 0, setuid: 0, owner: 0, outputMode: 0, entries: [] },
      ownership: !opts.owner ? 'withheld (--owner or --preserve-all restores it)' : opts.isRoot ? 'restored' : 'not restored (not running as root)',
      verify: opts.verify,
      timePrecision: opts.timePrecision,
      replaced: [],
      notes: [],
      read: newReadStats(),
      ...(opts.manifest ? { entries: [] } : {}),
    };
  }

  /** Records one entry written (counted in `written` by the caller), in the manifest when there is one. */
  wrote(seq: number, path: string, type: WrittenEntry['type'], t: Times, size: bigint, hardLink = false): void {
    const m = this.summary.entries;
    if (!m) return;
    const x: WrittenEntry = { path, type, size, ...(hardLink ? { hardLink } : {}), mtime: formatTime(t.mtime), mtimeNs: timeNs(t.mtime), atime: formatTime(t.atime), atimeNs: timeNs(t.atime) };
    this.order.set(x, seq);
    m.push(x);
  }

  replaced(seq: number, path: string): void {
    if (this.replacedItems.length >= LIST_CAP) return;
    const x = { path };
    this.order.set(x, seq);
    this.replacedItems.push(x);
  }

  refused(seq: number, path: string, reason: string): void {
    this.add(this.summary.refused, seq, path, reason);
  }

  failed(seq: number, path: string, reason: string): void {
    this.add(this.summary.failed, seq, path, reason);
  }

  skipped(seq: number, path: string, reason: string): void {
    this.add(this.summary.skipped, seq, path, reason);
  }

  /** An entry held back by the safe defaults (counted even past the list's cap). */
  withheld(seq: number, path: string, kind: WithheldKind, reason: string): void {
    this.summary.withheld[kind]++;
    this.add(this.summary.withheld.entries, seq, path, reason);
  }

  /** An entry whose owner in the image was not given it (by default). */
  ownerWithheld(): void {
    this.summary.withheld.owner++;
  }

  noXattr(seq: number, path: string, name: string, reason: string): void {
    const nr = this.summary.xattrs.notRestored;
    if (nr.length >= LIST_CAP) return;
    const x = { path, name, reason };
    this.order.set(x, seq);
    nr.push(x);
  }

  /** Puts every list in walk order. */
  sort(): void {
    const s = this.summary;
    const bySeq = (a: object, b: object) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0);
    for (const l of [s.refused, s.failed, s.skipped, s.withheld.entries, s.xattrs.notRestored, s.entries ?? []]) l.sort(bySeq);
    s.replaced = this.replacedItems.sort(bySeq).map((x) => x.path);
  }

  private add(list: ExtractIssue[], seq: number, path: string, reason: string): void {
    if (list.length >= LIST_CAP) return;
    const x = { path, reason };
    this.order.set(x, seq);
    list.push(x);
  }
}

/** Adds the summary of a further extraction into the same output directory (extract with several PATHs) to `into`. */
export function mergeSummary(into: ExtractSummary, s: ExtractSummary): void {
  for (const k of Object.keys(into.written) as (keyof ExtractSummary['written'])[]) into.written[k] += s.written[k];
  for (const k of Object.keys(into.read) as (keyof ReadStats)[]) into.read[k] += s.read[k];
  into.refused.push(...s.refused);
  into.failed.push(...s.failed);
  into.skipped.push(...s.skipped);
  into.replaced.push(...s.replaced);
  for (const k of ['devices', 'setuid', 'owner', 'outputMode'] as const) into.withheld[k] += s.withheld[k];
  into.withheld.entries.push(...s.withheld.entries);
  into.xattrs.restored += s.xattrs.restored;
  into.xattrs.notRestored.push(...s.xattrs.notRestored);
  for (const n of s.notes) if (!into.notes.includes(n)) into.notes.push(n);
  if (s.entries) (into.entries ??= []).push(...s.entries);
}

/** A system error as its code and call ("EACCES (open)"), else its message. */
export function describeError(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  if (x?.code) return `${x.code}${x.syscall ? ` (${x.syscall})` : ''}`;
  return x?.message ?? String(e);
}
