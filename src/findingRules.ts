/**
 * The catalogue of finding codes: every kind of damage (or fact) any layer
 * can report, with its severity, what it means, what it locates, whether
 * another copy can repair it, and the btrfs-progs `check` or kernel rule it
 * corresponds to. Emitters take code and severity from here (`rule(code)`),
 * so a code not in the catalogue is a type error; docs/check-rules.md is
 * generated from it (scripts/check-rules-doc.mjs).
 *
 * It lives at the root of src/ (no imports) because findings are made in
 * every layer from format up.
 */

export type Severity = 'error' | 'warning' | 'info';

/** What a finding's location names. */
export type Locates =
  | 'superblock copy'
  | 'device'
  | 'chunk'
  | 'tree block copy'
  | 'tree block'
  | 'item'
  | 'inode'
  | 'name'
  | 'extent'
  | 'block group'
  | 'device extent'
  | 'byte range'
  | 'data sector copy'
  | 'subvolume'
  | 'filesystem';

/**
 * Whether reading another copy can repair it: `copy` — the damage is in
 * one copy of a mirrored block, sector or superblock (the finding's
 * `repairable` says whether a good copy was read); `none` — the content
 * itself is wrong (every copy holds the same bytes); `n/a` — not damage.
 */
export type Repair = 'copy' | 'none' | 'n/a';

export type RuleGroup = 'superblock' | 'devices' | 'chunks' | 'tree blocks' | 'items' | 'cross references' | 'files' | 'data' | 'notes';

export interface Rule {
  group: RuleGroup;
  /** The severity it is reported with. */
  severity: Severity;
  /** Other severities it may be reported with, and when (see `rule`). */
  also?: { readonly [S in Severity]?: string };
  meaning: string;
  locates: Locates;
  repair: Repair;
  /** The btrfs-progs check (original/lowmem) or kernel (tree-checker.c, disk-io.c, volumes.c) rule it corresponds to. */
  progs: string;
}

