import type { Rule } from '../findingRules.js';

/**
 * Finding codes about the raid stripe tree (tree 12, incompat RAID_STRIPE_TREE): where data of
 * the DUP, RAID1*, RAID0 and RAID10 data block groups was written (RAID_STRIPE items, key
 * (logical, 230, length), an array of 16-byte strides devid + physical). Part of the catalogue
 * in src/findingRules.ts.
 */
export const RAID_STRIPE_RULES = {
  'rst-item-size': {
    group: 'items',
    severity: 'error',
    meaning: 'a RAID_STRIPE item whose size is not a whole, non-zero number of 16-byte strides: the stride count (item size / 16) is wrong',
    locates: 'item',
    repair: 'none',
    progs: 'raid-stripe-tree.h btrfs_num_raid_stripes (item size / sizeof(btrfs_raid_stride)); btrfs_stripe_extent holds strides only',
  },
  'rst-key': {
    group: 'items',
    severity: 'error',
    meaning: 'a RAID_STRIPE key whose logical start or length is not sector aligned, or whose length is 0; the item is not used',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_raid_stripe_extent: "invalid key objectid for raid stripe extent, have %llu expect aligned to %u"',
  },
  'rst-feature': {
    group: 'items',
    severity: 'error',
    meaning: 'a raid stripe tree (or RAID_STRIPE item) on a filesystem whose superblock lacks incompat RAID_STRIPE_TREE',
    locates: 'item',
    repair: 'none',
    progs: 'tree-checker.c check_raid_stripe_extent: "RAID_STRIPE_EXTENT present but RAID_STRIPE_TREE incompat bit unset"',
  },
  'rst-overlap': {
    group: 'cross references',
    severity: 'error',
    meaning: 'RAID_STRIPE items overlap: a logical address would have two places; the later item is not used',
    locates: 'item',
    repair: 'none',
    progs: 'raid-stripe-tree.c btrfs_get_raid_extent_offset takes the first item holding the address; btrfs_insert_raid_extent never inserts overlapping items',
  },
  'rst-stride': {
    group: 'cross references',
    severity: 'error',
    meaning:
      "a RAID_STRIPE item that does not fit its chunk: outside a data chunk of a profile the tree covers, a stride count other than the profile's copies per stripe, a device the chunk does not use, or a physical range outside the chunk's device extent",
    locates: 'item',
    repair: 'none',
    progs: 'raid-stripe-tree.c btrfs_insert_one_raid_extent writes one stride per bioc stripe (the chunk map\'s devices); btrfs_get_raid_extent_offset: "cannot find raid-stripe for logical"',
  },
  'rst-missing': {
    group: 'cross references',
    severity: 'error',
    meaning: 'written file data in a data block group the raid stripe tree covers, with no RAID_STRIPE item saying where it is: it cannot be read',
    locates: 'byte range',
    repair: 'none',
    progs: 'raid-stripe-tree.c btrfs_get_raid_extent_offset: "cannot find raid-stripe for logical [%llu, %llu] devid %llu" (-ENOENT, the read fails)',
  },
} as const satisfies { readonly [code: string]: Rule };
