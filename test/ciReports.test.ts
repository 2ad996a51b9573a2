/**
 * check's findings as JUnit XML, SARIF 2.1.0 and GitHub annotations, from real check runs
 * (the clean demo image and the damage recipes): SARIF validated against the OASIS schema
 * (test/fixtures/sarif), every failing finding present with its location, nothing invented.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { type Finding, formatLocation } from '../src/findings.js';
import { type CheckedImage, githubAnnotations, JunitStream, junitReport, type RuleInfo, SarifStream, sarifReport } from '../src/report/ciReports.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { recipes } from './helpers/damagedCheck.js';
import { openSample } from './helpers/samples.js';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'sarif', 'sarif-schema-2.1.0.json'), 'utf8'));
// ajv-draft-04 is CommonJS (module.exports = Ajv): loaded through require, typed as its default export.
const Ajv = createRequire(import.meta.url)('ajv-draft-04') as typeof import('ajv-draft-04').default;
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
const validate = ajv.compile(schema);

/** A catalogue made from the findings themselves (the real one is given by the CLI). */
const rulesOf = (fs: Finding[]): Record<string, RuleInfo> => Object.fromEntries(fs.map((f) => [f.code, { severity: f.severity, meaning: `meaning of ${f.code}`, group: f.code.split('-')[0]! }]));
const failing = (f: Finding) => f.severity === 'error';

function checked(): CheckedImage[] {
  const clean = openSample('default');
  const out: CheckedImage[] = [{ image: 'clean.img', findings: runCheck(clean).findings, failing }];
  const damaged = recipes().find((r) => r.name === 'both DUP copies of an fs leaf corrupted')!;
  out.push({ image: 'damaged leaf.img', findings: runCheck(Filesystem.open(damaged.sources)).findings, failing });
  out.push({ image: 'gone.img', findings: [], error: 'no such file or device', failing });
  return out;
}

