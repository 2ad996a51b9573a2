import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseReportHtml, caseReportMarkdown, markdownText } from '../src/report/caseReport.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { SAMPLES, truthJson } from './helpers/samples.js';

const dev = (name: string) => join(SAMPLES, name, 'dev1.runs.gz');
const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

interface DeletedTruth {
  generation_before: number;
  deleted: { path: string; ino: number; size: number; fully_deleted: boolean }[];
  deleted_dirs: { path: string; ino: number }[];
}
interface Block {
  kind: string;
  head?: string[];
  rows: string[][] | [string, string][];
  title?: string;
  text?: string;
}
interface Doc {
  title: string;
  sections: { title: string; blocks: Block[] }[];
}

const section = (d: Doc, title: string) => d.sections.find((s) => s.title === title)!;
const table = (d: Doc, title: string, n = 0) => section(d, title).blocks.filter((b) => b.kind === 'table')[n]!;

describe('report: a case report of the deleted sample', () => {
  const truth = truthJson<DeletedTruth>('deleted', 'deleted.json');
  const subvolumes = truthJson<{ subvolumes?: { id: number }[] } | { id: number }[]>('deleted', 'subvolumes.json');

  it('names the image with its md5 and sha256, the superblock facts, every subvolume, deleted file and removed name', async () => {
    const r = await cli('report', dev('deleted'), '--json');
    expect(r.code).toBe(0);
    const doc = parseJsonExact(r.stdout) as Doc;
    const bytes = readFileSync(dev('deleted'));
    const image = table(doc, 'Image').rows[0]!;
    expect(image).toEqual([dev('deleted'), String(bytes.length), createHash('md5').update(bytes).digest('hex'), createHash('sha256').update(bytes).digest('hex')]);

    const fields = new Map(section(doc, 'Filesystem').blocks[0]!.rows as [string, string][]);
    expect(fields.get('generation')).toBe(String(truth.generation_before + 1));
    expect(fields.get('label')).toBe('deleted');

    // Subvolumes as the kernel listed them (btrfs subvolume list, recorded by the sample's build).
    const subIds = table(doc, 'Subvolumes and snapshots').rows.map((row) => row[0]);
    const kernelSubs = Array.isArray(subvolumes) ? subvolumes : (subvolumes.subvolumes ?? []);
    for (const s of kernelSubs) expect(subIds).toContain(String(s.id));

    // Every file deleted before the last commit, by the path it had, with its size and the generation it was last seen in.
    const rec = table(doc, 'Deleted and recovered files').rows;
    for (const d of truth.deleted.filter((x) => x.fully_deleted)) {
      const row = rec.find((x) => x[1] === `5:${d.ino}`);
      expect(row, d.path).toBeDefined();
      expect(row![0]!.split('\n')).toContain(`/${d.path}`);
      expect(row![4]).toBe(String(d.size));
      expect(row![6]).toBe(String(truth.generation_before));
      expect(row![8]).toMatch(/^(intact|inline|unverified)/);
    }
    for (const d of truth.deleted_dirs) expect(rec.find((x) => x[1] === `5:${d.ino}`)?.[0]).toBe(`/${d.path}`);
    // A deleted name of an inode that keeps another one is a removed name, not a deleted file.
    const removed = table(doc, 'Deleted and recovered files', 1).rows;
    for (const d of truth.deleted.filter((x) => !x.fully_deleted)) {
      expect(rec.find((x) => x[1] === `5:${d.ino}`)).toBeUndefined();
      expect(removed.find((x) => x[1] === `5:${d.ino}`)?.[0]).toBe(`/${d.path}`);
    }
  });

  it('holds what check and recover --json say, and the timeline span of timeline --json', async () => {
    const doc = parseJsonExact((await cli('report', dev('deleted'), '--json', '--no-hash')).stdout) as Doc;
    const check = parseJsonExact((await cli('check', dev('deleted'), '--json')).stdout) as { findings: { code: string; severity: string; message: string }[] };
    const rows = table(doc, 'Check').rows;
    expect(rows.map((r) => [r[0], r[1], r[4]])).toEqual(check.findings.map((f) => [f.severity, f.code, f.message]));
    const recover = parseJsonExact((await cli('recover', dev('deleted'), '--json')).stdout) as { files: { ino: unknown; paths: string[]; data: { state: string } }[] };
    expect(table(doc, 'Deleted and recovered files').rows.map((r) => [r[1], r[8]!.split(' ')[0]!.replace(/,$/, '')])).toEqual(recover.files.map((f) => [`5:${f.ino}`, f.data.state]));
    const events = (await cli('timeline', dev('deleted'), '--json')).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { record?: string; time?: string; timeNs?: number })
      .filter((e) => e.record === 'event');
    const span = section(doc, 'Timeline').blocks[0]!.text!;
    expect(span).toContain(`${events.length} events`);
    expect(span).toContain(`from ${events[0]!.time} to ${events[events.length - 1]!.time}`);
    const latest = table(doc, 'Timeline').rows;
    expect(latest.length).toBe(Math.min(25, events.length));
    expect(latest[0]![0]).toBe(events[events.length - 1]!.time);
  });

  it('-o FILE --html writes one well-formed page with no script and no outside reference; Markdown escapes what would be markup', async () => {
    const d = mkdtempSync(join(tmpdir(), 'report-'));
    tmp.push(d);
    const out = join(d, 'case.html');
    const r = await cli('report', dev('deleted'), '--html', '--no-hash', '-o', out);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^HTML case report written to .*case\.html: clean/);
    const html = readFileSync(out, 'utf8');
    expect(html).not.toMatch(/<script|src=|href=|@import|url\(/i);
    expect(html).toContain('<td>/victims/subdir/one.bin</td>');
    const lint = spawnSync('xmllint', ['--html', '--noout', out], { encoding: 'utf8' });
    if (!lint.error) expect(lint.stderr).toBe('');
    // A second run into the same file is refused: a report never replaces evidence silently.
    expect((await cli('report', dev('deleted'), '--no-hash', '-o', out)).code).not.toBe(0);

    const doc = {
      title: 'a|b',
      generated: '2026-12-03T00:00:00.000Z',
      preface: [],
      sections: [{ title: 's', blocks: [{ kind: 'table' as const, head: ['name'], rows: [['*x*|<b>\n2']] }] }],
    };
    expect(caseReportMarkdown(doc)).toContain('| \\*x\\*\\|\\<b\\><br>2 |');
    expect(caseReportHtml(doc)).toContain('<td>*x*|&lt;b&gt;\n2</td>');
    expect(markdownText('# [a](b)')).toBe('\\# \\[a\\](b)');
  });
});
