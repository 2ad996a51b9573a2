import type { Finding } from '../../findings.js';
import type { Key } from '../../format/key.js';

/** An object a finding damages: a file (byte range) or, when files cannot be named, a tree key range. */
export interface Hurt {
  /** Subvolume (fs tree id) or, for other trees, the tree id. */
  tree: bigint;
  ino?: bigint;
  /** Paths from the top of the filesystem, '/'-joined for display (bytes shown as displayPath does). */
  paths?: string[];
  /** Byte range of the file that is affected. */
  fileOffset?: bigint;
  length?: bigint;
  /** Key range lost when no file can be named (a lost block of a non-fs tree, or unnamed inodes). */
  minKey?: Key;
  maxKey?: Key;
}

/** A finding of check, with the objects it hurts (only for damage that no copy repairs). */
export interface CheckFinding extends Finding {
  hurt?: Hurt[];
}

export interface CheckOptions {
  /** Verify every data sector of every copy against the csum tree. */
  data?: boolean;
  /** Called now and then with the phase and how far it is: 'metadata' in tree blocks, 'data' in bytes. */
  progress?: (phase: string, done: number, total: number) => void;
  /** Most findings for which files are named through back references (each costs tree searches). */
  hurtLimit?: number;
}

export interface CheckSummary {
  /** Trees walked (each subvolume, snapshot and log tree counted once). */
  trees: number;
  /** Distinct tree blocks reached and how many copies of them were verified. */
  treeBlocks: number;
  treeBlockCopies: number;
  /** Leaf items checked. */
  items: number;
  /** Data checked (--data): bytes with a checksum, sectors and copies verified, copies not available. */
  dataChecked: boolean;
  dataBytes: bigint;
  dataSectors: number;
  dataSectorCopies: number;
  dataCopiesUnavailable: number;
  /** Why data was not checked (metadump image, no csum tree), when asked and not done. */
  dataSkipped?: string;
  /** Superblock copies read, and which copy of the first device was used (0-based). */
  superblockCopies: number;
  superblockUsed: number;
  /** Findings by code, and by severity. */
  byCode: Record<string, number>;
  errors: number;
  warnings: number;
  infos: number;
  elapsedMs: number;
}

export interface CheckReport {
  findings: CheckFinding[];
  /** Findings not kept (the log is bounded). */
  dropped: number;
  summary: CheckSummary;
}
