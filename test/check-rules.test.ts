import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { FINDING_CODES, isFindingCode, RULES } from '../src/findingRules.js';
import { renderRuleCatalogue } from '../src/report/ruleCatalogue.js';

const ROOT = join(__dirname, '..');

function files(dir: string, ext = '.ts'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p, ext));
    else if (name.endsWith(ext)) out.push(p);
  }
  return out;
}

const SOURCES = files(join(ROOT, 'src')).filter((p) => !p.endsWith('findingRules.ts'));
const TESTS = files(join(ROOT, 'test')).filter((p) => !p.endsWith('check-rules.test.ts'));

/**
 * Codes in the catalogue that no test names (as a quoted string: an expected
 * finding code) — each with why. This list may only shrink: a code that a
 * test comes to name must be taken off it (the test below fails until it is),
 * and a new code needs a test, not an entry here.
 */
const UNTESTED: Record<string, string> = {
  'chunk-tree-uuid-mismatch': "emitted only when the block reader is given an expected chunk tree uuid, which check does not give it (the kernel's read-time checks compare the fsid only)",
};

/** Quoted codes a source file hands to an emitter: rule('x'), bad('x'), report('x'), code: 'x'. */
function emittedCodes(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/\b(?:rule|bad|report)\(\s*'([a-z0-9-]+)'/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\bcode: '([a-z0-9-]+)'/g)) out.push(m[1]!);
  return out;
}

describe('the finding catalogue (src/findingRules.ts)', () => {
  test('docs/check-rules.md is generated from it and current', () => {
    const committed = readFileSync(join(ROOT, 'docs', 'check-rules.md'), 'utf8');
    expect(committed, 'stale: run `node --import tsx scripts/check-rules-doc.ts`').toBe(renderRuleCatalogue());
    for (const code of FINDING_CODES) expect(committed).toContain(`| \`${code}\` |`);
  });

  test('every rule names what it locates, whether a copy repairs it, and the progs/kernel rule', () => {
    for (const code of FINDING_CODES) {
      const r = RULES[code];
      expect(r.meaning.length, code).toBeGreaterThan(10);
      expect(r.progs.length, code).toBeGreaterThan(10);
      // Damage a copy repairs is located to the copy (or superblock copy, device sector).
      if (r.repair === 'copy') expect(['superblock copy', 'tree block copy', 'tree block', 'data sector copy'], code).toContain(r.locates);
      // Not damage: notes, device facts, and verify's manifest and policy findings (a build's choice, failing as errors).
      if (r.repair === 'n/a') expect(r.severity === 'info' || code.startsWith('device-') || r.group === 'policy' || r.group === 'manifest', code).toBe(true);
    }
  });

  test('no source emits a code that is not in it, nor sets a severity beside a code literal', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const p of SOURCES) {
      const text = readFileSync(p, 'utf8');
      // Modules that make findings import the catalogue or the Finding type; others' `code:` fields are their own
      // vocabularies (verify's policy violations), which Finding's type keeps apart.
      if (!/from '[./]*(findingRules|findings)\.js'/.test(text)) continue;
      for (const c of emittedCodes(text)) {
        seen++;
        if (!isFindingCode(c)) unknown.push(`${p}: ${c}`);
      }
      // Severity comes from the catalogue: `code: 'x', severity: ...` would bypass it.
      expect(text, p).not.toMatch(/code: '[a-z0-9-]+', severity:/);
    }
    expect(unknown).toEqual([]);
    expect(seen, 'the scan found the emitters').toBeGreaterThan(100);
  });

  test('the codes assembled from superblock states are in it', () => {
    // volume/assemble.ts reports `super-${state}` for these mirror states (volume/superblocks.ts).
    for (const s of ['bad-magic', 'bad-csum', 'invalid', 'older', 'newer']) expect(isFindingCode(`super-${s}`), s).toBe(true);
  });

  test('every code is named by some test, except the reasoned ones (a list that only shrinks)', () => {
    const testText = TESTS.map((p) => readFileSync(p, 'utf8')).join('\n');
    const named = (c: string) => testText.includes(`'${c}'`) || testText.includes(`"${c}"`);
    const untested = FINDING_CODES.filter((c) => !named(c));
    expect(
      untested.filter((c) => !(c in UNTESTED)),
      'codes no test names: add a test that builds the violation',
    ).toEqual([]);
    expect(
      Object.keys(UNTESTED).filter((c) => !untested.includes(c as never)),
      'now tested (or gone): take them off UNTESTED',
    ).toEqual([]);
  });
});