describe('CI reports', () => {
  const images = checked();
  const all = images.flatMap((i) => i.findings);
  const rules = rulesOf(all);
  const damagedErrors = images[1]!.findings.filter(failing);

  it('the damaged image has errors and the clean one none (the inputs are what they say)', () => {
    expect(damagedErrors.length).toBeGreaterThan(0);
    expect(images[0]!.findings.filter(failing)).toEqual([]);
  });

  it('SARIF 2.1.0 is valid against the OASIS schema and holds every finding with its level and location', () => {
    const doc = sarifReport(images, rules, { name: 'btrfs-inspect', version: '0.1.0', informationUri: 'https://example.org/btrfs-inspect' });
    const ok = validate(doc);
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(ok).toBe(true);
    // The validator does reject what the schema forbids (a level SARIF has not).
    expect(validate(JSON.parse(JSON.stringify(doc).replace('"level":"error"', '"level":"fatal"')))).toBe(false);
    const run = (
      doc['runs'] as {
        results: {
          ruleId: string;
          level: string;
          message: { text: string };
          locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { byteOffset: number } }; logicalLocations?: { fullyQualifiedName: string }[] }[];
        }[];
        tool: { driver: { rules: { id: string }[] } };
      }[]
    )[0]!;
    expect(run.results.length).toBe(all.length + 1);
    const errs = run.results.filter((r) => r.level === 'error' && r.ruleId !== 'unreadable');
    expect(errs.map((r) => [r.ruleId, r.message.text])).toEqual(damagedErrors.map((f) => [f.code, f.message]));
    for (const [r, f] of errs.map((r, i) => [r, damagedErrors[i]!] as const)) {
      const loc = r.locations[0]!;
      if (f.location.physical !== undefined) expect(BigInt(loc.physicalLocation.region!.byteOffset)).toBe(f.location.physical);
      expect(loc.logicalLocations?.[0]?.fullyQualifiedName).toBe(formatLocation({ ...f.location, device: undefined, devid: undefined, physical: undefined } as never));
    }
    // Rules in the order their codes first occur (the run's results are written before its rules).
    expect(run.tool.driver.rules.map((r) => r.id)).toEqual([...new Set(all.map((f) => f.code))]);
    for (const r of run.results.filter((x) => x.ruleId !== 'unreadable')) expect(run.tool.driver.rules[(r as unknown as { ruleIndex: number }).ruleIndex]!.id).toBe(r.ruleId);
    expect(run.results.find((r) => r.ruleId === 'unreadable')?.locations[0]?.physicalLocation.artifactLocation.uri).toBe('gone.img');
  });

  it('JUnit: a suite per image, a failing case per rule family with every failing finding, the unreadable image an error', () => {
    const groups = [...new Set(all.map((f) => rules[f.code]!.group!))];
    const x = junitReport(images, rules, groups);
    const suites = [...x.matchAll(/<testsuite name="([^"]*)" tests="(\d+)" failures="(\d+)" errors="(\d+)"/g)].map((m) => [m[1], Number(m[2]), Number(m[3]), Number(m[4])]);
    const failingGroups = new Set(damagedErrors.map((f) => rules[f.code]!.group));
    expect(suites).toEqual([
      ['btrfs-inspect check clean.img', groups.length, 0, 0],
      ['btrfs-inspect check damaged leaf.img', groups.length, failingGroups.size, 0],
      ['btrfs-inspect check gone.img', 1, 0, 1],
    ]);
    const failures = [...x.matchAll(/<failure message="[^"]*" type="[^"]*">([^<]*)<\/failure>/g)].map((m) => m[1]!).join('\n');
    for (const f of damagedErrors) expect(failures).toContain(f.message.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;'));
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites /);
  });

  it('GitHub annotations: one ::error per failing finding, none for notes', () => {
    const a = githubAnnotations(images).trimEnd().split('\n');
    expect(a.filter((l) => l.startsWith('::error file=damaged leaf.img'))).toHaveLength(damagedErrors.length);
    expect(a.filter((l) => l.startsWith('::error file=gone.img,title=unreadable::'))).toHaveLength(1);
    expect(a.filter((l) => l.startsWith('::') && l.includes('clean.img'))).toEqual(images[0]!.findings.filter((f) => f.severity === 'warning').map(() => expect.any(String)));
  });

  it("streamed: each image's part is written when it is given and nothing of it is kept; the documents are whole and valid", () => {
    const junit = new JunitStream(rules, ['superblock', 'tree']);
    const sarif = new SarifStream(rules, { name: 'btrfs-inspect', version: '0.1.0', informationUri: 'https://example.org/btrfs-inspect' });
    const junitHead = junit.head();
    let x = junitHead;
    let j = sarif.head();
    for (const im of images) {
      // A copy the writers see once: emptied after, so anything they kept would be lost from the document.
      const once: CheckedImage = { ...im, findings: [...im.findings] };
      const xPart = junit.suite(once);
      const jPart = sarif.image(once);
      once.findings.length = 0;
      once.failing = () => {
        throw new Error('a writer looked at an image after it was given');
      };
      expect(xPart).toContain(`<testsuite name="btrfs-inspect check ${im.image}"`);
      for (const f of im.findings.filter(failing)) expect(xPart).toContain(f.code);
      for (const f of im.findings) expect(jPart).toContain(JSON.stringify(f.message));
      for (const other of images.filter((o) => o !== im)) expect(xPart).not.toContain(`classname="${other.image}"`);
      x += xPart;
      j += jPart;
    }
    // The root's totals, written over its first start tag: the same number of bytes.
    const head = junit.head();
    expect(head.length).toBe(junitHead.length);
    expect(junitHead).toMatch(/<testsuites name="btrfs-inspect check" *>\n$/);
    x = head + x.slice(head.length) + junit.tail();
    expect(x).toBe(junitReport(images, rules, ['superblock', 'tree']));
    expect(head).toMatch(/<testsuites name="btrfs-inspect check" tests="\d+" failures="1" errors="1" *>/);
    const doc = JSON.parse(j + sarif.tail());
    expect(validate(doc), JSON.stringify(validate.errors?.slice(0, 3))).toBe(true);
    expect(doc.runs).toHaveLength(1);
    expect(doc.runs[0].results).toHaveLength(all.length + 1);
    expect(doc.runs[0].artifacts.map((a: { location: { uri: string } }) => a.location.uri)).toEqual(['clean.img', 'damaged%20leaf.img', 'gone.img']);
  });
});
