/**
 * btrfs-inspect as a library: the decoding core, free of Node APIs, so it
 * runs in a browser too (feed it a MemorySource, or any ByteSource).
 * Node-only sources (files, block devices, runs images) are in "btrfs-inspect/node".
 *
 * This is the whole public API, chosen on purpose (test/api.test.ts holds the
 * list; docs/architecture-api.md says what each export is for). Importing it
 * has no side effect: the xxhash64 WebAssembly module is compiled on the first
 * xxhash64 checksum, not at import, so `require()` of this entry works.
 */

// --- Analysis ---
/** A read-only check of the whole filesystem (like `btrfs check --readonly`, plus data checksums). */
export { type CheckFinding, type CheckOptions, type CheckReport, runCheck } from './analysis/check/index.js';
/** Files changed between two roots of a subvolume's tree; the root a subvolume had at a generation. */
export { type DiffResult, diffTrees, type FileChange, treeAtGeneration } from './analysis/diff.js';
// --- Forensics ---
/** Every tree block of the metadata chunks, current or not; the older roots found, with how complete each is. */
/** Deleted files still present in older trees, orphans and deleted subvolumes, with their data's state. */
/** A MAC timeline of live and recovered files. */
/** The filesystem as of another generation or root tree block, or with its log tree replayed in memory. */
export {
  liveInodes,
  type Recovered,
  type RecoverReport,
  type RootCandidate,
  recoverDeleted,
  recoveredEntries,
  type ScanResult,
  scanMetadata,
  surveyRoots,
  type TimelineEntry,
  type TimelineEvent,
  timelineEvents,
  type ViewpointOptions,
  viewpoint,
} from './analysis/forensics/index.js';
/** Which data and metadata each subvolume shares with which others, and what deleting one would free. */
export { analyzeSharing, type SharingOptions, type SharingResult } from './analysis/sharing.js';
/** Findings (damage as data, with locations): a bounded log, a sink that drops them, and a location's text. */
export { discardFindings, type Finding, FindingLog, type FindingSink, formatLocation, type Location, type Severity } from './findings.js';
// --- Trees and their items (walk with fs.walk / fs.items / fs.find) ---
/** Object ids of the well-known trees and objects, and item key types. */
export { ItemType, ObjectId } from './format/constants.js';
/** A tree item's bytes, decoded by its key type. */
export { type DecodedItem, decodeItem, type ItemContext } from './format/items/index.js';
export type { Key } from './format/key.js';
/** A superblock's 4 KiB, decoded; every superblock copy of a device, read and checked. */
export { decodeSuperblock, type Superblock } from './format/superblock.js';
export type { TreeBlock } from './format/treeBlock.js';
// --- Files and directories, as a mount shows them ---
/** Subvolumes, inodes, directories (readdir, lookup, resolve), names and xattrs. */
export { FsView } from './fs/FsView.js';
/** A file's contents (streamed segments, or all at once), its extents, and every file under a directory. */
export { type DataSegment, type FileExtent, fileExtents, type ReadOptions, readAll, readFile } from './fs/fileData.js';
export type { DirEntry, FileKind, Inode, InodeRef, ResolveResult, SubvolumeInfo, Xattr } from './fs/types.js';
export { type WalkFilesOptions, type WalkItem, walkFiles } from './fs/walk.js';
// --- Byte sources: where the bytes of a device come from ---
export type { ByteSource } from './io/ByteSource.js';
/** Thrown by a source that cannot read (an I/O error, not damage in the image). */
export { SourceError } from './io/ByteSource.js';
export { ConcatSource } from './io/ConcatSource.js';
export { type EwfHashers, type EwfInfo, type EwfOptions, EwfSource } from './io/containers/ewf.js';
/** Containers read as the disk they hold: qcow2 (with backing files), EWF/E01 evidence sets (case metadata, stored hashes), split raw segments. */
export { type Qcow2Header, type Qcow2Options, type Qcow2Snapshot, Qcow2Source } from './io/containers/qcow2.js';
/** A device image held in memory (a Uint8Array). */
export { MemorySource } from './io/MemorySource.js';
/** MBR/GPT of a whole-disk image; its btrfs partitions; one partition as a SliceSource. */
export { findBtrfsPartitions, openPartition, type Partition, type PartitionTable, PartitionTableError, readPartitionTable } from './io/partitions.js';
/** A window of another source (a partition, or a filesystem at an offset). */
export { SliceSource } from './io/SliceSource.js';
/** Every tree, or one, as the bytes of `btrfs inspect-internal dump-tree` (byte-identical text, or NDJSON). */
export { type DumpOptions, type DumpSink, dumpAll, dumpTree } from './report/dumpTree.js';
// --- Opening a filesystem, and the damage met on the way ---
/** Filesystem.open(sources): devices assembled, chunk map read, tree blocks readable and verified; views share what was opened. */
export { Filesystem, type FilesystemShared, type ItemOverlay, type OpenOptions, type RootRef, type ViewOptions } from './tree/Filesystem.js';
export type { ItemRef, TreeRoot, WalkOptions, WalkVisitor } from './tree/walk.js';
/** Thrown by Filesystem.open when no source has a btrfs superblock. */
export { NotBtrfsError } from './volume/assemble.js';
export { type DeviceSupers, readSuperblocks, type SuperMirror } from './volume/superblocks.js';
