import { type Finding, formatLocation, type Location, type Severity } from '../findings.js';
import { xmlText } from './xml.js';

/**
 * check's findings in the formats CI systems read: JUnit XML (GitLab, Jenkins,
 * most test-report viewers), SARIF 2.1.0 (GitHub code scanning, Azure
 * DevOps) and GitHub Actions workflow annotations. The finding catalogue is
 * given by the caller (rules by code), so this module holds no rule itself.
 */

/** What a report needs to know of a finding code (the catalogue's entry). */
export interface RuleInfo {
  severity: Severity;
  meaning: string;
  /** Family of rules: one JUnit test case per family and image. */
  group?: string;
  /** The btrfs-progs or kernel rule it corresponds to. */
  progs?: string;
}

/** One image checked: its findings (as check reports them) or why it could not be checked. */
export interface CheckedImage {
  /** The IMAGE argument (a path, as given). */
  image: string;
  findings: Finding[];
  /** Set when the image could not be checked at all (exit 2): no findings then. */
  error?: string;
  /** The findings that decide the verdict (severity at or above --fail-on, not ignored). */
  failing: (f: Finding) => boolean;
  elapsedMs?: number;
}

const xml = xmlText;

const line = (f: Finding) => {
  const at = formatLocation(f.location);
  return `${f.severity} ${f.code}: ${f.message}${at ? ` [${at}]` : ''}`;
};

/**
 * JUnit XML: a test suite per image; in it a test case per rule family
 * (superblock, tree blocks, items, …) that fails with every failing finding
 * of that family, located; an image that could not be checked is one errored
 * case. Findings that do not fail (notes, ignored codes) are in system-out.
 */
