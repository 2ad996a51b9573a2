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

// --- Byte sources: where the bytes of a device come from ---
export type { ByteSource } from './io/ByteSource.js';
/** Thrown by a source that cannot read (an I/O error, not damage in the image). */
export { SourceError } from './io/ByteSource.js';
/** A device image held in memory (a Uint8Array). */
export { MemorySource } from './io/MemorySource.js';
/** A window of another source (a partition, or a filesystem at an offset). */
export { SliceSource } from './io/SliceSource.js';
/** Containers read as the disk they hold: qcow2 (with backing files), EWF/E01 evidence sets (case metadata, stored hashes), split raw segments. */
export { Qcow2Source, type Qcow2Header, type Qcow2Options, type Qcow2Snapshot } from './io/containers/qcow2.js';
export { EwfSource, type EwfInfo, type EwfOptions, type EwfHashers } from './io/containers/ewf.js';
export { ConcatSource } from './io/ConcatSource.js';
/** MBR/GPT of a whole-disk image; its btrfs partitions; one partition as a SliceSource. */
export { readPartitionTable, findBtrfsPartitions, openPartition, PartitionTableError, type PartitionTable, type Partition } from './io/partitions.js';

// --- Opening a filesystem, and the damage met on the way ---
/** Filesystem.open(sources): devices assembled, chunk map read, tree blocks readable and verified; views share what was opened. */
export { Filesystem, type OpenOptions, type ViewOptions, type FilesystemShared, type ItemOverlay, type RootRef } from './tree/Filesystem.js';
/** Thrown by Filesystem.open when no source has a btrfs superblock. */
export { NotBtrfsError } from './volume/assemble.js';
/** Findings (damage as data, with locations): a bounded log, a sink that drops them, and a location's text. */
export { FindingLog, discardFindings, formatLocation, type Finding, type FindingSink, type Location, type Severity } from './findings.js';

// --- Trees and their items (walk with fs.walk / fs.items / fs.find) ---
/** Object ids of the well-known trees and objects, and item key types. */
export { ObjectId, ItemType } from './format/constants.js';
export type { Key } from './format/key.js';
export type { TreeBlock } from './format/treeBlock.js';
export type { TreeRoot, ItemRef, WalkOptions, WalkVisitor } from './tree/walk.js';
/** A tree item's bytes, decoded by its key type. */
export { decodeItem, type DecodedItem, type ItemContext } from './format/items/index.js';
/** A superblock's 4 KiB, decoded; every superblock copy of a device, read and checked. */
export { decodeSuperblock, type Superblock } from './format/superblock.js';
export { readSuperblocks, type DeviceSupers, type SuperMirror } from './volume/superblocks.js';
/** Every tree, or one, as the bytes of `btrfs inspect-internal dump-tree` (byte-identical text, or NDJSON). */
export { dumpAll, dumpTree, type DumpSink, type DumpOptions } from './report/dumpTree.js';

// --- Files and directories, as a mount shows them ---
/** Subvolumes, inodes, directories (readdir, lookup, resolve), names and xattrs. */
export { FsView, type SubvolumeInfo, type ResolveResult, type Xattr } from './fs/FsView.js';
export type { Inode, InodeRef, DirEntry, FileKind } from './fs/types.js';
/** A file's contents (streamed segments, or all at once), its extents, and every file under a directory. */
export { readFile, readAll, fileExtents, type ReadOptions, type DataSegment, type FileExtent } from './fs/fileData.js';
export { walkFiles, type WalkItem, type WalkFilesOptions } from './fs/walk.js';

// --- Analysis ---
/** A read-only check of the whole filesystem (like `btrfs check --readonly`, plus data checksums). */
export { runCheck, type CheckReport, type CheckFinding, type CheckOptions } from './analysis/check/index.js';
/** Which data and metadata each subvolume shares with which others, and what deleting one would free. */
export { analyzeSharing, type SharingResult, type SharingOptions } from './analysis/sharing.js';
/** Files changed between two roots of a subvolume's tree; the root a subvolume had at a generation. */
export { diffTrees, treeAtGeneration, type DiffResult, type FileChange } from './analysis/diff.js';

// --- Forensics ---
/** Every tree block of the metadata chunks, current or not; the older roots found, with how complete each is. */
export { scanMetadata, surveyRoots, type ScanResult, type RootCandidate } from './analysis/forensics/index.js';
/** Deleted files still present in older trees, orphans and deleted subvolumes, with their data's state. */
export { recoverDeleted, type RecoverReport, type Recovered } from './analysis/forensics/index.js';
/** A MAC timeline of live and recovered files. */
export { liveInodes, recoveredEntries, timelineEvents, type TimelineEntry, type TimelineEvent } from './analysis/forensics/index.js';
/** The filesystem as of another generation or root tree block, or with its log tree replayed in memory. */
export { viewpoint, type ViewpointOptions } from './analysis/forensics/index.js';
