import type { ItemContext, ProgsRelease } from '../../format/items/index.js';

/** Which btrfs-progs release's dump-tree text to reproduce (the registry's ProgsRelease). */
export type ProgsStyle = ProgsRelease;

export interface PrintContext extends ItemContext {
  /** Superblock csum_type (names the csum in --csum-headers output; sizes come from csumSize). */
  csumType: number;
  /** Which btrfs-progs release to imitate; '6.2' (Debian's) by default. */
  progs?: ProgsStyle;
  /** As dump-tree --csum-items: print every data checksum of EXTENT_CSUM items. */
  csumItems?: boolean;
  /** As dump-tree --csum-headers: print the block checksum in the header. */
  csumHeaders?: boolean;
  /** As dump-tree --hide-names: names and xattr values print as HIDDEN. */
  hideNames?: boolean;
  /** Superblock incompat flags; 6.19 prints QGROUP_STATUS enable_gen only with SIMPLE_QUOTA (1 << 16). */
  incompatFlags?: bigint;
  /** Zone of the "(YYYY-MM-DD HH:MM:SS)" after timestamps: dump-tree uses local time; default 'utc'. */
  timeZone?: 'utc' | 'local';
}
