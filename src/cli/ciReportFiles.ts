import { closeSync, openSync, writeSync } from 'node:fs';
import { RULES, type RuleGroup } from '../findingRules.js';
import { type CheckedImage, JunitStream, type RuleInfo, SarifStream } from '../report/ciReports.js';
import { InputError } from './context.js';
import { VERSION } from './version.js';

/** The catalogue as the CI report writers want it. */
const RULE_INFO: Record<string, RuleInfo> = Object.fromEntries(Object.entries(RULES).map(([code, r]) => [code, { severity: r.severity, meaning: r.meaning, group: r.group, progs: r.progs }]));

/** The report files of one run: each image's part added as it is known, closed at the end. */
export interface CiReportFiles {
  add(im: CheckedImage): void;
  close(): void;
}

/**
 * --junit FILE, --sarif FILE (check, verify): written whatever the verdict (a CI system shows the report of a failed run
 * too), each filesystem's part as it is checked: the writers keep counts and names, never the findings.
 */
export function openCiReports(opts: { junit?: string; sarif?: string }, groups: readonly RuleGroup[], command = 'check'): CiReportFiles {
  const files: { what: string; path: string; fd: number }[] = [];
  const write = (f: (typeof files)[number], text: string, position?: number) => {
    try {
      writeSync(f.fd, text, position);
    } catch (e) {
      throw new InputError(`--${f.what} ${f.path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const open = (what: string, path: string) => {
    try {
      const f = { what, path, fd: openSync(path, 'w') };
      files.push(f);
      return f;
    } catch (e) {
      throw new InputError(`--${what} ${path}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  };
  const junit = opts.junit !== undefined ? { file: open('junit', opts.junit), stream: new JunitStream(RULE_INFO, groups, command) } : undefined;
  const sarif =
    opts.sarif !== undefined
      ? { file: open('sarif', opts.sarif), stream: new SarifStream(RULE_INFO, { name: 'btrfs-inspect', version: VERSION, informationUri: 'https://www.npmjs.com/package/btrfs-inspect' }) }
      : undefined;
  if (junit) write(junit.file, junit.stream.head());
  if (sarif) write(sarif.file, sarif.stream.head());
  return {
    add(im) {
      if (junit) write(junit.file, junit.stream.suite(im));
      if (sarif) write(sarif.file, sarif.stream.image(im));
    },
    close() {
      if (junit) {
        write(junit.file, junit.stream.tail());
        // The root's totals over the room its first start tag left (same length); a pipe keeps the tag without them.
        try {
          writeSync(junit.file.fd, junit.stream.head(), 0);
        } catch {
          // Not seekable (a pipe, a terminal): the suites carry their own totals.
        }
      }
      if (sarif) write(sarif.file, sarif.stream.tail());
      for (const f of files) closeSync(f.fd);
    },
  };
}
