import { newReadStats, type ReadStats } from '../../fs/fileData.js';

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
  ownership: 'restored' | 'not restored (not running as root)';
  verify: boolean;
  notes: string[];
  read: ReadStats;
}

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

  constructor(output: string, opts: { isRoot: boolean; verify: boolean }) {
    this.summary = {
      output,
      written: { files: 0, directories: 0, symlinks: 0, hardlinks: 0, fifos: 0, devices: 0, bytes: 0 },
      refused: [], failed: [], skipped: [],
      xattrs: { restored: 0, notRestored: [] },
      ownership: opts.isRoot ? 'restored' : 'not restored (not running as root)',
      verify: opts.verify,
      notes: [],
      read: newReadStats(),
    };
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
    for (const l of [s.refused, s.failed, s.skipped, s.xattrs.notRestored]) {
      l.sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
    }
  }

  private add(list: ExtractIssue[], seq: number, path: string, reason: string): void {
    if (list.length >= LIST_CAP) return;
    const x = { path, reason };
    this.order.set(x, seq);
    list.push(x);
  }
}

/** A system error as its code and call ("EACCES (open)"), else its message. */
export function describeError(e: unknown): string {
  const x = e as NodeJS.ErrnoException;
  if (x?.code) return `${x.code}${x.syscall ? ` (${x.syscall})` : ''}`;
  return x?.message ?? String(e);
}