export function junitReport(images: readonly CheckedImage[], rules: Readonly<Record<string, RuleInfo>>, groups: readonly string[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let tests = 0,
    failures = 0,
    errors = 0;
  const suites: string[] = [];
  for (const im of images) {
    const cases: string[] = [];
    let sFail = 0,
      sErr = 0;
    const time = ((im.elapsedMs ?? 0) / 1000).toFixed(3);
    if (im.error !== undefined) {
      sErr++;
      cases.push(`    <testcase classname="${xml(im.image)}" name="open" time="${time}">\n      <error message="${xml(im.error)}" type="unreadable"/>\n    </testcase>`);
    } else {
      const byGroup = new Map<string, Finding[]>();
      for (const f of im.findings) {
        const g = rules[f.code]?.group ?? 'other';
        if (!byGroup.has(g)) byGroup.set(g, []);
        byGroup.get(g)!.push(f);
      }
      for (const g of [...groups, ...[...byGroup.keys()].filter((k) => !groups.includes(k))]) {
        const fs = byGroup.get(g) ?? [];
        const failing = fs.filter(im.failing);
        const quiet = fs.filter((f) => !im.failing(f));
        let body = '';
        if (failing.length > 0) {
          sFail++;
          const codes = [...new Set(failing.map((f) => f.code))].join(', ');
          body += `\n      <failure message="${xml(`${failing.length} finding(s): ${codes}`)}" type="${xml(failing[0]!.code)}">${xml(failing.map(line).join('\n'))}</failure>`;
        }
        if (quiet.length > 0) body += `\n      <system-out>${xml(quiet.map(line).join('\n'))}</system-out>`;
        cases.push(`    <testcase classname="${xml(im.image)}" name="${xml(g)}" time="0">${body}${body ? '\n    ' : ''}</testcase>`);
      }
    }
    tests += cases.length;
    failures += sFail;
    errors += sErr;
    suites.push(`  <testsuite name="btrfs-inspect check ${xml(im.image)}" tests="${cases.length}" failures="${sFail}" errors="${sErr}" time="${time}">\n${cases.join('\n')}\n  </testsuite>`);
  }
  out.push(`<testsuites name="btrfs-inspect check" tests="${tests}" failures="${failures}" errors="${errors}">`, ...suites, '</testsuites>');
  return out.join('\n') + '\n';
}

const SARIF_LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/** A SARIF location: the device and byte range when the finding has one, and the logical place (tree, block, slot, key). */
function sarifLocation(image: string, l: Location): Record<string, unknown> {
  const physical: Record<string, unknown> = { artifactLocation: { uri: uriOf(l.device ?? image) } };
  if (l.physical !== undefined && l.physical <= BigInt(Number.MAX_SAFE_INTEGER)) physical['region'] = { byteOffset: Number(l.physical) };
  const logical = formatLocation({ ...l, device: undefined, devid: undefined, physical: undefined });
  return { physicalLocation: physical, ...(logical ? { logicalLocations: [{ fullyQualifiedName: logical, kind: 'object' }] } : {}) };
}

/** A path as a relative or absolute URI reference (percent-encoding what a URI cannot hold). */
function uriOf(path: string): string {
  const enc = path
    .split('/')
    .map((p) => encodeURIComponent(p))
    .join('/');
  return path.startsWith('/') ? `file://${enc}` : enc;
}

/**
 * SARIF 2.1.0: one run; the rules are the catalogue's codes that occur (with
 * their meaning, default level and btrfs-progs correspondence), each result a
 * finding with its level, message and location. Findings that do not fail
 * are written with level "note" or "none" as they are, so a viewer can show
 * them without failing the build.
 */
export function sarifReport(images: readonly CheckedImage[], rules: Readonly<Record<string, RuleInfo>>, tool: { name: string; version: string; informationUri: string }): Record<string, unknown> {
  const used = [...new Set(images.flatMap((i) => i.findings.map((f) => f.code)))].sort();
  const index = new Map(used.map((c, i) => [c, i]));
  const results = images.flatMap((im) => [
    ...(im.error !== undefined
      ? [
          {
            ruleId: 'unreadable',
            level: 'error',
            message: { text: `${im.image}: ${im.error}` },
            locations: [{ physicalLocation: { artifactLocation: { uri: uriOf(im.image) } } }],
          },
        ]
      : []),
    ...im.findings.map((f) => ({
      ruleId: f.code,
      ruleIndex: index.get(f.code)!,
      level: im.failing(f) ? SARIF_LEVEL[f.severity] : f.severity === 'info' ? 'note' : 'none',
      message: { text: f.message },
      locations: [sarifLocation(im.image, f.location)],
      ...(f.repairable !== undefined ? { properties: { repairable: f.repairable } } : {}),
    })),
  ]);
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: tool.name,
            version: tool.version,
            informationUri: tool.informationUri,
            rules: used.map((code) => {
              const r = rules[code];
              return {
                id: code,
                shortDescription: { text: r?.meaning ?? code },
                defaultConfiguration: { level: SARIF_LEVEL[r?.severity ?? 'error'] },
                ...(r?.group !== undefined || r?.progs !== undefined
                  ? { properties: { ...(r.group !== undefined ? { group: r.group } : {}), ...(r.progs !== undefined ? { btrfsProgs: r.progs } : {}) } }
                  : {}),
              };
            }),
          },
        },
        artifacts: images.map((im) => ({ location: { uri: uriOf(im.image) }, roles: ['analysisTarget'] })),
        results,
      },
    ],
  };
}

/** GitHub Actions workflow commands: one `::error` / `::warning` / `::notice` line per failing or noted finding. */
export function githubAnnotations(images: readonly CheckedImage[]): string {
  const esc = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
  const prop = (s: string) => esc(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const out: string[] = [];
  for (const im of images) {
    if (im.error !== undefined) out.push(`::error file=${prop(im.image)},title=unreadable::${esc(im.error)}`);
    for (const f of im.findings) {
      const cmd = !im.failing(f) ? (f.severity === 'info' ? null : 'notice') : f.severity === 'error' ? 'error' : f.severity === 'warning' ? 'warning' : 'notice';
      if (cmd === null) continue;
      const at = formatLocation(f.location);
      out.push(`::${cmd} file=${prop(im.image)},title=${prop(`btrfs ${f.code}`)}::${esc(f.message + (at ? ` [${at}]` : ''))}`);
    }
  }
  return out.length ? out.join('\n') + '\n' : '';
}
