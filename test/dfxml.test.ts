/**
 * manifest --format dfxml: valid against the DFXML working group's schema (test/fixtures/dfxml,
 * public domain; checked with xmllint where it is installed), and its byte runs true: every
 * regular, uncompressed file of the kernel-made demo image rebuilt from the image file's bytes at
 * its img_offsets (zeros for fill runs) has the sha256 the kernel recorded, and its fs_offsets
 * are the addresses the kernel's FIEMAP gave.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readExact } from '../src/io/ByteSource.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { cli } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { SAMPLES } from './helpers/samples.js';

const DEMO = join(SAMPLES, 'default', 'dev1.runs.gz');
const SCHEMA = join(import.meta.dirname, 'fixtures', 'dfxml', 'dfxml.xsd');
const tmp = mkdtempSync(join(tmpdir(), 'dfxml-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hasXmllint = (() => {
  try {
    execFileSync('xmllint', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!hasXmllint) console.warn('dfxml.test.ts: xmllint not installed (Debian: libxml2-utils); schema validation skipped');

interface Run {
  file_offset: bigint;
  fs_offset?: bigint;
  img_offset?: bigint;
  len: bigint;
  fill?: string;
  type?: string;
  compression?: string;
}

function fileObjects(x: string): { name: string; runs: Run[]; sha256?: string; md5?: string }[] {
  return [...x.matchAll(/<fileobject[^>]*>([\s\S]*?)<\/fileobject>/g)].map((m) => {
    const body = m[1]!;
    const name = /<filename>([^<]*)<\/filename>/
      .exec(body)![1]!
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'");
    const runs = [...body.matchAll(/<byte_run ([^/]*)\/>/g)].map((r) => {
      const a = Object.fromEntries([...r[1]!.matchAll(/([\w:]+)="([^"]*)"/g)].map((p) => [p[1]!, p[2]!]));
      return {
        file_offset: BigInt(a['file_offset']!),
        len: BigInt(a['len']!),
        ...(a['fs_offset'] ? { fs_offset: BigInt(a['fs_offset']) } : {}),
        ...(a['img_offset'] ? { img_offset: BigInt(a['img_offset']) } : {}),
        ...(a['fill'] ? { fill: a['fill'] } : {}),
        ...(a['type'] ? { type: a['type'] } : {}),
        ...(a['btrfs:compression'] ? { compression: a['btrfs:compression'] } : {}),
      };
    });
    const d = (t: string) => new RegExp(`<hashdigest type="${t}">([0-9a-f]+)</hashdigest>`).exec(body)?.[1];
    return { name, runs, ...(d('sha256') ? { sha256: d('sha256')! } : {}), ...(d('md5') ? { md5: d('md5')! } : {}) };
  });
}

describe('manifest --format dfxml', async () => {
  const r = await cli('manifest', DEMO, '--format', 'dfxml');
  const objects = fileObjects(r.stdout);
  const truth = filesTruth('default');

  it.runIf(hasXmllint)('validates against the DFXML schema', () => {
    const path = join(tmp, 'demo.dfxml');
    writeFileSync(path, r.stdout);
    const out = execFileSync('xmllint', ['--noout', '--schema', SCHEMA, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });

  it('one fileobject per name the kernel listed, with its digests', () => {
    expect(r.code).toBe(0);
    expect(objects.map((o) => o.name).sort()).toEqual(truth.map((t) => t.path).sort());
    for (const t of truth.filter((x) => x.type === 'file')) expect(objects.find((o) => o.name === t.path)?.sha256, t.path).toBe(t.sha256);
  });

  it("byte runs: each uncompressed file rebuilt from the image at its img_offsets has the kernel's sha256; fs_offsets are FIEMAP's addresses", () => {
    const image = loadRunsImage(DEMO);
    let rebuilt = 0;
    for (const t of truth.filter((x) => x.type === 'file' && x.size > 0)) {
      const o = objects.find((x) => x.name === t.path)!;
      if (o.runs.some((x) => x.compression !== undefined || x.type === 'resident')) continue;
      const h = createHash('sha256');
      let at = 0n;
      for (const run of [...o.runs].sort((a, b) => (a.file_offset < b.file_offset ? -1 : 1))) {
        if (run.file_offset > at) h.update(new Uint8Array(Number(run.file_offset - at)));
        const end = run.file_offset + run.len > BigInt(t.size) ? BigInt(t.size) : run.file_offset + run.len;
        const n = Number(end - run.file_offset);
        if (run.fill !== undefined) h.update(new Uint8Array(n));
        else h.update(readExact(image, run.img_offset!, n)!);
        at = end;
      }
      if (at < BigInt(t.size)) h.update(new Uint8Array(Number(BigInt(t.size) - at)));
      expect(h.digest('hex'), t.path).toBe(t.sha256);
      // Every byte the kernel's FIEMAP places (not inline) is at the same logical address in our runs.
      for (const x of t.filefrag?.extents ?? []) {
        // Preallocated ranges read as zeros: a fill run, no address (FIEMAP gives them one, flagged unwritten).
        if (x.flags.includes('inline') || x.flags.includes('encoded') || x.flags.includes('unwritten')) continue;
        for (const probe of [BigInt(x.logical), BigInt(x.logical) + BigInt(x.length) - 1n]) {
          const run = o.runs.find((y) => y.fs_offset !== undefined && probe >= y.file_offset && probe < y.file_offset + y.len);
          expect(run, `${t.path} @${probe}: ${JSON.stringify(x.flags)}`).toBeDefined();
          expect(run!.fs_offset! + probe - run!.file_offset, `${t.path} @${probe}`).toBe(BigInt(x.physical) + probe - BigInt(x.logical));
        }
      }
      rebuilt++;
    }
    expect(rebuilt).toBeGreaterThan(20);
  });
});

/** Each fileobject's body, with its filename (unescaped as fileObjects does) and the value of each simple element. */
function objectFields(x: string): { name: string; attrs: string; body: string; field: (e: string) => string | undefined }[] {
  return [...x.matchAll(/<fileobject([^>]*)>([\s\S]*?)<\/fileobject>/g)].map((m) => {
    const body = m[2]!;
    return {
      name: fileObjects(m[0])[0]!.name,
      attrs: m[1]!,
      body,
      field: (e: string) => new RegExp(`<${e}>([^<]*)</${e}>`).exec(body)?.[1],
    };
  });
}

