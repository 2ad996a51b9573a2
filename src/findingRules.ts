/**
 * The catalogue of finding codes: every kind of damage (or fact) any layer
 * can report, with its severity, what it means, what it locates, whether
 * another copy can repair it, and the btrfs-progs `check` or kernel rule it
 * corresponds to. Emitters take code and severity from here (`rule(code)`),
 * so a code not in the catalogue is a type error; docs/check-rules.md is
 * generated from it (scripts/check-rules-doc.mjs).
 *
 * It lives at the root of src/ (importing only its own data, one file per
 * group in src/findingRules/) because findings are made in every layer from
 * format up.
 */
import { CROSS_REFERENCE_RULES } from './findingRules/crossReferences.js';
import { FILE_RULES } from './findingRules/files.js';
import { POLICY_RULES } from './findingRules/policy.js';
import { RAID_STRIPE_RULES } from './findingRules/raidStripes.js';
import { TREE_BLOCK_RULES } from './findingRules/treeBlocks.js';
import { VOLUME_RULES } from './findingRules/volume.js';

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

export type RuleGroup = 'superblock' | 'devices' | 'chunks' | 'tree blocks' | 'items' | 'cross references' | 'files' | 'data' | 'notes' | 'manifest' | 'policy';

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

/** The whole catalogue, in the order the docs list it (src/findingRules/: the groups, in files by layer). */
export const RULES = { ...VOLUME_RULES, ...TREE_BLOCK_RULES, ...CROSS_REFERENCE_RULES, ...RAID_STRIPE_RULES, ...FILE_RULES, ...POLICY_RULES } as const;

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
