/**
 * Messages between the page and the worker that runs the library. Every
 * answer carries JSON text written by the library's own report code (u64
 * values as decimal strings, as `--json-bigint=string` writes them), so the
 * page shows what `btrfs-inspect ... --json` shows.
 */

/** Where the worker reads a device from. */
export type SourceSpec = { kind: 'file'; file: File } | { kind: 'http'; url: string; name: string; size: string };

export type Request =
  | { op: 'open'; sources: SourceSpec[] }
  | { op: 'overview' }
  | { op: 'trees' }
  | { op: 'block'; logical: string }
  | { op: 'ls'; subvol: string; path: string }
  | { op: 'stat'; subvol: string; path: string; ino?: string }
  | { op: 'find'; tree: string; key: { objectid: string; type: string; offset: string } }
  | { op: 'device'; devid: string; offset: string }
  | { op: 'read'; subvol: string; path: string; max: number }
  | { op: 'check' }
  | { op: 'layout' }
  | { op: 'chunk'; logical: string }
  | { op: 'resolve'; logical: string }
  | { op: 'sharing' }
  | { op: 'free'; subvols: string[] }
  | { op: 'diff'; a: string; b: string }
  | { op: 'roots' }
  | { op: 'recover' }
  | { op: 'timeline' }
  | { op: 'tar'; subvol: string; path: string; max: number };

/** What the page sends: a request with its id. */
export type Envelope = Request & { id: number };

export type Reply = { id: number; ok: true; json: string; bytes?: Uint8Array } | { id: number; ok: false; error: string } | { id: number; progress: { phase: string; done: number; total: number } };
