import type { Rule } from '../findingRules.js';

/**
 * Findings of `verify`: an image's content against its manifest, and its
 * policy (what an image built for release must not hold). Not damage (repair n/a) but a build's choice, reported as errors
 * since they fail the verification. Part of the catalogue in src/findingRules.ts.
 */
export const POLICY_RULES = {
  'policy-world-writable': {
    group: 'policy',
    severity: 'error',
    meaning: 'a file or directory anyone may write (mode o+w; a sticky directory such as /tmp is allowed): verify --deny world-writable',
    locates: 'inode',
    repair: 'n/a',
    progs: 'no progs rule; as `find -perm -o+w ! -type l` on the mounted image',
  },
  'policy-setuid': {
    group: 'policy',
    severity: 'error',
    meaning: 'a setuid or setgid regular file not in the allowed list: verify --deny setuid --allow-setuid',
    locates: 'inode',
    repair: 'n/a',
    progs: 'no progs rule; as `find -type f -perm /6000` on the mounted image',
  },
  'policy-snapshot': {
    group: 'policy',
    severity: 'error',
    meaning: 'a snapshot (a subvolume with a parent uuid) left in the image: verify --deny snapshots',
    locates: 'subvolume',
    repair: 'n/a',
    progs: 'no progs rule; as `btrfs subvolume list -s` (ROOT_ITEM parent_uuid set)',
  },
  'policy-free-space': {
    group: 'policy',
    severity: 'error',
    meaning: 'less free space than required, as `usage` estimates it: verify --min-free',
    locates: 'filesystem',
    repair: 'n/a',
    progs: 'no progs rule; "Free (estimated)" of `btrfs filesystem usage`',
  },
  'policy-compression': {
    group: 'policy',
    severity: 'error',
    meaning:
      "a file whose data is not as required: with verify --compressed all, a data extent stored uncompressed (inline, regular or preallocated); with --compressed none, one stored compressed (the file extent item's compression byte)",
    locates: 'inode',
    repair: 'n/a',
    progs: 'no progs rule; as FIEMAP\'s FIEMAP_EXTENT_ENCODED flag ("encoded" in `filefrag -v`) or `compsize`',
  },
  'manifest-missing': {
    group: 'manifest',
    severity: 'error',
    meaning: 'an entry the manifest names and the image lacks: verify --manifest',
    locates: 'filesystem',
    repair: 'n/a',
    progs: 'no progs rule; as `bsdtar -cf - --format=mtree` of the source directory compared with the mounted image',
  },
  'manifest-extra': {
    group: 'manifest',
    severity: 'error',
    meaning: "an entry of the image the manifest does not name (within the manifest's scope): verify --manifest",
    locates: 'inode',
    repair: 'n/a',
    progs: 'no progs rule; as `mtree -f MANIFEST -p MOUNTPOINT` ("extra")',
  },
  'manifest-different': {
    group: 'manifest',
    severity: 'error',
    meaning: 'an entry whose keyword (type, mode, owner, size, time, link, digest, …) differs from the manifest: verify --manifest',
    locates: 'inode',
    repair: 'n/a',
    progs: 'no progs rule; as `mtree -f MANIFEST -p MOUNTPOINT` (a changed keyword)',
  },
} as const satisfies { readonly [code: string]: Rule };
