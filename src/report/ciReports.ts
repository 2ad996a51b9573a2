import { type Finding, formatLocation, type Location, type Severity } from '../findings.js';
import { toJson } from './json.js';
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

/** Room in the root's start tag for three totals of up to 20 digits each with their attribute names. */
const JUNIT_TOTALS_ROOM = ' tests="" failures="" errors=""'.length + 60;

/**
 * JUnit XML written an image at a time: `head()` starts the document,
 * `suite(image)` gives that image's test suite (and forgets the image), and
 * `tail()` closes the document. The root's totals are known only at the end:
 * `head()` called again then gives the same number of bytes with them
 * filled in, to be written over the first one (a writer that cannot seek
 * leaves the root without totals, which JUnit readers allow).
 *
 * A suite per image; in it a test case per rule family (superblock, tree
 * blocks, items, …) that fails with every failing finding of that family,
 * located; an image that could not be checked is one errored case. Findings
 * that do not fail (notes, ignored codes) are in system-out.
 */
export class JunitStream {
  private tests = 0;
  private failures = 0;
  private errors = 0;
  private suites = 0;
  /** The document element's start: no totals yet, room for them (spaces before '>', which XML allows). */
  private readonly root: string;

  /** `command`: the run's name in the document and suite names ("btrfs-inspect check"). */
  constructor(
    private readonly rules: Readonly<Record<string, RuleInfo>>,
    private readonly groups: readonly string[],
    private readonly command = 'check',
  ) {
    this.root = `<testsuites name="btrfs-inspect ${xml(command)}"`;
  }

  /** The XML declaration and the root's start tag: the same length whatever the totals (they are ASCII). */
  head(): string {
    const totals = this.suites > 0 ? ` tests="${this.tests}" failures="${this.failures}" errors="${this.errors}"` : '';
    return `<?xml version="1.0" encoding="UTF-8"?>\n${`${this.root}${totals}`.padEnd(this.root.length + JUNIT_TOTALS_ROOM)}>\n`;
  }

  suite(im: CheckedImage): string {
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
        const g = this.rules[f.code]?.group ?? 'other';
        if (!byGroup.has(g)) byGroup.set(g, []);
        byGroup.get(g)!.push(f);
      }
      for (const g of [...this.groups, ...[...byGroup.keys()].filter((k) => !this.groups.includes(k))]) {
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
    this.suites++;
    this.tests += cases.length;
    this.failures += sFail;
    this.errors += sErr;
    return `  <testsuite name="btrfs-inspect ${xml(this.command)} ${xml(im.image)}" tests="${cases.length}" failures="${sFail}" errors="${sErr}" time="${time}">\n${cases.join('\n')}\n  </testsuite>\n`;
  }

  tail(): string {
    return '</testsuites>\n';
  }
}

/** The whole JUnit document of `images` at once (JunitStream with the totals in place). */
export function junitReport(images: readonly CheckedImage[], rules: Readonly<Record<string, RuleInfo>>, groups: readonly string[], command = 'check'): string {
  const s = new JunitStream(rules, groups, command);
  const suites = images.map((im) => s.suite(im)).join('');
  return s.head() + suites + s.tail();
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

/** Indents every line but the first of `text` by `by`. */
const indent = (text: string, by: string) => text.replace(/\n/g, `\n${by}`);

/**
 * SARIF 2.1.0 written an image at a time: one run (GitHub code scanning
 * takes one run per tool and category) whose `results` come first, an
 * image's results as it is checked, and whose `artifacts` and `tool` (the
 * rules that occurred, indexed in the order first seen) close it — JSON
 * objects are unordered, so the run is valid SARIF all the same. Only the
 * codes seen and the image names are kept, never the findings.
 *
 * Each result is a finding with its level, message and location; findings
 * that do not fail are written with level "note" or "none" as they are, so
 * a viewer can show them without failing the build.
 */
export class SarifStream {
  private readonly index = new Map<string, number>();
  private readonly artifacts: string[] = [];
  private results = 0;

  constructor(
    private readonly rules: Readonly<Record<string, RuleInfo>>,
    private readonly tool: { name: string; version: string; informationUri: string },
  ) {}

  head(): string {
    return '{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n  "version": "2.1.0",\n  "runs": [\n    {\n      "results": [';
  }

  /** This image's results (and an "unreadable" one when it could not be checked). */
  image(im: CheckedImage): string {
    this.artifacts.push(im.image);
    const out: string[] = [];
    if (im.error !== undefined) {
      out.push(toJson({ ruleId: 'unreadable', level: 'error', message: { text: `${im.image}: ${im.error}` }, locations: [{ physicalLocation: { artifactLocation: { uri: uriOf(im.image) } } }] }, 2));
    }
    for (const f of im.findings) {
      let ruleIndex = this.index.get(f.code);
      if (ruleIndex === undefined) {
        ruleIndex = this.index.size;
        this.index.set(f.code, ruleIndex);
      }
      out.push(
        toJson(
          {
            ruleId: f.code,
            ruleIndex,
            level: im.failing(f) ? SARIF_LEVEL[f.severity] : f.severity === 'info' ? 'note' : 'none',
            message: { text: f.message },
            locations: [sarifLocation(im.image, f.location)],
            ...(f.repairable !== undefined ? { properties: { repairable: f.repairable } } : {}),
          },
          2,
        ),
      );
    }
    const text = out.map((r, i) => `${this.results + i > 0 ? ',' : ''}\n        ${indent(r, '        ')}`).join('');
    this.results += out.length;
    return text;
  }

  /** Closes the results, then the artifacts (every image) and the tool with the rules seen, then the document. */
  tail(): string {
    const rules = [...this.index.keys()].map((code) => {
      const r = this.rules[code];
      return {
        id: code,
        shortDescription: { text: r?.meaning ?? code },
        defaultConfiguration: { level: SARIF_LEVEL[r?.severity ?? 'error'] },
        ...(r?.group !== undefined || r?.progs !== undefined
          ? { properties: { ...(r.group !== undefined ? { group: r.group } : {}), ...(r.progs !== undefined ? { btrfsProgs: r.progs } : {}) } }
          : {}),
      };
    });
    const rest = {
      artifacts: this.artifacts.map((image) => ({ location: { uri: uriOf(image) }, roles: ['analysisTarget'] })),
      tool: { driver: { name: this.tool.name, version: this.tool.version, informationUri: this.tool.informationUri, rules } },
    };
    // The rest of the run, as members after "results" (the object's braces cut off).
    const members = indent(toJson(rest, 2).slice(2, -2), '    ');
    return `${this.results > 0 ? '\n      ' : ''}],\n    ${members}\n    }\n  ]\n}\n`;
  }
}

/** The whole SARIF document of `images` at once (SarifStream's output, parsed). */
export function sarifReport(images: readonly CheckedImage[], rules: Readonly<Record<string, RuleInfo>>, tool: { name: string; version: string; informationUri: string }): Record<string, unknown> {
  const s = new SarifStream(rules, tool);
  return JSON.parse(s.head() + images.map((im) => s.image(im)).join('') + s.tail()) as Record<string, unknown>;
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