function validates(name: string, text: string): void {
  if (!hasXmllint) return;
  const path = join(tmp, name);
  writeFileSync(path, text);
  expect(execFileSync('xmllint', ['--noout', '--schema', SCHEMA, path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBe('');
}

describe('recover and timeline --dfxml (orphans fixture: kernel-made, older nodes wiped)', async () => {
  const dir = join(import.meta.dirname, 'fixtures', 'forensics-orphans');
  const img = join(dir, 'dev1.runs.gz');
  const truth = JSON.parse(readFileSync(join(dir, 'truth.json'), 'utf8')) as {
    commits: { generation: number; files: Record<string, { ino: number; size: number; sha256: string; inline: boolean }> }[];
  };
  const victims = ['victims/a-40k.bin', 'victims/sub/b-12k.txt', 'victims/small-inline.txt'];
  const lastOf = (p: string) => truth.commits.filter((c) => c.files[p]).pop()!.files[p]!;

  it('recover: valid DFXML; each deleted file marked unallocated (name and inode), with the sha256 it had and byte runs that rebuild it from the image', async () => {
    const out = join(tmp, 'recover.dfxml');
    const r = await cli('recover', img, '--dfxml', out);
    expect(r.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    validates('recover-copy.dfxml', text);
    const objs = objectFields(text);
    const image = loadRunsImage(img);
    for (const p of victims) {
      const t = lastOf(p);
      const o = objs.find((x) => x.name === p);
      expect(o, p).toBeDefined();
      expect([o!.field('alloc'), o!.field('alloc_inode'), o!.field('alloc_name'), o!.field('inode'), o!.field('filesize')]).toEqual(['0', '0', '0', String(t.ino), String(t.size)]);
      expect(o!.attrs).toContain('btrfs:source="orphan leaf"');
      const f = fileObjects(`<fileobject>${o!.body}</fileobject>`)[0]!;
      expect(f.sha256, p).toBe(t.sha256);
      if (t.inline) continue;
      const h = createHash('sha256');
      let at = 0n;
      for (const run of f.runs) {
        const n = run.file_offset + run.len > BigInt(t.size) ? BigInt(t.size) - run.file_offset : run.len;
        expect(run.file_offset).toBe(at);
        h.update(readExact(image, run.img_offset!, Number(n))!);
        at += n;
      }
      expect(h.digest('hex'), p).toBe(t.sha256);
    }
    // A file whose directory is lost: under $OrphanFiles, flagged orphan.
    const lost = objs.find((x) => x.name === '$OrphanFiles/lost-parent.bin');
    expect([lost?.field('orphan'), lost?.field('alloc_name')]).toEqual(['1', '0']);
    // Older versions of a live file: the name is gone, the inode lives.
    const versions = objs.filter((x) => x.name === 'versions.bin');
    expect(versions.length).toBe(2);
    for (const v of versions) {
      expect([v.field('alloc_inode'), v.field('alloc_name')]).toEqual(['1', '0']);
      const sha = fileObjects(`<fileobject>${v.body}</fileobject>`)[0]!.sha256;
      expect(truth.commits.slice(0, -1).map((c) => c.files['versions.bin']!.sha256)).toContain(sha);
    }
  });

  it('timeline: valid DFXML, one fileobject per body-file line, recovered names unallocated and live ones allocated', async () => {
    const out = join(tmp, 'timeline.dfxml');
    const r = await cli('timeline', img, '--bodyfile', '--dfxml', out);
    expect(r.code).toBe(0);
    const text = readFileSync(out, 'utf8');
    validates('timeline-copy.dfxml', text);
    const objs = objectFields(text);
    expect(objs.length).toBe(r.stdout.trimEnd().split('\n').length);
    for (const p of victims) expect(objs.find((x) => x.name === p)?.field('alloc_name'), p).toBe('0');
    // The two earlier contents of versions.bin: its name is unallocated in them, its inode is not.
    const older = objs.filter((x) => x.name === 'versions.bin' && x.field('alloc') === '0');
    expect(older.map((x) => [x.field('alloc_inode'), x.field('alloc_name')])).toEqual([
      ['1', '0'],
      ['1', '0'],
    ]);
    const live = truth.commits[truth.commits.length - 1]!.files;
    for (const [p, t] of Object.entries(live)) {
      const o = objs.find((x) => x.name === p && x.field('alloc') === '1');
      expect(o, p).toBeDefined();
      expect(o!.field('inode')).toBe(String(t.ino));
    }
  });
});

describe('DFXML crtime', () => {
  it('is left out for an inode whose otime is 0 (mkfs.btrfs --rootdir copies), written for the others (dump-tree truth)', async () => {
    const dir = join(import.meta.dirname, 'fixtures', 'manifest');
    const otime = new Map(
      readFileSync(join(dir, 'rootdir-otime.txt'), 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => l.split(' ') as [string, string]),
    );
    const r = await cli('manifest', join(dir, 'rootdir.runs.gz'), '--format', 'dfxml');
    const objs = objectFields(r.stdout);
    expect(objs.length).toBeGreaterThan(20);
    let zero = 0;
    for (const o of objs) {
      const t = otime.get(o.field('inode')!);
      expect(t, o.name).toBeDefined();
      const crtime = o.field('crtime');
      if (t === '0.0') {
        zero++;
        expect(crtime, o.name).toBeUndefined();
      } else expect(crtime && Date.parse(crtime) / 1000, o.name).toBe(Number(t!.split('.')[0]));
    }
    expect(zero).toBeGreaterThan(0);
  });
});
