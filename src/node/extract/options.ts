/** What an extraction is asked to do: its options, its progress display and where it starts. */
import type { Inode } from '../../fs/types.js';
import type { WalkItem } from '../../fs/walk.js';
import type { Meta, XattrApi } from './metadata.js';
import type { NsTimes } from './nsTimes.js';
import type { Preserve } from './policy.js';

/**
 * Where an extraction's progress goes (the CLI draws a line on a terminal):
 * a phase counting bytes, its label and the bytes written, out of an
 * estimated total once there is one.
 */
export interface ExtractProgress {
  /** Whether anything is shown: when false, nothing is counted for it (no census of the leaves). */
  readonly enabled: boolean;
  phase(name: string, unit: 'bytes'): void;
  rename(label: string): void;
  update(done: number, total?: number): void;
  done(): void;
}

export interface ExtractOptions {
  force?: boolean;
  verify?: boolean;
  /** Progress of the extraction (default: none). */
  progress?: ExtractProgress;
  /** The xattr calls, or why there are none (default: fsetxattr/lsetxattr through the optional koffi package). */
  xattr?: XattrApi | string;
  /** Times to the ns, or why not (then to the microsecond through Node; default: load koffi). */
  times?: NsTimes | string;
  /** Restore ownership and make device nodes and fifos, as far as `preserve` allows (default: when running as root). */
  isRoot?: boolean;
  /** What is taken over from the image that could give privileges (default: none of it, PRESERVE_NONE). */
  preserve?: Preserve;
  /** The output directory was made by this run: give it the start directory's times (and mode: `preserve.outputMode`, else 0700). */
  createdOutput?: boolean;
  /** Read file data of image files ahead on the thread pool, for readFile to verify and write (default true). */
  readAhead?: boolean;
  /** Entries set aside by the walk and written in inode order at a time (default BATCH; tests use small ones). */
  batch?: number | undefined;
  /** Write file data with O_DIRECT where the output's file system takes it (default true). */
  directWrite?: boolean;
  /** List every entry written, with the image's times to the ns, in the summary's `entries` (default false). */
  manifest?: boolean;
  /** Only what this selects is written (default: everything below the start). */
  select?: ExtractSelect;
  /**
   * Told of every data range that could not be read (its logical address and
   * length), so a caller that reports the file's failure can leave out the
   * per-sector findings saying the same.
   */
  onDataError?: (logical: bigint, length: bigint) => void;
}

/**
 * A selection (extract --path-regex): each entry is asked by its path under
 * the output directory as the summary shows it ("/rich/a.txt"). A directory
 * refused by `dir` is neither made nor entered; an entry of any other type
 * refused by `entry` is not written. The caller knows beforehand which
 * directories lead to something selected.
 */
export interface ExtractSelect {
  dir(path: string): boolean;
  entry(path: string): boolean;
}

/**
 * Where the start goes: `into` is its path under the output directory (null
 * or empty: the output directory itself, for a directory); the directories
 * on the way are made (or reused) and get the metadata in `ways` (one per
 * directory on the way; null: none known) once everything below is written.
 */
export interface ExtractStart {
  ref: WalkItem['ref'];
  inode: Inode;
  into: Uint8Array | readonly Uint8Array[] | null;
  ways?: readonly (Meta | null)[];
}
