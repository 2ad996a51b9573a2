import { RULES, type Rule, type RuleGroup } from '../findingRules.js';

const GROUPS: readonly RuleGroup[] = ['superblock', 'devices', 'chunks', 'tree blocks', 'items', 'cross references', 'files', 'data', 'notes', 'manifest', 'policy'];

const REPAIR: Record<Rule['repair'], string> = { copy: 'another copy', none: 'no', 'n/a': '—' };

/** A table cell: pipes escaped, so progs messages with `|` keep the table whole. */
const cell = (s: string) => s.replace(/\|/g, '\\|');

/**
 * docs/check-rules.md: the finding catalogue (findingRules.ts) as Markdown,
 * one table per group in the order check reports them. Written by
 * `node --import tsx scripts/check-rules-doc.ts`; a test fails when the
 * committed page differs.
 */
export function renderRuleCatalogue(): string {
  const out: string[] = [
    '# `check`: the finding codes',
    '',
    '<!-- Generated from src/findingRules.ts by `node --import tsx scripts/check-rules-doc.ts`; do not edit. -->',
    '',
    'Every finding any command reports has one of these codes ([check-json.md](check-json.md) describes',
    'the finding object). **severity**: what it is reported with (`error` makes `check` exit 1; a second',
    "severity and when it applies follow in parentheses). **locates**: what the finding's `location` names.",
    '**repair**: `another copy` when the damage is in one copy of a mirrored block, sector or superblock',
    '(`repairable` says whether a good copy was read); `no` when the content itself is wrong.',
    '**btrfs-progs / kernel**: the rule of `btrfs check` (original or lowmem mode) or of the kernel',
    '(`tree-checker.c`, `disk-io.c`, `volumes.c`) it corresponds to, by function or message.',
    '',
  ];
  const entries = Object.entries(RULES) as [string, Rule][];
  for (const g of GROUPS) {
    const rows = entries.filter(([, r]) => r.group === g);
    if (!rows.length) continue;
    out.push(`## ${g[0]!.toUpperCase()}${g.slice(1)}`, '', '| code | severity | meaning | locates | repair | btrfs-progs / kernel |', '|---|---|---|---|---|---|');
    for (const [code, r] of rows) {
      const also = Object.entries(r.also ?? {})
        .map(([s, when]) => ` (${s}: ${when})`)
        .join('');
      out.push(`| \`${code}\` | ${r.severity}${cell(also)} | ${cell(r.meaning)} | ${r.locates} | ${REPAIR[r.repair]} | ${cell(r.progs)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