export const RULES = {
  // Superblock
  'super-bad-magic': {
    group: 'superblock',
    severity: 'error',
    meaning: 'the primary superblock copy has no btrfs magic (destroyed)',
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_read_dev_one_super: magic check; progs btrfs_read_dev_super "bad magic"',
  },
  'super-unreadable': {
    group: 'superblock',
    severity: 'error',
    meaning: 'a superblock copy cannot be read: the source (a container such as qcow2 or E01) failed at its offset',
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_read_dev_one_super: read error (-EIO); progs btrfs_read_dev_super skips the copy',
  },
  'super-bad-csum': {
    group: 'superblock',
    severity: 'error',
    meaning: "a superblock copy's checksum is wrong",
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_check_super_csum: "superblock checksum mismatch"',
  },
  'super-invalid': {
    group: 'superblock',
    severity: 'error',
    meaning: "a copy's checksum is right but a field is impossible (sizes, root levels)",
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_validate_super (invalid sectorsize/nodesize, root level)',
  },
  'super-older': {
    group: 'superblock',
    severity: 'warning',
    meaning: 'a valid copy of a lower generation than the one used',
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'progs btrfs_read_dev_super: the newest valid copy is used (older ones are ignored)',
  },
  'super-newer': {
    group: 'superblock',
    severity: 'warning',
    meaning: 'a valid backup copy of a higher generation than the primary, which is used as the kernel does',
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'disk-io.c: the kernel mounts from the primary copy; progs btrfs check -s N reads a backup',
  },
  'super-field': {
    group: 'superblock',
    severity: 'error',
    meaning: 'the superblock used has an insane field (sizes, flags, alignment, num_devices 0)',
    locates: 'superblock copy',
    repair: 'none',
    progs: 'disk-io.c btrfs_validate_super (stripesize, bytes_used < 6 nodes, unaligned roots, total_bytes 0)',
  },
  'super-copies-differ': {
    group: 'superblock',
    severity: 'warning',
    meaning: 'valid superblock copies of one generation differ beyond the fields each copy has of its own (bytenr, checksum, log root): a tamper or firmware signal',
    locates: 'superblock copy',
    repair: 'none',
    progs: 'no counterpart: progs and the kernel read the primary copy (or the newest valid one)',
  },
  'super-mirror-mismatch': {
    group: 'superblock',
    severity: 'error',
    meaning: 'valid copies of the same generation disagree (root, chunk root, fsid, sizes)',
    locates: 'superblock copy',
    repair: 'copy',
    progs: 'no direct counterpart: progs and the kernel read one copy; scrub rewrites the others',
  },
  'super-num-devices': {
    group: 'superblock',
    severity: 'error',
    meaning: "the superblock's num_devices differs from the dev items of the chunk tree",
    locates: 'superblock copy',
    repair: 'none',
    progs: 'volumes.c btrfs_read_chunk_tree: "super_num_devices %llu mismatch with num_devices %llu found here"',
  },
  'super-total-bytes': {
    group: 'superblock',
    severity: 'error',
    meaning: "the superblock's total_bytes is less than the sum of the devices' total_bytes",
    locates: 'superblock copy',
    repair: 'none',
    progs: 'volumes.c btrfs_read_chunk_tree: "super_total_bytes %llu mismatch with fs_devices total_rw_bytes %llu"; progs check is_super_size_valid',
  },
  'super-bytes-used': {
    group: 'superblock',
    severity: 'error',
    meaning: "the superblock's bytes_used differs from the sum of the block groups' used bytes",
    locates: 'superblock copy',
    repair: 'none',
    progs: 'progs check (original/lowmem): "super bytes used %llu mismatches actual used %llu"',
  },
  'device-size-alignment': {
    group: 'devices',
    severity: 'warning',
    meaning: "a dev item's total_bytes (or the superblock's total_bytes) is not a multiple of the sector size",
    locates: 'device',
    repair: 'none',
    progs: 'progs check: warning "unaligned total_bytes detected for devid %llu", "this is OK for older kernel" (fixed by btrfs rescue fix-device-size)',
  },
  // Devices
  'device-missing': {
    group: 'devices',
    severity: 'error',
    meaning: 'a device the chunk tree names was not given or found',
    locates: 'device',
    repair: 'none',
    progs: 'volumes.c read_one_dev: "missing devid %llu uuid %pU"',
  },
  'device-truncated': {
    group: 'devices',
    severity: 'error',
    meaning: 'a device is shorter than its dev item says',
    locates: 'device',
    repair: 'none',
    progs: 'progs check: "device ... total_bytes ... is larger than real device size" (is_device_size_valid)',
  },
  'device-generation': {
    group: 'devices',
    severity: 'warning',
    meaning: 'a device given is of another generation than the first',
    locates: 'device',
    repair: 'n/a',
    progs: 'volumes.c device_list_add: the device of the newest generation wins',
  },
  'device-duplicate': { group: 'devices', severity: 'warning', meaning: 'the same devid given twice', locates: 'device', repair: 'n/a', progs: 'volumes.c device_list_add: "duplicate device"' },
  'device-other-fs': {
    group: 'devices',
    severity: 'error',
    meaning: 'a device given belongs to another filesystem',
    locates: 'device',
    repair: 'n/a',
    progs: 'volumes.c: devices are grouped by fsid',
  },
  'device-not-btrfs': { group: 'devices', severity: 'error', meaning: 'a device given has no valid superblock', locates: 'device', repair: 'n/a', progs: 'disk-io.c btrfs_read_dev_super' },
  // Chunks
  'sys-chunk-array': {
    group: 'chunks',
    severity: 'error',
    meaning: "the superblock's sys_chunk_array cannot be read (sizes, key types)",
    locates: 'superblock copy',
    repair: 'none',
    progs: 'volumes.c btrfs_read_sys_array: "sys_array too short to read", "unexpected item type"',
  },
  'sys-chunk-mismatch': {
    group: 'chunks',
    severity: 'error',
    meaning: "a chunk of the sys_chunk_array differs from the chunk tree's",
    locates: 'chunk',
    repair: 'none',
    progs: 'progs check (original): "chunk in sys_chunk_array does not match the chunk tree"',
  },
  'chunk-invalid': {
    group: 'chunks',
    severity: 'error',
    meaning: 'a chunk item that cannot be used (stripes, type)',
    locates: 'chunk',
    repair: 'none',
    progs: 'tree-checker.c btrfs_check_chunk_valid: "invalid chunk type flag", "invalid chunk num_stripes"',
  },
  'chunk-field': {
    group: 'chunks',
    severity: 'error',
    meaning: 'a chunk item field out of range (length, stripe_len, alignment)',
    locates: 'chunk',
    repair: 'none',
    progs: 'tree-checker.c btrfs_check_chunk_valid: "invalid chunk length", "invalid chunk stripe length"',
  },
  'chunk-overlap': {
    group: 'chunks',
    severity: 'error',
    meaning: 'two chunks overlap in the logical address space',
    locates: 'chunk',
    repair: 'none',
    progs: 'volumes.c read_one_chunk: existing mapping found (btrfs_add_chunk_map -EEXIST)',
  },
  'chunk-item-size': {
    group: 'chunks',
    severity: 'error',
    meaning: 'a chunk item of a size that does not hold its stripes',
    locates: 'chunk',
    repair: 'none',
    progs: 'tree-checker.c check_leaf_chunk_item: "invalid chunk item size"',
  },
  // Tree blocks
  'tree-block-copies-differ': {
    group: 'tree blocks',
    severity: 'warning',
    meaning: 'two copies of a DUP or RAID1 tree block are both valid (checksum, bytenr, fsid, items) but their bytes differ: a tamper or firmware signal',
    locates: 'tree block copy',
    repair: 'none',
    progs: 'no counterpart: progs and the kernel read the first good copy; scrub compares checksums only',
  },
  'tree-block-csum': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "a tree block copy's checksum is wrong (nothing else is reported for that copy)",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_validate_extent_buffer: "checksum verify failed"',
  },
  'tree-block-unreadable': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'a tree block copy cannot be read (past the device end, device missing)',
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'progs read_tree_block: "Couldn\'t read tree root"/read errors',
  },
  'unmapped-block': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'a tree block address lies in no chunk',
    locates: 'tree block',
    repair: 'none',
    progs: 'volumes.c btrfs_map_block: "unable to find chunk map for logical"',
  },
  'bytenr-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "the header's bytenr is not the block's address",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_validate_extent_buffer: "bad tree block start"',
  },
  'fsid-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "the header's fsid is not the filesystem's",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c check_tree_block_fsid: "bad fsid on logical"',
  },
  'chunk-tree-uuid-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "the header's chunk tree uuid is not the filesystem's",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'progs check_tree_block: chunk_tree_uuid compare',
  },
  'level-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "the level is not the parent's minus one",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_verify_level_key: "tree level mismatch detected"',
  },
  'bad-level': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'the level is 8 or more',
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c btrfs_validate_extent_buffer: "bad tree block level"',
  },
  'transid-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'the generation differs from what the parent pointer (root item, superblock) expects',
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'disk-io.c verify_parent_transid: "parent transid verify failed"',
  },
  'owner-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning:
      "the header's owner does not fit the tree that reaches it: not a subvolume for a subvolume's block (snapshots share blocks), not that tree for any other (log and reloc trees are not checked)",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c btrfs_check_eb_owner: "owner mismatch, have %llu expect %llu"',
  },
  'first-key-mismatch': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "the first key differs from the parent's key for the block (the kernel refuses such a block)",
    locates: 'tree block',
    repair: 'copy',
    progs: 'disk-io.c btrfs_verify_level_key: "tree first key mismatch detected"',
  },
  'block-reached-twice': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'a block named by a second pointer in one tree (the tree is a DAG)',
    locates: 'tree block',
    repair: 'none',
    progs: 'progs check (original): "tree block ... has been referenced twice" (extent backref count)',
  },
  'key-order': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "keys not strictly ascending in a block, or past the parent's next key",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c check_leaf/__btrfs_check_node: "bad key order"',
  },
  'bad-nritems': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'more items or pointers than fit in the block',
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c __btrfs_check_node: "invalid nritems"',
  },
  'empty-node': {
    group: 'tree blocks',
    severity: 'error',
    meaning: 'a node with no pointers',
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c __btrfs_check_node: "invalid nritems, have 0"',
  },
  'item-offset': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "an item's data lies outside the leaf's data area",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c check_leaf: "slot %d item end beyond leaf"',
  },
  'item-overlap': {
    group: 'tree blocks',
    severity: 'error',
    meaning: "an item's data overlaps the next item's or leaves a gap",
    locates: 'tree block copy',
    repair: 'copy',
    progs: 'tree-checker.c check_leaf: "unexpected item end"',
  },
  // Items
  'key-type-tree': {
    group: 'items',
    severity: 'error',
    meaning: 'an item whose key type does not belong in its tree (e.g. an inode item in the extent tree)',
    locates: 'item',
    repair: 'none',
    progs:
      "no single rule: tree-checker.c check_leaf_item and btrfs check look each item type up only in its own tree, so an item elsewhere is lost to them (format/treeItemTypes.ts lists each tree's types)",
  },
  'root-item-size': {
    group: 'items',
    severity: 'error',
    meaning: 'a root item too short to hold the tree it names',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_root_item: "invalid root item size"',
  },
  'item-size': {
    group: 'items',
    severity: 'error',
    meaning: 'an item too short or long for its type',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_leaf_item: "invalid item size" (per type)',
  },
  'item-invalid': {
    group: 'items',
    severity: 'error',
    meaning: 'an item that cannot be decoded where a file or directory is read',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_leaf_item (the per-type checks)',
  },
  'inode-item': {
    group: 'items',
    severity: 'error',
    meaning: "an inode item field out of range: generation/transid past the filesystem's, key offset not 0, directory with nlink > 1",
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_inode_item: "invalid inode generation", "invalid nlink"',
  },
  'inode-mode': {
    group: 'items',
    severity: 'error',
    meaning: 'an inode mode whose file type (S_IFMT) is none of the seven (every tree, incl. the free-space-cache inodes of the root tree)',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_inode_item: "invalid mode"',
  },
  'inode-flags': {
    group: 'items',
    severity: 'error',
    meaning: 'unknown inode flags, or a symlink immutable/append-only',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_inode_item: "unknown incompat flags"; progs check "invalid inode flags"',
  },
  'inode-ref': {
    group: 'items',
    severity: 'error',
    meaning: 'an INODE_REF/INODE_EXTREF name running past the item',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_inode_ref/check_inode_extref: "inode ref overflow"',
  },
  'dir-item': {
    group: 'items',
    severity: 'error',
    meaning: 'a dir item with a bad file type, name_len > 255, data_len, location key type, or a name running past the item (its transid is not judged: the kernel and btrfs check ignore it)',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_dir_item: "invalid dir item type", "dir item name len too long"',
  },
  'dir-item-hash': {
    group: 'items',
    severity: 'error',
    also: { info: 'in a btrfs-image dump whose names were sanitised (-s): the names match neither their hash nor each other' },
    meaning: 'a DIR_ITEM/XATTR_ITEM name whose crc32c name hash is not the key offset',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_dir_item: "name hash mismatch with key"',
  },
  'dir-item-duplicate': {
    group: 'items',
    severity: 'error',
    meaning: 'one DIR_ITEM/XATTR_ITEM (a hash-collision slot) holds the same name twice',
    locates: 'item',
    repair: 'none',
    progs: "no tree-checker rule: btrfs check (original) counts two DIR_ITEM backrefs for the one name; the kernel's lookup (btrfs_match_dir_item_name) finds only the first",
  },
  'file-extent': {
    group: 'items',
    severity: 'error',
    meaning: 'a file extent with bad type/compression/encryption, unaligned fields, bad inline sizes',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_extent_data_item: "invalid type", "unaligned"',
  },
  'file-extent-range': {
    group: 'items',
    severity: 'error',
    meaning: 'a file extent reaching past its disk extent, or naming it with another length',
    locates: 'item',
    repair: 'none',
    progs: 'progs check: "file extent ... referencing beyond the extent" (check_file_extent)',
  },
  'extent-item': {
    group: 'items',
    severity: 'error',
    meaning: 'an extent item field out of range (flags, refs 0, alignment, inline refs)',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_extent_item: "invalid extent flag", "invalid inline ref type"',
  },
  'extent-inline-ref-order': {
    group: 'items',
    severity: 'error',
    meaning: "an extent item's inline back references not in ascending type order, or within a type not in descending offset (data ref hash) order",
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_extent_item: "inline ref out-of-order"; progs fsck-tests: out-of-order inline backrefs (ntfs2btrfs)',
  },
  'block-group-item': {
    group: 'items',
    severity: 'error',
    meaning: 'a block group item field out of range (length, used, chunk_objectid, flags)',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_block_group_item',
  },
  'root-item': {
    group: 'items',
    severity: 'error',
    meaning: 'a root item field out of range (level, alignment, generation)',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_root_item',
  },
  'csum-item': {
    group: 'items',
    severity: 'error',
    meaning: 'a csum item of a size not a multiple of the checksum size, or unaligned',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_csum_item',
  },
  // Cross references
  'extent-ref-count': {
    group: 'cross references',
    severity: 'error',
    meaning: "an extent item's refs differ from the tree blocks / file extent items really referencing it",
    locates: 'extent',
    repair: 'none',
    progs: 'progs check (original) "ref mismatch on [%llu %llu] extent item %llu, found %llu"',
  },
  'extent-backref-count': {
    group: 'cross references',
    severity: 'error',
    meaning: 'refs differ from the sum of its inline and keyed back references',
    locates: 'extent',
    repair: 'none',
    progs: 'progs check "backpointer mismatch"/"incorrect local backref count"',
  },
  'extent-unreferenced': {
    group: 'cross references',
    severity: 'error',
    meaning: 'an extent item nothing references',
    locates: 'extent',
    repair: 'none',
    progs: 'progs check "ref mismatch ... found 0"',
  },
  'extent-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a tree block or file extent whose extent has no extent item',
    locates: 'extent',
    repair: 'none',
    progs: 'progs check "extent item missing"/"backref lost"',
  },
  'extent-overlap': { group: 'cross references', severity: 'error', meaning: 'extent items overlap', locates: 'extent', repair: 'none', progs: 'progs check "overlapping extents"' },
  'extent-outside-block-group': {
    group: 'cross references',
    severity: 'error',
    meaning: 'an extent lies in no block group',
    locates: 'extent',
    repair: 'none',
    progs: 'progs check "extent ... not in any block group"',
  },
  'block-group-used': {
    group: 'cross references',
    severity: 'error',
    meaning: "a block group's used bytes differ from its extents' total",
    locates: 'block group',
    repair: 'none',
    progs: 'progs check "block group used %llu but extent items used %llu"',
  },
  'block-group-chunk': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a block group without its chunk (or of other flags)',
    locates: 'block group',
    repair: 'none',
    progs: 'block-group.c read_one_block_group: "logical %llu len %llu found bg but no related chunk"',
  },
  'block-group-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a chunk without its block group',
    locates: 'chunk',
    repair: 'none',
    progs: 'block-group.c check_chunk_block_group_mappings: "chunk start=%llu len=%llu doesn\'t have corresponding block group"',
  },
  'dev-extent-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a chunk stripe without its device extent',
    locates: 'chunk',
    repair: 'none',
    progs: 'volumes.c btrfs_verify_dev_extents: "chunk ... missing dev extent"',
  },
  'dev-extent-mismatch': {
    group: 'cross references',
    severity: 'error',
    meaning: "a device extent's chunk or length differs from the chunk stripe's",
    locates: 'device extent',
    repair: 'none',
    progs: 'volumes.c verify_one_dev_extent: "dev extent physical offset ... len ... mismatch"',
  },
  'dev-extent-orphan': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a device extent no chunk stripe names',
    locates: 'device extent',
    repair: 'none',
    progs: 'volumes.c verify_one_dev_extent: "doesn\'t have corresponding chunk"',
  },
  'dev-extent-overlap': {
    group: 'cross references',
    severity: 'error',
    meaning: 'device extents of one device overlap',
    locates: 'device extent',
    repair: 'none',
    progs: 'volumes.c btrfs_verify_dev_extents: "dev extents overlap"',
  },
  'dev-extent-beyond-device': {
    group: 'cross references',
    severity: 'error',
    meaning: "a device extent past its device's total_bytes",
    locates: 'device extent',
    repair: 'none',
    progs: 'volumes.c verify_one_dev_extent: "dev extent ... is beyond device boundary"',
  },
  'dev-bytes-used': {
    group: 'cross references',
    severity: 'error',
    meaning: "a dev item's bytes_used differs from its device extents' total",
    locates: 'device',
    repair: 'none',
    progs: 'progs check "Dev extent\'s total-byte %llu is not equal to bytes-used %llu"',
  },
  'free-space-orphan': {
    group: 'cross references',
    severity: 'error',
    also: { info: 'for space no chunk holds: leftovers of the temporary chunks of mkfs.btrfs before 6.3, never read by the kernel' },
    meaning: 'a free space tree entry not inside one block group',
    locates: 'byte range',
    repair: 'none',
    progs: 'progs check free-space-tree.c: "free space info/extent does not match block group"',
  },
  'free-space-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a block group without FREE_SPACE_INFO in the free space tree',
    locates: 'block group',
    repair: 'none',
    progs: 'free-space-tree.c load_free_space_tree: "missing free space info"',
  },
  'free-space-overlap': {
    group: 'cross references',
    severity: 'error',
    meaning: 'free space (of the free space tree, or of a free space cache v1 the kernel would load) overlapping an allocated extent',
    locates: 'byte range',
    repair: 'none',
    progs: 'progs check verify_space_cache: "There is no free space entry for ..."/"free space overlaps extent"',
  },
  'free-space-count': {
    group: 'cross references',
    severity: 'error',
    meaning:
      "a block group's FREE_SPACE_INFO disagrees with its free space items: extent_count is not the number of free extents they hold, or its USING_BITMAPS flag is not the kind of item they are",
    locates: 'block group',
    repair: 'none',
    progs: 'free-space-tree.c load_free_space_extents/load_free_space_bitmaps: "incorrect extent count for %llu; counted %u, expected %u" (the block group cannot be cached, -EIO)',
  },
  'free-space-total': {
    group: 'cross references',
    severity: 'error',
    meaning: "a block group's free space and allocated extents together cover less than its length: bytes neither free nor allocated, lost to the allocator",
    locates: 'block group',
    repair: 'none',
    progs: 'progs check verify_space_cache: "There is no free space entry for %llu-%llu"',
  },
  'space-cache-entry': {
    group: 'cross references',
    severity: 'error',
    meaning:
      'a free space cache (v1) the kernel would load holds a free range outside its block group or over another free range, or more free bytes than the block group has free (length - used - superblock stripes): the allocator would hand out used space',
    locates: 'byte range',
    repair: 'none',
    progs:
      'progs check (clear-cache.c verify_space_cache): "There are still entries left in the space cache", "cache appears valid but isn\'t"; load_free_space_cache: "free space cache has more free space than block group item"',
  },
  'root-ref': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a ROOT_REF without its ROOT_BACKREF or the reverse',
    locates: 'subvolume',
    repair: 'none',
    progs: 'progs check "unresolved ref root"/check_root_refs',
  },
  'root-orphan-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'a deleted subvolume (root item refs 0) without its orphan item',
    locates: 'subvolume',
    repair: 'none',
    progs: 'progs check "missing orphan item for dead root"',
  },
  'subvolume-loop': {
    group: 'cross references',
    severity: 'error',
    meaning: 'the chain of ROOT_BACKREFs loops',
    locates: 'subvolume',
    repair: 'none',
    progs: 'no message of its own: btrfs check and the kernel resolve subvolume paths through ROOT_BACKREFs (btrfs_get_parent, path resolution) and stop at a cycle',
  },
  // Files and directories
  nlink: { group: 'files', severity: 'error', meaning: "an inode's nlink differs from its names", locates: 'inode', repair: 'none', progs: 'progs check "link count wrong" (I_ERR_LINK_COUNT_WRONG)' },
  'orphan-missing': {
    group: 'files',
    severity: 'error',
    meaning: 'an inode with nlink 0 without an orphan item',
    locates: 'inode',
    repair: 'none',
    progs: 'progs check "no orphan item" (I_ERR_NO_ORPHAN_ITEM)',
  },
  'dir-isize': {
    group: 'files',
    severity: 'error',
    meaning: "a directory's size differs from the sum of its names' lengths in DIR_ITEM and DIR_INDEX",
    locates: 'inode',
    repair: 'none',
    progs: 'progs check "dir isize wrong" (I_ERR_DIR_ISIZE_WRONG)',
  },
  'inode-nbytes': {
    group: 'files',
    severity: 'error',
    meaning: "a file's nbytes differs from the bytes its file extents account for",
    locates: 'inode',
    repair: 'none',
    progs: 'progs check "nbytes wrong" (I_ERR_FILE_NBYTES_WRONG)',
  },
  'dir-item-missing': {
    group: 'files',
    severity: 'error',
    also: { info: 'in a btrfs-image dump whose names were sanitised (-s): the names match neither their hash nor each other' },
    meaning: 'a DIR_INDEX without its DIR_ITEM',
    locates: 'name',
    repair: 'none',
    progs: 'progs check "dir item missing"/REF_ERR_NO_DIR_ITEM',
  },
  'dir-index-missing': {
    group: 'files',
    severity: 'error',
    also: { info: 'in a btrfs-image dump whose names were sanitised (-s): the names match neither their hash nor each other' },
    meaning: 'a DIR_ITEM without its DIR_INDEX',
    locates: 'name',
    repair: 'none',
    progs: 'progs check REF_ERR_NO_DIR_INDEX',
  },
  'inode-ref-missing': {
    group: 'files',
    severity: 'error',
    also: { info: 'in a btrfs-image dump whose names were sanitised (-s): the names match neither their hash nor each other' },
    meaning: 'a directory entry without the INODE_REF of the name',
    locates: 'name',
    repair: 'none',
    progs: 'progs check REF_ERR_NO_INODE_REF',
  },
  'dir-entry-missing': {
    group: 'files',
    severity: 'error',
    also: { info: 'in a btrfs-image dump whose names were sanitised (-s): the names match neither their hash nor each other' },
    meaning: 'an INODE_REF without a directory entry',
    locates: 'name',
    repair: 'none',
    progs: 'progs check REF_ERR_NO_DIR_ITEM/REF_ERR_NO_DIR_INDEX',
  },
  'inode-missing': {
    group: 'files',
    severity: 'error',
    meaning: 'names or directory entries lead to an inode without an inode item',
    locates: 'inode',
    repair: 'none',
    progs: 'progs check "no inode item" (I_ERR_NO_INODE_ITEM)',
  },
  'file-extent-gap': {
    group: 'files',
    severity: 'error',
    meaning: 'a regular file whose file extents leave a gap below its size, on a filesystem without the NO_HOLES feature (where holes are extents too)',
    locates: 'inode',
    repair: 'none',
    progs: 'progs check (original) I_ERR_FILE_EXTENT_DISCOUNT "file extent discount"; lowmem "gap exists, expected: EXTENT_DATA"',
  },
  'file-extent-overlap': {
    group: 'files',
    severity: 'error',
    meaning: "a file's extents overlap",
    locates: 'item',
    repair: 'none',
    progs: 'progs check "file extent overlap" (I_ERR_FILE_EXTENT_OVERLAP); tree-checker.c check_extent_data_item "file extent end range overlaps"',
  },
  'dir-entry-location': {
    group: 'files',
    severity: 'error',
    meaning: 'a directory entry whose location key names no inode or subvolume',
    locates: 'name',
    repair: 'none',
    progs: 'progs check REF_ERR_BAD_LOCATION/"invalid location in dir item"',
  },
  'dir-entry-type': {
    group: 'files',
    severity: 'warning',
    meaning: "a directory entry's file type differs from its inode's mode",
    locates: 'name',
    repair: 'none',
    progs: 'progs check REF_ERR_FILETYPE_UNMATCH "filetype mismatch"',
  },
  'directory-loop': {
    group: 'files',
    severity: 'error',
    meaning: "a directory's parents loop (it is its own ancestor)",
    locates: 'inode',
    repair: 'none',
    progs: "no message of its own: a directory that is its own ancestor breaks path resolution (the kernel's btrfs_get_parent walk, btrfs check's path building)",
  },
  'directory-too-deep': {
    group: 'files',
    severity: 'error',
    meaning: 'a directory deeper than the walk allows; not entered',
    locates: 'inode',
    repair: 'none',
    progs: 'no counterpart: a bound of this tool against hostile images',
  },
  'csum-orphan': {
    group: 'cross references',
    severity: 'error',
    meaning: 'checksums for bytes no data extent holds',
    locates: 'byte range',
    repair: 'none',
    progs: 'progs check "csum exists for %llu-%llu but there is no extent record"',
  },
  'csum-overlap': { group: 'cross references', severity: 'error', meaning: 'checksum items overlap', locates: 'item', repair: 'none', progs: 'progs check check_csums: overlapping csum items' },
  'csum-unmapped': {
    group: 'cross references',
    severity: 'error',
    meaning: 'checksums for logical addresses in no chunk',
    locates: 'byte range',
    repair: 'none',
    progs: 'progs check check_csums: "csum ... not in any chunk"',
  },
  'data-csum-missing': {
    group: 'cross references',
    severity: 'error',
    also: { warning: 'met while reading a file (cat/extract) rather than by check' },
    meaning: 'written data of a checksummed file (or any compressed extent) without checksums',
    locates: 'byte range',
    repair: 'none',
    progs: 'progs check "some csum missing" (check_extent_csums)',
  },
  'log-item-type': {
    group: 'items',
    severity: 'error',
    meaning:
      "an item of an unreplayed log whose key type has no place there (the log root tree holds the log trees' root items; a log tree a subvolume's inode, name, xattr, file extent, dir-log and checksum items)",
    locates: 'item',
    repair: 'none',
    progs:
      'tree-log.c: btrfs_sync_log inserts only root items into the log root tree, copy_items/log_extent_csums/insert_dir_log_key only those items into a log tree, and replay_one_buffer replays each by its type; progs check (check_log) reads only root items of the log root tree',
  },
  'log-csum-missing': {
    group: 'cross references',
    severity: 'error',
    meaning:
      'a file extent of an unreplayed log tree whose data has no checksums in that log nor in the csum tree (the kernel logs them with the extent, those of earlier transactions stay in the csum tree; replay would leave the data without checksums)',
    locates: 'item',
    repair: 'none',
    progs:
      'progs check (check_log_root: the log, then the csum tree): "csum missing in log (root %llu inode %llu offset %llu address 0x%llx length %llu)"; tree-log.c log_extent_csums/copy_items log them',
  },
  'qgroup-count': {
    group: 'cross references',
    severity: 'error',
    meaning:
      "a qgroup's referenced or exclusive bytes differ from the tree blocks and data extents its subvolume (level 0) or its member subvolumes through QGROUP_RELATION items (level 1 and above: referenced when a member reaches the extent, exclusive when only members do) really reach (judged only with quotas consistent, no rescan, no subvolume being dropped)",
    locates: 'item',
    repair: 'none',
    progs: 'progs check --qgroup-report (qgroup-verify.c account_one_extent, report_qgroups): "Counts for qgroup id: %llu/%llu are different"',
  },
  'squota-count': {
    group: 'cross references',
    severity: 'error',
    meaning:
      "with simple quotas (incompat SIMPLE_QUOTA): a qgroup's referenced or exclusive bytes differ from the extents of generation enable_gen or later that its subvolume (or, above level 0, its member subvolumes) owns: data extents by their EXTENT_OWNER_REF inline ref, tree blocks by their header owner; referenced equals exclusive",
    locates: 'item',
    repair: 'none',
    progs: 'progs check --qgroup-report (qgroup-verify.c simple_quota_account_extent): "Counts for qgroup id: %llu/%llu are different"; kernel qgroup.c btrfs_record_squota_delta',
  },
  // Data
  'data-csum': {
    group: 'data',
    severity: 'error',
    also: { warning: 'met while reading a file when another copy served the sector good' },
    meaning: 'a run of sectors of one copy does not match its checksums',
    locates: 'data sector copy',
    repair: 'copy',
    progs: 'progs check --check-data-csum: "mirror %d bytenr %llu csum %s expected csum %s"',
  },
  'data-unreadable': {
    group: 'data',
    severity: 'error',
    meaning: 'a data copy cannot be read (past the end of a device)',
    locates: 'data sector copy',
    repair: 'copy',
    progs: 'progs check --check-data-csum: read errors',
  },
  'decompress-failed': {
    group: 'data',
    severity: 'error',
    meaning: 'a compressed extent that does not decompress',
    locates: 'extent',
    repair: 'none',
    progs: 'compression.c: decompression errors (-EIO on read)',
  },
  // Notes
  'metadump-sanitized': {
    group: 'notes',
    severity: 'info',
    meaning: 'a btrfs-image dump whose names fail their hash: made with -s/-ss (names replaced, keys kept); the name findings are then notes',
    locates: 'filesystem',
    repair: 'n/a',
    progs: 'progs btrfs-image -s (image/sanitize.c: garbage or crc32c-colliding names); progs check of the restored dump reports every name',
  },
  'metadump-cluster': {
    group: 'devices',
    severity: 'error',
    meaning:
      "a btrfs-image dump read in place: a cluster index without the magic of the dump's format, with more ranges than an index block holds, or of unknown compression (the dump is read up to it)",
    locates: 'device',
    repair: 'none',
    progs: 'progs image-restore.c: "bad header in metadump image" (restore stops)',
  },
  'metadump-range': {
    group: 'devices',
    severity: 'error',
    meaning: 'a btrfs-image dump read in place: a range running past the end of the file, overlapping another, or not inflating (the tree blocks it held are unreadable)',
    locates: 'device',
    repair: 'none',
    progs: 'progs image-restore.c: "failed to read buffer", "decompress failed" (restore fails)',
  },
  'metadump-super': {
    group: 'superblock',
    severity: 'error',
    meaning: 'a btrfs-image dump read in place holds no superblock (a range at 65536 of 4096 bytes)',
    locates: 'device',
    repair: 'none',
    progs: 'progs image-restore.c build_chunk_tree: "invalid superblock" / no super item in the first cluster',
  },
  'device-ignored': {
    group: 'devices',
    severity: 'warning',
    meaning: 'a --device given beside a btrfs-image dump, which holds the metadata of every device: not read',
    locates: 'device',
    repair: 'n/a',
    progs: 'progs btrfs-image -r: one dump file restores every device (-m)',
  },
  metadump: {
    group: 'notes',
    severity: 'info',
    meaning: 'image made by btrfs-image: metadata only, data not checked',
    locates: 'filesystem',
    repair: 'n/a',
    progs: 'super flag METADUMP (progs btrfs-image)',
  },
  'qgroup-stale': {
    group: 'notes',
    severity: 'info',
    meaning:
      "a qgroup's numbers differ from its extents while the quota status item says INCONSISTENT (a relation assigned or a qgroup created without a rescan): the kernel's numbers wait for `btrfs quota rescan`, a difference is expected",
    locates: 'item',
    repair: 'n/a',
    progs: 'progs check --qgroup-report (qgroup-verify.c report_qgroups): "Rescan hasn\'t been initialized, a difference in qgroup accounting is expected" (not an error)',
  },
  'space-cache-stale': {
    group: 'notes',
    severity: 'info',
    meaning:
      "a free space cache (v1) the kernel discards and rebuilds at mount: superblock cache_generation not its generation, header generation not the inode's or the file's, a page crc that does not match, an entry of 0 bytes, two entries at one offset, a header of no block group, or less free space than the block group has",
    locates: 'item',
    repair: 'n/a',
    progs:
      'kernel free-space-cache.c __load_free_space_cache ("free space inode generation (%llu) did not match free space cache generation", "csum mismatch on free space cache", "block group %llu has wrong amount of free space"); progs check "cache and super generation don\'t match, space cache will be invalidated" (not errors)',
  },
  'log-tree': {
    group: 'notes',
    severity: 'info',
    meaning: "a log tree holds fsync'd changes not yet replayed (normal after a crash)",
    locates: 'tree block',
    repair: 'n/a',
    progs: 'progs check: "log tree present" (replayed by the kernel at mount)',
  },
} as const satisfies { readonly [code: string]: Rule };

export type FindingCode = keyof typeof RULES;

/** The severities a code may be reported with: its own, and the `also` ones. */
export type SeverityOf<C extends FindingCode> = (typeof RULES)[C]['severity'] | ((typeof RULES)[C] extends { also: infer A } ? keyof A & Severity : never);

export const FINDING_CODES = Object.keys(RULES) as FindingCode[];

export function isFindingCode(s: string): s is FindingCode {
  return Object.hasOwn(RULES, s);
}

/**
 * Code and severity for a finding, spread into it: `{ ...rule('key-order'),
 * message, location }`. The severity is the catalogue's unless one of its
 * `also` severities is asked for (a type error otherwise).
 */
export function rule<C extends FindingCode>(code: C, severity?: SeverityOf<C>): { code: C; severity: Severity } {
  return { code, severity: severity ?? RULES[code].severity };
}
